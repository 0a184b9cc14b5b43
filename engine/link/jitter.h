// Delay jitter of an emulated path: uniform or normal variation with netem's
// correlation (each draw is rho * previous + (1 - rho) * fresh, as netem's
// get_crandom; tc-netem(8) "delay TIME JITTER CORRELATION distribution").
#pragma once

#include "engine/base/rng.h"
#include "engine/base/time.h"
#include "engine/link/path_spec.h"

namespace tcpemu {

class JitterModel {
 public:
  JitterModel() = default;
  explicit JitterModel(const JitterSpec& spec) { Configure(spec); }

  // Takes new parameters; the correlation memory restarts from the centre
  // when the distribution changes.
  void Configure(const JitterSpec& spec);

  bool enabled() const { return spec_.jitter > 0; }

  // The signed offset to add to the propagation delay of one packet:
  // uniform in [-jitter, +jitter], or normal with standard deviation
  // `jitter` clamped to +-4 jitter. Correlation is applied to the underlying
  // uniform (resp. standard normal) variable before scaling. Returns 0
  // without drawing when jitter is 0.
  DurationNs Sample(Rng& rng);

  const JitterSpec& spec() const { return spec_; }

 private:
  static constexpr double kNormalClampSigmas = 4;

  JitterSpec spec_;
  // Previous value of the correlated variable: a uniform in [0, 1) or a
  // standard normal deviate. Starts at the centre of the distribution so
  // that the first draws of a correlated stream are not biased.
  double last_ = 0.5;
};

}  // namespace tcpemu
