// Reads a scenario file (YAML) into a Scenario. Every error is
// InvalidArgument and names the line and the key path, e.g.
//   line 14, links[0].forward.rate: "10 Mbps" is not a rate: expected a rate
//   like 10mbit, in [0, 1Pbit]
// Unknown keys are errors. The format is documented in docs/experiments.md
// and docs/scenario.schema.json.
//
// Overrides ("key.path=value", e.g. "sessions[0].tcp.cc=cubic" or
// "links[1].forward.loss=1%") replace (or add) one value of the YAML tree
// before it is read, so that a sweep varies a file without editing it. The
// value is read as YAML ("[1, 2]" is a list). Errors in an overridden value
// name the override instead of a line.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/scenario/scenario.h"

namespace tcpemu {

// Largest scenario text the loader reads (a daemon may set a lower limit).
inline constexpr size_t kMaxScenarioBytes = 4 * 1024 * 1024;

struct ScenarioLoadOptions {
  std::vector<std::string> overrides;
  // Returns the text of a file a scenario names (a link's `trace`), given
  // the name as written. Unset: files cannot be named (use trace_inline).
  std::function<absl::StatusOr<std::string>(absl::string_view name)> read_file;
};

absl::StatusOr<Scenario> LoadScenario(absl::string_view yaml,
                                      const ScenarioLoadOptions& options);

// Reads the file at `path`; names in it resolve relative to its directory.
absl::StatusOr<Scenario> LoadScenarioFile(
    const std::string& path, const std::vector<std::string>& overrides);

}  // namespace tcpemu
