// HyStart++ (RFC 9406) end to end: one bulk transfer between two engine
// connections across a 20 Mbit/s bottleneck with a 40 ms round trip
// (BDP 100 kB) and a bloated drop-tail buffer of 16 BDPs. Standard slow
// start keeps growing until the buffer overflows and a burst of hundreds of
// segments is lost. With HyStart++ the rising RTT ends slow start, through
// CSS, with no loss at all. The buffer is large because the exit is not
// tight: the round minimum shows the queue only once a whole round's window
// exceeds the BDP by the threshold, by when slow start (L = 8, doubling per
// round) has doubled again, and CSS then still grows the window by a quarter
// per round for CSS_ROUNDS rounds (about 3x): here it leaves slow start near
// 13 BDPs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "engine/base/event.h"
#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr uint64_t kRateBps = 20'000'000;
constexpr DurationNs kOneWay = 20 * kMillisecond;
constexpr uint64_t kBdpBytes = kRateBps / 8 * 2 * kOneWay / kSecond;  // 100 kB
constexpr uint32_t kInitialSsthresh = std::numeric_limits<int32_t>::max();
// A bloated drop-tail buffer: 16 BDPs, 640 ms of queue.
constexpr uint64_t kBuffer = 16 * kBdpBytes;
constexpr TimeNs kHorizon = 8 * kSecond;

// What the sender's slow start did, from the event stream.
class SlowStartProbe final : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    if (e.kind == EventKind::kSegmentDropped) {
      if (drops == 0) first_drop_at = e.time;
      ++drops;
      return;
    }
    if (e.endpoint != Endpoint::kClient ||
        (e.kind != EventKind::kSegmentSent &&
         e.kind != EventKind::kCwndChanged)) {
      return;
    }
    if (exit_at < 0 && e.tcb.ssthresh != kInitialSsthresh) {
      exit_at = e.time;
      exit_cwnd = e.tcb.cwnd;
      exit_ssthresh = e.tcb.ssthresh;
    }
    if (exit_at < 0) peak_cwnd = std::max(peak_cwnd, e.tcb.cwnd);
  }

  uint64_t drops = 0;
  TimeNs first_drop_at = -1;
  TimeNs exit_at = -1;  // ssthresh first left its initial value
  uint32_t exit_cwnd = 0;
  uint32_t exit_ssthresh = 0;
  uint32_t peak_cwnd = 0;  // largest cwnd of the initial slow start
};

struct Outcome {
  SlowStartProbe probe;
  ConnectionCounters counters;
  uint64_t bytes_read = 0;  // by the server within the horizon
};

Outcome Transfer(CcAlgorithm cc, bool hystart, uint64_t buffer_bytes) {
  Outcome out;
  Network net(11, &out.probe);
  PathSpec data;
  data.delay = kOneWay;
  data.rate_bps = kRateBps;
  data.queue_limit_packets = 0;
  data.queue_limit_bytes = buffer_bytes;
  PathSpec acks;
  acks.delay = kOneWay;
  auto link = net.CreateLink(data, acks);
  EXPECT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.digest = false;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->send_buffer = 8 << 20;
    c->recv_buffer = 8 << 20;
    c->cc = cc;
    c->hystart = hystart;
  }
  auto sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok());
  EXPECT_TRUE(
      net.SetSource(*sid, Endpoint::kClient, uint64_t{1} << 40, false).ok());
  net.RunUntil(kHorizon);
  auto info = net.GetSession(*sid);
  EXPECT_TRUE(info.ok());
  out.counters = info->client.counters;
  out.bytes_read = info->server.bytes_read;
  return out;
}

void Print(const char* name, const Outcome& o) {
  char first[40] = "";
  if (o.probe.drops > 0) {
    std::snprintf(first, sizeof(first), " (the first at %.3f s)",
                  o.probe.first_drop_at / 1e9);
  }
  std::printf(
      "%s: slow start ended at %.3f s, cwnd %u B (peak %u B); %llu drops%s, "
      "%llu fast recoveries, %llu timeouts, %llu B retransmitted, %.2f MB "
      "delivered\n",
      name, o.probe.exit_at / 1e9, o.probe.exit_cwnd, o.probe.peak_cwnd,
      static_cast<unsigned long long>(o.probe.drops), first,
      static_cast<unsigned long long>(o.counters.fast_recoveries),
      static_cast<unsigned long long>(o.counters.timeouts),
      static_cast<unsigned long long>(o.counters.bytes_retransmitted),
      o.bytes_read / 1e6);
}

TEST(HyStartPairTest, SlowStartEndsBeforeTheBufferOverflows) {
  const uint64_t buffer = kBuffer;
  for (CcAlgorithm cc : {CcAlgorithm::kNewReno, CcAlgorithm::kCubic}) {
    const char* name = cc == CcAlgorithm::kCubic ? "cubic" : "newreno";
    SCOPED_TRACE(name);
    const Outcome standard = Transfer(cc, /*hystart=*/false, buffer);
    const Outcome hystart = Transfer(cc, /*hystart=*/true, buffer);
    Print(cc == CcAlgorithm::kCubic ? "cubic, standard slow start"
                                    : "newreno, standard slow start",
          standard);
    Print(cc == CcAlgorithm::kCubic ? "cubic, HyStart++" : "newreno, HyStart++",
          hystart);

    // Standard slow start grows past what the path holds and loses a burst,
    // which is what ends it.
    EXPECT_GT(standard.probe.peak_cwnd, kBdpBytes + buffer);
    EXPECT_GT(standard.probe.drops, 10u);
    EXPECT_GE(standard.probe.exit_at, standard.probe.first_drop_at);
    EXPECT_GE(standard.counters.fast_recoveries + standard.counters.timeouts,
              1u);
    EXPECT_GT(standard.counters.bytes_retransmitted, 0u);

    // HyStart++ ends slow start on the RTT rise, with ssthresh = cwnd
    // between the BDP and what the path and its buffer hold, and nothing
    // is lost.
    ASSERT_GT(hystart.probe.exit_at, 0);
    EXPECT_EQ(hystart.probe.exit_ssthresh, hystart.probe.peak_cwnd);
    EXPECT_GE(hystart.probe.exit_cwnd, hystart.probe.exit_ssthresh);
    EXPECT_GT(hystart.probe.exit_ssthresh, 2 * kBdpBytes);
    EXPECT_LT(hystart.probe.exit_ssthresh, kBdpBytes + buffer);
    EXPECT_LT(hystart.probe.peak_cwnd, standard.probe.peak_cwnd);
    EXPECT_EQ(hystart.probe.drops, 0u);
    EXPECT_EQ(hystart.counters.fast_recoveries, 0u);
    EXPECT_EQ(hystart.counters.timeouts, 0u);
    EXPECT_EQ(hystart.counters.bytes_retransmitted, 0u);
    // The bottleneck stays full all the same.
    EXPECT_GE(hystart.bytes_read, standard.bytes_read * 99 / 100);
  }
}

}  // namespace
}  // namespace tcpemu
