// BBR v1 congestion control; see bbr.h.
#include "engine/tcp/bbr.h"

#include <algorithm>
#include <cmath>

namespace tcpemu {

Bbr::Bbr(uint32_t mss, uint32_t initial_window_segments, uint32_t random)
    : mss_(std::max(mss, 1u)),
      initial_cwnd_(std::max(initial_window_segments, 1u) * mss_),
      random_state_(random),
      cwnd_(initial_cwnd_) {
  InitPacingRate(0);
}

uint32_t Bbr::RandomBelow(uint32_t n) {
  // SplitMix64: a small, seedable generator, enough for a phase choice.
  random_state_ += 0x9e3779b97f4a7c15;
  uint64_t z = random_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  return static_cast<uint32_t>(((z >> 32) * n) >> 32);
}

uint64_t Bbr::BandwidthToPacingRate(uint64_t bw, double gain) const {
  return static_cast<uint64_t>(static_cast<double>(bw) * gain *
                               (1 - kPacingMargin));
}

void Bbr::InitPacingRate(DurationNs srtt) {
  // Before any RTT sample the initial window goes out over a nominal 1 ms;
  // the first smoothed RTT replaces it (high gain x cwnd / RTT).
  const DurationNs rtt =
      srtt > 0 ? std::max<DurationNs>(srtt, kMicrosecond) : kMillisecond;
  has_seen_rtt_ = srtt > 0;
  const auto bw = static_cast<uint64_t>(static_cast<double>(cwnd_) * 1e9 /
                                        static_cast<double>(rtt));
  pacing_rate_ = BandwidthToPacingRate(bw, kHighGain);
}

uint32_t Bbr::send_quantum() const {
  const uint64_t min_segments =
      pacing_rate_ < kMinTwoSegmentQuantumRate ? 1 : 2;
  const uint64_t bytes =
      std::min<uint64_t>(pacing_rate_ >> kQuantumShift, kMaxQuantumBytes);
  const uint64_t segments = std::min<uint64_t>(
      std::max<uint64_t>(bytes / mss_, min_segments), kMaxQuantumSegments);
  return static_cast<uint32_t>(segments * mss_);
}

uint32_t Bbr::extra_acked() const {
  return std::max(extra_acked_[0], extra_acked_[1]);
}

uint32_t Bbr::Bdp(uint64_t bw, double gain) const {
  if (min_rtt_ == kNoRtt) return initial_cwnd_;  // no RTT yet: be safe
  const double bytes =
      static_cast<double>(bw) * static_cast<double>(min_rtt_) / 1e9 * gain;
  // Rounded up (to whole segments, as Linux counts packets) so that an
  // underestimate does not feed on itself.
  const double segments = std::ceil(bytes / mss_);
  return static_cast<uint32_t>(
      std::min(segments * mss_,
               static_cast<double>(std::numeric_limits<int32_t>::max())));
}

uint32_t Bbr::QuantizationBudget(uint32_t cwnd) const {
  // One quantum queued for pacing, one being sent, one in the receiver's
  // ACK coalescing.
  cwnd += 3 * send_quantum();
  // An even number of segments, for receivers ACKing every other segment.
  const uint32_t pair = 2 * mss_;
  cwnd = (cwnd + pair - 1) / pair * pair;
  // Let the 5/4 phase get above BDP even when BDP is small.
  if (mode_ == Mode::kProbeBw && cycle_index_ == 0) cwnd += 2 * mss_;
  return cwnd;
}

uint32_t Bbr::InFlightAtDeparture(uint32_t in_flight) const {
  // Probing up, the segment about to leave counts too.
  return pacing_gain_ > 1 ? in_flight + send_quantum() : in_flight;
}

uint32_t Bbr::AckAggregationCwnd() const {
  if (!full_bandwidth_reached_) return 0;
  const auto max_aggregation =
      static_cast<uint64_t>(static_cast<double>(bandwidth()) *
                            static_cast<double>(kExtraAckedMax) / 1e9);
  return static_cast<uint32_t>(
      std::min<uint64_t>(extra_acked(), max_aggregation));
}

bool Bbr::ProbeRttLimited(const RateSample& rs) const {
  return rs.prior_delivered >= probe_rtt_limited_from_ &&
         rs.prior_delivered <= probe_rtt_limited_until_;
}

void Bbr::OnAck(const AckSample& ack) {
  delivered_ = ack.delivered;
  lost_ += ack.lost_bytes;
  if (!min_rtt_stamp_set_) {
    // The filter's 10 s start with the first event of the connection.
    min_rtt_stamp_ = ack.now;
    min_rtt_stamp_set_ = true;
  }
  if (loss_state_ == LossState::kLoss) {
    // Recovery from a timeout lasts until everything sent before it is
    // acknowledged; the first ACK after it shows SND.MAX at the timeout.
    if (!loss_high_set_) {
      loss_high_ = ack.snd_max;
      loss_high_set_ = true;
    }
    if (ack.snd_una >= loss_high_) loss_state_ = LossState::kOpen;
  }

  RateSample rs = ack.rate;
  if (ProbeRttLimited(rs)) rs.app_limited = true;
  if (rs.valid() && !rs.app_limited) app_limited_ = false;

  UpdateBandwidth(ack, rs);
  UpdateAckAggregation(ack, rs);
  UpdateCyclePhase(ack);
  CheckFullBandwidthReached(rs);
  CheckDrain(ack);
  UpdateMinRtt(ack, rs);
  UpdateGains();

  const uint64_t bw = bandwidth();
  SetPacingRate(bw, pacing_gain_, ack.srtt);
  SetCwnd(ack, bw, cwnd_gain_);

  // Everything the application gave is acknowledged: the next send starts
  // from idle.
  if (app_limited_ && ack.in_flight == 0) EnterIdle(ack.now);
}

void Bbr::UpdateBandwidth(const AckSample& ack, const RateSample& rs) {
  round_start_ = false;
  if (!rs.valid()) return;
  // A round ends when a segment sent after it began is delivered.
  if (rs.prior_delivered >= next_round_delivered_) {
    next_round_delivered_ = ack.delivered;
    ++round_count_;
    round_start_ = true;
    packet_conservation_ = false;
  }
  LongTermSampling(ack.now, rs.app_limited, ack.lost_bytes > 0);
  // An application-limited sample says little about the path, unless it
  // is higher than the estimate anyway.
  const uint64_t bw = rs.rate();
  if (!rs.app_limited || bw >= max_bandwidth()) {
    bandwidth_.Update(round_count_, bw);
  }
}

void Bbr::ResetLongTermInterval(TimeNs now) {
  lt_last_stamp_ms_ = now / kMillisecond;
  lt_last_delivered_ = delivered_;
  lt_last_lost_ = lost_;
  lt_rounds_ = 0;
}

void Bbr::ResetLongTerm(TimeNs now) {
  lt_bandwidth_ = 0;
  lt_use_bandwidth_ = false;
  lt_sampling_ = false;
  ResetLongTermInterval(now);
}

void Bbr::LongTermIntervalDone(TimeNs now, uint64_t bw) {
  if (lt_bandwidth_ > 0) {
    // Two intervals in a row at about the same rate: a policer.
    const uint64_t diff =
        bw > lt_bandwidth_ ? bw - lt_bandwidth_ : lt_bandwidth_ - bw;
    if (diff * 256 <= kLtBandwidthRatio * lt_bandwidth_ ||
        BandwidthToPacingRate(diff, 1) <= kLtBandwidthDiff) {
      lt_bandwidth_ = (bw + lt_bandwidth_) / 2;
      lt_use_bandwidth_ = true;
      pacing_gain_ = 1;  // send no faster than the policer lets through
      lt_rounds_ = 0;
      return;
    }
  }
  lt_bandwidth_ = bw;
  ResetLongTermInterval(now);
}

void Bbr::LongTermSampling(TimeNs now, bool app_limited, bool losses) {
  if (lt_use_bandwidth_) {
    // The policed rate expires after a while: probe again.
    if (mode_ == Mode::kProbeBw && round_start_ &&
        ++lt_rounds_ >= kLtBandwidthMaxRounds) {
      ResetLongTerm(now);
      ResetProbeBwMode(now);
    }
    return;
  }
  // Sampling starts at a loss, once a policer would have spent its
  // tokens (earlier samples would include the burst).
  if (!lt_sampling_) {
    if (!losses) return;
    ResetLongTermInterval(now);
    lt_sampling_ = true;
  }
  // Running out of data makes the rate an underestimate: start over.
  if (app_limited) {
    ResetLongTerm(now);
    return;
  }
  if (round_start_) ++lt_rounds_;
  if (lt_rounds_ < kLtIntervalMinRounds) return;
  if (lt_rounds_ > 4 * kLtIntervalMinRounds) {
    ResetLongTerm(now);  // too long to be one policed interval
    return;
  }
  // The interval ends at a loss (the tokens are exhausted), if it was
  // lossy enough.
  if (!losses) return;
  const uint64_t lost = lost_ - lt_last_lost_;
  const uint64_t delivered = delivered_ - lt_last_delivered_;
  if (delivered == 0 || lost * 256 < kLtLossThreshold * delivered) return;
  const int64_t ms = now / kMillisecond - lt_last_stamp_ms_;
  if (ms < 1) return;  // under a millisecond: wait
  LongTermIntervalDone(now, delivered * 1000 / static_cast<uint64_t>(ms));
}

void Bbr::UpdateAckAggregation(const AckSample& ack, const RateSample& rs) {
  if (ack.delivered_bytes == 0 || !rs.valid()) return;
  if (round_start_) {
    // Two slots of 5 rounds each: the max is over the last 5-10 rounds.
    extra_acked_window_rounds_ = std::min(extra_acked_window_rounds_ + 1, 31u);
    if (extra_acked_window_rounds_ >= kExtraAckedWindowRounds) {
      extra_acked_window_rounds_ = 0;
      extra_acked_window_index_ ^= 1;
      extra_acked_[extra_acked_window_index_] = 0;
    }
  }
  // What the bandwidth estimate says the epoch should have delivered.
  auto expected = static_cast<uint64_t>(
      static_cast<double>(bandwidth()) *
      static_cast<double>(ack.now - ack_epoch_stamp_) / 1e9);
  // ACKs slower than the estimate (or a very old epoch) start a new one.
  if (ack_epoch_acked_ <= expected ||
      ack_epoch_acked_ + ack.delivered_bytes >= kAckEpochResetSegments * mss_) {
    ack_epoch_acked_ = 0;
    ack_epoch_stamp_ = ack.now;
    expected = 0;
  }
  ack_epoch_acked_ += ack.delivered_bytes;
  const auto extra = static_cast<uint32_t>(
      std::min<uint64_t>(ack_epoch_acked_ - expected, cwnd_));
  uint32_t& slot = extra_acked_[extra_acked_window_index_];
  slot = std::max(slot, extra);
}

bool Bbr::IsNextCyclePhase(const AckSample& ack) const {
  const bool full_length =
      min_rtt_ != kNoRtt && ack.now - cycle_stamp_ > min_rtt_;
  // At gain 1 the phase lasts one min_rtt.
  if (pacing_gain_ == 1) return full_length;
  const uint32_t in_flight = InFlightAtDeparture(ack.prior_in_flight);
  const uint64_t bw = max_bandwidth();
  // Probing (5/4) lasts until the flight reaches 5/4 BDP, unless losses say
  // the path cannot hold that much.
  if (pacing_gain_ > 1) {
    return full_length &&
           (ack.lost_bytes > 0 || in_flight >= Inflight(bw, pacing_gain_));
  }
  // Draining (3/4) ends early once the queue is gone.
  return full_length || in_flight <= Inflight(bw, 1);
}

void Bbr::AdvanceCyclePhase(TimeNs now) {
  cycle_index_ = (cycle_index_ + 1) % kCycleLength;
  cycle_stamp_ = now;
}

void Bbr::UpdateCyclePhase(const AckSample& ack) {
  if (mode_ == Mode::kProbeBw && IsNextCyclePhase(ack)) {
    AdvanceCyclePhase(ack.now);
  }
}

void Bbr::ResetProbeBwMode(TimeNs now) {
  mode_ = Mode::kProbeBw;
  // Start at one of phases 2..7 or 0, chosen at random; never at the
  // draining 3/4, which needs a probe before it.
  cycle_index_ = kCycleLength - 1 - static_cast<int>(RandomBelow(kCycleRandom));
  AdvanceCyclePhase(now);
}

void Bbr::ResetMode(TimeNs now) {
  if (full_bandwidth_reached_) {
    ResetProbeBwMode(now);
  } else {
    mode_ = Mode::kStartup;
  }
}

void Bbr::CheckFullBandwidthReached(const RateSample& rs) {
  if (full_bandwidth_reached_ || !round_start_ || rs.app_limited) return;
  const uint64_t bw = max_bandwidth();
  if (bw * 4 >= full_bandwidth_ * 5) {  // grew by 25 % or more
    full_bandwidth_ = bw;
    full_bandwidth_count_ = 0;
    return;
  }
  ++full_bandwidth_count_;
  full_bandwidth_reached_ = full_bandwidth_count_ >= kFullBandwidthRounds;
}

void Bbr::CheckDrain(const AckSample& ack) {
  if (mode_ == Mode::kStartup && full_bandwidth_reached_) {
    mode_ = Mode::kDrain;
    ssthresh_ = Inflight(max_bandwidth(), 1);
  }
  if (mode_ == Mode::kDrain &&
      InFlightAtDeparture(ack.in_flight) <= Inflight(max_bandwidth(), 1)) {
    ResetProbeBwMode(ack.now);  // the queue is drained
  }
}

void Bbr::SaveCwnd() {
  if (prev_loss_state_ == LossState::kOpen && mode_ != Mode::kProbeRtt) {
    prior_cwnd_ = cwnd_;
  } else {
    // Recovery or PROBE_RTT has cut cwnd: keep the larger one from before.
    prior_cwnd_ = std::max(prior_cwnd_, cwnd_);
  }
}

void Bbr::CheckProbeRttDone(TimeNs now) {
  if (!probe_rtt_done_set_ || now <= probe_rtt_done_stamp_) return;
  min_rtt_stamp_ = now;  // the next PROBE_RTT is 10 s away
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  ResetMode(now);
}

void Bbr::UpdateMinRtt(const AckSample& ack, const RateSample& rs) {
  const bool expired = ack.now > min_rtt_stamp_ + kMinRttWindow;
  // The RTT of the newest segment delivered, else the ACK's own (an echoed
  // timestamp).
  const DurationNs rtt = rs.rtt > 0 ? rs.rtt : ack.rtt;
  // Only a lower sample renews the estimate: equal ones (a steady path, or
  // coarse timestamp samples in recovery) must not put PROBE_RTT off.
  if (rtt > 0 && (rtt < min_rtt_ || expired)) {
    min_rtt_ = rtt;
    min_rtt_stamp_ = ack.now;
  }

  if (expired && !idle_restart_ && mode_ != Mode::kProbeRtt) {
    // Drain the queue to measure the propagation delay again.
    mode_ = Mode::kProbeRtt;
    SaveCwnd();
    probe_rtt_done_set_ = false;
    probe_rtt_limited_from_ = delivered_;
  }

  if (mode_ == Mode::kProbeRtt) {
    // What is sent from here until all now in flight is delivered goes at
    // PROBE_RTT's low rate: its samples are application-limited.
    probe_rtt_limited_until_ = delivered_ + ack.in_flight;
    const uint32_t min_cwnd = kMinCwndSegments * mss_;
    if (!probe_rtt_done_set_ && ack.in_flight <= min_cwnd) {
      // Hold the minimal flight for max(200 ms, one round).
      probe_rtt_done_set_ = true;
      probe_rtt_done_stamp_ = ack.now + kProbeRttDuration;
      probe_rtt_round_done_ = false;
      next_round_delivered_ = delivered_;
    } else if (probe_rtt_done_set_) {
      if (round_start_) probe_rtt_round_done_ = true;
      if (probe_rtt_round_done_) CheckProbeRttDone(ack.now);
    }
  }
  // The restart from idle ends with the first ACK that delivers data.
  if (ack.delivered_bytes > 0) idle_restart_ = false;
}

void Bbr::UpdateGains() {
  switch (mode_) {
    case Mode::kStartup:
      pacing_gain_ = kHighGain;
      cwnd_gain_ = kHighGain;
      break;
    case Mode::kDrain:
      pacing_gain_ = kDrainGain;
      cwnd_gain_ = kHighGain;  // keep the window while draining
      break;
    case Mode::kProbeBw:
      pacing_gain_ = lt_use_bandwidth_ ? 1 : kPacingGainCycle[cycle_index_];
      cwnd_gain_ = kCwndGain;
      break;
    case Mode::kProbeRtt:
      pacing_gain_ = 1;
      cwnd_gain_ = 1;
      break;
  }
}

void Bbr::SetPacingRate(uint64_t bw, double gain, DurationNs srtt) {
  const uint64_t rate = BandwidthToPacingRate(bw, gain);
  if (!has_seen_rtt_ && srtt > 0) InitPacingRate(srtt);
  // Until the pipe is full the rate only rises, so that a low early
  // estimate does not slow STARTUP below its initial rate.
  if (full_bandwidth_reached_ || rate > pacing_rate_) pacing_rate_ = rate;
}

bool Bbr::RecoverOrRestore(const AckSample& ack, uint32_t* cwnd) {
  uint32_t w = cwnd_;
  // What was lost leaves the window first; growth below then releases at
  // most twice what was delivered.
  if (ack.lost_bytes > 0) {
    w = w > ack.lost_bytes + mss_ ? w - ack.lost_bytes : mss_;
  }
  const LossState state = loss_state_;
  if (state == LossState::kRecovery &&
      prev_loss_state_ != LossState::kRecovery) {
    // The first round of recovery: packet conservation, from what is
    // actually in flight (unused window from the application or pacing is
    // cut).
    packet_conservation_ = true;
    next_round_delivered_ = ack.delivered;  // the round starts now
    w = ack.in_flight + ack.delivered_bytes;
  } else if (prev_loss_state_ != LossState::kOpen &&
             state == LossState::kOpen) {
    // Out of recovery: back to the window from before it.
    w = std::max(w, prior_cwnd_);
    packet_conservation_ = false;
  }
  prev_loss_state_ = state;

  if (packet_conservation_) {
    *cwnd = std::max(w, ack.in_flight + ack.delivered_bytes);
    return true;
  }
  *cwnd = w;
  return false;
}

void Bbr::SetCwnd(const AckSample& ack, uint64_t bw, double gain) {
  const uint32_t acked = ack.delivered_bytes;
  uint32_t cwnd = cwnd_;
  if (acked > 0 && !RecoverOrRestore(ack, &cwnd)) {
    uint32_t target = Bdp(bw, gain) + AckAggregationCwnd();
    target = QuantizationBudget(target);
    if (full_bandwidth_reached_) {
      // Grow toward the target by what was delivered, or snap down to it.
      cwnd = std::min(cwnd + acked, target);
    } else if (cwnd < target || delivered_ < initial_cwnd_) {
      // STARTUP only grows (the estimate may still be low).
      cwnd += acked;
    }
    cwnd = std::max(cwnd, kMinCwndSegments * mss_);
  }
  cwnd_ = cwnd;
  if (mode_ == Mode::kProbeRtt) {
    cwnd_ = std::min(cwnd_, kMinCwndSegments * mss_);
  }
}

void Bbr::OnCongestionEvent(TimeNs, uint32_t) {
  // Remember the window to restore after recovery; the next ACK starts
  // packet conservation.
  SaveCwnd();
  loss_state_ = LossState::kRecovery;
}

void Bbr::OnRecoveryEnd(TimeNs, uint32_t) {
  if (loss_state_ == LossState::kOpen && prev_loss_state_ == LossState::kOpen) {
    return;
  }
  loss_state_ = LossState::kOpen;
  prev_loss_state_ = LossState::kOpen;
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  packet_conservation_ = false;
  if (mode_ == Mode::kProbeRtt) {
    cwnd_ = std::min(cwnd_, kMinCwndSegments * mss_);
  }
}

void Bbr::OnRetransmitTimeout(TimeNs now, uint32_t) {
  // The window to restore is saved once per loss episode: a timeout in
  // recovery or after another timeout keeps the one from before.
  if (loss_state_ == LossState::kOpen) SaveCwnd();
  loss_state_ = LossState::kLoss;
  prev_loss_state_ = LossState::kLoss;
  loss_high_set_ = false;
  // Everything in flight is deemed lost: one segment goes.
  cwnd_ = mss_;
  // STARTUP's full-pipe detection starts over; for policer detection the
  // timeout ends a round with a loss.
  full_bandwidth_ = 0;
  round_start_ = true;
  LongTermSampling(now, false, true);
}

void Bbr::OnSynLoss() {
  // RFC 5681 3.1: the window is one segment after a lost SYN; the initial
  // pacing rate follows it.
  cwnd_ = std::min(cwnd_, mss_);
  if (!has_seen_rtt_) InitPacingRate(0);
}

void Bbr::EnterIdle(TimeNs now) {
  // The next send restarts from idle: no PROBE_RTT until an ACK delivers
  // data again, a fresh aggregation epoch, and PROBE_BW paces at the
  // estimate itself (more speed is not needed when the application is the
  // limit).
  idle_restart_ = true;
  ack_epoch_stamp_ = now;
  ack_epoch_acked_ = 0;
  if (mode_ == Mode::kProbeBw) {
    SetPacingRate(bandwidth(), 1, 0);
  } else if (mode_ == Mode::kProbeRtt) {
    CheckProbeRttDone(now);
  }
}

void Bbr::OnAppLimited(TimeNs now, uint32_t in_flight) {
  app_limited_ = true;
  if (in_flight == 0) EnterIdle(now);
}

CcModel Bbr::model() const {
  CcModel m;
  switch (mode_) {
    case Mode::kStartup:
      m.phase = CcPhase::kStartup;
      break;
    case Mode::kDrain:
      m.phase = CcPhase::kDrain;
      break;
    case Mode::kProbeBw:
      m.phase = CcPhase::kProbeBw;
      break;
    case Mode::kProbeRtt:
      m.phase = CcPhase::kProbeRtt;
      break;
  }
  m.bandwidth = bandwidth();
  m.min_rtt = min_rtt_;
  return m;
}

}  // namespace tcpemu
