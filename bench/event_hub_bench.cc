// EventHub benchmarks: a shard's cost per event with 0, 1 and 4 subscribers,
// publishing one event at a time (Publish) and in staged batches (Stage, as a
// shard does), encoding 1024-event batches (the wire encoder WatchEvents
// uses, and the protobuf path it replaced: ToProto + SerializeToString), and
// one producer thread feeding one stream-style consumer (Next, then the
// batch's bytes copied out as the stream does).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "server/event_convert.h"
#include "server/event_hub.h"
#include "server/event_wire.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {
namespace {

constexpr uint32_t kSessions = 64;

// A bulk-transfer data segment with a full TCB, the most common event and
// the largest once serialized.
Event DataSegment(uint64_t i) {
  Event e;
  e.time = static_cast<int64_t>(1'000'000'000 + i * 1200);
  e.kind = EventKind::kSegmentSent;
  e.endpoint = (i & 1) != 0 ? Endpoint::kServer : Endpoint::kClient;
  e.session_id = 1 + static_cast<uint32_t>(i % kSessions);
  e.link_id = 1;
  e.send_reason = SendReason::kFullMss;
  e.seg.seq = 1'000'001 + static_cast<uint32_t>(i * 1448);
  e.seg.ack = 2'000'001;
  e.seg.len = 1448;
  e.seg.window = 2048;
  e.seg.flags = 0x10;
  e.seg.opt_timestamp = 1;
  e.tcb.state = TcpState::kEstablished;
  e.tcb.iss = 1'000'000;
  e.tcb.irs = 2'000'000;
  e.tcb.snd_una = e.seg.seq - 14480;
  e.tcb.snd_nxt = e.seg.seq + 1448;
  e.tcb.snd_wnd = 262144;
  e.tcb.rcv_nxt = 2'000'001;
  e.tcb.rcv_wnd = 131072;
  e.tcb.cwnd = 28960;
  e.tcb.ssthresh = 0x7fffffff;
  e.tcb.bytes_in_flight = 14480;
  e.tcb.srtt = 20'000'000;
  e.tcb.rttvar = 5'000'000;
  e.tcb.rto = 220'000'000;
  return e;
}

std::vector<Event> SampleEvents() {
  std::vector<Event> events;
  for (uint64_t i = 0; i < 4096; ++i) events.push_back(DataSegment(i));
  return events;
}

// (a) Publish from one shard thread. Subscribers match everything and never
// read, so every push takes the drop-oldest path once the queue is full (the
// same copy as a push that fits, plus the loss count).
void BM_Publish(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  EventHub hub({.queue_capacity = 65536, .max_subscribers = 64});
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < subscribers; ++i)
    subs.push_back(*hub.Subscribe({}, false));
  const std::vector<Event> events = SampleEvents();
  size_t i = 0;
  for (auto _ : state) {
    hub.Publish(0, 1, events[i]);
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["subscribers"] = subscribers;
}
BENCHMARK(BM_Publish)->Arg(0)->Arg(1)->Arg(4);

// The same through Stage, as a shard publishes: the hub flushes every
// kStageEvents, so locks and the encoding are per batch.
void BM_Stage(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  EventHub hub({.queue_capacity = 65536, .max_subscribers = 64});
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < subscribers; ++i)
    subs.push_back(*hub.Subscribe({}, false));
  const std::vector<Event> events = SampleEvents();
  size_t i = 0;
  for (auto _ : state) {
    hub.Stage(0, 1, events[i]);
    if (++i == events.size()) i = 0;
  }
  hub.Flush(0);
  state.SetItemsProcessed(state.iterations());
  state.counters["subscribers"] = subscribers;
}
BENCHMARK(BM_Stage)->Arg(0)->Arg(1)->Arg(4);

// Publish with 4 subscribers that each want one session only: the cost of
// filtering out what a subscriber does not watch.
void BM_PublishFiltered(benchmark::State& state) {
  EventHub hub({});
  std::vector<std::shared_ptr<Subscription>> subs;
  for (uint32_t s = 1; s <= 4; ++s) {
    EventFilter f;
    f.session_ids = {s};
    subs.push_back(*hub.Subscribe(f, false));
  }
  const std::vector<Event> events = SampleEvents();
  size_t i = 0;
  for (auto _ : state) {
    hub.Publish(0, 1, events[i]);
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PublishFiltered);

void BM_StageFiltered(benchmark::State& state) {
  EventHub hub({});
  std::vector<std::shared_ptr<Subscription>> subs;
  for (uint32_t s = 1; s <= 4; ++s) {
    EventFilter f;
    f.session_ids = {s};
    subs.push_back(*hub.Subscribe(f, false));
  }
  const std::vector<Event> events = SampleEvents();
  size_t i = 0;
  for (auto _ : state) {
    hub.Stage(0, 1, events[i]);
    if (++i == events.size()) i = 0;
  }
  hub.Flush(0);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StageFiltered);

// The consumer's per-batch work alone: ToProto of 1024 events into a reused
// EventBatch and SerializeToString into a reused string.
void BM_ConvertAndSerialize(benchmark::State& state) {
  std::vector<NetworkEvent> batch;
  for (uint64_t i = 0; i < 1024; ++i) batch.push_back({1, DataSegment(i)});
  tcpemu::v1::EventBatch proto;
  std::string wire;
  for (auto _ : state) {
    ToProto(batch, 0, &proto);
    proto.SerializeToString(&wire);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
  state.counters["bytes_per_event"] =
      static_cast<double>(wire.size()) / batch.size();
}
BENCHMARK(BM_ConvertAndSerialize);

// The same batch through the wire encoder WatchEvents uses now
// (server/event_wire.h): the same bytes, no protobuf message.
void BM_EncodeWire(benchmark::State& state) {
  std::vector<NetworkEvent> batch;
  for (uint64_t i = 0; i < 1024; ++i) batch.push_back({1, DataSegment(i)});
  WireBuffer wire;
  for (auto _ : state) {
    wire.clear();
    AppendEventBatch(batch, 0, &wire);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
  state.counters["bytes_per_event"] =
      static_cast<double>(wire.size()) / batch.size();
}
BENCHMARK(BM_EncodeWire);

// (b) One producer thread (staging, as a shard does) and one consumer (the
// benchmark thread) doing what a WatchEvents stream does per batch: Next,
// then the runs' bytes copied into one buffer.
// Arguments: max batch, linger in microseconds, producer rate in events/s (0:
// as fast as it can). `delivered` is the consumer's rate; `published` the
// producer's; `lost` what a producer faster than the consumer made the
// subscriber drop.
void BM_EndToEnd(benchmark::State& state) {
  const auto max_batch = static_cast<size_t>(state.range(0));
  const absl::Duration linger = absl::Microseconds(state.range(1));
  const auto rate = static_cast<double>(state.range(2));
  EventHub hub({});
  std::shared_ptr<Subscription> sub = *hub.Subscribe({}, false);
  const std::vector<Event> events = SampleEvents();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> published{0};
  std::thread producer([&] {
    const absl::Time start = absl::Now();
    uint64_t n = 0;
    size_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      uint64_t due = n + 256;
      if (rate > 0) {
        // Paced: catch up with the schedule, then sleep a little.
        const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
        due = static_cast<uint64_t>(elapsed * rate);
      }
      for (; n < due; ++n) {
        hub.Stage(0, 1, events[i]);
        if (++i == events.size()) i = 0;
      }
      hub.Flush(0);
      if (rate > 0) absl::SleepFor(absl::Microseconds(100));
    }
    published.store(n);
  });

  std::vector<EventRun> got;
  WireBuffer wire;
  uint64_t delivered = 0;
  uint64_t lost = 0;
  uint64_t bytes = 0;
  const absl::Time start = absl::Now();
  for (auto _ : state) {
    got.clear();
    const uint64_t l =
        sub->Next(max_batch, absl::Now() + absl::Seconds(1), &got, linger);
    lost += l;
    wire.clear();
    char* p = wire.Reserve(EventBatchBytes(got, l));
    wire.Commit(CopyEventBatch(got, l, p));
    for (const EventRun& r : got) delivered += r.count();
    bytes += wire.size();
  }
  stop.store(true);
  producer.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  state.SetItemsProcessed(static_cast<int64_t>(delivered));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["delivered"] = benchmark::Counter(
      static_cast<double>(delivered), benchmark::Counter::kIsRate);
  state.counters["published"] = static_cast<double>(published.load()) / seconds;
  state.counters["lost"] = benchmark::Counter(static_cast<double>(lost),
                                              benchmark::Counter::kIsRate);
  state.counters["batch"] = static_cast<double>(delivered) / state.iterations();
}
BENCHMARK(BM_EndToEnd)
    ->ArgNames({"max", "linger_us", "rate"})
    ->Args({1024, 0, 0})
    ->Args({1024, 1000, 0})
    ->Args({1024, 0, 1'000'000})
    ->Args({1024, 1000, 1'000'000})
    ->Args({1024, 1000, 2'000'000})
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace tcpemu::server

BENCHMARK_MAIN();
