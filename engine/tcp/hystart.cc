// HyStart++ (RFC 9406); see hystart.h.
#include "engine/tcp/hystart.h"

#include <algorithm>

namespace tcpemu {

void HyStartPlusPlus::StartRound(Seq snd_max) {
  // Section 4.2: windowEnd = SND.NXT, and the minimums move on.
  window_end_ = snd_max;
  last_round_min_rtt_ = current_round_min_rtt_;
  current_round_min_rtt_ = kNoRtt;
  rtt_sample_count_ = 0;
}

bool HyStartPlusPlus::OnAckRtt(DurationNs rtt, Seq snd_una, Seq snd_max) {
  if (state_ == State::kDone) return false;
  // The first ACK opens the first round, up to what is outstanding now.
  if (!window_end_.has_value()) window_end_ = snd_max;
  if (rtt > 0) {
    current_round_min_rtt_ = std::min(current_round_min_rtt_, rtt);
    ++rtt_sample_count_;
  }
  if (rtt_sample_count_ >= kNRttSample) {
    if (state_ == State::kSlowStart) {
      if (current_round_min_rtt_ != kNoRtt && last_round_min_rtt_ != kNoRtt) {
        const DurationNs thresh = std::clamp(
            last_round_min_rtt_ / kMinRttDivisor, kMinRttThresh, kMaxRttThresh);
        if (current_round_min_rtt_ >= last_round_min_rtt_ + thresh) {
          // The delay increase: enter CSS.
          css_baseline_min_rtt_ = current_round_min_rtt_;
          state_ = State::kConservative;
          css_rounds_ = 0;
          css_carry_ = 0;
          ++css_entries_;
        }
      }
    } else if (current_round_min_rtt_ < css_baseline_min_rtt_) {
      // The RTT fell back below the baseline: the exit was spurious, slow
      // start resumes (with HyStart++).
      css_baseline_min_rtt_ = kNoRtt;
      state_ = State::kSlowStart;
      ++css_resumes_;
    }
  }
  if (snd_una < *window_end_) return false;
  // The round is over.
  ++rounds_;
  if (state_ == State::kConservative && ++css_rounds_ >= kCssRounds) {
    // CSS_ROUNDS rounds of CSS: congestion avoidance with ssthresh = cwnd.
    state_ = State::kDone;
    css_baseline_min_rtt_ = kNoRtt;
    return true;
  }
  StartRound(snd_max);
  return false;
}

uint32_t HyStartPlusPlus::SlowStartIncrease(uint32_t bytes_acked,
                                            uint32_t mss) {
  switch (state_) {
    case State::kSlowStart:
      return std::min(bytes_acked, kL * mss);
    case State::kConservative: {
      const uint32_t grow = std::min(bytes_acked, kL * mss) + css_carry_;
      css_carry_ = grow % kCssGrowthDivisor;
      return grow / kCssGrowthDivisor;
    }
    case State::kDone:
      break;
  }
  return std::min(bytes_acked, mss);
}

void HyStartPlusPlus::OnCongestion() {
  state_ = State::kDone;
  css_baseline_min_rtt_ = kNoRtt;
}

}  // namespace tcpemu
