#include "engine/scenario/scenario_report.h"

#include <string>

#include "engine/scenario/scenario_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tcpemu {
namespace {

TEST(ScenarioReportTest, SummaryJsonHasTheDocumentedShape) {
  absl::StatusOr<Scenario> sc = LoadScenario(
      R"(name: r
duration: 2s
sample_interval: 500ms
links:
  - {name: l, both: {delay: 10ms}, forward: {rate: 5mbit}}
sessions:
  - {name: a, tcp: {cc: cubic}, workload: {kind: bulk}}
  - {name: b, start: 1s, workload: {kind: bulk, bytes: 10KB}}
)",
      {.overrides = {"seed=5"}});
  ASSERT_TRUE(sc.ok()) << sc.status();
  absl::StatusOr<ScenarioResult> r = RunScenario(*sc, {});
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string text = ScenarioSummaryJson(*sc, *r);
  ASSERT_EQ(text.back(), '\n');
  nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["format"], kSummaryFormat);
  EXPECT_EQ(j["scenario"]["name"], "r");
  EXPECT_EQ(j["scenario"]["seed"], 5);
  EXPECT_EQ(j["scenario"]["overrides"], nlohmann::json({"seed=5"}));
  EXPECT_EQ(j["end_s"], 2.0);
  EXPECT_EQ(j["summary"]["flows"], 2);
  ASSERT_EQ(j["flows"].size(), 2u);
  const auto& a = j["flows"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["cc"], "cubic");
  EXPECT_EQ(a["workload"], "bulk");
  EXPECT_TRUE(a["completed_s"].is_null());
  EXPECT_GT(a["goodput_bps"].get<double>(), 1e6);
  for (const char* k : {"samples", "p50", "p95", "p99", "mean"}) {
    EXPECT_TRUE(a["rtt_ms"].contains(k)) << k;
  }
  const auto& b = j["flows"][1];
  EXPECT_EQ(b["bytes_to_server"], 10000);
  EXPECT_GT(b["completed_s"].get<double>(), 1.0);
  const auto& fwd = j["links"][0]["forward"];
  for (const char* k : {"loss", "queue", "fault", "mtu"}) {
    EXPECT_TRUE(fwd["drops"].contains(k)) << k;
  }
  EXPECT_EQ(j["timeseries"]["t_s"], nlohmann::json({0.5, 1.0, 1.5, 2.0}));
  EXPECT_EQ(j["timeseries"]["flows"][1]["throughput_bps"].size(), 4u);
  // b has not started at 0.5 s: no connection, so no cwnd.
  EXPECT_TRUE(j["timeseries"]["flows"][1]["cwnd_bytes"][0].is_null());
  EXPECT_EQ(j["timeseries"]["links"][0]["forward"]["queue_bytes"].size(), 4u);
  // The text table names every flow and link.
  const std::string table = ScenarioSummaryTable(*sc, *r);
  EXPECT_THAT(table, testing::HasSubstr("Jain's fairness index"));
  EXPECT_THAT(table, testing::HasSubstr("cubic"));
}

}  // namespace
}  // namespace tcpemu
