// Validation of link schedules and delivery traces, and the mm-link trace
// parser; see link_schedule.h.
#include "engine/link/link_schedule.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/link/path_spec.h"

namespace tcpemu {

absl::Status ValidateLinkSchedule(const LinkSchedule& s) {
  if (s.points.empty()) {
    return absl::InvalidArgumentError("schedule.points: at least one point");
  }
  if (s.points.size() > kMaxSchedulePoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.points: ", s.points.size(),
                     " points out of range [1, ", kMaxSchedulePoints, "]"));
  }
  DurationNs prev = 0;
  for (size_t i = 0; i < s.points.size(); ++i) {
    const SchedulePoint& p = s.points[i];
    const std::string at = absl::StrCat("schedule.points[", i, "]");
    if (p.at < prev || p.at > kMaxPathDelay * 24) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".at ", p.at, "ns out of range [", prev, "ns, ",
          kMaxPathDelay * 24, "ns] (non-decreasing, at most a day)"));
    }
    prev = p.at;
    if (p.rate_bps && *p.rate_bps > kMaxRateBps) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".rate_bps ", *p.rate_bps, " out of range [0, ",
                       kMaxRateBps, "]"));
    }
    for (auto [name, v] :
         {std::pair{"delay", p.delay}, std::pair{"jitter", p.jitter}}) {
      if (v && (*v < 0 || *v > kMaxPathDelay)) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".", name, " ", *v,
                                                       "ns out of range [0, ",
                                                       kMaxPathDelay, "ns]"));
      }
    }
    if (p.loss && !(*p.loss >= 0 && *p.loss <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".loss ", *p.loss, " out of range [0, 1]"));
    }
  }
  if (s.repeat != 0 && s.repeat <= s.points.back().at) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.repeat ", s.repeat,
                     "ns out of range: 0 (once) or more than "
                     "the last point's at (",
                     s.points.back().at, "ns)"));
  }
  if (s.ramp_step < kMillisecond || s.ramp_step > kSecond) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.ramp_step ", s.ramp_step, "ns out of range [",
                     kMillisecond, "ns, ", kSecond, "ns]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDeliveryTrace(const DeliveryTrace& t) {
  if (t.opportunities_ms.empty() ||
      t.opportunities_ms.size() > kMaxTraceOpportunities) {
    return absl::InvalidArgumentError(
        absl::StrCat("trace: ", t.opportunities_ms.size(),
                     " delivery opportunities out of "
                     "range [1, ",
                     kMaxTraceOpportunities, "]"));
  }
  for (size_t i = 1; i < t.opportunities_ms.size(); ++i) {
    if (t.opportunities_ms[i] < t.opportunities_ms[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trace line ", i + 1, ": ", t.opportunities_ms[i],
          " ms is before the previous line's ", t.opportunities_ms[i - 1],
          " ms (timestamps must not decrease)"));
    }
  }
  if (t.opportunities_ms.back() == 0) {
    return absl::InvalidArgumentError(
        "trace: the last timestamp (its period) must be > 0 ms");
  }
  return absl::OkStatus();
}

absl::StatusOr<DeliveryTrace> ParseMahimahiTrace(absl::string_view text,
                                                 absl::string_view name) {
  DeliveryTrace t;
  t.name = std::string(name);
  size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    uint32_t ms = 0;
    if (!absl::SimpleAtoi(line, &ms)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trace ", name, " line ", line_no, ": \"", line.substr(0, 40),
          "\" is not a timestamp in ms (an integer in [0, 4294967295])"));
    }
    if (!t.opportunities_ms.empty() && ms < t.opportunities_ms.back()) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace ", name, " line ", line_no, ": ", ms,
                       " ms is before the previous line's ",
                       t.opportunities_ms.back(), " ms"));
    }
    if (t.opportunities_ms.size() >= kMaxTraceOpportunities) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace ", name, ": more than ", kMaxTraceOpportunities,
                       " delivery opportunities"));
    }
    t.opportunities_ms.push_back(ms);
  }
  if (absl::Status s = ValidateDeliveryTrace(t); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()));
  }
  return t;
}

}  // namespace tcpemu
