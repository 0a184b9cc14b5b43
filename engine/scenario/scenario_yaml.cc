// Overrides and the helpers of scenario_yaml.h.
#include "engine/scenario/scenario_yaml.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace tcpemu::scenario_internal {

absl::StatusOr<Override> ParseOverride(const std::string& text) {
  Override o;
  o.text = text;
  size_t eq = text.find('=');
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override \"", text, "\": ", why,
        " (expected key.path=value, e.g. sessions[0].tcp.cc=cubic)"));
  };
  if (eq == std::string::npos || eq == 0) return bad("no key path");
  o.value = text.substr(eq + 1);
  absl::string_view path = absl::string_view(text).substr(0, eq);
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    size_t br = part.find('[');
    absl::string_view key = part.substr(0, br);
    if (key.empty() && (br != 0 || o.steps.empty())) {
      return bad("an empty key");
    }
    if (!key.empty()) o.steps.push_back({std::string(key), 0});
    while (br != absl::string_view::npos) {
      size_t close = part.find(']', br);
      if (close == absl::string_view::npos) return bad("an unclosed [");
      size_t index = 0;
      if (!absl::SimpleAtoi(part.substr(br + 1, close - br - 1), &index)) {
        return bad("an index that is not a number");
      }
      o.steps.push_back({"", index});
      br = close + 1 == part.size() ? absl::string_view::npos : close + 1;
      if (br != absl::string_view::npos && part[br] != '[') {
        return bad("text after ]");
      }
    }
  }
  for (const Override::Step& s : o.steps) {
    if (s.key.empty()) {
      absl::StrAppend(&o.path, "[", s.index, "]");
    } else {
      absl::StrAppend(&o.path, o.path.empty() ? "" : ".", s.key);
    }
  }
  return o;
}

absl::Status ApplyOverride(YAML::Node root, const Override& o) {
  YAML::Node value;
  try {
    value = YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override \"", o.text, "\": the value is not YAML: ", e.msg));
  }
  YAML::Node cur = root;
  std::string at;
  for (size_t i = 0; i < o.steps.size(); ++i) {
    const Override::Step& s = o.steps[i];
    bool last = i + 1 == o.steps.size();
    if (s.key.empty()) {
      if (!cur.IsSequence() || s.index >= cur.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "override \"", o.text, "\": ", at.empty() ? "the file" : at,
            " has no element [", s.index, "]"));
      }
      absl::StrAppend(&at, "[", s.index, "]");
      if (last) {
        cur[s.index] = value;
      } else {
        cur.reset(cur[s.index]);
      }
      continue;
    }
    if (cur.IsNull() || !cur.IsDefined()) cur = YAML::Node(YAML::NodeType::Map);
    if (!cur.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "override \"", o.text, "\": ", at.empty() ? "the file" : at,
          " is not a mapping"));
    }
    absl::StrAppend(&at, at.empty() ? "" : ".", s.key);
    if (last) {
      cur[s.key] = value;
    } else {
      if (!cur[s.key].IsDefined() || cur[s.key].IsNull()) {
        cur[s.key] = YAML::Node(YAML::NodeType::Map);
      }
      cur.reset(cur[s.key]);
    }
  }
  return absl::OkStatus();
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  if (s.size() > 60) out += "...";
  out += "\"";
  return out;
}

std::string Sub(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}
std::string Idx(absl::string_view path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

}  // namespace tcpemu::scenario_internal
