// Parsers for tcpemu-sim's flag values: durations, rates in bit/s, sizes in
// bytes, probabilities and Gilbert-Elliott loss parameters. Errors are
// InvalidArgument and name the flag and the accepted form or range.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/base/time.h"

namespace tcpemu {

// In every parser `flag` is the flag's name as the user wrote it (e.g.
// "--loss"); it only appears in error messages.

// A non-negative duration with a unit, as absl::ParseDuration reads it:
// "25ms", "1.5s", "100us", "2m", "1h30m"; "0" alone needs no unit.
absl::StatusOr<DurationNs> ParseDurationFlag(std::string_view flag,
                                             std::string_view text);

// A rate in bits per second (SI, 1000-based). A plain number is bit/s;
// suffixes bit, kbit, mbit, gbit, tbit and bps, kbps, mbps, gbps, tbps (any
// case; all mean bits per second). Fractions are allowed ("1.5Mbit") and the
// result is rounded to whole bit/s: "20Mbit", "1Gbit", "100kbit", "800bit".
absl::StatusOr<uint64_t> ParseRateFlag(std::string_view flag,
                                       std::string_view text);

// A size in bytes. A plain number or "B" is bytes; KiB, MiB, GiB, TiB are
// 1024-based; kB (or KB), MB, GB, TB are 1000-based. Fractions are allowed
// ("1.5MiB") and the result is rounded to whole bytes.
absl::StatusOr<uint64_t> ParseSizeFlag(std::string_view flag,
                                       std::string_view text);

// A probability: a number in [0, 1], e.g. "0.01" or "1e-4".
absl::StatusOr<double> ParseProbabilityFlag(std::string_view flag,
                                            std::string_view text);

// Gilbert-Elliott loss parameters, each a probability in [0, 1].
struct GeLossParams {
  double p = 0;  // good -> bad transition, per packet
  double r = 0;  // bad -> good transition, per packet
  double h = 0;  // packet gets through in the bad state
  double k = 0;  // packet gets through in the good state
};

// "p,r,h,k": four probabilities separated by commas, e.g. "0.01,0.3,0.1,1".
absl::StatusOr<GeLossParams> ParseGeLossFlag(std::string_view flag,
                                             std::string_view text);

}  // namespace tcpemu
