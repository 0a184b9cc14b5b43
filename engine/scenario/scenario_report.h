// A scenario's results as one JSON document (summary.json, described in
// docs/experiments.md), and a short text table of them. The document's bytes
// depend only on the scenario and its results: keys are sorted and nothing
// of the wall clock goes in.
#pragma once

#include <string>

#include "engine/scenario/scenario.h"
#include "engine/scenario/scenario_runner.h"

namespace tcpemu {

inline constexpr char kSummaryFormat[] = "tcpemu-scenario-summary/1";

// summary.json, ending with a newline.
std::string ScenarioSummaryJson(const Scenario& scenario,
                                const ScenarioResult& result);

// A few lines per flow and link for a terminal.
std::string ScenarioSummaryTable(const Scenario& scenario,
                                 const ScenarioResult& result);

}  // namespace tcpemu
