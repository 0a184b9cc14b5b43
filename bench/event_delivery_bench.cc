// Events per second delivered by a real tcpemud process to one WatchEvents
// subscriber. The daemon runs as its own process (--tcpemud); this program
// sets up VIRTUAL networks with bulk transfers already written and closed,
// subscribes to every network, runs AdvanceTime until idle on all networks
// at once and counts the events the stream delivers until every session's
// SESSION_DESTROYED has arrived. The subscriber reads the stream's raw bytes
// and walks the EventBatch wire format (no protobuf message per event), so
// the figure is the daemon's delivery rate, not a client's decoding rate;
// --parse decodes every batch into tcpemu.v1.EventBatch instead.
//
// Each round also runs the same transfer with no subscriber, for the rate
// at which the daemon produces the events. Figures: docs/benchmarks.md.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "tests/server/service_test_util.h"

ABSL_FLAG(std::string, tcpemud, "", "path of the tcpemud binary to measure");
ABSL_FLAG(int, networks, 2, "VIRTUAL networks (they spread over the shards)");
ABSL_FLAG(int, sessions, 8, "bulk sessions per network");
ABSL_FLAG(int, mib, 16, "MiB each session transfers");
ABSL_FLAG(int, max_batch, 1024, "WatchEventsRequest.max_batch");
ABSL_FLAG(int, rounds, 3, "measured rounds");
ABSL_FLAG(bool, parse, false,
          "decode each batch into a tcpemu.v1.EventBatch message");
ABSL_FLAG(int, shards, 2, "tcpemud --shards");

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;
using testutil::Stub;

constexpr uint64_t kMiB = 1024 * 1024;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

pid_t StartDaemon(const std::string& path, int port) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string listen = absl::StrCat("--listen=127.0.0.1:", port);
    const std::string shards =
        absl::StrCat("--shards=", absl::GetFlag(FLAGS_shards));
    execl(path.c_str(), path.c_str(), listen.c_str(),
          "--metrics_listen=", shards.c_str(), "--event_queue=4194304",
          "--max_buffer=268435456", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user + system) a process has used so far, from /proc.
double ProcessCpuSeconds(pid_t pid) {
  FILE* f = std::fopen(absl::StrCat("/proc/", pid, "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Fields after the command name (which ends with ')'): utime is the 12th.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                  &utime, &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Counts the events of one EventBatch's bytes and the SESSION_DESTROYED
// among them by walking the wire format.
bool CountRaw(grpc::ByteBuffer* bb, uint64_t* events, uint64_t* lost,
              uint64_t* destroyed) {
  grpc::ProtoBufferReader reader(bb);
  google::protobuf::io::CodedInputStream in(&reader);
  in.SetTotalBytesLimit(1 << 30);
  while (uint32_t tag = in.ReadTag()) {
    if (tag == ((1 << 3) | 2)) {  // events
      uint32_t len;
      if (!in.ReadVarint32(&len)) return false;
      const auto limit = in.PushLimit(static_cast<int>(len));
      ++*events;
      // time_ns (1) then kind (2) come first when present.
      uint32_t t = in.ReadTag();
      uint64_t v = 0;
      if (t == ((1 << 3) | 0)) {
        if (!in.ReadVarint64(&v)) return false;
        t = in.ReadTag();
      }
      if (t == ((2 << 3) | 0)) {
        if (!in.ReadVarint64(&v)) return false;
        if (v == v1::EVENT_KIND_SESSION_DESTROYED) ++*destroyed;
      }
      if (!in.Skip(in.BytesUntilLimit())) return false;
      in.PopLimit(limit);
    } else if (tag == ((2 << 3) | 0)) {  // events_lost
      uint64_t v;
      if (!in.ReadVarint64(&v)) return false;
      *lost += v;
    } else {
      return false;
    }
  }
  return true;
}

// One WatchEvents stream, read on its own thread through the method's raw
// form.
class Subscriber {
 public:
  Subscriber(grpc::Channel* channel, const v1::WatchEventsRequest& req,
             bool parse)
      : parse_(parse) {
    grpc::ByteBuffer request;
    bool own = false;
    (void)grpc::SerializationTraits<v1::WatchEventsRequest>::Serialize(
        req, &request, &own);
    reader_.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
        channel,
        grpc::internal::RpcMethod("/tcpemu.v1.Emulator/WatchEvents",
                                  grpc::internal::RpcMethod::SERVER_STREAMING),
        &ctx_, request));
    reader_->WaitForInitialMetadata();
    thread_ = std::thread([this] { Loop(); });
  }
  ~Subscriber() {
    ctx_.TryCancel();
    thread_.join();
  }

  uint64_t events() const { return events_.load(); }
  uint64_t lost() const { return lost_.load(); }
  uint64_t destroyed() const { return destroyed_.load(); }
  uint64_t batches() const { return batches_.load(); }
  bool failed() const { return failed_.load(); }
  absl::Time last() const { return absl::FromUnixNanos(last_ns_.load()); }

 private:
  void Loop() {
    grpc::ByteBuffer bb;
    v1::EventBatch batch;
    while (reader_->Read(&bb)) {
      uint64_t n = 0, lost = 0, destroyed = 0;
      if (parse_) {
        grpc::ProtoBufferReader r(&bb);
        if (!batch.ParseFromZeroCopyStream(&r)) failed_ = true;
        n = batch.events_size();
        lost = batch.events_lost();
        for (const v1::Event& e : batch.events()) {
          if (e.kind() == v1::EVENT_KIND_SESSION_DESTROYED) ++destroyed;
        }
      } else if (!CountRaw(&bb, &n, &lost, &destroyed)) {
        failed_ = true;
      }
      events_ += n;
      lost_ += lost;
      batches_ += 1;
      if (destroyed != 0) {
        last_ns_ = absl::ToUnixNanos(absl::Now());
        destroyed_ += destroyed;
      }
    }
    (void)reader_->Finish();
  }

  const bool parse_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader_;
  std::thread thread_;
  std::atomic<uint64_t> events_{0}, lost_{0}, destroyed_{0}, batches_{0};
  std::atomic<int64_t> last_ns_{0};
  std::atomic<bool> failed_{false};
};

bool Ok(const grpc::Status& s, const char* what) {
  if (!s.ok())
    std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
  return s.ok();
}
template <typename T>
bool Ok(const absl::StatusOr<T>& v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "%s: %s\n", what,
                 std::string(v.status().message()).c_str());
  }
  return v.ok();
}

// Networks with every session's transfer written and closed, ready for
// AdvanceTime: 1 ms, 10 Gbit/s lossless links, 64 MiB send buffers, digests
// off. Returns the network ids (empty on failure).
std::vector<uint32_t> Prepare(Stub* stub) {
  std::vector<uint32_t> ids;
  for (int n = 0; n < absl::GetFlag(FLAGS_networks); ++n) {
    auto net = testutil::CreateNetwork(stub, v1::CLOCK_KIND_VIRTUAL, n + 1);
    if (!Ok(net, "CreateNetwork")) return {};
    v1::PathSpec path;
    testutil::SetDuration(absl::Milliseconds(1), path.mutable_delay());
    path.set_rate_bps(10'000'000'000);
    auto link = testutil::CreateLink(stub, net->id(), path);
    if (!Ok(link, "CreateLink")) return {};
    for (int s = 0; s < absl::GetFlag(FLAGS_sessions); ++s) {
      v1::OpenSessionRequest open;
      open.set_link_id(link->id());
      open.set_digest(false);
      open.mutable_client()->set_send_buffer(64 * kMiB);
      auto session = testutil::OpenSession(stub, open);
      if (!Ok(session, "OpenSession")) return {};
      const uint64_t bytes = absl::GetFlag(FLAGS_mib) * kMiB;
      auto w =
          testutil::WriteFill(stub, session->id(), v1::ENDPOINT_CLIENT, bytes);
      if (!Ok(w, "Write")) return {};
      if (!Ok(testutil::CloseEndpoint(stub, session->id(), v1::ENDPOINT_CLIENT),
              "Close")) {
        return {};
      }
    }
    ids.push_back(net->id());
  }
  return ids;
}

void DeleteNetworks(Stub* stub, const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    v1::DeleteNetworkRequest d;
    d.set_network_id(id);
    google::protobuf::Empty e;
    (void)testutil::Call(stub, &Stub::DeleteNetwork, d, &e);
  }
}

// AdvanceTime until idle on every network at once; returns false on error.
bool AdvanceAll(Stub* stub, const std::vector<uint32_t>& ids) {
  std::vector<std::thread> threads;
  std::atomic<bool> ok{true};
  for (uint32_t id : ids) {
    threads.emplace_back([&, id] {
      if (!Ok(testutil::AdvanceUntilIdle(stub, id), "AdvanceTime")) ok = false;
    });
  }
  for (auto& t : threads) t.join();
  return ok;
}

int Run() {
  const std::string path = absl::GetFlag(FLAGS_tcpemud);
  if (path.empty()) {
    std::fprintf(stderr, "--tcpemud: the path of the daemon to measure\n");
    return 2;
  }
  const int port = FreePort();
  const pid_t pid = StartDaemon(path, port);
  auto channel = testutil::LocalChannel(port);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(20))) {
    std::fprintf(stderr, "tcpemud did not come up on port %d\n", port);
    kill(pid, SIGTERM);
    return 1;
  }
  auto stub = v1::Emulator::NewStub(channel);
  // One SESSION_DESTROYED per session, when its last endpoint is gone.
  const uint64_t want_destroyed = uint64_t{1} * absl::GetFlag(FLAGS_networks) *
                                  absl::GetFlag(FLAGS_sessions);
  int rc = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds) && rc == 0; ++round) {
    // With no subscriber: how fast the daemon produces these events.
    std::vector<uint32_t> ids = Prepare(stub.get());
    if (ids.empty()) {
      rc = 1;
      break;
    }
    const double produce_cpu0 = ProcessCpuSeconds(pid);
    absl::Time t0 = absl::Now();
    if (!AdvanceAll(stub.get(), ids)) rc = 1;
    const double produce_s = absl::ToDoubleSeconds(absl::Now() - t0);
    const double produce_cpu_s = ProcessCpuSeconds(pid) - produce_cpu0;
    DeleteNetworks(stub.get(), ids);

    ids = Prepare(stub.get());
    if (ids.empty()) {
      rc = 1;
      break;
    }
    v1::WatchEventsRequest watch;  // every network
    watch.set_max_batch(static_cast<uint32_t>(absl::GetFlag(FLAGS_max_batch)));
    Subscriber sub(channel.get(), watch, absl::GetFlag(FLAGS_parse));
    const double cpu0 = CpuSeconds(RUSAGE_SELF);
    const double daemon_cpu0 = ProcessCpuSeconds(pid);
    t0 = absl::Now();
    if (!AdvanceAll(stub.get(), ids)) rc = 1;
    const double advance_s = absl::ToDoubleSeconds(absl::Now() - t0);
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (sub.destroyed() < want_destroyed && !sub.failed() &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Microseconds(200));
    }
    const double total_s = absl::ToDoubleSeconds(sub.last() - t0);
    const double cpu_s = CpuSeconds(RUSAGE_SELF) - cpu0;
    const double daemon_cpu_s = ProcessCpuSeconds(pid) - daemon_cpu0;
    if (sub.destroyed() < want_destroyed || sub.failed()) {
      std::fprintf(stderr, "round %d: saw %llu of %llu SESSION_DESTROYED%s\n",
                   round, static_cast<unsigned long long>(sub.destroyed()),
                   static_cast<unsigned long long>(want_destroyed),
                   sub.failed() ? " (a batch did not decode)" : "");
      rc = 1;
    }
    const double events = static_cast<double>(sub.events());
    std::printf(
        "round %d: events %.0f lost %llu batches %llu events/batch %.0f | "
        "delivered %.3f M events/s (%.1f ms; AdvanceTime %.1f ms) | "
        "no subscriber: produced in %.1f ms, tcpemud CPU %.2f s | with the "
        "subscriber, CPU s: tcpemud %.2f, subscriber process %.2f\n",
        round, events, static_cast<unsigned long long>(sub.lost()),
        static_cast<unsigned long long>(sub.batches()),
        events / static_cast<double>(sub.batches()), events / total_s / 1e6,
        total_s * 1e3, advance_s * 1e3, produce_s * 1e3, produce_cpu_s,
        daemon_cpu_s, cpu_s);
    std::fflush(stdout);
    DeleteNetworks(stub.get(), ids);
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return rc;
}

}  // namespace
}  // namespace tcpemu::server

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tcpemu::server::Run();
}
