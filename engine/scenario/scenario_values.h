// Parsers for the scalar values of a scenario file: durations ("40ms"),
// rates ("10mbit"), sizes ("64KiB"), probabilities ("0.1%" or "0.001").
// Each returns nullopt when the text is not of its form; the loader turns that
// into an error naming the line, the key and the expected form.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "engine/base/time.h"

namespace tcpemu {

// A number with a unit: ns, us, ms, s, m, h ("40ms", "1.5s"); "0" alone
// needs none. Negative values and overflow are refused.
std::optional<DurationNs> ParseScenarioDuration(absl::string_view text);

// Bits per second (SI, 1000-based). A plain number is bit/s; suffixes bit,
// kbit, mbit, gbit, tbit, pbit and bps, kbps, mbps, gbps, tbps (any case; all
// mean bits per second, as tcpemu-sim's --rate). Rounded to whole bit/s.
std::optional<uint64_t> ParseScenarioRate(absl::string_view text);

// Bytes. A plain number or "B" is bytes; KiB, MiB, GiB, TiB are 1024-based;
// kB (KB), MB, GB, TB 1000-based. Rounded to whole bytes.
std::optional<uint64_t> ParseScenarioSize(absl::string_view text);

// A probability: "0.001", "1e-3" or a percentage "0.1%"; in [0, 1].
std::optional<double> ParseScenarioProbability(absl::string_view text);

}  // namespace tcpemu
