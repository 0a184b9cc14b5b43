// Delay jitter; see jitter.h.
#include "engine/link/jitter.h"

#include <algorithm>
#include <cmath>

namespace tcpemu {

void JitterModel::Configure(const JitterSpec& spec) {
  if (spec.distribution != spec_.distribution || spec_.jitter == 0) {
    last_ = spec.distribution == JitterSpec::Distribution::kUniform ? 0.5 : 0;
  }
  spec_ = spec;
}

DurationNs JitterModel::Sample(Rng& rng) {
  if (spec_.jitter <= 0) return 0;
  const double rho = spec_.correlation;
  const double scale = static_cast<double>(spec_.jitter);
  if (spec_.distribution == JitterSpec::Distribution::kUniform) {
    const double u = rho * last_ + (1 - rho) * rng.Uniform01();
    last_ = u;
    // Uniform01 is in [0, 1): map to [-j, +j] and round to whole ns.
    return std::llround((2 * u - 1) * scale);
  }
  const double z = std::clamp(rho * last_ + (1 - rho) * rng.Normal(),
                              -kNormalClampSigmas, kNormalClampSigmas);
  last_ = z;
  return std::llround(z * scale);
}

}  // namespace tcpemu
