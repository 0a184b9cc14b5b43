// BBR v1 congestion control (Bottleneck Bandwidth and Round-trip
// propagation time; draft-cardwell-iccrg-bbr-congestion-control-00, as Linux
// net/ipv4/tcp_bbr.c runs it). BBR models the path instead of reacting to
// loss:
//
//   bandwidth = windowed max of the delivery rate over 10 round trips
//   min_rtt   = minimum RTT over 10 s
//   pacing    = pacing_gain * bandwidth * (1 - 1 %)
//   cwnd      = cwnd_gain * bandwidth * min_rtt + 3 send quanta, >= 4 MSS
//
// Modes: STARTUP (gain 2/ln2) until the bandwidth stops growing by 25 % for
// three rounds, DRAIN (pacing gain ln2/2) until what is in flight fits one
// BDP, then PROBE_BW cycling its pacing gain 5/4, 3/4, 1 x 6 one min_rtt per
// phase (starting at a random phase), and PROBE_RTT (cwnd 4 MSS for at least
// 200 ms and a round) whenever min_rtt was not lowered for 10 s (a sample
// only as low as min_rtt does not renew it, as in Linux since 2020: the
// draft's "<=" let equal samples put PROBE_RTT off for ever). Rounds are
// counted by delivered bytes: a round ends when an ACK delivers a segment
// sent after the round began (its RateSample::prior_delivered reached the
// delivered count at the round's start).
//
// Loss: the sender runs recovery; BBR keeps packet conservation during the
// first round of recovery (cwnd = in flight + delivered), remembers the cwnd
// it had when recovery (or a timeout) began and restores it when recovery
// ends, and drops cwnd to one segment on a retransmission timeout. (In
// Linux this window is the one used during recovery: PRR does not run for
// a congestion control that sets cwnd itself, as BBR does.)
//
// PROBE_RTT's low rate would give low delivery-rate samples; as Linux marks
// the connection app-limited while in it, BBR here treats the samples of
// segments sent from PROBE_RTT's start until all then in flight is
// delivered as app-limited. The sender's OnAppLimited, and an ACK that
// leaves nothing in flight after one, mark a restart from idle.
//
// As Linux, BBR also provisions cwnd for ACK aggregation (the excess
// delivered beyond the bandwidth estimate, kept over 5-10 rounds) and
// detects token-bucket policers: two sampling intervals of 4-16 rounds each
// with 20 % loss and a consistent delivery rate make it use their average
// rate, at gain 1, for 48 rounds. Linux's cwnd undo (after a spurious
// retransmission) has no event here and is not done.
//
// Units: cwnd and in-flight in bytes, bandwidth and pacing rate in bytes per
// second (Linux works in packets; its packet counts become byte counts
// rounded to whole segments).
//
// The sender calls OnCongestionEvent before the OnAck of the ACK that
// started recovery (as Linux changes its recovery state before its
// congestion control sees the ACK), so that ACK starts packet conservation.
// Recovery after a timeout ends when SND.UNA reaches the SND.MAX of the
// timeout, or at OnRecoveryEnd, whichever comes first.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <numbers>

#include "engine/tcp/congestion_control.h"
#include "engine/tcp/windowed_filter.h"

namespace tcpemu {

class Bbr final : public CongestionControl {
 public:
  enum class Mode : uint8_t { kStartup, kDrain, kProbeBw, kProbeRtt };

  // The smallest gain whose pacing rate, rising smoothly, doubles what is
  // sent every round (as slow start does).
  static constexpr double kHighGain = 2 / std::numbers::ln2;
  // Drains in about one round the queue STARTUP built.
  static constexpr double kDrainGain = std::numbers::ln2 / 2;
  // PROBE_BW's cwnd gain, room for delayed and stretched ACKs.
  static constexpr double kCwndGain = 2;
  static constexpr int kCycleLength = 8;
  static constexpr std::array<double, kCycleLength> kPacingGainCycle = {
      1.25, 0.75, 1, 1, 1, 1, 1, 1};
  // PROBE_BW starts at one of kCycleRandom phases drawn at random: any
  // but the draining 3/4, which must follow a probe.
  static constexpr uint32_t kCycleRandom = 7;
  // Pace this far below the estimated bandwidth to keep the queue small.
  static constexpr double kPacingMargin = 0.01;
  // The bandwidth filter's window, in rounds.
  static constexpr uint64_t kBandwidthWindowRounds = kCycleLength + 2;
  static constexpr DurationNs kMinRttWindow = 10 * kSecond;
  static constexpr DurationNs kProbeRttDuration = 200 * kMillisecond;
  static constexpr uint32_t kMinCwndSegments = 4;
  // STARTUP ends after kFullBandwidthRounds rounds in which the bandwidth
  // grew by less than 5/4.
  static constexpr uint32_t kFullBandwidthRounds = 3;
  // Below this pacing rate the send quantum is one segment, else at least
  // two (Linux's bbr_min_tso_rate, 1.2 Mbit/s).
  static constexpr uint64_t kMinTwoSegmentQuantumRate = 150'000;
  // The send quantum is about 1/1024 s of pacing, at most a 64 KB burst.
  static constexpr int kQuantumShift = 10;
  static constexpr uint32_t kMaxQuantumBytes = 65'000;
  static constexpr uint32_t kMaxQuantumSegments = 127;
  // ACK aggregation: the excess delivered over bw * time in an epoch, its
  // max kept over 5-10 rounds, and at most 100 ms of bandwidth of it added
  // to cwnd.
  static constexpr uint32_t kExtraAckedWindowRounds = 5;
  static constexpr DurationNs kExtraAckedMax = 100 * kMillisecond;
  static constexpr uint64_t kAckEpochResetSegments = uint64_t{1} << 20;
  // Policer detection: intervals of at least 4 rounds (at most 16), lossy
  // when lost / delivered >= 50/256, consistent when their rates differ
  // by at most 1/8 or 500 bytes/s; the policed rate is used for 48 rounds.
  static constexpr uint32_t kLtIntervalMinRounds = 4;
  static constexpr uint64_t kLtLossThreshold = 50;   // / 256
  static constexpr uint64_t kLtBandwidthRatio = 32;  // / 256
  static constexpr uint64_t kLtBandwidthDiff = 500;  // bytes per second
  static constexpr uint32_t kLtBandwidthMaxRounds = 48;

  static constexpr DurationNs kNoRtt = std::numeric_limits<DurationNs>::max();

  // `random` seeds the choice of PROBE_BW's starting phase: the same seed
  // gives the same phases.
  Bbr(uint32_t mss, uint32_t initial_window_segments, uint32_t random);

  std::string_view name() const override { return "bbr"; }
  uint32_t cwnd() const override { return cwnd_; }
  uint32_t ssthresh() const override { return ssthresh_; }
  uint64_t pacing_rate() const override { return pacing_rate_; }
  bool sets_recovery_window() const override { return true; }
  CcModel model() const override;

  void OnAck(const AckSample& ack) override;
  void OnCongestionEvent(TimeNs now, uint32_t in_flight) override;
  // BBR (v1) does not respond to ECN, as Linux's tcp_bbr does not: its
  // model of the path sets the window, and a CE mark changes neither the
  // bandwidth nor the RTT it measures.
  void OnEcnCongestion(TimeNs, uint32_t) override {}
  void OnRecoveryEnd(TimeNs now, uint32_t in_flight) override;
  void OnRetransmitTimeout(TimeNs now, uint32_t in_flight) override;
  void OnSynLoss() override;
  void OnAppLimited(TimeNs now, uint32_t in_flight) override;

  // The model and the state machine, for tests and traces.
  Mode mode() const { return mode_; }
  // The bandwidth estimate in use, bytes per second: the windowed max
  // delivery rate, or the policed rate while one is detected.
  uint64_t bandwidth() const {
    return lt_use_bandwidth_ ? lt_bandwidth_ : max_bandwidth();
  }
  uint64_t max_bandwidth() const { return bandwidth_.Get(); }
  // True while a policer's long-term rate replaces the windowed max.
  bool policed() const { return lt_use_bandwidth_; }
  // kNoRtt before the first RTT sample.
  DurationNs min_rtt() const { return min_rtt_; }
  double pacing_gain() const { return pacing_gain_; }
  double cwnd_gain() const { return cwnd_gain_; }
  int cycle_index() const { return cycle_index_; }
  bool full_bandwidth_reached() const { return full_bandwidth_reached_; }
  // Rounds (packet-timed round trips) counted so far.
  uint64_t round_count() const { return round_count_; }
  // Bytes the sender may send in one burst at the current pacing rate.
  uint32_t send_quantum() const;
  // Max excess delivered over the bandwidth estimate (ACK aggregation).
  uint32_t extra_acked() const;
  // The window BBR grows toward (or snaps down to) once the pipe is full:
  // cwnd gain x BDP, plus the ACK-aggregation allowance and the send
  // quanta, bytes.
  uint32_t target_cwnd() const {
    return QuantizationBudget(Bdp(bandwidth(), cwnd_gain_) +
                              AckAggregationCwnd());
  }
  // True in the first round of recovery, while cwnd follows delivery.
  bool packet_conservation() const { return packet_conservation_; }

 private:
  // The sender's loss state, as Linux's Open/Recovery/Loss.
  enum class LossState : uint8_t { kOpen, kRecovery, kLoss };

  // OnAck, step by step, in Linux's order.
  void UpdateBandwidth(const AckSample& ack, const RateSample& rs);
  void UpdateAckAggregation(const AckSample& ack, const RateSample& rs);
  void UpdateCyclePhase(const AckSample& ack);
  void CheckFullBandwidthReached(const RateSample& rs);
  void CheckDrain(const AckSample& ack);
  void UpdateMinRtt(const AckSample& ack, const RateSample& rs);
  void UpdateGains();
  void SetPacingRate(uint64_t bw, double gain, DurationNs srtt);
  void SetCwnd(const AckSample& ack, uint64_t bw, double gain);
  // Packet conservation and the restore after recovery; true when
  // conserving (cwnd follows delivery, no growth toward the target).
  bool RecoverOrRestore(const AckSample& ack, uint32_t* cwnd);

  bool IsNextCyclePhase(const AckSample& ack) const;
  void AdvanceCyclePhase(TimeNs now);
  void ResetProbeBwMode(TimeNs now);
  void ResetMode(TimeNs now);
  void CheckProbeRttDone(TimeNs now);
  void SaveCwnd();
  void InitPacingRate(DurationNs srtt);
  void EnterIdle(TimeNs now);

  uint64_t BandwidthToPacingRate(uint64_t bw, double gain) const;
  // gain * bw * min_rtt in bytes, rounded up to whole segments (the
  // initial window before any RTT sample).
  uint32_t Bdp(uint64_t bw, double gain) const;
  // Adds room for the send quanta in flight at both ends.
  uint32_t QuantizationBudget(uint32_t cwnd) const;
  uint32_t Inflight(uint64_t bw, double gain) const {
    return QuantizationBudget(Bdp(bw, gain));
  }
  // In flight when the next segment leaves (the engine paces without a
  // departure-time queue, so that is now).
  uint32_t InFlightAtDeparture(uint32_t in_flight) const;
  uint32_t AckAggregationCwnd() const;
  // A sample taken while PROBE_RTT held the flight down counts as
  // application-limited.
  bool ProbeRttLimited(const RateSample& rs) const;
  // Long-term (policer) sampling, each ACK or timeout.
  void LongTermSampling(TimeNs now, bool app_limited, bool losses);
  void LongTermIntervalDone(TimeNs now, uint64_t bw);
  void ResetLongTermInterval(TimeNs now);
  void ResetLongTerm(TimeNs now);
  uint32_t RandomBelow(uint32_t n);

  const uint32_t mss_;
  const uint32_t initial_cwnd_;
  uint64_t random_state_;

  Mode mode_ = Mode::kStartup;
  uint32_t cwnd_;
  uint32_t ssthresh_ = std::numeric_limits<int32_t>::max();
  uint64_t pacing_rate_ = 0;
  double pacing_gain_ = kHighGain;
  double cwnd_gain_ = kHighGain;
  bool has_seen_rtt_ = false;

  // Bandwidth model, over rounds.
  WindowedMaxFilter<uint64_t, uint64_t> bandwidth_{kBandwidthWindowRounds};
  uint64_t delivered_ = 0;  // C.delivered at the last ACK
  uint64_t round_count_ = 0;
  uint64_t next_round_delivered_ = 0;
  bool round_start_ = false;

  // STARTUP's full-pipe detection.
  bool full_bandwidth_reached_ = false;
  uint64_t full_bandwidth_ = 0;
  uint32_t full_bandwidth_count_ = 0;

  // PROBE_BW's gain cycle.
  int cycle_index_ = 0;
  TimeNs cycle_stamp_ = 0;

  // min_rtt, and PROBE_RTT.
  DurationNs min_rtt_ = kNoRtt;
  TimeNs min_rtt_stamp_ = 0;
  bool min_rtt_stamp_set_ = false;
  bool probe_rtt_done_set_ = false;
  TimeNs probe_rtt_done_stamp_ = 0;
  bool probe_rtt_round_done_ = false;
  // Samples of segments sent at delivered counts in [from, until] are
  // application-limited (PROBE_RTT's low rate).
  uint64_t probe_rtt_limited_from_ = 1;
  uint64_t probe_rtt_limited_until_ = 0;
  bool idle_restart_ = false;
  bool app_limited_ = false;

  // Loss recovery.
  LossState loss_state_ = LossState::kOpen;
  LossState prev_loss_state_ = LossState::kOpen;
  bool packet_conservation_ = false;
  uint32_t prior_cwnd_ = 0;
  bool loss_high_set_ = false;
  Seq loss_high_;

  // Long-term bandwidth: an interval starts at a loss, at these counts.
  uint64_t lost_ = 0;  // bytes the sender deemed lost, in all
  bool lt_sampling_ = false;
  uint32_t lt_rounds_ = 0;
  bool lt_use_bandwidth_ = false;
  uint64_t lt_bandwidth_ = 0;
  uint64_t lt_last_delivered_ = 0;
  uint64_t lt_last_lost_ = 0;
  int64_t lt_last_stamp_ms_ = 0;

  // ACK aggregation.
  TimeNs ack_epoch_stamp_ = 0;
  uint64_t ack_epoch_acked_ = 0;
  std::array<uint32_t, 2> extra_acked_ = {0, 0};
  uint32_t extra_acked_window_rounds_ = 0;
  int extra_acked_window_index_ = 0;
};

}  // namespace tcpemu
