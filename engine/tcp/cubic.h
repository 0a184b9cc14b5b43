// CUBIC congestion control (RFC 9438): after a congestion event the window
// follows W_cubic(t) = C (t - K)^3 + W_max, concave up to the window of the
// last event and convex beyond it, never below what Reno would reach (the
// Reno-friendly region, section 4.3). Slow start, fast retransmit and
// recovery are as for NewReno (RFC 5681, RFC 6582); the multiplicative
// decrease is beta_cubic = 0.7 with fast convergence (section 4.7). With
// `hystart` the initial slow start is HyStart++ (RFC 9406, allowed by RFC
// 9438 4.10).
#pragma once

#include <optional>

#include "engine/tcp/congestion_control.h"
#include "engine/tcp/hystart.h"

namespace tcpemu {

class Cubic final : public CongestionControl {
 public:
  static constexpr double kC = 0.4;     // segments / s^3
  static constexpr double kBeta = 0.7;  // multiplicative decrease
  // Reno-friendly additive increase (eq. 4), kept past W_max as in Linux.
  static constexpr double kAlpha = 3 * (1 - kBeta) / (1 + kBeta);

  Cubic(uint32_t mss, uint32_t initial_window_segments, bool hystart = false);

  std::string_view name() const override { return "cubic"; }
  uint32_t cwnd() const override;
  uint32_t ssthresh() const override { return ssthresh_; }

  void OnAck(const AckSample& ack) override;
  void OnCongestionEvent(TimeNs now, uint32_t in_flight) override;
  void OnRecoveryEnd(TimeNs now, uint32_t in_flight) override;
  void OnRetransmitTimeout(TimeNs now, uint32_t in_flight) override;
  void OnSynLoss() override;

  // The state of the current congestion-avoidance epoch, in segments and
  // seconds (for tests and traces).
  double w_max() const { return w_max_; }
  double k() const { return k_; }
  double w_est() const { return w_est_; }
  // Null without HyStart++.
  const HyStartPlusPlus* hystart() const {
    return hystart_.has_value() ? &*hystart_ : nullptr;
  }

 private:
  // A congestion event: remembers W_max and lowers ssthresh.
  void Reduce(uint32_t flight);
  double Segments() const { return cwnd_ / mss_; }

  double mss_;
  double cwnd_;  // bytes, fractional between segments
  uint32_t ssthresh_;
  DurationNs srtt_ = 0;
  double w_max_ = 0;         // segments, before the last reduction
  TimeNs epoch_start_ = -1;  // -1: no epoch yet (set on the next ACK)
  double k_ = 0;             // seconds
  double cwnd_epoch_ = 0;    // segments at the epoch start
  double w_est_ = 0;         // Reno-friendly estimate, segments
  std::optional<HyStartPlusPlus> hystart_;
};

}  // namespace tcpemu
