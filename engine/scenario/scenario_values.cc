// Scalar value parsers of scenario files; see scenario_values.h.
#include "engine/scenario/scenario_values.h"

#include <cctype>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace tcpemu {
namespace {

// Splits "12.5mbit" into 12.5 and "mbit". False if the number part is not a
// finite, non-negative number.
bool SplitNumber(absl::string_view text, double* value, std::string* unit) {
  text = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' ||
          ((text[i] == 'e' || text[i] == 'E') && i > 0 && i + 1 < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i + 1])) ||
            text[i + 1] == '-' || text[i + 1] == '+')) ||
          ((text[i] == '-' || text[i] == '+') && i > 0 &&
           (text[i - 1] == 'e' || text[i - 1] == 'E')))) {
    ++i;
  }
  if (i == 0) return false;
  double v = 0;
  if (!absl::SimpleAtod(text.substr(0, i), &v) || !std::isfinite(v) || v < 0) {
    return false;
  }
  *value = v;
  // No space between the number and its unit: "10mbit", not "10 mbit".
  *unit = absl::AsciiStrToLower(text.substr(i));
  return unit->find_first_of(" \t") == std::string::npos;
}

std::optional<uint64_t> Scale(double v, double factor) {
  double r = std::round(v * factor);
  if (!(r >= 0) || r > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(r);
}

}  // namespace

std::optional<DurationNs> ParseScenarioDuration(absl::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) return std::nullopt;
  double factor = 0;
  if (unit.empty()) {
    if (v != 0) return std::nullopt;
    return 0;
  } else if (unit == "ns") {
    factor = 1;
  } else if (unit == "us") {
    factor = 1e3;
  } else if (unit == "ms") {
    factor = 1e6;
  } else if (unit == "s") {
    factor = 1e9;
  } else if (unit == "m" || unit == "min") {
    factor = 60e9;
  } else if (unit == "h") {
    factor = 3600e9;
  } else {
    return std::nullopt;
  }
  double r = std::round(v * factor);
  if (!(r >= 0) || r > 9.2e18) return std::nullopt;
  return static_cast<DurationNs>(r);
}

std::optional<uint64_t> ParseScenarioRate(absl::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) return std::nullopt;
  if (unit.empty() || unit == "bit" || unit == "bps") return Scale(v, 1);
  if (unit == "kbit" || unit == "kbps") return Scale(v, 1e3);
  if (unit == "mbit" || unit == "mbps") return Scale(v, 1e6);
  if (unit == "gbit" || unit == "gbps") return Scale(v, 1e9);
  if (unit == "tbit" || unit == "tbps") return Scale(v, 1e12);
  if (unit == "pbit" || unit == "pbps") return Scale(v, 1e15);
  return std::nullopt;
}

std::optional<uint64_t> ParseScenarioSize(absl::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) return std::nullopt;
  if (unit.empty() || unit == "b") return Scale(v, 1);
  if (unit == "kib") return Scale(v, 1024.0);
  if (unit == "mib") return Scale(v, 1024.0 * 1024);
  if (unit == "gib") return Scale(v, 1024.0 * 1024 * 1024);
  if (unit == "tib") return Scale(v, 1024.0 * 1024 * 1024 * 1024);
  if (unit == "kb") return Scale(v, 1e3);
  if (unit == "mb") return Scale(v, 1e6);
  if (unit == "gb") return Scale(v, 1e9);
  if (unit == "tb") return Scale(v, 1e12);
  return std::nullopt;
}

std::optional<double> ParseScenarioProbability(absl::string_view text) {
  double v = 0;
  std::string unit;
  if (!SplitNumber(text, &v, &unit)) return std::nullopt;
  if (unit == "%") {
    v /= 100;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  if (!(v >= 0 && v <= 1)) return std::nullopt;
  return v;
}

}  // namespace tcpemu
