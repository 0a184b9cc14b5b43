// UpdateLink's field mask (AIP-134): which fields of a link's two directions
// a request changes, applied to the link's current spec.
#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/link/path_spec.h"
#include "engine/sim/valid_path_spec.h"
#include "google/protobuf/field_mask.pb.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

// The paths an UpdateLinkRequest's update_mask may name, for error messages:
// "*", "forward", "reverse", then "forward.<field>" and "reverse.<field>" for
// every PathSpec field.
std::string AllowedLinkUpdatePaths();

// INVALID_ARGUMENT naming `update_mask` and the allowed paths if the mask
// names a path outside AllowedLinkUpdatePaths(). An empty mask is valid.
absl::Status ValidateLinkUpdateMask(const google::protobuf::FieldMask& mask);

// `forward` and `reverse` (a link's current specs) with the fields the
// request's mask names taken from the request: both directions whole when the
// mask is empty or holds "*". The mask must be valid.
void MergeLinkUpdate(const v1::UpdateLinkRequest& req, v1::PathSpec& forward,
                     v1::PathSpec& reverse);

// The link's specs after the update: the mask checked, `forward` and
// `reverse` merged with the request as MergeLinkUpdate does, and the result
// validated (errors name the field, e.g. "forward.delay").
absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> ApplyLinkUpdate(
    const v1::UpdateLinkRequest& req, const PathSpec& forward,
    const PathSpec& reverse);

}  // namespace tcpemu::server
