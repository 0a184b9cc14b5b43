// RFC 6298 section 2 smoothing; see rtt_estimator.h.
#include "engine/tcp/rtt_estimator.h"

#include <cstdlib>

namespace tcpemu {

void RttEstimator::Sample(DurationNs r) {
  if (r < 0) r = 0;
  if (!has_sample_) {
    srtt_ = r;
    rttvar_ = r / 2;
    has_sample_ = true;
  } else {
    // beta = 1/4, alpha = 1/8; RTTVAR uses the SRTT before this update.
    rttvar_ = (3 * rttvar_ + std::llabs(srtt_ - r)) / 4;
    srtt_ = (7 * srtt_ + r) / 8;
  }
  rto_ = Clamp(srtt_ + std::max(kGranularity, 4 * rttvar_));
}

}  // namespace tcpemu
