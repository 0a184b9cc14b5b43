// CUBIC (RFC 9438); see cubic.h.
#include "engine/tcp/cubic.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tcpemu {

Cubic::Cubic(uint32_t mss, uint32_t initial_window_segments, bool hystart)
    : mss_(mss),
      cwnd_(static_cast<double>(initial_window_segments) * mss),
      ssthresh_(std::numeric_limits<int32_t>::max()) {
  if (hystart) hystart_.emplace();
}

uint32_t Cubic::cwnd() const {
  return static_cast<uint32_t>(std::max(cwnd_, mss_));
}

void Cubic::OnAck(const AckSample& ack) {
  // Only ACKs that move SND.UNA count, and only their data.
  if (!ack.new_ack) return;
  // CSS has run its rounds: congestion avoidance from here (RFC 9406 4.2).
  if (hystart_.has_value() && cwnd_ < ssthresh_ &&
      hystart_->OnAckRtt(ack.rtt, ack.snd_una, ack.snd_max)) {
    ssthresh_ = cwnd();
  }
  srtt_ = ack.srtt;
  // No growth during recovery (RFC 9438 4.6 defers to RFC 6675).
  if (ack.in_recovery) return;
  const TimeNs now = ack.now;
  const uint32_t bytes_acked = ack.acked_bytes;
  if (cwnd_ < ssthresh_) {
    // Slow start (RFC 9438 4.10 defers to RFC 5681; L = 1), or HyStart++.
    if (hystart_.has_value()) {
      cwnd_ +=
          hystart_->SlowStartIncrease(bytes_acked, static_cast<uint32_t>(mss_));
    } else {
      cwnd_ += std::min<double>(bytes_acked, mss_);
    }
    return;
  }
  const double acked_segments = bytes_acked / mss_;
  if (epoch_start_ < 0) {
    // Section 4.2: the first ACK in congestion avoidance starts an epoch.
    epoch_start_ = now;
    cwnd_epoch_ = Segments();
    if (w_max_ < cwnd_epoch_) w_max_ = cwnd_epoch_;  // no event yet
    k_ = std::cbrt((w_max_ - cwnd_epoch_) / kC);     // eq. 2
    w_est_ = cwnd_epoch_;
  }
  const double rtt = static_cast<double>(srtt_) / 1e9;
  const double t = static_cast<double>(now - epoch_start_) / 1e9;
  // Eq. 4: the Reno-friendly estimate grows alpha per window acknowledged.
  // RFC 9438 4.3 lets alpha become 1 once W_est passes the window of the
  // last reduction (a SHOULD); Linux keeps 3 (1 - beta) / (1 + beta) always
  // (RFC 8312 4.2), and so does the engine: with the switch, at a dozen
  // segments and 1 % loss CUBIC ran 1.2-1.26 times Reno's goodput here
  // while the kernel's CUBIC and Reno deliver the same (docs/fidelity.md).
  w_est_ += kAlpha * acked_segments / Segments();
  const double w_cubic = kC * std::pow(t - k_, 3) + w_max_;  // eq. 1
  const double cwnd = Segments();
  if (w_cubic < w_est_) {
    // Reno-friendly region (4.3).
    cwnd_ = std::max(cwnd_, w_est_ * mss_);
    return;
  }
  // Concave (4.4) and convex (4.5) regions: aim at W_cubic one RTT ahead,
  // within [cwnd, 1.5 cwnd], growing by (target - cwnd) / cwnd per segment
  // acknowledged.
  const double target =
      std::clamp(kC * std::pow(t + rtt - k_, 3) + w_max_, cwnd, 1.5 * cwnd);
  cwnd_ += (target - cwnd) / cwnd * acked_segments * mss_;
}

void Cubic::Reduce(uint32_t flight) {
  const double cwnd = Segments();
  // Fast convergence (4.7): a window that did not reach the previous W_max
  // releases bandwidth for newer flows.
  w_max_ = cwnd < w_max_ ? cwnd * (1 + kBeta) / 2 : cwnd;
  // Section 4.6: ssthresh = flight_size * beta_cubic, at least 2 segments.
  ssthresh_ = static_cast<uint32_t>(
      std::max(static_cast<double>(flight) * kBeta, 2 * mss_));
  epoch_start_ = -1;
  // A loss ends HyStart++; later slow starts are standard (RFC 9406 4.3).
  if (hystart_.has_value()) hystart_->OnCongestion();
}

void Cubic::OnCongestionEvent(TimeNs, uint32_t flight) {
  // From no more than cwnd, as Linux reduces from cwnd: with SACK the flight
  // up to SND.MAX also holds SACKed data sent beyond cwnd, and beta times
  // it could exceed cwnd, so that each "reduction" raised the window.
  Reduce(std::min(flight, cwnd()));
  // Without SACK the sender inflates the window above this during
  // recovery (RFC 5681 3.2 step 3).
  cwnd_ = ssthresh_;
}

void Cubic::OnRecoveryEnd(TimeNs, uint32_t flight) {
  cwnd_ = std::min<double>(ssthresh_, std::max<double>(flight, mss_) + mss_);
  cwnd_ = std::max(cwnd_, mss_);
}

void Cubic::OnSynLoss() { cwnd_ = std::min(cwnd_, mss_); }

void Cubic::OnRetransmitTimeout(TimeNs, uint32_t flight) {
  // Section 4.8: a timeout is a congestion event; cwnd restarts from the
  // loss window and slow start runs up to the new ssthresh.
  Reduce(flight);
  cwnd_ = mss_;
}

}  // namespace tcpemu
