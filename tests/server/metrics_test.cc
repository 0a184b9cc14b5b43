// Tests of server/metrics: synthetic engine events through two shards, the
// scrape-time families, gRPC families, per-session series and /metrics over
// loopback HTTP.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Event Sent(SendReason r, uint32_t len) {
  Event e;
  e.kind = EventKind::kSegmentSent;
  e.send_reason = r;
  e.seg.len = len;
  return e;
}

Event Received(Disposition d, uint32_t len) {
  Event e;
  e.kind = EventKind::kSegmentReceived;
  e.disposition = d;
  e.seg.len = len;
  return e;
}

Event Dropped(DropReason r) {
  Event e;
  e.kind = EventKind::kSegmentDropped;
  e.drop_reason = r;
  return e;
}

Event Mangled(MangleKind m) {
  Event e;
  e.kind = EventKind::kSegmentMangled;
  e.mangle = m;
  return e;
}

Event Rtt(DurationNs ns) {
  Event e;
  e.kind = EventKind::kRttSample;
  e.a = ns;
  return e;
}

Event StateChange(TcpState from, TcpState to) {
  Event e;
  e.kind = EventKind::kStateChanged;
  e.old_state = from;
  e.new_state = to;
  return e;
}

Event Error(ErrorCode c) {
  Event e;
  e.kind = EventKind::kConnectionError;
  e.error = c;
  return e;
}

Event Of(EventKind k) {
  Event e;
  e.kind = k;
  return e;
}

TEST(MetricsTest, SumsEngineCountersAcrossShards) {
  Metrics m(Metrics::Options{});
  ShardMetrics* a = m.AddShard();
  ShardMetrics* b = m.AddShard();

  a->OnEvent(Sent(SendReason::kFullMss, 1460));
  a->OnEvent(Sent(SendReason::kFullMss, 1460));
  b->OnEvent(Sent(SendReason::kFullMss, 1460));
  a->OnEvent(Sent(SendReason::kRetransmitRto, 1000));
  a->OnEvent(Sent(SendReason::kRetransmitRto, 1000));
  b->OnEvent(Sent(SendReason::kRetransmitRto, 500));
  b->OnEvent(Sent(SendReason::kRetransmitFast, 1460));
  a->OnEvent(Sent(SendReason::kAck, 0));
  b->OnEvent(Sent(SendReason::kTailLossProbe, 1460));
  a->OnEvent(Sent(SendReason::kSynCookie, 0));
  a->OnEvent(Received(Disposition::kInOrder, 1460));
  b->OnEvent(Received(Disposition::kPaws, 1460));
  b->OnEvent(Received(Disposition::kAckInvalid, 0));
  b->OnEvent(Received(Disposition::kInOrder, 40));
  b->OnEvent(Received(Disposition::kBadChecksum, 100));
  a->OnEvent(Dropped(DropReason::kLoss));
  b->OnEvent(Dropped(DropReason::kLoss));
  b->OnEvent(Dropped(DropReason::kQueue));
  a->OnEvent(Dropped(DropReason::kFault));
  a->OnEvent(Mangled(MangleKind::kCorrupt));
  b->OnEvent(Mangled(MangleKind::kCorrupt));
  b->OnEvent(Mangled(MangleKind::kDuplicate));
  a->OnEvent(Mangled(MangleKind::kReorder));
  a->OnEvent(StateChange(TcpState::kSynSent, TcpState::kEstablished));
  b->OnEvent(StateChange(TcpState::kSynReceived, TcpState::kEstablished));
  b->OnEvent(StateChange(TcpState::kEstablished, TcpState::kCloseWait));
  a->OnEvent(Error(ErrorCode::kReset));
  b->OnEvent(Error(ErrorCode::kTimedOut));
  b->OnEvent(Error(ErrorCode::kTimedOut));
  a->OnEvent(Of(EventKind::kSessionDestroyed));
  b->OnEvent(Of(EventKind::kSessionDestroyed));
  // Kinds without a counter of their own change nothing.
  a->OnEvent(Of(EventKind::kTimerFired));
  a->OnEvent(Of(EventKind::kCwndChanged));
  a->OnEvent(Of(EventKind::kAppWrite));

  const std::string text = m.Render();
  EXPECT_THAT(text,
              HasSubstr("tcpemu_segments_sent_total{kind=\"full_mss\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("tcpemu_segments_sent_total{kind=\"retransmit_rto\"} 3\n"));
  EXPECT_THAT(
      text,
      HasSubstr("tcpemu_segments_sent_total{kind=\"retransmit_fast\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_sent_total{kind=\"ack\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_segments_sent_total{kind=\"keepalive\"} 0\n"));
  // The last values of each enum have series too.
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_sent_total{kind="
                              "\"tail_loss_probe\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_segments_sent_total{kind=\"syn_cookie\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_received_total{disposition="
                              "\"paws\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_received_total{disposition="
                              "\"ack_invalid\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("kind=\"none\"")));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_retransmissions_total{cause=\"rto\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_retransmissions_total{cause=\"fast\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_received_total{disposition="
                              "\"in_order\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_received_total{disposition="
                              "\"bad_checksum\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_segments_received_total{disposition="
                              "\"rst_invalid\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_drops_total{reason=\"loss\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_drops_total{reason=\"queue\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_drops_total{reason=\"fault\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_drops_total{reason=\"mtu\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_link_drops_total{reason=\"corrupt\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_link_mangled_total{kind=\"duplicate\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_link_mangled_total{kind=\"reorder\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_mangled_total{kind=\"delay\"} 0\n"));
  EXPECT_THAT(text,
              Not(HasSubstr("tcpemu_link_mangled_total{kind=\"corrupt\"}")));
  EXPECT_THAT(text, HasSubstr("tcpemu_bytes_total{dir=\"sent\"} 9800\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_bytes_total{dir=\"received\"} 3060\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_state_changes_total{to=\"ESTABLISHED\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_state_changes_total{to=\"CLOSE_WAIT\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_state_changes_total{to=\"TIME_WAIT\"} 0\n"));
  EXPECT_THAT(
      text,
      HasSubstr("tcpemu_connection_errors_total{error=\"timed_out\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("tcpemu_connection_errors_total{error=\"reset\"} 1\n"));
  EXPECT_THAT(
      text, HasSubstr("tcpemu_connection_errors_total{error=\"refused\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_sessions_destroyed_total 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE tcpemu_segments_sent_total counter\n"));
}

TEST(MetricsTest, UnrecognizedEnumValuesAreIgnored) {
  Metrics m(Metrics::Options{});
  ShardMetrics* a = m.AddShard();
  a->OnEvent(Sent(static_cast<SendReason>(200), 10));
  a->OnEvent(Dropped(static_cast<DropReason>(77)));
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("tcpemu_bytes_total{dir=\"sent\"} 10\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_link_drops_total{reason=\"loss\"} 0\n"));
}

TEST(MetricsTest, RttHistogramBuckets) {
  Metrics m(Metrics::Options{});
  ShardMetrics* a = m.AddShard();
  ShardMetrics* b = m.AddShard();
  a->OnEvent(Rtt(50 * kMicrosecond));       // le 0.0001
  b->OnEvent(Rtt(100 * kMicrosecond));      // le 0.0001 (bounds inclusive)
  a->OnEvent(Rtt(100 * kMicrosecond + 1));  // le 0.0002
  b->OnEvent(Rtt(1 * kMillisecond));        // le 0.0016
  a->OnEvent(Rtt(50 * kMillisecond));       // le 0.0512
  b->OnEvent(Rtt(100 * kSecond));           // only +Inf

  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE tcpemu_rtt_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_count 6\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_sum 100.051250001\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"0.0001\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"0.0002\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"0.0008\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"0.0016\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"0.0512\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"52.4288\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_bucket{le=\"+Inf\"} 6\n"));
}

TEST(MetricsTest, RpcCountersByMethodAndCode) {
  Metrics m(Metrics::Options{});
  const std::string create = "/tcpemu.v1.Emulator/CreateNetwork";
  const std::string send = "/tcpemu.v1.Emulator/Send";
  m.RegisterRpcMethod("/tcpemu.v1.Emulator/Subscribe");
  m.ObserveRpc(create, 0, 0.002);
  m.ObserveRpc(create, 0, 0.004);
  m.ObserveRpc(create, 3, 0.0001);
  m.ObserveRpc(send, 5, 2.0);
  m.ObserveRpc(send, 42, 0.01);  // not a gRPC code

  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"" +
                              create + "\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code="
                              "\"INVALID_ARGUMENT\",grpc_method=\"" +
                              create + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code="
                              "\"NOT_FOUND\",grpc_method=\"" +
                              send + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code="
                              "\"UNKNOWN\",grpc_method=\"" +
                              send + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\","
                              "grpc_method=\"/tcpemu.v1.Emulator/Subscribe\"} "
                              "0\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handling_seconds_count{grpc_method=\"" +
                        create + "\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"" +
                        create + "\",le=\"0.0025\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"" +
                        create + "\",le=\"0.005\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"" +
                        send + "\",le=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{grpc_method="
                              "\"/tcpemu.v1.Emulator/Subscribe\"} 0\n"));
  EXPECT_EQ(Metrics::GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(Metrics::GrpcCodeName(-1), "UNKNOWN");
}

TEST(MetricsTest, ConcurrentWritersAndScrapes) {
  Metrics m(Metrics::Options{});
  constexpr int kShards = 4;
  constexpr int kEvents = 20000;
  std::vector<ShardMetrics*> shards;
  for (int i = 0; i < kShards; ++i) shards.push_back(m.AddShard());
  std::vector<std::thread> threads;
  for (int i = 0; i < kShards; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < kEvents; ++n) {
        shards[i]->OnEvent(Sent(SendReason::kRetransmitFast, 1));
      }
    });
    threads.emplace_back([&, i] {
      for (int n = 0; n < 200; ++n) {
        m.ObserveRpc(i % 2 == 0 ? "/a" : "/b", n % 3, 0.001);
      }
    });
  }
  for (int n = 0; n < 20; ++n) EXPECT_FALSE(m.Render().empty());
  for (std::thread& t : threads) t.join();

  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("tcpemu_retransmissions_total{cause=\"fast\"} " +
                              std::to_string(kShards * kEvents) + "\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{grpc_method="
                              "\"/a\"} 400\n"));
}

TEST(MetricsTest, SnapshotGaugesAndCwndHistogram) {
  Metrics m(Metrics::Options{});
  int calls = 0;
  m.SetStateSnapshotFn([&calls] {
    ++calls;
    StateSnapshot s;
    s.sessions_by_state[static_cast<size_t>(TcpState::kEstablished)] = 3;
    s.sessions_by_state[static_cast<size_t>(TcpState::kListen)] = 1;
    s.cwnd_bytes = {1000, 1024, 14600, 14600, 100'000'000};
    s.per_session.push_back({1, 1, 10, 20, 30, 40});  // ignored: opt-in
    return s;
  });
  m.SetEventStatsFn([] { return Metrics::EventStats{2, 17}; });

  const std::string text = m.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(text, HasSubstr("# TYPE tcpemu_sessions gauge\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_sessions{state=\"ESTABLISHED\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_sessions{state=\"LISTEN\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_sessions{state=\"SYN_SENT\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_count 5\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_sum 100031224\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_bucket{le=\"1024\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_bucket{le=\"8192\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_bucket{le=\"16384\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_bucket{le=\"67108864\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_bucket{le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_event_subscribers 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_events_dropped_total 17\n"));
  EXPECT_THAT(text, Not(HasSubstr("tcpemu_session_")));
}

TEST(MetricsTest, WithoutCallbacksGaugesAreZero) {
  Metrics m(Metrics::Options{});
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("tcpemu_sessions{state=\"CLOSED\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_cwnd_bytes_count 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_event_subscribers 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_events_dropped_total 0\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_rtt_seconds_count 0\n"));
}

TEST(MetricsTest, PerSessionSeriesKeepLowestIdsUpToCap) {
  Metrics::Options options;
  options.per_session_metrics = true;
  options.per_session_cap = 2;
  Metrics m(options);
  size_t sessions = 3;
  m.SetStateSnapshotFn([&sessions] {
    StateSnapshot s;
    const std::vector<StateSnapshot::PerSession> all = {
        {9, 2, 5000, 6000, 3 * kMillisecond, 4 * kMillisecond},
        {4, 1, 14600, 2920, 10 * kMillisecond, 0},
        {7, 1, 1460, 1460, 250 * kMicrosecond, 500 * kMicrosecond},
    };
    s.per_session.assign(all.begin(), all.begin() + sessions);
    return s;
  });

  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("tcpemu_session_cwnd_bytes{session=\"4\","
                              "network=\"1\",endpoint=\"client\"} 14600\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_session_cwnd_bytes{session=\"4\","
                              "network=\"1\",endpoint=\"server\"} 2920\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_session_srtt_seconds{session=\"4\","
                              "network=\"1\",endpoint=\"client\"} 0.01\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_session_srtt_seconds{session=\"7\","
                              "network=\"1\",endpoint=\"server\"} 0.0005\n"));
  EXPECT_THAT(text, Not(HasSubstr("session=\"9\"")));
  EXPECT_THAT(text, HasSubstr("tcpemu_session_series_truncated 1\n"));

  sessions = 2;
  text = m.Render();
  EXPECT_THAT(text, HasSubstr("session=\"9\""));
  EXPECT_THAT(text, HasSubstr("tcpemu_session_series_truncated 0\n"));
}

// GET `path` from 127.0.0.1:`port`; the whole response, headers included.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: localhost\r\n"
                                "Connection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
        response.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return response;
}

TEST(MetricsTest, ServesMetricsOverHttp) {
  Metrics m(Metrics::Options{});
  EXPECT_EQ(m.port(), 0);
  m.AddShard()->OnEvent(Sent(SendReason::kRetransmitRto, 100));
  m.ObserveRpc("/tcpemu.v1.Emulator/ListNetworks", 0, 0.001);
  ASSERT_TRUE(m.Serve("127.0.0.1:0").ok());
  const int port = m.port();
  ASSERT_GT(port, 0);

  const std::string response = HttpGet(port, "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response,
              HasSubstr("tcpemu_retransmissions_total{cause=\"rto\"} 1\n"));
  EXPECT_THAT(response,
              HasSubstr("tcpemu_sessions{state=\"ESTABLISHED\"} 0\n"));
  EXPECT_THAT(response, HasSubstr("tcpemu_rtt_seconds_bucket"));
  EXPECT_THAT(
      response,
      HasSubstr("grpc_server_handled_total{grpc_code=\"OK\",grpc_method="
                "\"/tcpemu.v1.Emulator/ListNetworks\"} 1\n"));

  const absl::Status again = m.Serve("127.0.0.1:0");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);

  m.StopServing();
  EXPECT_EQ(m.port(), 0);
  EXPECT_EQ(HttpGet(port, "/metrics"), "");
  m.StopServing();  // no-op
}

// civetweb's listener polls for up to 2 s between looks at its stop flag;
// right after a scrape it has just begun such a poll. StopServing wakes it:
// of three stops right after a scrape, at least one must take well under
// the quantum (before, each took about 2 s; one fast stop out of three keeps
// the verdict on a busy machine).
TEST(MetricsTest, StopRightAfterAScrapeDoesNotWaitForThePollQuantum) {
  absl::Duration fastest = absl::InfiniteDuration();
  for (int i = 0; i < 3; ++i) {
    Metrics m(Metrics::Options{});
    ASSERT_TRUE(m.Serve("127.0.0.1:0").ok());
    ASSERT_THAT(HttpGet(m.port(), "/metrics"), HasSubstr("200 OK"));
    const absl::Time start = absl::Now();
    m.StopServing();
    fastest = std::min(fastest, absl::Now() - start);
  }
  EXPECT_LT(fastest, absl::Milliseconds(1000));
}

TEST(MetricsTest, ReplacedCallbacksAreNotCalledAgain) {
  Metrics m(Metrics::Options{});
  int first = 0, second = 0;
  m.SetEventStatsFn([&first] {
    ++first;
    return Metrics::EventStats{1, 0};
  });
  EXPECT_THAT(m.Render(), HasSubstr("tcpemu_event_subscribers 1\n"));
  m.SetEventStatsFn([&second] {
    ++second;
    return Metrics::EventStats{5, 0};
  });
  EXPECT_THAT(m.Render(), HasSubstr("tcpemu_event_subscribers 5\n"));
  m.SetEventStatsFn(nullptr);
  EXPECT_THAT(m.Render(), HasSubstr("tcpemu_event_subscribers 0\n"));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST(MetricsTest, ServeAcceptsBarePortForm) {
  Metrics m(Metrics::Options{});
  ASSERT_TRUE(m.Serve(":0").ok());
  EXPECT_GT(m.port(), 0);
  EXPECT_THAT(HttpGet(m.port(), "/metrics"),
              HasSubstr("# TYPE tcpemu_sessions gauge\n"));
}

TEST(MetricsTest, ServeOnTakenPortFails) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  Metrics m(Metrics::Options{});
  const absl::Status s = m.Serve("127.0.0.1:" + std::to_string(port));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr(std::to_string(port)));
  EXPECT_EQ(m.port(), 0);
  close(fd);

  EXPECT_FALSE(m.Serve("").ok());
}

}  // namespace
}  // namespace tcpemu::server

namespace tcpemu::server {
namespace {

TEST(MetricsTest, InterfaceCountersBecomeLabelledSeries) {
  Metrics m(Metrics::Options{});
  m.SetStateSnapshotFn([] {
    StateSnapshot s;
    StateSnapshot::PerInterface i;
    i.interface_id = 7;
    i.network_id = 1;
    i.name = "tcpemu0";
    i.counters.frames_received = 12;
    i.counters.frames_sent = 34;
    i.counters.bytes_sent = 5000;
    i.counters.dropped_fragment = 2;
    i.counters.icmp_echo_answered = 3;
    i.tso_frames = 4;
    i.tso_segments = 90;
    s.interfaces.push_back(i);
    return s;
  });
  const std::string text = m.Render();
  const std::string labels =
      "{interface=\"7\",network=\"1\",device=\"tcpemu0\",";
  EXPECT_THAT(text, HasSubstr("# TYPE tcpemu_interface_frames_total counter"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_frames_total" + labels +
                              "dir=\"received\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_frames_total" + labels +
                              "dir=\"sent\"} 34\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_bytes_total" + labels +
                              "dir=\"sent\"} 5000\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_dropped_total" + labels +
                              "reason=\"fragment\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_answers_total" + labels +
                              "kind=\"icmp_echo\"} 3\n"));
  const std::string device =
      "{interface=\"7\",network=\"1\",device=\"tcpemu0\"}";
  EXPECT_THAT(text,
              HasSubstr("tcpemu_interface_tso_frames_total" + device + " 4\n"));
  EXPECT_THAT(text, HasSubstr("tcpemu_interface_tso_segments_total" + device +
                              " 90\n"));
}

}  // namespace
}  // namespace tcpemu::server
