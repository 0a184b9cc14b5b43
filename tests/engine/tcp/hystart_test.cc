// HyStart++ (RFC 9406) on synthetic rounds of RTT samples: flat RTTs stay in
// slow start, a rise past the threshold enters Conservative Slow Start with a
// quarter of the growth, a drop below the baseline resumes slow start,
// CSS_ROUNDS rounds of CSS end slow start with ssthresh = cwnd, rounds with
// fewer than N_RTT_SAMPLE samples decide nothing, and a loss ends it all.
#include "engine/tcp/hystart.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "engine/tcp/cubic.h"
#include "engine/tcp/new_reno.h"
#include "gtest/gtest.h"
#include "tests/engine/tcp/cc_test_util.h"

namespace tcpemu {
namespace {

constexpr uint32_t kMss = 1000;
constexpr DurationNs kMs = kMillisecond;
using State = HyStartPlusPlus::State;

// Plays rounds of ACKs into a HyStart++ instance (or a congestion
// controller's OnAckRtt and OnAck). Every round is kAcks ACKs of one segment
// each: it begins with kAcks segments outstanding, and while it runs the
// sender sends the kAcks of the next round, the last of them before the
// round's final ACK, so that windowEnd moves by kAcks segments per round.
class Rounds {
 public:
  static constexpr size_t kAcks = 16;

  explicit Rounds(HyStartPlusPlus* h) : h_(h) {}
  explicit Rounds(CongestionControl* cc) : cc_(cc) {}

  // One whole round, one ACK per RTT in `rtts` (0: no sample). Returns how
  // many ACKs made OnAckRtt report the end of slow start.
  int Round(const std::vector<DurationNs>& rtts) { return Acks(rtts, kAcks); }
  // The next `count` ACKs of the round, taking their RTTs from `rtts`.
  int Acks(const std::vector<DurationNs>& rtts, size_t count) {
    int ended = 0;
    for (size_t k = 0; k < count; ++k) {
      const size_t i = ack_in_round_++;  // 0-based
      if (i == 0) round_end_ = snd_una_ + static_cast<int64_t>(kAcks * kMss);
      snd_una_ += kMss;
      const Seq snd_max =
          round_end_ + static_cast<int64_t>(i * kAcks / (kAcks - 1) * kMss);
      if (h_ != nullptr) {
        ended += h_->OnAckRtt(rtts[i], snd_una_, snd_max);
      } else {
        cc_->OnAck(Acked(0, kMss, 0, rtts[i], snd_una_, snd_max));
      }
      if (ack_in_round_ == kAcks) ack_in_round_ = 0;
    }
    return ended;
  }

 private:
  HyStartPlusPlus* h_ = nullptr;
  CongestionControl* cc_ = nullptr;
  Seq snd_una_{1};
  Seq round_end_{1};
  size_t ack_in_round_ = 0;
};

// A round whose first `samples` ACKs measured `rtt` and the rest none.
std::vector<DurationNs> Flat(DurationNs rtt, size_t samples = Rounds::kAcks) {
  std::vector<DurationNs> rtts(Rounds::kAcks, 0);
  for (size_t i = 0; i < samples; ++i) rtts[i] = rtt;
  return rtts;
}

// Slow start with one round at 40 ms behind it, then a round at 45 ms: the
// rise of 5 ms is the threshold (40 / MIN_RTT_DIVISOR), so CSS begins at the
// eighth sample of the second round.
void EnterCss(Rounds& r, HyStartPlusPlus& h) {
  EXPECT_EQ(r.Round(Flat(40 * kMs)), 0);
  EXPECT_EQ(r.Acks(Flat(45 * kMs), 7), 0);
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(r.Acks(Flat(45 * kMs), 1), 0);
  EXPECT_EQ(h.state(), State::kConservative);
  EXPECT_EQ(h.css_baseline_min_rtt(), 45 * kMs);
  EXPECT_EQ(r.Acks(Flat(45 * kMs), 8), 0);  // the rest of the round
}

TEST(HyStartTest, FlatRttNeverLeavesSlowStart) {
  HyStartPlusPlus h;
  Rounds r(&h);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(r.Round(Flat(40 * kMs)), 0);
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(h.rounds(), 30u);
  EXPECT_EQ(h.css_entries(), 0u);
  EXPECT_EQ(h.last_round_min_rtt(), 40 * kMs);
  // A small jitter below the threshold does not count either.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(r.Round(Flat((i % 2 ? 44 : 40) * kMs)), 0);
  }
  EXPECT_EQ(h.state(), State::kSlowStart);
  // Slow start grows by the bytes acknowledged, at most L = 8 segments.
  EXPECT_EQ(h.SlowStartIncrease(2 * kMss, kMss), 2 * kMss);
  EXPECT_EQ(h.SlowStartIncrease(20 * kMss, kMss), 8 * kMss);
}

TEST(HyStartTest, RttRiseEntersCssWithAQuarterOfTheGrowth) {
  HyStartPlusPlus h;
  Rounds r(&h);
  EnterCss(r, h);
  EXPECT_EQ(h.css_entries(), 1u);
  // CSS: min(N, L * SMSS) / CSS_GROWTH_DIVISOR.
  EXPECT_EQ(h.SlowStartIncrease(2 * kMss, kMss), kMss / 2);
  EXPECT_EQ(h.SlowStartIncrease(20 * kMss, kMss), 2 * kMss);
  // Remainders carry: four ACKs of 3 bytes grow 3 bytes in all.
  uint32_t grown = 0;
  for (int i = 0; i < 4; ++i) grown += h.SlowStartIncrease(3, kMss);
  EXPECT_EQ(grown, 3u);
}

TEST(HyStartTest, ThresholdIsAnEighthOfTheRttClampedToFourAndSixteenMs) {
  struct Case {
    DurationNs last, below, at;
  };
  // 20 ms / 8 = 2.5 ms -> 4 ms; 80 ms / 8 = 10 ms; 200 ms / 8 = 25 -> 16 ms.
  for (const Case& c :
       {Case{20 * kMs, 23 * kMs, 24 * kMs}, Case{80 * kMs, 89 * kMs, 90 * kMs},
        Case{200 * kMs, 215 * kMs, 216 * kMs}}) {
    HyStartPlusPlus below;
    Rounds rb(&below);
    rb.Round(Flat(c.last));
    rb.Round(Flat(c.below));
    EXPECT_EQ(below.state(), State::kSlowStart) << c.last;
    HyStartPlusPlus at;
    Rounds ra(&at);
    ra.Round(Flat(c.last));
    ra.Round(Flat(c.at));
    EXPECT_EQ(at.state(), State::kConservative) << c.last;
    EXPECT_EQ(at.css_baseline_min_rtt(), c.at);
  }
}

TEST(HyStartTest, RoundMinimumDecides) {
  // One low sample in the round keeps the minimum below the threshold.
  HyStartPlusPlus h;
  Rounds r(&h);
  r.Round(Flat(40 * kMs));
  std::vector<DurationNs> rtts = Flat(60 * kMs);
  rtts[12] = 41 * kMs;
  r.Round(rtts);
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(h.last_round_min_rtt(), 41 * kMs);
}

TEST(HyStartTest, TooFewSamplesInARoundDoNotTrigger) {
  HyStartPlusPlus h;
  Rounds r(&h);
  r.Round(Flat(40 * kMs));
  // Seven samples, far above the threshold: no decision.
  r.Round(Flat(80 * kMs, 7));
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(h.last_round_min_rtt(), 80 * kMs);
  // Seven samples spread over the round: none either.
  HyStartPlusPlus h2;
  Rounds r2(&h2);
  r2.Round(Flat(40 * kMs));
  std::vector<DurationNs> rtts(Rounds::kAcks, 0);
  for (int i = 0; i < 7; ++i) rtts[2 * i + 1] = 80 * kMs;
  r2.Round(rtts);
  EXPECT_EQ(h2.state(), State::kSlowStart);
  // The eighth sample decides.
  HyStartPlusPlus h3;
  Rounds r3(&h3);
  r3.Round(Flat(40 * kMs));
  r3.Round(Flat(80 * kMs, 8));
  EXPECT_EQ(h3.state(), State::kConservative);
}

TEST(HyStartTest, FirstRoundHasNothingToCompareWith) {
  HyStartPlusPlus h;
  Rounds r(&h);
  std::vector<DurationNs> rtts = Flat(40 * kMs);
  for (size_t i = 8; i < rtts.size(); ++i) rtts[i] = 200 * kMs;
  r.Round(rtts);
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(h.rounds(), 1u);
}

TEST(HyStartTest, DropBelowTheBaselineResumesSlowStart) {
  HyStartPlusPlus h;
  Rounds r(&h);
  EnterCss(r, h);
  // A CSS round whose minimum falls below 45 ms, but with only seven
  // samples: CSS stays.
  r.Round(Flat(42 * kMs, 7));
  EXPECT_EQ(h.state(), State::kConservative);
  // With eight: the exit was spurious.
  EXPECT_EQ(r.Acks(Flat(44 * kMs), 7), 0);
  EXPECT_EQ(h.state(), State::kConservative);
  EXPECT_EQ(r.Acks(Flat(44 * kMs), 1), 0);
  EXPECT_EQ(h.state(), State::kSlowStart);
  EXPECT_EQ(h.css_baseline_min_rtt(), HyStartPlusPlus::kNoRtt);
  EXPECT_EQ(h.css_resumes(), 1u);
  EXPECT_EQ(h.SlowStartIncrease(2 * kMss, kMss), 2 * kMss);
  r.Acks(Flat(44 * kMs), 8);
  // HyStart++ goes on: the next rise enters CSS again.
  r.Round(Flat(50 * kMs));
  EXPECT_EQ(h.state(), State::kConservative);
  EXPECT_EQ(h.css_entries(), 2u);
  EXPECT_EQ(h.css_rounds(), 1u);
}

TEST(HyStartTest, CssRoundsEndSlowStart) {
  HyStartPlusPlus h;
  Rounds r(&h);
  EnterCss(r, h);
  // The partial round in which CSS began was the first of CSS_ROUNDS.
  EXPECT_EQ(h.css_rounds(), 1u);
  for (uint32_t i = 2; i < HyStartPlusPlus::kCssRounds; ++i) {
    EXPECT_EQ(r.Round(Flat((45 + i) * kMs)), 0);
    EXPECT_EQ(h.css_rounds(), i);
  }
  // The fifth round: slow start ends at its last ACK, and only there.
  EXPECT_EQ(r.Acks(Flat(50 * kMs), 15), 0);
  EXPECT_EQ(h.state(), State::kConservative);
  EXPECT_EQ(r.Acks(Flat(50 * kMs), 1), 1);
  EXPECT_EQ(h.state(), State::kDone);
  // Done is done: no further report, standard growth.
  EXPECT_EQ(r.Round(Flat(40 * kMs)), 0);
  EXPECT_EQ(h.state(), State::kDone);
  EXPECT_EQ(h.SlowStartIncrease(2 * kMss, kMss), kMss);
}

TEST(HyStartTest, LossEndsHyStart) {
  for (bool in_css : {false, true}) {
    HyStartPlusPlus h;
    Rounds r(&h);
    if (in_css) {
      EnterCss(r, h);
    } else {
      r.Round(Flat(40 * kMs));
    }
    h.OnCongestion();
    EXPECT_EQ(h.state(), State::kDone);
    EXPECT_EQ(h.css_baseline_min_rtt(), HyStartPlusPlus::kNoRtt);
    // RFC 9406 4.3: the next slow start is standard, L = 1.
    EXPECT_EQ(h.SlowStartIncrease(2 * kMss, kMss), kMss);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(r.Round(Flat(60 * kMs)), 0);
    EXPECT_EQ(h.state(), State::kDone);
  }
}

// The congestion controllers with HyStart++: slow start grows up to L
// segments per ACK, CSS a quarter of that, and after CSS_ROUNDS rounds
// ssthresh = cwnd and congestion avoidance begins.
template <typename Cc>
void ControllerRunsHyStart() {
  Cc cc(kMss, 10, /*hystart=*/true);
  ASSERT_NE(cc.hystart(), nullptr);
  cc.OnAck(Acked(0, 3 * kMss));
  EXPECT_EQ(cc.cwnd(), 13 * kMss);
  Rounds r(static_cast<CongestionControl*>(&cc));
  r.Round(Flat(40 * kMs));
  EXPECT_EQ(cc.cwnd(), 29 * kMss);
  r.Acks(Flat(45 * kMs), 8);  // CSS from the eighth ACK's growth on
  ASSERT_EQ(cc.hystart()->state(), State::kConservative);
  const uint32_t at_css = cc.cwnd();
  r.Acks(Flat(45 * kMs), 8);
  EXPECT_EQ(cc.cwnd(), at_css + 8 * kMss / 4);
  for (int i = 0; i < 4; ++i) r.Round(Flat(46 * kMs));
  EXPECT_EQ(cc.hystart()->state(), State::kDone);
  EXPECT_EQ(cc.ssthresh(), at_css + (8 + 4 * 16) * kMss / 4 - kMss / 4);
  EXPECT_GE(cc.cwnd(), cc.ssthresh());
  // Congestion avoidance: a round of ACKs adds at most one segment.
  const uint32_t at_exit = cc.cwnd();
  r.Round(Flat(46 * kMs));
  EXPECT_LE(cc.cwnd(), at_exit + kMss);
}

TEST(HyStartTest, NewRenoRunsHyStart) { ControllerRunsHyStart<NewReno>(); }
TEST(HyStartTest, CubicRunsHyStart) { ControllerRunsHyStart<Cubic>(); }

TEST(HyStartTest, TimeoutFallsBackToStandardSlowStart) {
  NewReno cc(kMss, 10, /*hystart=*/true);
  cc.OnRetransmitTimeout(0, 20 * kMss);
  EXPECT_EQ(cc.hystart()->state(), State::kDone);
  EXPECT_EQ(cc.cwnd(), kMss);
  cc.OnAck(Acked(0, 2 * kMss));  // + SMSS, not + 2 SMSS
  EXPECT_EQ(cc.cwnd(), 2 * kMss);
  Cubic cubic(kMss, 10, /*hystart=*/true);
  cubic.OnCongestionEvent(0, 20 * kMss);
  EXPECT_EQ(cubic.hystart()->state(), State::kDone);
}

TEST(HyStartTest, FactoryPassesTheFlag) {
  for (CcAlgorithm algo : {CcAlgorithm::kNewReno, CcAlgorithm::kCubic}) {
    for (bool on : {false, true}) {
      TcpConfig c;
      c.cc = algo;
      c.hystart = on;
      std::unique_ptr<CongestionControl> cc = MakeCongestionControl(c, kMss);
      const HyStartPlusPlus* h =
          algo == CcAlgorithm::kCubic
              ? dynamic_cast<Cubic*>(cc.get())->hystart()
              : dynamic_cast<NewReno*>(cc.get())->hystart();
      EXPECT_EQ(h != nullptr, on);
      // Without HyStart++ slow start is RFC 5681's, L = 1.
      cc->OnAck(Acked(0, 2 * kMss));
      EXPECT_EQ(cc->cwnd(), (on ? 12 : 11) * kMss);
    }
  }
}

}  // namespace
}  // namespace tcpemu
