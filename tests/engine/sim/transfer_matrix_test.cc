// Seeded end-to-end transfers over impaired emulated links: for
// every impairment the SHA-256 of the bytes written equals that of the bytes
// read, the connection closes through TIME_WAIT, and the same seed gives the
// same event trace.
#include <string>
#include <vector>

#include "engine/sim/network.h"
#include "engine/trace/trace_hash.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

struct Case {
  std::string name;
  PathSpec forward;
  PathSpec reverse;
  TcpConfig client;
  TcpConfig server;
  uint64_t bytes = 256 * 1024;
  // Server reads nothing until `stall_until`, then reads everything.
  DurationNs stall_until = 0;
  ReaderSpec server_reader;
};

// Records what the whole-run checks need besides the trace hash.
class Observer : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    hasher.OnEvent(e);
    if (e.kind == EventKind::kStateChanged &&
        e.new_state == TcpState::kTimeWait) {
      ++time_waits;
    }
    if (e.kind == EventKind::kSegmentSent &&
        e.send_reason == SendReason::kWindowProbe) {
      ++window_probes;
    }
    if (e.kind == EventKind::kSegmentReceived &&
        e.disposition == Disposition::kBadChecksum) {
      ++bad_checksums;
    }
    if (e.kind == EventKind::kSegmentReceived &&
        e.disposition == Disposition::kOutOfOrder) {
      ++out_of_order;
    }
    if (e.kind == EventKind::kSessionDestroyed) ++destroyed;
  }
  TraceHasher hasher;
  int time_waits = 0;
  int window_probes = 0;
  int bad_checksums = 0;
  int out_of_order = 0;
  int destroyed = 0;
};

struct Result {
  SessionInfo info;
  std::string trace;
  Observer obs;
  bool idle = false;
};

void RunTransfer(const Case& c, uint64_t seed, Result& r) {
  Network net(seed, &r.obs);
  auto link = net.CreateLink(c.forward, c.reverse);
  ASSERT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  spec.client = c.client;
  spec.server = c.server;
  spec.server_reader = c.server_reader;
  if (c.stall_until > 0) spec.server_reader.mode = ReaderMode::kManual;
  auto sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok()) << sid.status();
  ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, c.bytes, true).ok());
  if (c.stall_until > 0) {
    net.RunUntil(c.stall_until);
    ReaderSpec resume;
    ASSERT_TRUE(net.SetReader(*sid, Endpoint::kServer, resume).ok());
  }
  r.idle = net.RunUntilIdle(4 * 3600 * kSecond);
  auto info = net.GetSession(*sid);
  ASSERT_TRUE(info.ok());
  r.info = *info;
  r.trace = r.obs.hasher.HexDigest();
}

PathSpec Lossy(double p) {
  PathSpec s;
  s.delay = 5 * kMillisecond;
  s.rate_bps = 50'000'000;
  if (p > 0) {
    s.loss.model = LossSpec::Model::kRandom;
    s.loss.p = p;
  }
  return s;
}

std::vector<Case> Cases() {
  std::vector<Case> v;
  for (double p : {0.0, 0.01, 0.05, 0.1, 0.2, 0.3}) {
    Case c;
    c.name = "loss_" + std::to_string(static_cast<int>(p * 100));
    c.forward = Lossy(p);
    c.reverse = Lossy(p / 2);
    v.push_back(c);
  }
  {
    Case c;
    c.name = "bursty_gilbert_elliott";
    c.forward = Lossy(0);
    c.forward.loss.model = LossSpec::Model::kGilbertElliott;
    c.forward.loss.p = 0.02;
    c.forward.loss.r = 0.3;
    c.forward.loss.h = 0.2;
    c.forward.loss.k = 0.999;
    c.reverse = Lossy(0.01);
    v.push_back(c);
  }
  {
    Case c;
    c.name = "reorder";
    c.forward = Lossy(0);
    c.forward.reorder = 0.1;
    c.forward.delay = 20 * kMillisecond;
    c.reverse = Lossy(0);
    v.push_back(c);
  }
  {
    Case c;
    c.name = "jitter_reorders";
    c.forward = Lossy(0);
    c.forward.delay = 20 * kMillisecond;
    c.forward.jitter.jitter = 10 * kMillisecond;
    c.reverse = Lossy(0);
    v.push_back(c);
  }
  {
    Case c;
    c.name = "duplicate";
    c.forward = Lossy(0);
    c.forward.duplicate = 0.1;
    c.reverse = Lossy(0);
    c.reverse.duplicate = 0.1;
    v.push_back(c);
  }
  {
    Case c;
    c.name = "corrupt";
    c.forward = Lossy(0);
    c.forward.corrupt = 0.05;
    c.reverse = Lossy(0);
    c.reverse.corrupt = 0.02;
    v.push_back(c);
  }
  {
    Case c;
    c.name = "tiny_buffers";
    c.forward = Lossy(0.02);
    c.reverse = Lossy(0);
    c.client.send_buffer = 2048;
    c.server.recv_buffer = 3000;
    c.bytes = 64 * 1024;
    v.push_back(c);
  }
  {
    Case c;
    c.name = "reader_stalls_then_resumes";
    c.forward = Lossy(0);
    c.reverse = Lossy(0);
    c.server.recv_buffer = 16 * 1024;
    c.stall_until = 5 * kSecond;
    v.push_back(c);
  }
  {
    Case c;
    c.name = "slow_reader";
    c.forward = Lossy(0);
    c.reverse = Lossy(0);
    c.server.recv_buffer = 8 * 1024;
    c.server_reader.mode = ReaderMode::kRate;
    c.server_reader.rate_bytes_per_sec = 64 * 1024;
    c.bytes = 128 * 1024;
    v.push_back(c);
  }
  for (uint32_t mtu : {576u, 1500u, 9000u}) {
    Case c;
    c.name = "mtu_" + std::to_string(mtu);
    c.forward = Lossy(0.01);
    c.forward.mtu = mtu;
    c.reverse = Lossy(0);
    c.reverse.mtu = mtu;
    c.client.mtu = mtu;
    c.server.mtu = mtu;
    v.push_back(c);
  }
  return v;
}

class TransferMatrixTest : public ::testing::TestWithParam<Case> {};

TEST_P(TransferMatrixTest, DigestsMatchClosesCleanlyAndReplays) {
  const Case& c = GetParam();
  Result a;
  RunTransfer(c, 7, a);
  if (HasFatalFailure()) return;
  EXPECT_TRUE(a.idle) << "did not finish within the virtual time limit";
  EXPECT_TRUE(a.info.destroyed);
  EXPECT_EQ(a.info.client.error, ErrorCode::kNone);
  EXPECT_EQ(a.info.server.error, ErrorCode::kNone);
  EXPECT_EQ(a.info.client.bytes_written, c.bytes);
  EXPECT_EQ(a.info.server.bytes_read, c.bytes);
  EXPECT_EQ(a.info.client.write_digest, a.info.server.read_digest);
  // The client closes first, so it passes through TIME_WAIT.
  EXPECT_EQ(a.obs.time_waits, 1);
  EXPECT_EQ(a.obs.destroyed, 1);
  if (c.stall_until > 0) {
    EXPECT_GT(a.obs.window_probes, 0);
  }
  if (c.forward.corrupt > 0) {
    EXPECT_GT(a.obs.bad_checksums, 0);
  }
  if (c.forward.reorder > 0 || c.forward.jitter.jitter > 0) {
    EXPECT_GT(a.obs.out_of_order, 0);
  }

  Result b;
  RunTransfer(c, 7, b);
  EXPECT_EQ(a.trace, b.trace) << "same seed must replay the same trace";
  Result other;
  RunTransfer(c, 8, other);
  if (c.forward.loss.model != LossSpec::Model::kNone) {
    EXPECT_NE(a.trace, other.trace);
  }
  EXPECT_EQ(other.info.client.write_digest, other.info.server.read_digest);
}

INSTANTIATE_TEST_SUITE_P(Impairments, TransferMatrixTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return i.param.name;
                         });

}  // namespace
}  // namespace tcpemu
