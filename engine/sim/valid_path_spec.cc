// ValidPathSpec: a checked path spec; see valid_path_spec.h.
#include "engine/sim/valid_path_spec.h"

namespace tcpemu {

absl::StatusOr<ValidPathSpec> ValidPathSpec::Check(const PathSpec& spec) {
  if (absl::Status s = ValidatePathSpec(spec); !s.ok()) return s;
  return ValidPathSpec(spec);
}

}  // namespace tcpemu
