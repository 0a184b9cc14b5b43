// Validation of PathSpec; see path_spec.h.
#include "engine/link/path_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tcpemu {
namespace {

absl::Status OutOfRange(absl::string_view field, const absl::AlphaNum& value,
                        const absl::AlphaNum& lo, const absl::AlphaNum& hi) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", value.Piece(),
                                                 " out of range [", lo.Piece(),
                                                 ", ", hi.Piece(), "]"));
}

// Written so that NaN fails too.
absl::Status CheckProbability(absl::string_view field, double v) {
  if (v >= 0 && v <= 1) return absl::OkStatus();
  return OutOfRange(field, v, 0, 1);
}

absl::Status CheckDuration(absl::string_view field, DurationNs v) {
  if (v >= 0 && v <= kMaxPathDelay) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, " ", v, "ns out of range [0, ", kMaxPathDelay, "ns]"));
}

}  // namespace

absl::Status ValidatePathSpec(const PathSpec& spec) {
  if (absl::Status s = CheckDuration("delay", spec.delay); !s.ok()) return s;
  if (absl::Status s = CheckDuration("jitter", spec.jitter.jitter); !s.ok()) {
    return s;
  }
  switch (spec.jitter.distribution) {
    case JitterSpec::Distribution::kUniform:
    case JitterSpec::Distribution::kNormal:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "jitter.distribution ", static_cast<int>(spec.jitter.distribution),
          " is not one of UNIFORM, NORMAL"));
  }
  if (absl::Status s =
          CheckProbability("jitter.correlation", spec.jitter.correlation);
      !s.ok()) {
    return s;
  }
  if (spec.rate_bps > kMaxRateBps) {
    return OutOfRange("rate_bps", spec.rate_bps, 0, kMaxRateBps);
  }
  switch (spec.loss.model) {
    case LossSpec::Model::kNone:
    case LossSpec::Model::kRandom:
    case LossSpec::Model::kGilbertElliott:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("loss.model ", static_cast<int>(spec.loss.model),
                       " is not one of NONE, RANDOM, GILBERT_ELLIOTT"));
  }
  if (absl::Status s = CheckProbability("loss.p", spec.loss.p); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("loss.r", spec.loss.r); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("loss.h", spec.loss.h); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("loss.k", spec.loss.k); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("duplicate", spec.duplicate); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("reorder", spec.reorder); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckProbability("corrupt", spec.corrupt); !s.ok()) {
    return s;
  }
  if (spec.mtu < kMinMtu || spec.mtu > kMaxMtu) {
    return OutOfRange("mtu", spec.mtu, kMinMtu, kMaxMtu);
  }
  if (absl::Status s = ValidateAqmSpec(spec.aqm); !s.ok()) return s;
  if (spec.schedule != nullptr) {
    if (absl::Status s = ValidateLinkSchedule(*spec.schedule); !s.ok()) {
      return s;
    }
  }
  if (spec.trace != nullptr) {
    if (absl::Status s = ValidateDeliveryTrace(*spec.trace); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace tcpemu
