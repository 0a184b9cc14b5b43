// Validation of AqmSpec and the factory of queue disciplines.
#include "engine/link/queue_discipline.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "engine/link/aqm/codel.h"
#include "engine/link/aqm/drop_tail.h"
#include "engine/link/aqm/fq_codel.h"
#include "engine/link/aqm/red.h"

namespace tcpemu {
namespace {

// RED thresholds are bytes of average queue; no queue holds 1 TiB.
constexpr uint64_t kMaxRedThreshold = uint64_t{1} << 40;
constexpr uint32_t kMinRedAvpkt = 20;  // an IPv4 header
constexpr uint32_t kMaxRedAvpkt = 65535;
constexpr uint32_t kMinFqQuantum = 64;
constexpr uint32_t kMaxFqQuantum = 65535;

absl::Status OutOfRange(const char* field, double value, const char* range) {
  return absl::InvalidArgumentError(
      absl::StrFormat("aqm.%s %g out of range %s", field, value, range));
}

absl::Status ValidateRed(const AqmSpec& spec) {
  if (spec.red_max_threshold < 1 || spec.red_max_threshold > kMaxRedThreshold) {
    return absl::InvalidArgumentError(
        absl::StrFormat("aqm.red_max_threshold %d out of range [1, %d] bytes",
                        spec.red_max_threshold, kMaxRedThreshold));
  }
  if (spec.red_min_threshold >= spec.red_max_threshold) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "aqm.red_min_threshold %d out of range [0, red_max_threshold %d) "
        "bytes",
        spec.red_min_threshold, spec.red_max_threshold));
  }
  // Negated comparisons so that NaN is refused too.
  if (!(spec.red_max_p > 0 && spec.red_max_p <= 1)) {
    return OutOfRange("red_max_p", spec.red_max_p, "(0, 1]");
  }
  if (!(spec.red_weight > 0 && spec.red_weight <= 1)) {
    return OutOfRange("red_weight", spec.red_weight, "(0, 1]");
  }
  if (spec.red_avpkt < kMinRedAvpkt || spec.red_avpkt > kMaxRedAvpkt) {
    return absl::InvalidArgumentError(
        absl::StrFormat("aqm.red_avpkt %d out of range [%d, %d] bytes",
                        spec.red_avpkt, kMinRedAvpkt, kMaxRedAvpkt));
  }
  return absl::OkStatus();
}

absl::Status ValidateCodelTime(const char* field, DurationNs value) {
  if (value <= 0 || value > kMaxCodelTime) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "aqm.%s %d ns out of range (0, %d] ns", field, value, kMaxCodelTime));
  }
  return absl::OkStatus();
}

absl::Status ValidateCodel(const AqmSpec& spec) {
  if (absl::Status s = ValidateCodelTime("codel_target", spec.codel_target);
      !s.ok()) {
    return s;
  }
  return ValidateCodelTime("codel_interval", spec.codel_interval);
}

absl::Status ValidateFq(const AqmSpec& spec) {
  if (spec.fq_flows < 1 || spec.fq_flows > kMaxFqFlows) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "aqm.fq_flows %d out of range [1, %d]", spec.fq_flows, kMaxFqFlows));
  }
  if (spec.fq_quantum < kMinFqQuantum || spec.fq_quantum > kMaxFqQuantum) {
    return absl::InvalidArgumentError(
        absl::StrFormat("aqm.fq_quantum %d out of range [%d, %d] bytes",
                        spec.fq_quantum, kMinFqQuantum, kMaxFqQuantum));
  }
  return absl::OkStatus();
}

}  // namespace

// Only the fields the chosen discipline uses are checked, so that a
// drop-tail spec carrying unused RED fields is not refused for them.
absl::Status ValidateAqmSpec(const AqmSpec& spec) {
  switch (spec.kind) {
    case AqmSpec::Kind::kDropTail:
      return absl::OkStatus();
    case AqmSpec::Kind::kRed:
      return ValidateRed(spec);
    case AqmSpec::Kind::kCodel:
      return ValidateCodel(spec);
    case AqmSpec::Kind::kFqCodel:
      if (absl::Status s = ValidateCodel(spec); !s.ok()) return s;
      return ValidateFq(spec);
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "aqm.kind %d out of range: drop_tail, red, codel or fq_codel",
      static_cast<int>(spec.kind)));
}

std::unique_ptr<QueueDiscipline> MakeQueueDiscipline(const AqmSpec& spec,
                                                     QueueLimits limits,
                                                     uint64_t seed) {
  switch (spec.kind) {
    case AqmSpec::Kind::kRed:
      return std::make_unique<RedQueue>(spec, limits, seed);
    case AqmSpec::Kind::kCodel:
      return std::make_unique<CodelQueue>(spec, limits);
    case AqmSpec::Kind::kFqCodel:
      return std::make_unique<FqCodelQueue>(spec, limits, seed);
    case AqmSpec::Kind::kDropTail:
      break;
  }
  return std::make_unique<DropTailQueue>(limits);
}

}  // namespace tcpemu
