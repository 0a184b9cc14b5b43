// tcpemu-sim --scenario; see scenario_command.h.
#include "engine/cli/scenario_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/scenario/scenario_loader.h"
#include "engine/scenario/scenario_report.h"
#include "engine/scenario/scenario_runner.h"

namespace tcpemu {

bool WantsScenario(absl::Span<const char* const> args) {
  for (const char* a : args) {
    absl::string_view s(a);
    if (s == "--scenario" || absl::StartsWith(s, "--scenario=")) return true;
  }
  return false;
}

absl::StatusOr<ScenarioCommand> ParseScenarioCommand(
    absl::Span<const char* const> args) {
  ScenarioCommand c;
  std::string seed;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a(args[i]);
    std::string name(a), value;
    bool has_value = false;
    if (size_t eq = a.find('='); absl::StartsWith(a, "--") && eq != a.npos) {
      name = std::string(a.substr(0, eq));
      value = std::string(a.substr(eq + 1));
      has_value = true;
    }
    auto take = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      }
      return std::string(args[++i]);
    };
    if (name == "--validate" || name == "--quiet" || name == "--json") {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " takes no value"));
      }
      (name == "--validate" ? c.validate
       : name == "--quiet"  ? c.quiet
                            : c.json) = true;
      continue;
    }
    absl::StatusOr<std::string> v;
    if (name == "--scenario" || name == "--out" || name == "--seed" ||
        name == "--set") {
      v = take();
      if (!v.ok()) return v.status();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag ", name,
          " with --scenario (allowed: --scenario FILE, --out DIR, --seed N, "
          "--set key.path=value, --validate, --quiet, --json)"));
    }
    if (name == "--scenario") c.file = *v;
    if (name == "--out") c.out_dir = *v;
    if (name == "--set") c.overrides.push_back(*v);
    if (name == "--seed") {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(*v, &n)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--seed: \"", *v, "\" is not an integer in [0, 2^64-1]"));
      }
      seed = absl::StrCat("seed=", n);
    }
  }
  if (c.file.empty()) {
    return absl::InvalidArgumentError("--scenario needs a file");
  }
  if (!seed.empty()) c.overrides.push_back(seed);
  return c;
}

int RunScenarioCommand(const ScenarioCommand& c) {
  absl::StatusOr<Scenario> sc = LoadScenarioFile(c.file, c.overrides);
  if (!sc.ok()) {
    std::fprintf(stderr, "tcpemu-sim: %s\n",
                 std::string(sc.status().message()).c_str());
    return 2;
  }
  if (c.validate) {
    std::printf("%s: valid (%zu links, %zu sessions, %zu faults)\n",
                c.file.c_str(), sc->links.size(), sc->sessions.size(),
                sc->faults.size());
    return 0;
  }
  absl::StatusOr<ScenarioResult> r = RunScenario(*sc, ScenarioRunOptions{});
  if (!r.ok()) {
    std::fprintf(stderr, "tcpemu-sim: %s: %s\n", c.file.c_str(),
                 std::string(r.status().message()).c_str());
    return 1;
  }
  const std::string json = ScenarioSummaryJson(*sc, *r);
  if (!c.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(c.out_dir, ec);
    const std::string path = c.out_dir + "/summary.json";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << json;
    out.close();
    if (ec || !out) {
      std::fprintf(stderr, "tcpemu-sim: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  if (c.json) {
    std::fputs(json.c_str(), stdout);
  } else if (!c.quiet) {
    std::fputs(ScenarioSummaryTable(*sc, *r).c_str(), stdout);
    if (!c.out_dir.empty()) {
      std::printf("summary: %s/summary.json\n", c.out_dir.c_str());
    }
  }
  return 0;
}

}  // namespace tcpemu
