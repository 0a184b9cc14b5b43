// BBR v1 driven by the packet-level bottleneck model of bottleneck_model.h
// (100 Mbit/s, 40 ms, rate samples as
// draft-cheng-iccrg-delivery-rate-estimation computes them). Shown:
// STARTUP's gain and growth, its exit at the bottleneck rate (not on
// app-limited rounds), DRAIN until the flight fits the BDP, PROBE_BW's gain
// cycle and the in-flight targets that end its 5/4 and 3/4 phases,
// PROBE_RTT after 10 s without a lower min_rtt, app-limited samples
// (PROBE_RTT's too) not lowering the estimate, ACK aggregation, packet
// conservation and the restore after recovery, the timeout's one segment, the
// restart from idle, policer detection, and the pacing rate. Loss events are
// fed as synthetic ACKs to a flow warmed up on the model.
#include "engine/tcp/bbr.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/tcp/bottleneck_model.h"

namespace tcpemu {
namespace {

using Mode = Bbr::Mode;

constexpr uint32_t kMss = 1448;
constexpr uint64_t kRate = 12'500'000;  // 100 Mbit/s, bytes per second
constexpr DurationNs kRtt = 40 * kMillisecond;
constexpr DurationNs kMs = kMillisecond;
static_assert(BottleneckOptions{}.mss == kMss &&
              BottleneckOptions{}.rate == kRate &&
              BottleneckOptions{}.rtt == kRtt);

// The BDP of the default path, bytes.
constexpr double kBdp = static_cast<double>(kRate) * 0.040;
constexpr uint64_t kBdpBytes = kRate * kRtt / kSecond;

uint64_t ExpectedPacingRate(const Bbr& bbr) {
  return static_cast<uint64_t>(static_cast<double>(bbr.bandwidth()) *
                               bbr.pacing_gain() * 0.99);
}

// What happened at each ACK, for the tests to look back on.
struct Step {
  TimeNs now;
  Mode mode;
  uint64_t round;
  uint64_t bandwidth;
  uint32_t cwnd;
  uint32_t in_flight;
  double pacing_gain;
  int cycle_index;
  DurationNs rtt;
};

std::vector<Step> Record(Bbr& bbr, BottleneckModel& path, TimeNs until) {
  std::vector<Step> steps;
  path.RunUntil(until, [&](const AckSample& ack) {
    steps.push_back(Step{ack.now, bbr.mode(), bbr.round_count(),
                         bbr.bandwidth(), bbr.cwnd(), ack.in_flight,
                         bbr.pacing_gain(), bbr.cycle_index(), ack.rtt});
  });
  return steps;
}

// The first step at which `pred` holds, or steps.size().
template <typename Pred>
size_t FindStep(const std::vector<Step>& steps, Pred pred, size_t from = 0) {
  for (size_t i = from; i < steps.size(); ++i) {
    if (pred(steps[i])) return i;
  }
  return steps.size();
}

TEST(BbrTest, InitialPacingRateComesFromTheInitialWindow) {
  Bbr bbr(kMss, 10, 1);
  EXPECT_EQ(bbr.name(), "bbr");
  EXPECT_EQ(bbr.mode(), Mode::kStartup);
  EXPECT_EQ(bbr.cwnd(), 10 * kMss);
  EXPECT_DOUBLE_EQ(bbr.pacing_gain(), Bbr::kHighGain);
  EXPECT_NEAR(Bbr::kHighGain, 2.885, 0.001);
  // Before any RTT: 2/ln2 x 10 segments per nominal 1 ms, 1 % below.
  EXPECT_NEAR(static_cast<double>(bbr.pacing_rate()),
              Bbr::kHighGain * 10 * kMss / 0.001 * 0.99, 2);
  // The first smoothed RTT replaces the 1 ms.
  AckSample ack;
  ack.now = 40 * kMs;
  ack.new_ack = true;
  ack.acked_bytes = ack.delivered_bytes = kMss;
  ack.prior_in_flight = 10 * kMss;
  ack.in_flight = 9 * kMss;
  ack.rtt = ack.srtt = 40 * kMs;
  ack.delivered = kMss;
  bbr.OnAck(ack);  // no valid rate sample
  EXPECT_EQ(bbr.min_rtt(), 40 * kMs);
  EXPECT_NEAR(static_cast<double>(bbr.pacing_rate()),
              Bbr::kHighGain * 10 * kMss / 0.040 * 0.99, 2);
}

TEST(BbrTest, StartupPacesAtHighGainAndDoublesEachRound) {
  Bbr bbr(kMss, 10, 1);
  BottleneckModel path(&bbr, {});
  const auto steps = Record(bbr, path, 400 * kMs);
  // The bandwidth estimate at the end of each of the first rounds (before
  // the pipe fills: 10 segments double to the BDP of 345 in 5 rounds).
  std::vector<uint64_t> bw_by_round;
  std::vector<uint32_t> cwnd_by_round;
  for (size_t i = 1; i < steps.size(); ++i) {
    if (steps[i].round != steps[i - 1].round) {
      bw_by_round.push_back(steps[i - 1].bandwidth);
      cwnd_by_round.push_back(steps[i - 1].cwnd);
    }
    if (steps[i].mode == Mode::kStartup) {
      EXPECT_DOUBLE_EQ(steps[i].pacing_gain, Bbr::kHighGain);
    }
  }
  ASSERT_GE(bw_by_round.size(), 7u);
  // Rounds 3-5 (before them the initial window's burst, after them the
  // full pipe): the window and the estimate double per round, as slow start
  // does, with a pacing gain of 2/ln2 = 2.89 (the gain with which a
  // smoothly rising rate doubles each round).
  for (size_t r = 3; r <= 5; ++r) {
    const double cwnd_growth = static_cast<double>(cwnd_by_round[r]) /
                               static_cast<double>(cwnd_by_round[r - 1]);
    EXPECT_GT(cwnd_growth, 1.8) << "round " << r;
    EXPECT_LT(cwnd_growth, 2.1) << "round " << r;
  }
  const double bw_growth =
      static_cast<double>(bw_by_round[5]) / static_cast<double>(bw_by_round[3]);
  EXPECT_GT(bw_growth, 2 * 2 * 0.85);
  EXPECT_LT(bw_growth, 2 * 2 * 1.15);
  // Then it reaches the bottleneck rate, not more.
  EXPECT_EQ(bw_by_round[6], kRate);
}

TEST(BbrTest, StartupEndsAtTheBottleneckRateThenDrainsToOneBdp) {
  Bbr bbr(kMss, 10, 1);
  BottleneckModel path(&bbr, {});
  const auto steps = Record(bbr, path, 2 * kSecond);
  const size_t drain =
      FindStep(steps, [](const Step& s) { return s.mode == Mode::kDrain; });
  ASSERT_LT(drain, steps.size()) << "STARTUP never ended";
  // STARTUP ended with the estimate at the bottleneck rate, after three
  // rounds without 25 % growth (about 5 rounds to fill the pipe, plus 3).
  EXPECT_NEAR(static_cast<double>(steps[drain].bandwidth), kRate, 0.05 * kRate);
  EXPECT_GE(steps[drain].round, 7u);
  EXPECT_LE(steps[drain].round, 11u);
  // DRAIN paces at ln2/2 and ends in about one round, once the flight
  // fits one BDP (plus the quanta): then PROBE_BW.
  const size_t probe_bw = FindStep(
      steps, [](const Step& s) { return s.mode == Mode::kProbeBw; }, drain);
  ASSERT_LT(probe_bw, steps.size()) << "DRAIN never ended";
  for (size_t i = drain; i < probe_bw; ++i) {
    EXPECT_EQ(steps[i].mode, Mode::kDrain);
    EXPECT_DOUBLE_EQ(steps[i].pacing_gain, Bbr::kDrainGain);
    EXPECT_GT(steps[i].in_flight, kBdp) << "drained at step " << i;
  }
  EXPECT_LE(steps[probe_bw].round - steps[drain].round, 2u);
  // The target the flight had to reach: one BDP, rounded, plus 3 quanta
  // of 8 segments at this rate.
  EXPECT_LE(steps[probe_bw].in_flight, kBdp + 30 * kMss);
  EXPECT_TRUE(bbr.full_bandwidth_reached());
  // ssthresh is set to that target when STARTUP ends (its quanta at
  // STARTUP's pacing rate: 24 segments each).
  EXPECT_LT(bbr.ssthresh(), kBdp + 80 * kMss);
  EXPECT_GT(bbr.ssthresh(), kBdp);
}

TEST(BbrTest, ProbeBwCyclesItsGainsOneMinRttPerPhase) {
  Bbr bbr(kMss, 10, 7);
  BottleneckModel path(&bbr, {});
  const auto steps = Record(bbr, path, 4 * kSecond);
  const size_t start =
      FindStep(steps, [](const Step& s) { return s.mode == Mode::kProbeBw; });
  ASSERT_LT(start, steps.size());
  // The first phase is never the draining 3/4 one.
  EXPECT_NE(steps[start].cycle_index, 1);
  // Phase changes: each advances by one, and lasts at least min_rtt (5/4
  // and 1) or ends early (3/4, once the queue is gone).
  std::vector<size_t> changes;
  for (size_t i = start + 1; i < steps.size(); ++i) {
    ASSERT_EQ(steps[i].mode, Mode::kProbeBw);
    if (steps[i].cycle_index != steps[i - 1].cycle_index) {
      EXPECT_EQ(steps[i].cycle_index, (steps[i - 1].cycle_index + 1) % 8);
      changes.push_back(i);
    }
    EXPECT_DOUBLE_EQ(steps[i].pacing_gain,
                     Bbr::kPacingGainCycle[steps[i].cycle_index]);
    EXPECT_DOUBLE_EQ(bbr.cwnd_gain(), 2.0);
  }
  ASSERT_GE(changes.size(), 16u);  // two whole cycles
  int probes = 0;
  for (size_t k = 1; k < changes.size(); ++k) {
    const Step& phase = steps[changes[k - 1]];
    const DurationNs length = steps[changes[k]].now - phase.now;
    if (phase.pacing_gain >= 1) {
      EXPECT_GT(length, kRtt) << "phase " << phase.cycle_index;
    }
    if (phase.pacing_gain == 1) {
      EXPECT_LT(length, kRtt + 5 * kMs) << "phase " << phase.cycle_index;
    }
    if (phase.pacing_gain > 1) {
      ++probes;
      // The probe raised the flight to 5/4 BDP before it ended.
      uint32_t max_in_flight = 0;
      for (size_t i = changes[k - 1]; i <= changes[k]; ++i) {
        max_in_flight = std::max(max_in_flight, steps[i].in_flight);
      }
      EXPECT_GE(max_in_flight, 1.25 * kBdp);
    }
    if (phase.pacing_gain < 1) {
      EXPECT_LE(length, kRtt + 5 * kMs);
    }
  }
  EXPECT_GE(probes, 2);
  // Through it all the estimate stays at the bottleneck rate and the
  // queue small: RTTs up to the probe's 5/4 BDP plus the send quanta
  // above the propagation delay, and a tenth above it on average (STARTUP
  // had tripled it).
  double rtt_sum = 0;
  for (size_t i = start + 1000; i < steps.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(steps[i].bandwidth), kRate, 0.05 * kRate);
    EXPECT_LT(steps[i].rtt, kRtt * 135 / 100);
    rtt_sum += steps[i].rtt;
  }
  EXPECT_LT(rtt_sum / static_cast<double>(steps.size() - start - 1000),
            1.1 * kRtt);
}

TEST(BbrTest, StartPhaseIsRandomButFixedBySeed) {
  auto first_phase = [](uint32_t seed) {
    Bbr bbr(kMss, 10, seed);
    BottleneckModel path(&bbr, {});
    const auto steps = Record(bbr, path, 1 * kSecond);
    const size_t i =
        FindStep(steps, [](const Step& s) { return s.mode == Mode::kProbeBw; });
    return i < steps.size() ? steps[i].cycle_index : -1;
  };
  std::vector<int> seen(8, 0);
  for (uint32_t seed = 0; seed < 24; ++seed) {
    const int phase = first_phase(seed);
    ASSERT_GE(phase, 0);
    ASSERT_NE(phase, 1);
    ++seen[phase];
    EXPECT_EQ(first_phase(seed), phase);  // deterministic
  }
  // Several different phases come up.
  EXPECT_GE(std::count_if(seen.begin(), seen.end(), [](int n) { return n; }),
            4);
}

TEST(BbrTest, ProbeRttWhenMinRttIsNotRefreshedForTenSeconds) {
  Bbr bbr(kMss, 10, 3);
  BottleneckModel path(&bbr, {});
  const auto early = Record(bbr, path, 2 * kSecond);
  ASSERT_EQ(bbr.mode(), Mode::kProbeBw);
  EXPECT_NEAR(static_cast<double>(bbr.min_rtt()), kRtt, 2 * kMs);
  // When the estimate was taken: the first sample as low as it.
  const size_t measured = FindStep(early, [&](const Step& s) {
    return s.rtt > 0 && s.rtt <= bbr.min_rtt();
  });
  ASSERT_LT(measured, early.size());
  // The route lengthens: no sample is as low as min_rtt any more.
  path.SetRtt(50 * kMs);
  const auto steps = Record(bbr, path, 14 * kSecond);
  const size_t enter =
      FindStep(steps, [](const Step& s) { return s.mode == Mode::kProbeRtt; });
  ASSERT_LT(enter, steps.size()) << "no PROBE_RTT";
  // 10 s after the estimate was taken (samples as low as it since then,
  // until 2 s, did not postpone it).
  EXPECT_GE(steps[enter].now, early[measured].now + 10 * kSecond);
  EXPECT_LT(steps[enter].now, early[measured].now + 10 * kSecond + kRtt);
  const size_t leave = FindStep(
      steps, [](const Step& s) { return s.mode != Mode::kProbeRtt; }, enter);
  ASSERT_LT(leave, steps.size()) << "PROBE_RTT never ended";
  // cwnd 4 segments all along; the flight drains to it, then holds it for
  // at least 200 ms (and a round).
  for (size_t i = enter; i < leave; ++i) {
    EXPECT_LE(steps[i].cwnd, 4 * kMss);
  }
  const size_t drained = FindStep(
      steps, [](const Step& s) { return s.in_flight <= 4 * kMss; }, enter);
  ASSERT_LT(drained, leave);
  EXPECT_GE(steps[leave].now - steps[drained].now, 200 * kMs);
  EXPECT_LT(steps[leave].now - steps[drained].now, 300 * kMs);
  // Back to PROBE_BW with the window from before, and the new min_rtt.
  EXPECT_EQ(steps[leave].mode, Mode::kProbeBw);
  EXPECT_GT(steps[leave].cwnd, kBdp);
  EXPECT_NEAR(static_cast<double>(bbr.min_rtt()), 50 * kMs, 2 * kMs);
  // Meanwhile PROBE_RTT's low-rate samples did not lower the estimate.
  for (size_t i = enter; i < steps.size(); ++i) {
    EXPECT_GT(static_cast<double>(steps[i].bandwidth), 0.95 * kRate);
  }
}

// On a short path PROBE_RTT's 200 ms are many rounds, more than the
// bandwidth filter's 10: its low-rate samples count as app-limited, so the
// estimate survives.
TEST(BbrTest, ProbeRttSamplesDoNotLowerTheEstimateOnAShortPath) {
  Bbr bbr(kMss, 10, 3);
  BottleneckOptions options;
  options.rtt = 5 * kMs;
  BottleneckModel path(&bbr, options);
  Record(bbr, path, 1 * kSecond);
  path.SetRtt(6 * kMs);
  const auto steps = Record(bbr, path, 12 * kSecond);
  const size_t enter =
      FindStep(steps, [](const Step& s) { return s.mode == Mode::kProbeRtt; });
  ASSERT_LT(enter, steps.size()) << "no PROBE_RTT";
  const size_t leave = FindStep(
      steps, [](const Step& s) { return s.mode != Mode::kProbeRtt; }, enter);
  ASSERT_LT(leave, steps.size());
  EXPECT_GT(steps[leave].round - steps[enter].round, 20u);
  for (size_t i = enter; i < steps.size(); ++i) {
    ASSERT_GT(static_cast<double>(steps[i].bandwidth), 0.95 * kRate)
        << "at " << steps[i].now;
  }
}

// As Linux (since "tcp: only postpone PROBE_RTT if RTT is < current min_rtt
// estimate", 2020): samples only as low as min_rtt do not renew it, so even
// on a steady path, whose 3/4 phases drain the queue to the propagation
// delay, PROBE_RTT comes every 10 s (from the end of the one before).
TEST(BbrTest, ProbeRttEveryTenSecondsEvenWhileMinRttIsMet) {
  Bbr bbr(kMss, 10, 3);
  BottleneckModel path(&bbr, {});
  const auto steps = Record(bbr, path, 25 * kSecond);
  std::vector<size_t> enters, leaves;
  for (size_t i = 1; i < steps.size(); ++i) {
    const bool was = steps[i - 1].mode == Mode::kProbeRtt;
    const bool is = steps[i].mode == Mode::kProbeRtt;
    if (is && !was) enters.push_back(i);
    if (was && !is) leaves.push_back(i);
  }
  ASSERT_EQ(enters.size(), 2u);
  ASSERT_GE(leaves.size(), 1u);
  EXPECT_GT(steps[enters[0]].now, 10 * kSecond);
  EXPECT_LT(steps[enters[0]].now, 10 * kSecond + 2 * kRtt);
  EXPECT_GE(steps[enters[1]].now, steps[leaves[0]].now + 10 * kSecond);
  EXPECT_LT(steps[enters[1]].now,
            steps[leaves[0]].now + 10 * kSecond + 2 * kRtt);
  // min_rtt stays the propagation delay throughout.
  EXPECT_NEAR(static_cast<double>(bbr.min_rtt()), kRtt, 2 * kMs);
}

TEST(BbrTest, AppLimitedSamplesDoNotLowerTheBandwidthEstimate) {
  auto run = [](bool mark) {
    Bbr bbr(kMss, 10, 5);
    BottleneckOptions options;
    options.mark_app_limited = mark;
    BottleneckModel path(&bbr, options);
    Record(bbr, path, 2 * kSecond);
    EXPECT_NEAR(static_cast<double>(bbr.bandwidth()), kRate, 0.05 * kRate);
    // The application now writes a tenth of the bottleneck rate, for
    // longer than the filter's 10 rounds.
    path.SetAppRate(kRate / 10);
    Record(bbr, path, 4 * kSecond);
    return bbr.bandwidth();
  };
  // Marked app-limited, the samples are ignored.
  EXPECT_NEAR(static_cast<double>(run(true)), kRate, 0.05 * kRate);
  // Unmarked, they would have pulled the estimate down to the
  // application's rate.
  EXPECT_LT(static_cast<double>(run(false)), 0.2 * kRate);
}

// STARTUP's plateau test skips application-limited rounds: a flow whose
// application writes a tenth of the path's rate sees its estimate stop
// growing, yet stays in STARTUP (the path may have more).
TEST(BbrTest, AppLimitedRoundsDoNotEndStartup) {
  auto mode_after = [](bool mark) {
    Bbr bbr(kMss, 10, 5);
    BottleneckOptions options;
    options.app_rate = kRate / 10;
    options.mark_app_limited = mark;
    BottleneckModel path(&bbr, options);
    Record(bbr, path, 2 * kSecond);
    EXPECT_LT(static_cast<double>(bbr.bandwidth()), 0.3 * kRate);
    return bbr.mode();
  };
  EXPECT_EQ(mode_after(true), Mode::kStartup);
  // Unmarked, the plateau would have looked like a full pipe.
  EXPECT_NE(mode_after(false), Mode::kStartup);
}

TEST(BbrTest, PacingRateFollowsGainTimesBandwidth) {
  Bbr bbr(kMss, 10, 2);
  BottleneckModel path(&bbr, {});
  int checked = 0;
  path.RunUntil(3 * kSecond, [&](const AckSample&) {
    // From the end of STARTUP (before it the rate never falls).
    if (!bbr.full_bandwidth_reached()) return;
    EXPECT_EQ(bbr.pacing_rate(), ExpectedPacingRate(bbr));
    ++checked;
  });
  EXPECT_GT(checked, 10000);
  // During STARTUP: gain x bw once that exceeds the initial rate.
  Bbr startup(kMss, 10, 2);
  BottleneckModel path2(&startup, {});
  uint64_t last = 0;
  path2.RunUntil(300 * kMs, [&](const AckSample&) {
    EXPECT_GE(startup.pacing_rate(), last);  // never falls
    EXPECT_GE(startup.pacing_rate(), ExpectedPacingRate(startup));
    last = startup.pacing_rate();
  });
  EXPECT_EQ(startup.pacing_rate(), ExpectedPacingRate(startup));
}

// ACKs released every 10 ms in bunches: BBR adds the excess delivered over
// its bandwidth estimate (bounded by 100 ms of it) to the window.
TEST(BbrTest, AckAggregationRaisesTheWindow) {
  auto steady_cwnd = [](DurationNs aggregation, uint32_t* extra) {
    Bbr bbr(kMss, 10, 4);
    BottleneckOptions options;
    options.ack_aggregation = aggregation;
    BottleneckModel path(&bbr, options);
    uint64_t sum = 0;
    int n = 0;
    path.RunUntil(5 * kSecond, [&](const AckSample& ack) {
      if (ack.now > 3 * kSecond) {
        sum += bbr.cwnd();
        ++n;
      }
    });
    *extra = bbr.extra_acked();
    return static_cast<double>(sum) / n;
  };
  uint32_t extra_plain = 0;
  uint32_t extra_aggregated = 0;
  const double plain = steady_cwnd(0, &extra_plain);
  const double aggregated = steady_cwnd(10 * kMs, &extra_aggregated);
  // 10 ms of ACKs at once is about 10 ms of bandwidth beyond the estimate.
  EXPECT_GT(extra_aggregated, 0.5 * kRate * 0.010);
  EXPECT_LT(extra_plain, extra_aggregated / 4);
  EXPECT_GT(aggregated, plain + 0.5 * kRate * 0.010);
}

// A warmed-up flow in PROBE_BW, for the loss tests.
struct Warm {
  Bbr bbr{kMss, 10, 6};
  BottleneckModel path{&bbr, {}};
  AckSample last;
  Warm() {
    path.RunUntil(3 * kSecond, [&](const AckSample& a) { last = a; });
  }
  // Runs on until PROBE_BW enters phase `index`.
  void RunToPhase(int index) {
    path.RunUntil(10 * kSecond, [&](const AckSample& a) {
      last = a;
      if (bbr.cycle_index() == index) path.Stop();
    });
    ASSERT_EQ(bbr.cycle_index(), index);
  }
  // An ACK following `last`: delivers `bytes`, of segments sent when
  // `prior_delivered` had been delivered.
  AckSample Next(uint32_t bytes, uint32_t lost, uint32_t in_flight,
                 uint64_t prior_delivered, DurationNs after = kMs) {
    AckSample a = last;
    a.now += after;
    a.acked_bytes = a.delivered_bytes = bytes;
    a.lost_bytes = lost;
    a.prior_in_flight = last.in_flight;
    a.in_flight = in_flight;
    a.delivered += bytes;
    a.snd_una = a.snd_una + bytes;
    a.rate.delivered = a.delivered - prior_delivered;
    a.rate.prior_delivered = prior_delivered;
    // Delivered at the bottleneck rate.
    a.rate.interval = std::max<DurationNs>(
        static_cast<DurationNs>(a.rate.delivered * kSecond / kRate), 1);
    a.rate.rtt = kRtt + 10 * kMs;
    a.rate.app_limited = false;
    last = a;
    return a;
  }
};

// The 5/4 probe lasts at least min_rtt and until the flight reaches 5/4
// BDP (or a loss); the 3/4 drain ends early once the flight is down to the
// BDP.
TEST(BbrTest, GainPhasesEndOnTheirInflightTargets) {
  const uint64_t d = 0;  // prior_delivered: no new round
  {
    Warm w;
    w.RunToPhase(1);
    // Still queued (twice the BDP in flight) before min_rtt: draining on.
    AckSample a = w.Next(kMss, 0, 2 * kBdpBytes, d);
    a.prior_in_flight = 2 * kBdpBytes;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 1);
    // Half the BDP in flight: the queue is gone, the phase ends now.
    a = w.Next(kMss, 0, kBdpBytes / 2, d);
    a.prior_in_flight = kBdpBytes / 2;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 2);
  }
  {
    Warm w;
    w.RunToPhase(0);
    const TimeNs start = w.last.now;
    // After min_rtt, but the flight is below 5/4 BDP: probing goes on.
    w.last.now = start + kRtt + 5 * kMs;
    AckSample a = w.Next(kMss, 0, kBdpBytes, d);
    a.prior_in_flight = kBdpBytes;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 0);
    // At 5/4 BDP (plus the quanta) it ends.
    a = w.Next(kMss, 0, 3 * kBdpBytes / 2, d);
    a.prior_in_flight = 3 * kBdpBytes / 2;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 1);
  }
  {
    Warm w;
    w.RunToPhase(0);
    // A loss ends it too, once min_rtt has passed.
    w.last.now += kRtt / 2;
    AckSample a = w.Next(kMss, kMss, kBdpBytes, d);
    a.prior_in_flight = kBdpBytes;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 0);
    w.last.now += kRtt;
    a = w.Next(kMss, kMss, kBdpBytes, d);
    a.prior_in_flight = kBdpBytes;
    w.bbr.OnAck(a);
    EXPECT_EQ(w.bbr.cycle_index(), 1);
  }
}

TEST(BbrTest, RecoveryConservesPacketsForARoundThenRestoresTheWindow) {
  Warm w;
  ASSERT_EQ(w.bbr.mode(), Mode::kProbeBw);
  const uint32_t before = w.bbr.cwnd();
  ASSERT_GT(before, kBdp);
  const uint64_t delivered_at_loss = w.last.delivered;
  // Loss: recovery starts, and its first ACK cuts cwnd to what is in
  // flight plus what it delivered.
  w.bbr.OnCongestionEvent(w.last.now, w.last.in_flight);
  const uint32_t in_flight = 200 * kMss;
  w.bbr.OnAck(w.Next(kMss, 3 * kMss, in_flight, delivered_at_loss - kBdpBytes));
  EXPECT_TRUE(w.bbr.packet_conservation());
  EXPECT_EQ(w.bbr.cwnd(), in_flight + kMss);
  // Through the first round: one segment out per segment delivered.
  for (int i = 0; i < 20; ++i) {
    const uint32_t cwnd = w.bbr.cwnd();
    w.bbr.OnAck(w.Next(kMss, 0, in_flight, delivered_at_loss - kBdpBytes + i));
    EXPECT_EQ(w.bbr.cwnd(), std::max(cwnd, in_flight + kMss));
  }
  EXPECT_LT(w.bbr.cwnd(), before);
  // A segment sent after recovery began is delivered: the round is over,
  // and the window grows again by what is delivered (at most twice the
  // delivery, as slow start).
  const uint32_t cwnd = w.bbr.cwnd();
  w.bbr.OnAck(w.Next(kMss, 0, in_flight, w.last.delivered));
  EXPECT_FALSE(w.bbr.packet_conservation());
  EXPECT_EQ(w.bbr.cwnd(), cwnd + kMss);
  // Recovery ends: the window from before the loss is back.
  w.bbr.OnRecoveryEnd(w.last.now, in_flight);
  EXPECT_EQ(w.bbr.cwnd(), before);
  // The model stayed: no mode change, no lower estimate.
  EXPECT_EQ(w.bbr.mode(), Mode::kProbeBw);
  EXPECT_NEAR(static_cast<double>(w.bbr.bandwidth()), kRate, 0.05 * kRate);
}

TEST(BbrTest, RetransmitTimeoutDropsCwndToOneSegmentUntilRecovered) {
  Warm w;
  const uint32_t before = w.bbr.cwnd();
  const Seq snd_max = w.last.snd_max;
  w.bbr.OnRetransmitTimeout(w.last.now, w.last.in_flight);
  EXPECT_EQ(w.bbr.cwnd(), kMss);
  // The retransmissions' ACKs grow the window by what they deliver.
  w.last.snd_una = snd_max - 100 * kMss;
  w.bbr.OnAck(w.Next(kMss, 0, 0, w.last.delivered));
  EXPECT_EQ(w.bbr.cwnd(), 4 * kMss);  // never below 4 segments on an ACK
  w.bbr.OnAck(w.Next(kMss, 0, kMss, w.last.delivered));
  EXPECT_EQ(w.bbr.cwnd(), 5 * kMss);
  EXPECT_LT(w.bbr.cwnd(), before);
  // SND.UNA reaches SND.MAX of the timeout: the window from before is
  // back (capped by the target).
  w.last.snd_una = snd_max - kMss;
  w.bbr.OnAck(w.Next(kMss, 0, 0, w.last.delivered));
  EXPECT_EQ(w.bbr.cwnd(), std::min(before + kMss, w.bbr.target_cwnd()));
  EXPECT_GT(w.bbr.cwnd(), kBdp);
}

TEST(BbrTest, SynLossStartsFromOneSegment) {
  Bbr bbr(kMss, 10, 1);
  bbr.OnSynLoss();
  EXPECT_EQ(bbr.cwnd(), kMss);
  EXPECT_NEAR(static_cast<double>(bbr.pacing_rate()),
              Bbr::kHighGain * kMss / 0.001 * 0.99, 2);
}

TEST(BbrTest, SameSeedSameRun) {
  auto trace = [](uint32_t seed) {
    Bbr bbr(kMss, 10, seed);
    BottleneckModel path(&bbr, {});
    std::vector<uint64_t> t;
    path.RunUntil(3 * kSecond, [&](const AckSample&) {
      t.push_back(bbr.cwnd() * 31 + bbr.pacing_rate());
    });
    return t;
  };
  EXPECT_EQ(trace(11), trace(11));
}

// Restarting after the application went idle: PROBE_BW paces at the
// estimate itself (no need to probe with nothing queued), and the first ACK
// after a long silence refreshes min_rtt instead of starting PROBE_RTT.
TEST(BbrTest, RestartFromIdle) {
  auto after_silence = [](bool idle) {
    Warm w;
    w.RunToPhase(0);  // probing at 5/4
    EXPECT_GT(w.bbr.pacing_rate(), w.bbr.bandwidth());
    if (idle) {
      w.bbr.OnAppLimited(w.last.now, 0);
      EXPECT_EQ(
          w.bbr.pacing_rate(),
          static_cast<uint64_t>(static_cast<double>(w.bbr.bandwidth()) * 0.99));
    }
    // 11 s later an ACK comes with a round trip above min_rtt.
    AckSample a = w.Next(kMss, 0, 9 * kMss, w.last.delivered, 11 * kSecond);
    a.rate.rtt = a.rtt = kRtt + 5 * kMs;
    w.bbr.OnAck(a);
    return w.bbr.mode();
  };
  EXPECT_EQ(after_silence(true), Mode::kProbeBw);
  // Busy all along (no idle reported), the stale min_rtt means PROBE_RTT.
  EXPECT_EQ(after_silence(false), Mode::kProbeRtt);
}

// A token-bucket policer: delivery bursts at the link rate, but over
// rounds only the policed rate gets through and a third of the segments
// are dropped. Two such intervals at the same rate make BBR use that rate,
// at gain 1, for 48 rounds; then it probes again.
TEST(BbrTest, PolicerIsDetectedAndItsRateUsedFor48Rounds) {
  Warm w;
  ASSERT_FALSE(w.bbr.policed());
  constexpr uint64_t kPoliced = 4'000'000;
  constexpr DurationNs kGap = kMss * kSecond / kPoliced;
  constexpr int kAcksPerRound = 40;
  auto round = [&](bool lossy) {
    for (int i = 0; i < kAcksPerRound; ++i) {
      // The round's first ACK delivers a segment sent after the round
      // began; the rest were sent before.
      const uint64_t prior = i == 0 ? w.last.delivered : 0;
      const uint32_t lost = lossy && i % 3 == 2 ? kMss : 0;
      w.bbr.OnAck(w.Next(kMss, lost, 100 * kMss, prior, kGap));
    }
  };
  int rounds = 0;
  while (!w.bbr.policed() && rounds < 20) {
    round(true);
    ++rounds;
  }
  ASSERT_TRUE(w.bbr.policed());
  // Two intervals of at least four rounds each.
  EXPECT_GE(rounds, 8);
  EXPECT_NEAR(static_cast<double>(w.bbr.bandwidth()), kPoliced,
              0.05 * kPoliced);
  // The windowed max still says the link rate; the policed rate rules.
  EXPECT_NEAR(static_cast<double>(w.bbr.max_bandwidth()), kRate, 0.05 * kRate);
  round(false);
  EXPECT_EQ(w.bbr.mode(), Mode::kProbeBw);
  EXPECT_DOUBLE_EQ(w.bbr.pacing_gain(), 1.0);
  EXPECT_EQ(w.bbr.pacing_rate(), ExpectedPacingRate(w.bbr));
  EXPECT_LT(w.bbr.pacing_rate(), kPoliced);
  // 48 rounds later the policed rate is dropped.
  for (int r = 0; r < 45; ++r) round(false);
  EXPECT_TRUE(w.bbr.policed());
  for (int r = 0; r < 3; ++r) round(false);
  EXPECT_FALSE(w.bbr.policed());
  EXPECT_EQ(w.bbr.bandwidth(), w.bbr.max_bandwidth());
}

// Losses well below a policer's (1 in 50) leave the estimate alone.
TEST(BbrTest, OrdinaryLossIsNotTakenForAPolicer) {
  Warm w;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t prior = i % 40 == 0 ? w.last.delivered : 0;
    const uint32_t lost = i % 50 == 49 ? kMss : 0;
    w.bbr.OnAck(w.Next(kMss, lost, 100 * kMss, prior, kMss * kSecond / kRate));
  }
  EXPECT_FALSE(w.bbr.policed());
  EXPECT_NEAR(static_cast<double>(w.bbr.bandwidth()), kRate, 0.05 * kRate);
}

}  // namespace
}  // namespace tcpemu
