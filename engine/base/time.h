// Engine time: nanoseconds since the owning network's epoch. The sans-IO engine
// never reads a clock; every entry point takes `now` from its caller.
#pragma once

#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace tcpemu {

// A point in time, in nanoseconds since the network's epoch.
using TimeNs = int64_t;
// A span of time in nanoseconds.
using DurationNs = int64_t;

// Deadline value meaning "no deadline".
inline constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();

inline constexpr DurationNs kMicrosecond = 1'000;
inline constexpr DurationNs kMillisecond = 1'000'000;
inline constexpr DurationNs kSecond = 1'000'000'000;

inline DurationNs ToNs(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }
inline absl::Duration FromNs(DurationNs ns) { return absl::Nanoseconds(ns); }

}  // namespace tcpemu
