#include "engine/scenario/scenario_loader.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

constexpr char kFull[] = R"(version: 1
name: full
seed: 42
duration: 5s
sample_interval: 50ms
links:
  - name: a
    both: {delay: 10ms}
    forward:
      rate: 12.5mbps
      queue_packets: 50
      queue_bytes: 64KiB
      loss: 0.1%
      jitter: 2ms
      jitter_distribution: normal
      keep_order: true
      duplicate: 0.01
      reorder: 1%
      reorder_gap: 3
      corrupt: 0.001
      mtu: 1400
      aqm: {kind: drop_tail, ecn: true}
      schedule:
        repeat: 2s
        ramp_step: 20ms
        points:
          - {at: 0s, rate: 10mbit}
          - {at: 1s, ramp: true, rate: 2mbit, delay: 30ms, loss: 1%}
          - {at: 1500ms, down: true}
    reverse:
      gilbert_elliott: {p: 1%, r: 0.3, h: 0.1, k: 1}
  - name: b
    forward: {trace_inline: "1\n2\n2\n5\n"}
sessions:
  - name: s1
    link: a
    start: 100ms
    stop: 4s
    server_port: 8080
    tcp: {cc: cubic, send_buffer: 1MiB, sack: false, rto_min: 50ms}
    server_tcp: {recv_buffer: 2MiB}
    workload: {kind: request_response, request: 100B, response: 1MB, count: 3, think: 5ms}
  - link: b
    workload: {kind: rate, rate: 1mbit}
faults:
  - {at: 1s, link: a, direction: both, session: s1, action: delay, delay: 5ms, count: 2, flags: [syn, ack], not_flags: [rst]}
)";

TEST(ScenarioLoaderTest, ReadsEveryPart) {
  absl::StatusOr<Scenario> sc = LoadScenario(kFull, {});
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(sc->name, "full");
  EXPECT_EQ(sc->seed, 42u);
  EXPECT_EQ(sc->duration, 5 * kSecond);
  EXPECT_EQ(sc->sample_interval, 50 * kMillisecond);
  ASSERT_EQ(sc->links.size(), 2u);
  const PathSpec& f = sc->links[0].forward;
  EXPECT_EQ(f.delay, 10 * kMillisecond);  // from `both`
  EXPECT_EQ(f.rate_bps, 12'500'000u);
  EXPECT_EQ(f.queue_limit_packets, 50u);
  EXPECT_EQ(f.queue_limit_bytes, 65536u);
  EXPECT_EQ(f.loss.model, LossSpec::Model::kRandom);
  EXPECT_DOUBLE_EQ(f.loss.p, 0.001);
  EXPECT_EQ(f.jitter.distribution, JitterSpec::Distribution::kNormal);
  EXPECT_TRUE(f.jitter.keep_order);
  EXPECT_EQ(f.reorder_gap, 3u);
  EXPECT_EQ(f.mtu, 1400u);
  EXPECT_TRUE(f.aqm.ecn);
  ASSERT_NE(f.schedule, nullptr);
  EXPECT_EQ(f.schedule->repeat, 2 * kSecond);
  EXPECT_EQ(f.schedule->ramp_step, 20 * kMillisecond);
  ASSERT_EQ(f.schedule->points.size(), 3u);
  EXPECT_TRUE(f.schedule->points[1].ramp);
  EXPECT_EQ(f.schedule->points[1].rate_bps, 2'000'000u);
  EXPECT_EQ(f.schedule->points[1].delay, 30 * kMillisecond);
  EXPECT_EQ(f.schedule->points[2].down, true);
  EXPECT_FALSE(f.schedule->points[2].rate_bps.has_value());
  const PathSpec& r = sc->links[0].reverse;
  EXPECT_EQ(r.delay, 10 * kMillisecond);
  EXPECT_EQ(r.rate_bps, 0u);
  EXPECT_EQ(r.loss.model, LossSpec::Model::kGilbertElliott);
  EXPECT_DOUBLE_EQ(r.loss.r, 0.3);
  ASSERT_NE(sc->links[1].forward.trace, nullptr);
  EXPECT_EQ(sc->links[1].forward.trace->opportunities_ms,
            (std::vector<uint32_t>{1, 2, 2, 5}));

  ASSERT_EQ(sc->sessions.size(), 2u);
  const SessionScenario& s = sc->sessions[0];
  EXPECT_EQ(s.start, 100 * kMillisecond);
  EXPECT_EQ(s.stop, 4 * kSecond);
  EXPECT_EQ(s.server_port, 8080);
  EXPECT_EQ(s.client.cc, CcAlgorithm::kCubic);
  EXPECT_EQ(s.server.cc, CcAlgorithm::kCubic);
  EXPECT_FALSE(s.client.sack);
  EXPECT_EQ(s.client.send_buffer, 1u << 20);
  EXPECT_EQ(s.client.recv_buffer, TcpConfig{}.recv_buffer);
  EXPECT_EQ(s.server.recv_buffer, 2u << 20);
  EXPECT_EQ(s.client.rto_min, 50 * kMillisecond);
  EXPECT_EQ(s.workload.kind, WorkloadSpec::Kind::kRequestResponse);
  EXPECT_EQ(s.workload.request_bytes, 100u);
  EXPECT_EQ(s.workload.response_bytes, 1'000'000u);
  EXPECT_EQ(s.workload.count, 3u);
  EXPECT_EQ(s.workload.think, 5 * kMillisecond);
  EXPECT_EQ(sc->sessions[1].name, "flow1");
  EXPECT_EQ(sc->sessions[1].link, 1u);
  EXPECT_EQ(sc->sessions[1].workload.rate_bps, 1'000'000u);

  ASSERT_EQ(sc->faults.size(), 1u);
  const FaultScenario& fs = sc->faults[0];
  EXPECT_EQ(fs.at, kSecond);
  EXPECT_TRUE(fs.forward && fs.reverse);
  EXPECT_EQ(fs.session, 0u);
  EXPECT_EQ(fs.rule.action, FaultAction::kDelay);
  EXPECT_EQ(fs.rule.delay, 5 * kMillisecond);
  EXPECT_EQ(fs.rule.count, 2u);
  EXPECT_EQ(fs.rule.match.flags_all, 0x12);
  EXPECT_EQ(fs.rule.match.flags_none, 0x04);
}

absl::Status Load(const std::string& yaml,
                  std::vector<std::string> overrides = {}) {
  ScenarioLoadOptions o;
  o.overrides = std::move(overrides);
  return LoadScenario(yaml, o).status();
}

constexpr char kSmall[] = R"(duration: 1s
links:
  - name: l
    forward:
      rate: 10mbit
sessions:
  - workload: {kind: bulk}
)";

TEST(ScenarioLoaderTest, ErrorsNameLineAndKeyPath) {
  std::string bad = kSmall;
  bad.replace(bad.find("10mbit"), 6, "10 Mbps");
  absl::Status s = Load(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("line 5, links[0].forward.rate: \"10 Mbps\" is not a "
                        "rate like 10mbit, in [0, 1Pbit]"));

  std::string unknown = kSmall;
  unknown.replace(unknown.find("rate:"), 5, "rat:");
  EXPECT_THAT(Load(unknown).message(),
              HasSubstr("line 5, links[0].forward.rat: unknown key"));

  EXPECT_THAT(Load("links: []\n").message(), HasSubstr("missing key duration"));
  EXPECT_THAT(Load("duration: 1s\nlinks: [{}]\nsessions: [{workload: {kind: "
                   "bulk, rate: 1mbit}}]\n")
                  .message(),
              HasSubstr("line 3, sessions[0].workload.rate: unknown key"));
  EXPECT_THAT(Load("duration: 1s\nlinks: [{}]\n\nsessions:\n  - {link: x, "
                   "workload: {kind: bulk}}\n")
                  .message(),
              HasSubstr("line 5, sessions[0].link: \"x\" is not a link"));
  EXPECT_THAT(Load("duration: [1s\n").message(), HasSubstr("not valid YAML"));
}

TEST(ScenarioLoaderTest, EngineValidationIsPrefixedWithTheKeyPath) {
  // The schedule's repeat must exceed its last point: ValidateLinkSchedule.
  EXPECT_THAT(
      Load("duration: 1s\nlinks:\n  - forward:\n      schedule: {repeat: 1s, "
           "points: [{at: 2s, rate: 1mbit}]}\nsessions: [{workload: {kind: "
           "bulk}}]\n")
          .message(),
      HasSubstr("line 4, links[0].forward.schedule: schedule.repeat"));
  // TcpConfig::Validate.
  EXPECT_THAT(Load("duration: 1s\nlinks: [{}]\nsessions:\n  - tcp: {mtu: 10}\n"
                   "    workload: {kind: bulk}\n")
                  .message(),
              HasSubstr("line 4, sessions[0].tcp: "));
  // A trace file that is not an mm-link trace.
  EXPECT_THAT(Load("duration: 1s\nlinks:\n  - forward: {trace_inline: \"5\\n"
                   "3\\n\"}\nsessions: [{workload: {kind: bulk}}]\n")
                  .message(),
              HasSubstr("line 3, links[0].forward.trace_inline: trace inline "
                        "line 2"));
}

TEST(ScenarioLoaderTest, OverridesReplaceAndAddValues) {
  absl::StatusOr<Scenario> sc = LoadScenario(
      kSmall,
      {.overrides = {"links[0].forward.rate=20mbit", "sessions[0].tcp.cc=bbr",
                     "seed=9",
                     "sessions[0].workload={kind: rate, rate: 1mbit}"}});
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(sc->links[0].forward.rate_bps, 20'000'000u);
  EXPECT_EQ(sc->sessions[0].client.cc, CcAlgorithm::kBbr);
  EXPECT_EQ(sc->seed, 9u);
  EXPECT_EQ(sc->sessions[0].workload.kind, WorkloadSpec::Kind::kRate);
  EXPECT_EQ(sc->overrides.size(), 4u);

  EXPECT_THAT(Load(kSmall, {"sessions[0].tcp.cc=vegas"}).message(),
              HasSubstr("override \"sessions[0].tcp.cc=vegas\", "
                        "sessions[0].tcp.cc: \"vegas\" is not one of newreno, "
                        "cubic, bbr"));
  EXPECT_THAT(Load(kSmall, {"sessions[3].tcp.cc=bbr"}).message(),
              HasSubstr("sessions has no element [3]"));
  EXPECT_THAT(Load(kSmall, {"no-equals-sign"}).message(),
              HasSubstr("expected key.path=value"));
}

TEST(ScenarioLoaderTest, TraceFilesAreReadThroughTheCallback) {
  const std::string yaml =
      "duration: 1s\nlinks:\n  - forward: {trace: t/a.mahi}\nsessions: "
      "[{workload: {kind: bulk}}]\n";
  ScenarioLoadOptions o;
  EXPECT_THAT(LoadScenario(yaml, o).status().message(),
              HasSubstr("trace files cannot be read here"));
  std::string asked;
  o.read_file = [&](absl::string_view name) -> absl::StatusOr<std::string> {
    asked = std::string(name);
    return std::string("3\n6\n");
  };
  absl::StatusOr<Scenario> sc = LoadScenario(yaml, o);
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(asked, "t/a.mahi");
  EXPECT_EQ(sc->links[0].forward.trace->name, "t/a.mahi");
  o.read_file = [](absl::string_view) -> absl::StatusOr<std::string> {
    return absl::NotFoundError("no file t/a.mahi");
  };
  EXPECT_THAT(LoadScenario(yaml, o).status().message(),
              HasSubstr("line 3, links[0].forward.trace: no file t/a.mahi"));
}

TEST(ScenarioLoaderTest, RefusesTextOverTheSizeLimit) {
  std::string big(kMaxScenarioBytes + 1, '#');
  EXPECT_THAT(Load(big).message(), HasSubstr("at most 4194304"));
}

}  // namespace
}  // namespace tcpemu
