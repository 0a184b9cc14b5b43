// Validation of AqmSpec and the factory of queue disciplines.
#include "engine/link/queue_discipline.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "engine/link/aqm/drop_tail.h"

namespace tcpemu {

absl::Status ValidateAqmSpec(const AqmSpec& spec) {
  switch (spec.kind) {
    case AqmSpec::Kind::kDropTail:
      return absl::OkStatus();
    case AqmSpec::Kind::kRed:
    case AqmSpec::Kind::kCodel:
    case AqmSpec::Kind::kFqCodel:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "aqm.kind %d out of range: drop_tail, red, codel or fq_codel",
          static_cast<int>(spec.kind)));
  }
  return absl::UnimplementedError("aqm.kind: only drop_tail is built");
}

std::unique_ptr<QueueDiscipline> MakeQueueDiscipline(const AqmSpec& spec,
                                                     QueueLimits limits,
                                                     uint64_t /*seed*/) {
  switch (spec.kind) {
    default:
      return std::make_unique<DropTailQueue>(limits);
  }
}

}  // namespace tcpemu
