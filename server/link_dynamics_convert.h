// tcpemu.v1 <-> engine conversions of what makes a link direction more than
// static impairments: its queue management (Aqm), its schedule
// (LinkSchedule), its delivery trace (DeliveryTrace) and queue sampling.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "engine/link/path_spec.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

// Fills spec->aqm, schedule, trace and queue_sample_interval from `p`;
// errors name the field under `field` (e.g. "forward.schedule.points[2].at").
absl::Status LinkDynamicsFromProto(const v1::PathSpec& p,
                                   const std::string& field, PathSpec* spec);

// The reverse; a trace is described (name, opportunities, period), not
// copied.
void LinkDynamicsToProto(const PathSpec& spec, v1::PathSpec* out);

}  // namespace tcpemu::server
