// Engine benchmarks in virtual time: memory held by established idle session
// pairs, and the CPU cost of a bulk transfer over a lossless link with and
// without event sinks (payload Gbit/s per core). Figures: docs/benchmarks.md.
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/sim/network.h"
#include "engine/tcp/connection.h"
#include "engine/trace/trace_hash.h"
#include "engine/wire/buffer.h"

namespace tcpemu {
namespace {

// Resident set size of this process, from /proc/self/statm.
int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Bytes handed out by malloc and not yet freed.
int64_t HeapInUseBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

// Receives every event and keeps none: the cost of building events alone.
class DiscardSink : public EventSink {
 public:
  void OnEvent(const Event& e) override { benchmark::DoNotOptimize(&e); }
};

// N sessions on one link (client ports are ephemeral, so N <= 16384), each
// run until both endpoints are ESTABLISHED and the network is idle; then the
// memory they hold is divided by N. Registered first so that no earlier
// benchmark has left freed memory for these allocations to reuse.
void BM_IdleSessionMemory(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const int64_t rss_before = ResidentBytes();
    const int64_t heap_before = HeapInUseBytes();
    const int64_t chunk_before = Chunk::LiveBytes();
    Network net(1, nullptr);
    PathSpec p;
    p.delay = kMillisecond;
    absl::StatusOr<uint32_t> link = net.CreateLink(p, p);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    SessionSpec spec;
    spec.link_id = *link;
    spec.digest = false;
    std::vector<uint32_t> ids;
    ids.reserve(sessions);
    for (int i = 0; i < sessions; ++i) {
      absl::StatusOr<uint32_t> id = net.OpenSession(spec);
      if (!id.ok()) {
        state.SkipWithError(std::string(id.status().message()).c_str());
        return;
      }
      ids.push_back(*id);
    }
    const bool idle = net.RunUntilIdle(10 * kSecond);
    int established = 0;
    for (uint32_t id : ids) {
      const Connection* c = net.connection(id, Endpoint::kClient);
      const Connection* s = net.connection(id, Endpoint::kServer);
      if (c != nullptr && s != nullptr &&
          c->state() == TcpState::kEstablished &&
          s->state() == TcpState::kEstablished) {
        ++established;
      }
    }
    const int64_t rss = ResidentBytes() - rss_before;
    const int64_t heap = HeapInUseBytes() - heap_before;
    const int64_t chunk = Chunk::LiveBytes() - chunk_before;
    if (!idle || established != sessions) {
      state.SkipWithError(
          absl::StrCat("only ", established, " of ", sessions,
                       " session pairs established (idle: ", idle, ")")
              .c_str());
      return;
    }
    const double n = sessions;
    state.counters["sessions"] = n;
    state.counters["rss_bytes_per_pair"] = static_cast<double>(rss) / n;
    state.counters["heap_bytes_per_pair"] = static_cast<double>(heap) / n;
    state.counters["chunk_bytes_per_pair"] = static_cast<double>(chunk) / n;
    state.counters["sizeof_Connection"] = sizeof(Connection);
  }
}
BENCHMARK(BM_IdleSessionMemory)
    ->Arg(10'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

enum class Sink { kNone, kDiscard, kTraceHasher };

// One client-to-server transfer of state.range(0) bytes per iteration, over
// a lossless link (1 ms each way, 10 Gbit/s, MTU 1500 so MSS 1460) with
// default TcpConfig on both ends, from open through TIME_WAIT. The clock is
// virtual, so the wall time measured is pure CPU work of the engine.
void BM_BulkTransfer(benchmark::State& state, Sink sink_kind, bool digest) {
  const uint64_t bytes = static_cast<uint64_t>(state.range(0));
  DiscardSink discard;
  uint64_t events = 0;
  uint64_t segments = 0;
  for (auto _ : state) {
    TraceHasher hasher;
    EventSink* sink = nullptr;
    if (sink_kind == Sink::kDiscard) sink = &discard;
    if (sink_kind == Sink::kTraceHasher) sink = &hasher;
    Network net(1, sink);
    PathSpec p;
    p.delay = kMillisecond;
    p.rate_bps = 10'000'000'000;
    absl::StatusOr<uint32_t> link = net.CreateLink(p, p);
    if (!link.ok()) {
      state.SkipWithError(std::string(link.status().message()).c_str());
      return;
    }
    SessionSpec spec;
    spec.link_id = *link;
    spec.digest = digest;
    absl::StatusOr<uint32_t> id = net.OpenSession(spec);
    if (!id.ok() ||
        !net.SetSource(*id, Endpoint::kClient, bytes, /*close_when_done=*/true)
             .ok()) {
      state.SkipWithError("could not open the session");
      return;
    }
    net.RunUntilIdle(3600 * kSecond);
    absl::StatusOr<SessionInfo> info = net.GetSession(*id);
    if (!info.ok() || !info->destroyed || info->server.bytes_read != bytes) {
      state.SkipWithError("transfer did not complete");
      return;
    }
    if (digest && info->client.write_digest != info->server.read_digest) {
      state.SkipWithError("digests differ");
      return;
    }
    events += hasher.event_count();
    segments += info->client.counters.segments_sent +
                info->server.counters.segments_sent;
  }
  const double total = static_cast<double>(state.iterations()) * bytes;
  state.SetBytesProcessed(static_cast<int64_t>(total));
  // Rates divide by CPU time: payload gigabits per CPU-second, i.e. per core.
  state.counters["payload_Gbit"] =
      benchmark::Counter(total * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["segments"] = benchmark::Counter(
      static_cast<double>(segments), benchmark::Counter::kAvgIterations);
  if (sink_kind == Sink::kTraceHasher) {
    state.counters["events"] = benchmark::Counter(
        static_cast<double>(events), benchmark::Counter::kAvgIterations);
  }
}

constexpr int64_t kBulkBytes = 64 << 20;

BENCHMARK_CAPTURE(BM_BulkTransfer, null_sink, Sink::kNone, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, discard_sink, Sink::kDiscard, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, trace_hasher, Sink::kTraceHasher, false)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BulkTransfer, null_sink_sha256, Sink::kNone, true)
    ->Arg(kBulkBytes)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tcpemu

BENCHMARK_MAIN();
