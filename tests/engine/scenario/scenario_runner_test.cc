#include "engine/scenario/scenario_runner.h"

#include <string>

#include "absl/status/status.h"
#include "engine/scenario/scenario_loader.h"
#include "engine/scenario/scenario_report.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

Scenario MustLoad(const std::string& yaml,
                  std::vector<std::string> overrides = {}) {
  ScenarioLoadOptions o;
  o.overrides = std::move(overrides);
  absl::StatusOr<Scenario> sc = LoadScenario(yaml, o);
  EXPECT_TRUE(sc.ok()) << sc.status();
  return sc.ok() ? *sc : Scenario{};
}

ScenarioResult MustRun(const Scenario& sc) {
  absl::StatusOr<ScenarioResult> r = RunScenario(sc, {});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ScenarioResult{};
}

constexpr char kTwoFlows[] = R"(duration: 20s
links:
  - name: bottleneck
    both: {delay: 20ms}
    forward: {rate: 10mbit, queue_packets: 100}
sessions:
  - {name: a, tcp: {send_buffer: 1MiB, recv_buffer: 1MiB}, workload: {kind: bulk}}
  - {name: b, tcp: {send_buffer: 1MiB, recv_buffer: 1MiB}, workload: {kind: bulk}}
)";

TEST(ScenarioRunnerTest, TwoEqualFlowsShareTheBottleneck) {
  Scenario sc = MustLoad(kTwoFlows);
  ScenarioResult r = MustRun(sc);
  EXPECT_EQ(r.end, 20 * kSecond);
  ASSERT_EQ(r.flows.size(), 2u);
  // Together they fill the 10 Mbit/s bottleneck (payload below line rate).
  EXPECT_GT(r.total_goodput_bps, 9.0e6);
  EXPECT_LT(r.total_goodput_bps, 10.0e6);
  ASSERT_TRUE(r.jain_fairness.has_value());
  EXPECT_GT(*r.jain_fairness, 0.9);
  EXPECT_LE(*r.jain_fairness, 1.0);
  for (const FlowResult& f : r.flows) {
    EXPECT_EQ(f.active, 20 * kSecond);
    EXPECT_GT(f.rtt.samples, 0u);
    // 40 ms of propagation plus up to 100 packets (120 ms) of queue.
    EXPECT_GE(f.rtt.p50_ms, 40.0);
    EXPECT_LE(f.rtt.p99_ms, 40.0 + 125.0);
    EXPECT_EQ(f.throughput_bps.size(), 200u);
    EXPECT_EQ(f.cwnd_bytes.size(), 200u);
  }
  const DirectionResult& fwd = r.links[0].forward;
  EXPECT_GT(fwd.counters.dropped_queue, 0u);  // the queue overflowed
  EXPECT_EQ(fwd.max_queue_packets, 100u);
  EXPECT_GT(fwd.one_way_delay.samples, 10000u);
  EXPECT_GE(fwd.one_way_delay.p50_ms, 20.0);
  EXPECT_GT(fwd.queueing_delay.p95_ms, 50.0);  // a standing queue
  EXPECT_LE(fwd.queueing_delay.p99_ms, 121.0);
  EXPECT_EQ(r.sample_times.size(), 200u);
  EXPECT_EQ(r.sample_times.back(), 20 * kSecond);
}

TEST(ScenarioRunnerTest, SameSeedSameBytesOtherSeedOtherBytes) {
  Scenario sc =
      MustLoad(kTwoFlows, {"duration=5s", "links[0].forward.loss=1%"});
  const std::string a = ScenarioSummaryJson(sc, MustRun(sc));
  const std::string b = ScenarioSummaryJson(sc, MustRun(sc));
  EXPECT_EQ(a, b);
  Scenario other = MustLoad(
      kTwoFlows, {"duration=5s", "links[0].forward.loss=1%", "seed=2"});
  EXPECT_NE(ScenarioSummaryJson(other, MustRun(other)), a);
}

constexpr char kOneLink[] = R"(duration: 10s
sample_interval: 100ms
links:
  - name: l
    both: {delay: 5ms}
    forward: {rate: 50mbit}
    reverse: {rate: 50mbit}
sessions:
  - workload: {kind: bulk}
)";

TEST(ScenarioRunnerTest, RequestResponseCountsResponses) {
  Scenario sc = MustLoad(
      kOneLink, {"sessions[0].workload={kind: request_response, request: "
                 "300B, response: 100KB, count: 5, think: 10ms}"});
  ScenarioResult r = MustRun(sc);
  const FlowResult& f = r.flows[0];
  EXPECT_EQ(f.requests_completed, 5u);
  EXPECT_EQ(f.bytes_to_server, 5u * 300);
  EXPECT_EQ(f.bytes_to_client, 5u * 100'000);
  ASSERT_TRUE(f.completed.has_value());
  // Five exchanges of at least one 10 ms RTT each, 10 ms think between.
  EXPECT_GT(*f.completed, 5 * 10 * kMillisecond + 4 * 10 * kMillisecond);
  EXPECT_LT(*f.completed, kSecond);
  EXPECT_EQ(f.active, *f.completed);
  EXPECT_EQ(f.client_state, TcpState::kTimeWait);  // the client closed first
}

TEST(ScenarioRunnerTest, RateWorkloadIsApplicationLimited) {
  Scenario sc =
      MustLoad(kOneLink, {"sessions[0].workload={kind: rate, rate: 4mbit}"});
  ScenarioResult r = MustRun(sc);
  // 4 Mbit/s for 10 s is 5 MB; what the last RTT still carries is missing.
  EXPECT_NEAR(static_cast<double>(r.flows[0].bytes_to_server), 5e6, 0.01e6);
  for (size_t i = 5; i < r.flows[0].throughput_bps.size(); ++i) {
    EXPECT_NEAR(r.flows[0].throughput_bps[i], 4e6, 0.2e6) << i;
  }
}

TEST(ScenarioRunnerTest, OnOffIsSilentWhenOff) {
  Scenario sc = MustLoad(
      kOneLink,
      {"sessions[0].workload={kind: on_off, on_for: 1s, off_for: 1s}"});
  ScenarioResult r = MustRun(sc);
  const std::vector<double>& tp = r.flows[0].throughput_bps;
  ASSERT_EQ(tp.size(), 100u);
  // Interval i covers ((i)*100ms, (i+1)*100ms]: 1.3-1.9 s is off, with a
  // margin for what was in flight at 1 s.
  for (size_t i = 13; i < 19; ++i) EXPECT_EQ(tp[i], 0) << i;
  for (size_t i = 22; i < 29; ++i) EXPECT_GT(tp[i], 10e6) << i;
}

TEST(ScenarioRunnerTest, FaultsFireAtTheirTime) {
  Scenario sc = MustLoad(
      kOneLink, {"faults=[{at: 2s, action: drop, count: 7, payload_only: "
                 "true}]"});
  ScenarioResult r = MustRun(sc);
  EXPECT_EQ(r.links[0].forward.counters.dropped_fault, 7u);
  EXPECT_GT(r.flows[0].retransmissions, 0u);
}

TEST(ScenarioRunnerTest, FiniteBulkCompletes) {
  Scenario sc = MustLoad(
      kOneLink, {"sessions[0].workload.bytes=1MB", "sessions[0].start=1s"});
  ScenarioResult r = MustRun(sc);
  const FlowResult& f = r.flows[0];
  EXPECT_EQ(f.bytes_to_server, 1'000'000u);
  ASSERT_TRUE(f.completed.has_value());
  EXPECT_EQ(f.active, *f.completed - kSecond);
  EXPECT_NEAR(f.goodput_bps, 1e6 * 8 * 1e9 / static_cast<double>(f.active), 1);
}

TEST(ScenarioRunnerTest, ProgressAndCancel) {
  Scenario sc = MustLoad(kOneLink);
  int calls = 0;
  ScenarioRunOptions o;
  o.progress = [&](TimeNs now, TimeNs duration) {
    EXPECT_EQ(duration, 10 * kSecond);
    return ++calls < 5;
  };
  absl::StatusOr<ScenarioResult> r = RunScenario(sc, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 5);
}

TEST(ScenarioRunnerTest, JainAndSamples) {
  EXPECT_DOUBLE_EQ(*JainIndex({1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(*JainIndex({1, 0}), 0.5);
  EXPECT_FALSE(JainIndex({}).has_value());
  EXPECT_FALSE(JainIndex({0, 0}).has_value());
  SampleSet s;
  for (int i = 1; i <= 100; ++i) s.Add(i * 1'000'000);
  DelayStats d = Summarize(s.kept(), s.count());
  EXPECT_EQ(d.samples, 100u);
  EXPECT_DOUBLE_EQ(d.p50_ms, 50);
  EXPECT_DOUBLE_EQ(d.p95_ms, 95);
  EXPECT_DOUBLE_EQ(d.p99_ms, 99);
  EXPECT_DOUBLE_EQ(d.mean_ms, 50.5);
  SampleSet big;
  for (size_t i = 0; i < 3 * SampleSet::kMaxKept; ++i) big.Add(1);
  EXPECT_EQ(big.count(), 3 * SampleSet::kMaxKept);
  EXPECT_LE(big.kept().size(), SampleSet::kMaxKept);
  EXPECT_GE(big.kept().size(), SampleSet::kMaxKept / 2);
}

}  // namespace
}  // namespace tcpemu
