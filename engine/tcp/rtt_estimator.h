// Retransmission timeout estimation (RFC 6298): SRTT/RTTVAR smoothing,
// RTO = SRTT + max(G, 4 * RTTVAR) clamped to [rto_min, rto_max], and
// exponential backoff on expiry (section 5.5).
#pragma once

#include <algorithm>

#include "engine/base/time.h"

namespace tcpemu {

class RttEstimator {
 public:
  RttEstimator(DurationNs rto_initial, DurationNs rto_min, DurationNs rto_max)
      : rto_min_(rto_min), rto_max_(rto_max), rto_(Clamp(rto_initial)) {}

  // Takes one RTT measurement R (RFC 6298 2.2 and 2.3) and resets backoff.
  void Sample(DurationNs r);
  // Doubles the RTO after an expiry (RFC 6298 5.5), up to rto_max.
  void Backoff() { rto_ = std::min(rto_max_, rto_ * 2); }

  // Sets the RTO without a sample (RFC 6298 5.7: 3 s after a lost SYN).
  void ResetTo(DurationNs rto) { rto_ = Clamp(rto); }

  bool has_sample() const { return has_sample_; }
  DurationNs srtt() const { return srtt_; }
  DurationNs rttvar() const { return rttvar_; }
  DurationNs rto() const { return rto_; }

 private:
  // Clock granularity G of RFC 6298: the engine's clock has nanosecond
  // resolution, so G is tiny and rto_min dominates as on Linux.
  static constexpr DurationNs kGranularity = kMicrosecond;

  DurationNs Clamp(DurationNs v) const {
    return std::clamp(v, rto_min_, rto_max_);
  }

  DurationNs rto_min_, rto_max_;
  DurationNs rto_;
  DurationNs srtt_ = 0, rttvar_ = 0;
  bool has_sample_ = false;
};

}  // namespace tcpemu
