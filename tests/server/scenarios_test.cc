// RunScenario over real gRPC: the same summary.json as tcpemu-sim for the same
// file, seed and overrides; progress; files for traces; the size, concurrency,
// deadline, cancel and shutdown limits.
#include "server/scenarios.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "engine/cli/scenario_command.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kExample =
    std::string(TCPEMU_SOURCE_DIR) + "/docs/scenarios/two-flows.yaml";

// A scenario that takes far longer than any test waits.
constexpr char kEndless[] = R"(duration: 24h
links: [{forward: {rate: 1gbit}}]
sessions: [{workload: {kind: bulk}}]
)";

class ScenariosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.emulator.shards = 1;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    stub_ = v1::Emulator::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(daemon_->port()),
        grpc::InsecureChannelCredentials(), args));
  }

  struct Outcome {
    grpc::Status status;
    std::vector<v1::RunScenarioProgress> messages;
  };
  Outcome Run(const v1::RunScenarioRequest& req,
              std::chrono::milliseconds timeout = std::chrono::minutes(5),
              grpc::ClientContext* ctx = nullptr) {
    grpc::ClientContext own;
    if (ctx == nullptr) ctx = &own;
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    Outcome o;
    auto reader = stub_->RunScenario(ctx, req);
    v1::RunScenarioProgress p;
    while (reader->Read(&p)) o.messages.push_back(p);
    o.status = reader->Finish();
    return o;
  }

  // Waits (up to a minute, however busy the machine) until `n` runs are in
  // progress.
  bool WaitForRuns(uint32_t n) {
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (daemon_->service().scenario_runs() != n) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Emulator::Stub> stub_;
};

TEST_F(ScenariosTest, SameSummaryAsTcpemuSim) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("scenarios_test_" + std::to_string(::getpid()));
  ScenarioCommand c;
  c.file = kExample;
  c.out_dir = dir;
  c.quiet = true;
  c.overrides = {"sessions[1].tcp.cc=cubic", "seed=7"};
  ASSERT_EQ(RunScenarioCommand(c), 0);
  const std::string expected = ReadFile(dir + "/summary.json");
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(expected.empty());

  v1::RunScenarioRequest req;
  req.set_scenario_yaml(ReadFile(kExample));
  req.add_set("sessions[1].tcp.cc=cubic");
  req.set_seed(7);
  Outcome o = Run(req);
  ASSERT_TRUE(o.status.ok()) << o.status.error_message();
  ASSERT_GE(o.messages.size(), 10u);  // progress every 5 %, then the summary
  EXPECT_EQ(o.messages.back().summary_json(), expected);
  int64_t last = -1;
  for (size_t i = 0; i + 1 < o.messages.size(); ++i) {
    const auto& m = o.messages[i];
    EXPECT_TRUE(m.summary_json().empty());
    EXPECT_EQ(m.duration().seconds(), 30);
    const int64_t t =
        m.virtual_time().seconds() * 1'000'000'000 + m.virtual_time().nanos();
    EXPECT_GT(t, last);
    last = t;
  }
  EXPECT_EQ(o.messages.back().virtual_time().seconds(), 30);
}

TEST_F(ScenariosTest, TracesComeFromTheRequestsFiles) {
  v1::RunScenarioRequest req;
  req.set_scenario_yaml(
      "duration: 1s\nlinks: [{both: {delay: 10ms, rate: 10mbit}, forward: "
      "{trace: cell.mahi}}]\nsessions: [{workload: {kind: bulk}}]\n");
  Outcome o = Run(req);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(o.status.error_message(),
                                "links[0].forward.trace: files has no entry "
                                "\"cell.mahi\""))
      << o.status.error_message();
  (*req.mutable_files())["cell.mahi"] = "1\n2\n3\n";
  o = Run(req);
  EXPECT_TRUE(o.status.ok()) << o.status.error_message();
}

TEST_F(ScenariosTest, BadInputNamesTheField) {
  v1::RunScenarioRequest req;
  Outcome o = Run(req);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(o.status.error_message(), "scenario_yaml"));

  req.set_scenario_yaml(std::string(1024 * 1024 + 1, '#'));
  o = Run(req);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(o.status.error_message(),
                                "more than the limit of 1048576 bytes"))
      << o.status.error_message();

  req.set_scenario_yaml(ReadFile(kExample));
  req.add_set("sessions[0].tcp.cc=vegas");
  o = Run(req);
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(o.status.error_message(), "set: override"))
      << o.status.error_message();
}

TEST_F(ScenariosTest, DeadlineCancelAndConcurrencyLimit) {
  v1::RunScenarioRequest endless;
  endless.set_scenario_yaml(kEndless);
  Outcome o = Run(endless, std::chrono::milliseconds(300));
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's side of that call may end a little after the client's.
  ASSERT_TRUE(WaitForRuns(0));

  // Two runs hold both slots (ScenarioLimits::max_concurrent); a third is
  // refused; cancelling frees them.
  grpc::ClientContext c1, c2;
  Outcome o1, o2;
  std::thread t1([&] { o1 = Run(endless, std::chrono::minutes(5), &c1); });
  std::thread t2([&] { o2 = Run(endless, std::chrono::minutes(5), &c2); });
  const bool both = WaitForRuns(2);
  EXPECT_TRUE(both);
  if (both) {
    Outcome third = Run(endless);
    EXPECT_EQ(third.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_TRUE(
        absl::StrContains(third.status.error_message(), "2 scenario runs"));
  }
  c1.TryCancel();
  c2.TryCancel();
  t1.join();
  t2.join();
  EXPECT_EQ(o1.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(o2.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitForRuns(0));
}

TEST_F(ScenariosTest, ShutdownEndsARunCleanly) {
  v1::RunScenarioRequest endless;
  endless.set_scenario_yaml(kEndless);
  Outcome o;
  std::thread t([&] { o = Run(endless); });
  EXPECT_TRUE(WaitForRuns(1));
  daemon_->service().BeginShutdown();
  t.join();
  EXPECT_EQ(o.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(absl::StrContains(o.status.error_message(), "shutting down"))
      << o.status.error_message();
}

}  // namespace
}  // namespace tcpemu::server
