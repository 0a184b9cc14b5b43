// Reading scenario YAML: "key.path=value" overrides applied to the document,
// and a Reader that gives typed values with errors naming the line and the
// key path. Used by scenario_loader.cc only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "engine/base/time.h"
#include "engine/link/path_spec.h"
#include "engine/scenario/scenario_values.h"
#include "yaml-cpp/yaml.h"

namespace tcpemu {
namespace scenario_internal {

#define SCENARIO_RETURN_IF_ERROR(expr)          \
  do {                                          \
    if (absl::Status _st = (expr); !_st.ok()) { \
      return _st;                               \
    }                                           \
  } while (false)

// One "key.path=value" override, its path split into keys and indexes.
struct Override {
  std::string text;  // as given
  std::string path;  // normalised, e.g. sessions[0].tcp.cc
  struct Step {
    std::string key;  // empty for an index
    size_t index = 0;
  };
  std::vector<Step> steps;
  std::string value;
};

absl::StatusOr<Override> ParseOverride(const std::string& text);
absl::Status ApplyOverride(YAML::Node root, const Override& o);

// A string quoted for an error message (at most 60 characters shown).
std::string Quote(absl::string_view s);
std::string Sub(absl::string_view path, absl::string_view key);
std::string Idx(absl::string_view path, size_t i);

class Reader {
 public:
  explicit Reader(const std::vector<Override>* overrides)
      : overrides_(overrides) {}

  // "line 14, links[0].forward.rate: <msg>", or "override ..., <path>: ..."
  // for a value an override set.
  absl::Status Error(const YAML::Node& n, absl::string_view path,
                     absl::string_view msg) const {
    std::string where;
    for (const Override& o : *overrides_) {
      if (absl::StartsWith(path, o.path) &&
          (path.size() == o.path.size() || path[o.path.size()] == '.' ||
           path[o.path.size()] == '[')) {
        where = absl::StrCat("override \"", o.text, "\", ");
      }
    }
    if (where.empty() && n.IsDefined() && !n.Mark().is_null()) {
      where = absl::StrCat("line ", n.Mark().line + 1, ", ");
    }
    return absl::InvalidArgumentError(
        absl::StrCat(where, path.empty() ? "(top level)" : path, ": ", msg));
  }

  absl::Status Scalar(const YAML::Node& n, absl::string_view path,
                      absl::string_view expected, std::string* out) const {
    if (!n.IsScalar()) {
      return Error(n, path, absl::StrCat("expected ", expected));
    }
    *out = n.Scalar();
    return absl::OkStatus();
  }

  absl::Status String(const YAML::Node& n, absl::string_view path,
                      std::string* out) const {
    return Scalar(n, path, "a string", out);
  }

  absl::Status Duration(const YAML::Node& n, absl::string_view path,
                        DurationNs hi, absl::string_view hi_text,
                        DurationNs* out) const {
    std::string s;
    const std::string expected =
        absl::StrCat("a duration like 40ms, in [0, ", hi_text, "]");
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, expected, &s));
    std::optional<DurationNs> v = ParseScenarioDuration(s);
    if (!v || *v > hi) {
      return Error(n, path, absl::StrCat(Quote(s), " is not ", expected));
    }
    *out = *v;
    return absl::OkStatus();
  }

  absl::Status Rate(const YAML::Node& n, absl::string_view path,
                    uint64_t* out) const {
    std::string s;
    constexpr absl::string_view kExpected = "a rate like 10mbit, in [0, 1Pbit]";
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, kExpected, &s));
    std::optional<uint64_t> v = ParseScenarioRate(s);
    if (!v || *v > kMaxRateBps) {
      return Error(n, path, absl::StrCat(Quote(s), " is not ", kExpected));
    }
    *out = *v;
    return absl::OkStatus();
  }

  absl::Status Size(const YAML::Node& n, absl::string_view path, uint64_t hi,
                    absl::string_view hi_text, uint64_t* out) const {
    std::string s;
    const std::string expected =
        absl::StrCat("a size like 64KiB or 1MB, in [0, ", hi_text, "]");
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, expected, &s));
    std::optional<uint64_t> v = ParseScenarioSize(s);
    if (!v || *v > hi) {
      return Error(n, path, absl::StrCat(Quote(s), " is not ", expected));
    }
    *out = *v;
    return absl::OkStatus();
  }

  absl::Status Probability(const YAML::Node& n, absl::string_view path,
                           double* out) const {
    std::string s;
    constexpr absl::string_view kExpected =
        "a probability like 0.1% or 0.001, in [0, 1]";
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, kExpected, &s));
    std::optional<double> v = ParseScenarioProbability(s);
    if (!v)
      return Error(n, path, absl::StrCat(Quote(s), " is not ", kExpected));
    *out = *v;
    return absl::OkStatus();
  }

  absl::Status Uint(const YAML::Node& n, absl::string_view path, uint64_t lo,
                    uint64_t hi, uint64_t* out) const {
    std::string s;
    const std::string expected =
        absl::StrCat("an integer in [", lo, ", ", hi, "]");
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, expected, &s));
    uint64_t v = 0;
    if (!absl::SimpleAtoi(s, &v) || v < lo || v > hi) {
      return Error(n, path, absl::StrCat(Quote(s), " is not ", expected));
    }
    *out = v;
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status UintAs(const YAML::Node& n, absl::string_view path, uint64_t lo,
                      uint64_t hi, T* out) const {
    uint64_t v = 0;
    SCENARIO_RETURN_IF_ERROR(Uint(n, path, lo, hi, &v));
    *out = static_cast<T>(v);
    return absl::OkStatus();
  }

  absl::Status Double(const YAML::Node& n, absl::string_view path, double lo,
                      double hi, double* out) const {
    std::string s;
    const std::string expected =
        absl::StrCat("a number in [", lo, ", ", hi, "]");
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, expected, &s));
    double v = 0;
    if (!absl::SimpleAtod(s, &v) || !(v >= lo && v <= hi)) {
      return Error(n, path, absl::StrCat(Quote(s), " is not ", expected));
    }
    *out = v;
    return absl::OkStatus();
  }

  absl::Status Bool(const YAML::Node& n, absl::string_view path,
                    bool* out) const {
    std::string s;
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, "true or false", &s));
    // YAML 1.1's booleans, as most YAML libraries (PyYAML) read them.
    static constexpr absl::string_view kTrue[] = {
        "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static constexpr absl::string_view kFalse[] = {
        "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (absl::string_view t : kTrue) {
      if (s == t) {
        *out = true;
        return absl::OkStatus();
      }
    }
    for (absl::string_view f : kFalse) {
      if (s == f) {
        *out = false;
        return absl::OkStatus();
      }
    }
    return Error(n, path, absl::StrCat(Quote(s), " is not true or false"));
    return absl::OkStatus();
  }

  absl::Status Enum(const YAML::Node& n, absl::string_view path,
                    std::initializer_list<absl::string_view> names,
                    size_t* out) const {
    std::string s;
    const std::string expected =
        absl::StrCat("one of ", absl::StrJoin(names, ", "));
    SCENARIO_RETURN_IF_ERROR(Scalar(n, path, expected, &s));
    size_t i = 0;
    for (absl::string_view name : names) {
      if (s == name) {
        *out = i;
        return absl::OkStatus();
      }
      ++i;
    }
    return Error(n, path, absl::StrCat(Quote(s), " is not ", expected));
  }

  // Calls fn(key, value, key path) for every key of mapping `n`, refusing
  // keys not in `allowed`.
  template <typename Fn>
  absl::Status Keys(const YAML::Node& n, absl::string_view path,
                    std::initializer_list<absl::string_view> allowed,
                    Fn fn) const {
    if (!n.IsMap()) return Error(n, path, "expected a mapping (key: value)");
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string sub = Sub(path, key);
      bool known = false;
      for (absl::string_view a : allowed) known = known || a == key;
      if (!known) {
        return Error(it->first, sub,
                     absl::StrCat("unknown key; expected one of ",
                                  absl::StrJoin(allowed, ", ")));
      }
      SCENARIO_RETURN_IF_ERROR(fn(key, it->second, sub));
    }
    return absl::OkStatus();
  }

  absl::Status Prefixed(const YAML::Node& n, absl::string_view path,
                        const absl::Status& s) const {
    if (s.ok()) return s;
    return Error(n, path, s.message());
  }

 private:
  const std::vector<Override>* overrides_;
};

}  // namespace scenario_internal
}  // namespace tcpemu
