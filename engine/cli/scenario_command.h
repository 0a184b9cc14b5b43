// tcpemu-sim --scenario FILE: loads a scenario file, runs it in virtual time,
// writes summary.json into --out and prints a short table
// (docs/experiments.md).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tcpemu {

struct ScenarioCommand {
  std::string file;
  std::string out_dir;                 // empty: no summary.json written
  std::vector<std::string> overrides;  // --seed N becomes "seed=N", last
  bool validate = false;               // only load and check the file
  bool quiet = false;                  // no table
  bool json = false;  // summary.json on stdout instead of the table
};

// True when the arguments ask for a scenario run (any --scenario flag).
bool WantsScenario(absl::Span<const char* const> args);

// Parses: --scenario FILE [--out DIR] [--seed N] [--set k=v ...]
// [--validate] [--quiet] [--json]; "--flag=value" works too.
absl::StatusOr<ScenarioCommand> ParseScenarioCommand(
    absl::Span<const char* const> args);

// Runs it; returns the process exit code (0 ok, 1 run failed, 2 bad input),
// having printed errors to stderr.
int RunScenarioCommand(const ScenarioCommand& command);

}  // namespace tcpemu
