// How one direction of a link changes over time: a schedule of steps and
// linear ramps of its rate, delay, jitter and loss, or a recorded
// packet-delivery trace in Mahimahi's format (mm-link(1)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/time.h"

namespace tcpemu {

// One point of a schedule: from `at` (after the schedule starts) on, the
// fields it sets take these values; fields it leaves unset keep theirs.
// With `ramp`, the numeric fields move linearly from their values at the
// previous point to these over the interval before `at`, in steps of the
// schedule's `ramp_step`.
struct SchedulePoint {
  DurationNs at = 0;
  bool ramp = false;
  std::optional<uint64_t> rate_bps;  // 0 = unlimited, as in PathSpec
  std::optional<DurationNs> delay;
  std::optional<DurationNs> jitter;
  std::optional<double> loss;  // random loss probability
  // Link down (true) or up (false): a down link's wire takes nothing, so
  // packets wait in its queue (and overflow it) until it is up again.
  std::optional<bool> down;

  bool operator==(const SchedulePoint&) const = default;
};

struct LinkSchedule {
  std::vector<SchedulePoint> points;  // `at` non-decreasing
  // Repeat the schedule with this period (0 = play it once and keep the
  // last values). Must exceed the last point's `at`.
  DurationNs repeat = 0;
  DurationNs ramp_step = 10 * kMillisecond;

  bool operator==(const LinkSchedule&) const = default;
};

// A Mahimahi packet-delivery trace: each entry is a time in ms from the
// start at which the link may deliver one packet of up to
// kTraceOpportunityBytes bytes (several smaller packets may share one
// opportunity, byte for byte). The trace repeats with a period of its last
// timestamp. An opportunity with nothing waiting is lost.
inline constexpr uint32_t kTraceOpportunityBytes = 1500;
struct DeliveryTrace {
  std::vector<uint32_t> opportunities_ms;  // non-decreasing, last > 0
  std::string name;                        // for events and metrics
};

inline constexpr size_t kMaxSchedulePoints = 100'000;
inline constexpr size_t kMaxTraceOpportunities = 10'000'000;

// OK, or InvalidArgument naming the first bad field and its allowed range.
absl::Status ValidateLinkSchedule(const LinkSchedule& s);
absl::Status ValidateDeliveryTrace(const DeliveryTrace& t);

// Parses the text of an mm-link trace file: one non-negative integer (ms)
// per line, non-decreasing, blank lines ignored. Errors name the line.
absl::StatusOr<DeliveryTrace> ParseMahimahiTrace(absl::string_view text,
                                                 absl::string_view name);

}  // namespace tcpemu
