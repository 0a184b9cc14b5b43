// HyStart++ (RFC 9406): slow start that ends on a rise in round-trip time
// instead of on the first loss.
//
// Slow start doubles the window every round trip until something is lost;
// with a large bottleneck buffer that first loss comes only after the window
// has overshot the path by up to a whole window, and many segments go at
// once. HyStart++ watches the minimum RTT of each round (section 4.2):
//
//  - Rounds (4.2): windowEnd is SND.NXT (here SND.MAX) when a round starts;
//    the round ends when SND.UNA reaches it, and the next one starts. At the
//    start of a round lastRoundMinRTT takes currentRoundMinRTT, which is
//    reset to infinity together with the count of samples.
//  - Standard slow start (4.2): every ACK grows cwnd by min(N, L * SMSS),
//    N the bytes it newly acknowledges, and adds its RTT to the round's
//    minimum. Once the round has N_RTT_SAMPLE samples and both minimums are
//    known, a current minimum of at least lastRoundMinRTT + RttThresh, with
//    RttThresh = clamp(lastRoundMinRTT / MIN_RTT_DIVISOR, MIN_RTT_THRESH,
//    MAX_RTT_THRESH), means a queue is building: the current minimum
//    becomes cssBaselineMinRtt and Conservative Slow Start begins.
//  - Conservative Slow Start (CSS, 4.2): growth is divided by
//    CSS_GROWTH_DIVISOR. If a CSS round with N_RTT_SAMPLE samples sees a
//    minimum below the baseline, the rise was jitter: standard slow start
//    resumes. After CSS_ROUNDS rounds in CSS (the partial round in which it
//    began counts) slow start ends: ssthresh = cwnd.
//  - A loss (or ECN mark) in either phase ends HyStart++, and the congestion
//    controller responds to it as usual (4.2). HyStart++ is used for
//    the initial slow start only (4.3): a later slow start, after a
//    timeout, is standard slow start up to the ssthresh found.
//
// Constants are the recommended ones of section 4.3. The engine does not
// pace, so L = 8 (a paced sender would use L = infinity). An RTT sample of
// 0 (the ACK measured none, or less than the 1 ms timestamp tick) counts as
// no sample.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "engine/base/time.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class HyStartPlusPlus {
 public:
  // Section 4.3.
  static constexpr DurationNs kMinRttThresh = 4 * kMillisecond;
  static constexpr DurationNs kMaxRttThresh = 16 * kMillisecond;
  static constexpr DurationNs kMinRttDivisor = 8;
  static constexpr uint32_t kNRttSample = 8;
  static constexpr uint32_t kCssGrowthDivisor = 4;
  static constexpr uint32_t kCssRounds = 5;
  static constexpr uint32_t kL = 8;  // segments per ACK, non-paced sender
  // An RTT not (yet) measured: the RFC's infinity.
  static constexpr DurationNs kNoRtt = std::numeric_limits<DurationNs>::max();

  enum class State : uint8_t {
    kSlowStart,     // standard slow start with the delay check
    kConservative,  // Conservative Slow Start
    kDone,          // slow start ended, or a loss: HyStart++ no longer runs
  };

  // Every ACK of new data during slow start, before the window grows for it:
  // its RTT (0: none) and SND.UNA and SND.MAX after it. True exactly once,
  // when CSS has lasted kCssRounds rounds: slow start ends and the caller
  // sets ssthresh to cwnd.
  [[nodiscard]] bool OnAckRtt(DurationNs rtt, Seq snd_una, Seq snd_max);

  // How much an ACK of `bytes_acked` grows cwnd in slow start: min(N, L *
  // SMSS), divided by kCssGrowthDivisor in CSS (the remainders carry over so
  // no byte is lost to rounding). Once done, RFC 5681's min(N, SMSS).
  uint32_t SlowStartIncrease(uint32_t bytes_acked, uint32_t mss);

  // A loss or timeout: HyStart++ ends for the rest of the connection.
  void OnCongestion();

  State state() const { return state_; }
  // Minimum RTT of the round under way and of the one before (kNoRtt when
  // none), and the samples counted in this round.
  DurationNs current_round_min_rtt() const { return current_round_min_rtt_; }
  DurationNs last_round_min_rtt() const { return last_round_min_rtt_; }
  uint32_t rtt_sample_count() const { return rtt_sample_count_; }
  // The minimum RTT that started the current CSS (kNoRtt outside CSS).
  DurationNs css_baseline_min_rtt() const { return css_baseline_min_rtt_; }
  // Rounds completed since the first ACK; rounds of the current CSS ended.
  uint64_t rounds() const { return rounds_; }
  uint32_t css_rounds() const { return css_rounds_; }
  // Entries into CSS, and returns from it to slow start (spurious exits).
  uint32_t css_entries() const { return css_entries_; }
  uint32_t css_resumes() const { return css_resumes_; }

 private:
  void StartRound(Seq snd_max);

  State state_ = State::kSlowStart;
  std::optional<Seq> window_end_;  // unset until the first ACK
  DurationNs last_round_min_rtt_ = kNoRtt;
  DurationNs current_round_min_rtt_ = kNoRtt;
  uint32_t rtt_sample_count_ = 0;
  DurationNs css_baseline_min_rtt_ = kNoRtt;
  uint64_t rounds_ = 0;
  uint32_t css_rounds_ = 0;
  uint32_t css_entries_ = 0;
  uint32_t css_resumes_ = 0;
  // Bytes of CSS growth below one divisor's worth, carried to the next ACK.
  uint32_t css_carry_ = 0;
};

}  // namespace tcpemu
