// Flag value parsers for tcpemu-sim. Numbers with a unit are read as a plain
// decimal (digits, at most one point) followed by a suffix from a fixed table,
// so "1e3kbit", "0x10", "-5" and "inf" are rejected rather than guessed at.
#include "engine/cli/units.h"

#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace tcpemu {
namespace {

// Debian's Abseil has its own string_view type, which std::string_view does
// not convert to implicitly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

struct Unit {
  absl::string_view suffix;
  double multiplier;
};

// Rate suffixes, compared without case: all of them are bits per second.
constexpr Unit kRateUnits[] = {
    {"", 1},       {"bit", 1},     {"bps", 1},     {"kbit", 1e3},
    {"kbps", 1e3}, {"mbit", 1e6},  {"mbps", 1e6},  {"gbit", 1e9},
    {"gbps", 1e9}, {"tbit", 1e12}, {"tbps", 1e12},
};

// Size suffixes, compared exactly: "Mb" could be read as megabits, so only
// the spellings that mean bytes are accepted.
constexpr Unit kSizeUnits[] = {
    {"", 1},
    {"B", 1},
    {"KiB", 1024.0},
    {"MiB", 1024.0 * 1024},
    {"GiB", 1024.0 * 1024 * 1024},
    {"TiB", 1024.0 * 1024 * 1024 * 1024},
    {"kB", 1e3},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
};

absl::Status Invalid(absl::string_view flag, absl::string_view text,
                     absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": \"", text, "\" is not valid; expected ", expected));
}

// Splits "1.5Mbit" into 1.5 and "Mbit". The number must be digits with at
// most one decimal point and at least one digit.
bool SplitNumber(absl::string_view text, double* value,
                 absl::string_view* suffix) {
  size_t i = 0;
  int digits = 0;
  int points = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c == '.') {
      ++points;
    } else {
      break;
    }
  }
  if (digits == 0 || points > 1) return false;
  if (!absl::SimpleAtod(text.substr(0, i), value)) return false;
  *suffix = text.substr(i);
  return true;
}

// Parses a number with a unit from `units` into a whole count, rounding to
// nearest. Values at or beyond 2^63 are rejected.
absl::StatusOr<uint64_t> ParseScaled(absl::string_view flag,
                                     absl::string_view text, const Unit* units,
                                     size_t unit_count, bool ignore_case,
                                     absl::string_view expected) {
  double number = 0;
  absl::string_view suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return Invalid(flag, text, expected);
  }
  for (size_t i = 0; i < unit_count; ++i) {
    const bool match = ignore_case
                           ? absl::EqualsIgnoreCase(suffix, units[i].suffix)
                           : suffix == units[i].suffix;
    if (!match) continue;
    const double scaled = std::round(number * units[i].multiplier);
    // 2^63 is exactly representable as a double.
    if (!(scaled < 9223372036854775808.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": \"", text, "\" is too large"));
    }
    return static_cast<uint64_t>(scaled);
  }
  return Invalid(flag, text, expected);
}

absl::StatusOr<double> ParseProbability(absl::string_view flag,
                                        absl::string_view text) {
  double value = 0;
  if (text.empty() || !absl::SimpleAtod(text, &value) ||
      !std::isfinite(value)) {
    return Invalid(flag, text, "a probability in [0, 1], e.g. 0.01");
  }
  if (value < 0 || value > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", text, " out of range [0, 1]"));
  }
  return value;
}

}  // namespace

absl::StatusOr<DurationNs> ParseDurationFlag(std::string_view flag_name,
                                             std::string_view text_in) {
  const absl::string_view flag = Sv(flag_name);
  const absl::string_view text = Sv(text_in);
  constexpr absl::string_view kExpected =
      "a non-negative duration with a unit, e.g. 25ms, 1.5s, 100us or 0";
  absl::Duration d;
  if (text.empty() || !absl::ParseDuration(text, &d)) {
    return Invalid(flag, text, kExpected);
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", text, " is negative; expected ", kExpected));
  }
  if (d >= absl::Nanoseconds(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": ", text, " is too long; the limit is about 292 years"));
  }
  return ToNs(d);
}

absl::StatusOr<uint64_t> ParseRateFlag(std::string_view flag,
                                       std::string_view text) {
  return ParseScaled(Sv(flag), Sv(text), kRateUnits, std::size(kRateUnits),
                     /*ignore_case=*/true,
                     "a rate in bit/s, e.g. 800bit, 100kbit, 20Mbit, 1.5Mbit, "
                     "1Gbit or a plain number of bit/s");
}

absl::StatusOr<uint64_t> ParseSizeFlag(std::string_view flag,
                                       std::string_view text) {
  return ParseScaled(Sv(flag), Sv(text), kSizeUnits, std::size(kSizeUnits),
                     /*ignore_case=*/false,
                     "a size in bytes, e.g. 65536, 64KiB, 1MiB, 1GiB, 10kB "
                     "or 10MB");
}

absl::StatusOr<double> ParseProbabilityFlag(std::string_view flag,
                                            std::string_view text) {
  return ParseProbability(Sv(flag), Sv(text));
}

absl::StatusOr<GeLossParams> ParseGeLossFlag(std::string_view flag_name,
                                             std::string_view text_in) {
  const absl::string_view flag = Sv(flag_name);
  const absl::string_view text = Sv(text_in);
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  if (parts.size() != 4) {
    return Invalid(flag, text,
                   "four probabilities p,r,h,k in [0, 1], e.g. 0.01,0.3,0,1");
  }
  GeLossParams out;
  double* fields[4] = {&out.p, &out.r, &out.h, &out.k};
  constexpr absl::string_view kNames[4] = {"p", "r", "h", "k"};
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<double> v =
        ParseProbability(absl::StrCat(flag, " (", kNames[i], " in p,r,h,k)"),
                         absl::StripAsciiWhitespace(parts[i]));
    if (!v.ok()) return v.status();
    *fields[i] = *v;
  }
  return out;
}

}  // namespace tcpemu
