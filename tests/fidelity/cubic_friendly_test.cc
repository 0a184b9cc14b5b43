// CUBIC's Reno-friendly region (RFC 9438 4.3) in virtual time: on a path
// whose window is a dozen segments (1 % random loss, 50 ms round trip), the
// cubic curve grows slower than Reno would, so CUBIC follows its Reno
// estimate W_est, whose additive increase alpha = 3 (1 - beta) / (1 + beta)
// is chosen so that with beta = 0.7 the average goodput equals Reno's. The
// Linux kernel behaves so on the same path (docs/fidelity.md): its CUBIC and
// Reno deliver within a few percent of each other.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/trace/trace_hash.h"
#include "gtest/gtest.h"
#include "tests/support/trace_digests.h"

namespace tcpemu {
namespace {

TraceDigests& Digests() {
  static TraceDigests digests(TCPEMU_TRACE_DIGESTS);
  return digests;
}

double GoodputBps(CcAlgorithm cc, uint64_t seed) {
  TraceHasher hasher;
  Network net(seed, &hasher);
  PathSpec data;
  data.delay = 25 * kMillisecond;
  data.queue_limit_packets = 0;
  data.loss.model = LossSpec::Model::kRandom;
  data.loss.p = 0.01;
  PathSpec acks;
  acks.delay = 25 * kMillisecond;
  acks.queue_limit_packets = 0;
  absl::StatusOr<uint32_t> link = net.CreateLink(data, acks);
  EXPECT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  spec.digest = false;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->send_buffer = 16 << 20;
    c->recv_buffer = 16 << 20;
    c->cc = cc;
  }
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  EXPECT_TRUE(
      net.SetSource(*sid, Endpoint::kClient, uint64_t{1} << 50, false).ok());
  net.RunUntil(20 * kSecond);
  const uint64_t before = net.GetSession(*sid)->server.bytes_read;
  net.RunUntil(400 * kSecond);
  const uint64_t after = net.GetSession(*sid)->server.bytes_read;
  Digests().Check(absl::StrCat("cubic_friendly/",
                               cc == CcAlgorithm::kCubic ? "cubic" : "newreno",
                               "/seed", seed),
                  hasher.HexDigest());
  return double(after - before) * 8 / 380;
}

TEST(CubicFriendlyTest, SmallWindowsGoAsFastAsReno) {
  double cubic = 0, reno = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    cubic += GoodputBps(CcAlgorithm::kCubic, seed);
    reno += GoodputBps(CcAlgorithm::kNewReno, seed);
  }
  std::printf("CUBIC %.3f Mbit/s, NewReno %.3f Mbit/s, ratio %.3f\n",
              cubic / 3e6, reno / 3e6, cubic / reno);
  EXPECT_NEAR(cubic / reno, 1.0, 0.15);
}

}  // namespace
}  // namespace tcpemu
