// NewReno (RFC 5681, RFC 6582); see new_reno.h.
#include "engine/tcp/new_reno.h"

#include <algorithm>
#include <limits>

namespace tcpemu {

NewReno::NewReno(uint32_t mss, uint32_t initial_window_segments, bool hystart)
    : mss_(mss),
      cwnd_(initial_window_segments * mss),
      // RFC 5681 3.1: ssthresh starts arbitrarily high.
      ssthresh_(std::numeric_limits<int32_t>::max()) {
  if (hystart) hystart_.emplace();
}

uint32_t NewReno::HalfFlight(uint32_t flight) const {
  return std::max(flight / 2, 2 * mss_);  // RFC 5681 equation (4)
}

void NewReno::OnAck(const AckSample& ack) {
  // Only ACKs that move SND.UNA count, and only their data: an acknowledged
  // SYN or FIN grows no window.
  if (!ack.new_ack) return;
  // CSS has run its rounds: congestion avoidance from here (RFC 9406 4.2).
  if (hystart_.has_value() && cwnd_ < ssthresh_ &&
      hystart_->OnAckRtt(ack.rtt, ack.snd_una, ack.snd_max)) {
    ssthresh_ = cwnd_;
  }
  // No growth during recovery (RFC 5681 3.2, RFC 6675 5).
  if (ack.in_recovery) return;
  const uint32_t bytes_acked = ack.acked_bytes;
  if (cwnd_ < ssthresh_) {
    // Slow start: grow by at most SMSS per ACK (RFC 5681 3.1, L = 1), or as
    // HyStart++ says.
    cwnd_ += hystart_.has_value()
                 ? hystart_->SlowStartIncrease(bytes_acked, mss_)
                 : std::min(bytes_acked, mss_);
  } else {
    // Congestion avoidance: one SMSS per cwnd of acknowledged data.
    bytes_acked_ca_ += bytes_acked;
    if (bytes_acked_ca_ >= cwnd_) {
      bytes_acked_ca_ -= cwnd_;
      cwnd_ += mss_;
    }
  }
}

void NewReno::OnCongestionEvent(TimeNs, uint32_t flight) {
  // A loss ends HyStart++; later slow starts are standard (RFC 9406 4.3).
  if (hystart_.has_value()) hystart_->OnCongestion();
  // RFC 5681 3.2 step 2 and RFC 6675 5 step 4; without SACK the sender
  // inflates the window above this during recovery (step 3).
  ssthresh_ = HalfFlight(flight);
  cwnd_ = ssthresh_;
  bytes_acked_ca_ = 0;
}

void NewReno::OnRecoveryEnd(TimeNs, uint32_t flight) {
  // RFC 6582 3.2 step 6, option (1) guarded against bursts: min(ssthresh,
  // FlightSize + SMSS).
  cwnd_ = std::min(ssthresh_, std::max(flight, mss_) + mss_);
  cwnd_ = std::max(cwnd_, mss_);
}

void NewReno::OnSynLoss() { cwnd_ = std::min(cwnd_, mss_); }

void NewReno::OnRetransmitTimeout(TimeNs, uint32_t flight) {
  if (hystart_.has_value()) hystart_->OnCongestion();
  ssthresh_ = HalfFlight(flight);
  cwnd_ = mss_;  // loss window, RFC 5681 3.1
  bytes_acked_ca_ = 0;
}

}  // namespace tcpemu
