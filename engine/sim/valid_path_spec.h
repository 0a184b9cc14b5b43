// A path spec known to be valid: only Check makes one from a PathSpec (the
// default spec is valid as it is), so code that holds one, such as
// Network::CreateLink, need not check it again.
#pragma once

#include "absl/status/statusor.h"
#include "engine/link/path_spec.h"

namespace tcpemu {

class ValidPathSpec {
 public:
  // The default path (no impairment): valid by construction.
  ValidPathSpec() = default;

  // `spec` if ValidatePathSpec accepts it; its error otherwise (the field
  // named relative to the spec, e.g. "loss.p ...").
  static absl::StatusOr<ValidPathSpec> Check(const PathSpec& spec);

  const PathSpec& spec() const { return spec_; }

 private:
  explicit ValidPathSpec(const PathSpec& spec) : spec_(spec) {}

  PathSpec spec_;
};

}  // namespace tcpemu
