// NewReno against the model of Mathis, Semke, Mahdavi and Ott (1997):
// goodput = (MSS / RTT) * sqrt(3/2) / sqrt(p), for a long transfer with
// random loss, where p is the rate of loss events (congestion signals: entries
// into fast recovery and retransmission timeouts) per segment sent. The link
// neither limits the rate nor queues, the receiver acknowledges every segment
// (the model's b = 1), and each run lasts 200 s of virtual time; goodput and
// p are measured after a 20 s warm-up. Every point must be within 20 % of the
// model. The table is printed, and written as Markdown to
// $TCPEMU_FIDELITY_TABLE when set (scripts/fidelity).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

constexpr uint32_t kMtu = 1500;
constexpr uint32_t kMss = kMtu - 40;
constexpr TimeNs kWarmup = 20 * kSecond;
constexpr TimeNs kEnd = 200 * kSecond;

struct Point {
  double p = 0;        // configured random loss
  DurationNs rtt = 0;  // base round-trip time
  double loss_event_rate = 0;
  double timeout_share = 0;  // of the loss events
  double goodput_bps = 0;
  double model_bps = 0;
  double ratio() const { return goodput_bps / model_bps; }
};

Point RunPoint(double p, DurationNs rtt, uint64_t seed) {
  TraceHasher hasher;
  Network net(seed, &hasher);
  PathSpec data;
  data.delay = rtt / 2;
  data.queue_limit_packets = 0;  // unlimited; with no rate nothing queues
  data.loss.model = LossSpec::Model::kRandom;
  data.loss.p = p;
  PathSpec acks;
  acks.delay = rtt / 2;
  acks.queue_limit_packets = 0;
  absl::StatusOr<uint32_t> link = net.CreateLink(data, acks);
  EXPECT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  spec.digest = false;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->send_buffer = 64 << 20;
    c->recv_buffer = 64 << 20;
    c->delayed_ack = false;
    c->cc = CcAlgorithm::kNewReno;
  }
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  EXPECT_TRUE(
      net.SetSource(*sid, Endpoint::kClient, uint64_t{1} << 50, false).ok());
  net.RunUntil(kWarmup);
  const SessionInfo a = *net.GetSession(*sid);
  net.RunUntil(kEnd);
  const SessionInfo b = *net.GetSession(*sid);
  Digests().Check(
      absl::StrCat("mathis/p", p, "/rtt", rtt / kMillisecond, "ms/seed", seed),
      hasher.HexDigest());

  const ConnectionCounters& ca = a.client.counters;
  const ConnectionCounters& cb = b.client.counters;
  const double events = double(cb.fast_recoveries - ca.fast_recoveries +
                               cb.timeouts - ca.timeouts);
  const double segments = double(cb.segments_sent - ca.segments_sent);
  Point pt;
  pt.p = p;
  pt.rtt = rtt;
  pt.loss_event_rate = events / segments;
  pt.timeout_share = double(cb.timeouts - ca.timeouts) / events;
  pt.goodput_bps = double(b.server.bytes_read - a.server.bytes_read) * 8 /
                   (double(kEnd - kWarmup) / 1e9);
  pt.model_bps = kMss * 8 / (double(rtt) / 1e9) * std::sqrt(1.5) /
                 std::sqrt(pt.loss_event_rate);
  return pt;
}

TEST(MathisTest, NewRenoGoodputFollowsTheModel) {
  std::vector<Point> points;
  uint64_t seed = 1;
  for (DurationNs rtt : {20 * kMillisecond, 100 * kMillisecond}) {
    for (double p : {0.001, 0.005, 0.01, 0.02}) {
      points.push_back(RunPoint(p, rtt, seed++));
    }
  }
  std::string table =
      "| loss p | RTT | loss-event rate | of which timeouts | goodput Mbit/s "
      "| model Mbit/s | goodput / model |\n|---|---|---|---|---|---|---|\n";
  for (const Point& pt : points) {
    absl::StrAppend(
        &table,
        absl::StrFormat("| %.1f %% | %d ms | %.4f %% | %.1f %% | %.2f | %.2f | "
                        "%.3f |\n",
                        pt.p * 100, int(pt.rtt / kMillisecond),
                        pt.loss_event_rate * 100, pt.timeout_share * 100,
                        pt.goodput_bps / 1e6, pt.model_bps / 1e6, pt.ratio()));
    EXPECT_NEAR(pt.ratio(), 1.0, 0.2)
        << "p " << pt.p << ", RTT " << pt.rtt / kMillisecond << " ms";
  }
  std::printf("%s", table.c_str());
  if (const char* path = std::getenv("TCPEMU_FIDELITY_TABLE")) {
    if (std::FILE* f = std::fopen(path, "w")) {
      std::fputs(table.c_str(), f);
      std::fclose(f);
    }
  }
}

}  // namespace
}  // namespace tcpemu
