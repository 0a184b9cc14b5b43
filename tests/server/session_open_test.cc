// OpenSession and OpenSessions over real gRPC: a batch opens every item in
// order across shards, or nothing (bad item, the session limit, an item the
// engine refuses), and its size is bounded.
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "server/emulator_service.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

constexpr uint32_t kMaxSessions = 40;

class OpenSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o = testutil::LocalOptions();
    o.emulator.max_sessions = kMaxSessions;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));
    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    // Two VIRTUAL networks, one per shard, with a link each.
    for (int i = 0; i < 2; ++i) {
      auto net = testutil::CreateNetwork(stub_.get(), v1::CLOCK_KIND_VIRTUAL,
                                         static_cast<uint64_t>(i + 1));
      ASSERT_TRUE(net.ok()) << net.status();
      networks_.push_back(net->id());
      auto link = testutil::CreateLink(stub_.get(), net->id(), path);
      ASSERT_TRUE(link.ok()) << link.status();
      links_.push_back(link->id());
    }
  }

  grpc::Status Open(const v1::OpenSessionsRequest& req,
                    v1::OpenSessionsResponse* resp) {
    return Call(stub_.get(), &Stub::OpenSessions, req, resp);
  }

  // Sessions held now, over every network.
  int Held() {
    v1::ListSessionsRequest req;
    req.set_page_size(1000);
    v1::ListSessionsResponse resp;
    grpc::Status s = Call(stub_.get(), &Stub::ListSessions, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.sessions_size();
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Stub> stub_;
  std::vector<uint32_t> networks_;
  std::vector<uint32_t> links_;
};

TEST_F(OpenSessionsTest, OpensEveryItemInOrderAcrossShards) {
  v1::OpenSessionsRequest req;
  constexpr int kItems = 30;
  for (int i = 0; i < kItems; ++i) {
    v1::OpenSessionRequest* item = req.add_sessions();
    item->set_link_id(links_[i % 2]);
    item->set_server_port(static_cast<uint32_t>(6000 + i));
  }
  v1::OpenSessionsResponse resp;
  grpc::Status s = Open(req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.sessions_size(), kItems);
  std::set<uint32_t> ids;
  for (int i = 0; i < kItems; ++i) {
    const v1::Session& got = resp.sessions(i);
    EXPECT_EQ(got.link_id(), links_[i % 2]) << i;
    EXPECT_EQ(got.network_id(), networks_[i % 2]) << i;
    EXPECT_EQ(got.server().port(), static_cast<uint32_t>(6000 + i)) << i;
    EXPECT_EQ(got.client().tcb().state(), v1::TCP_STATE_SYN_SENT) << i;
    ids.insert(got.id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kItems));
  // Each network's sessions connect when its clock runs.
  for (uint32_t nid : networks_) {
    ASSERT_TRUE(
        testutil::AdvanceTime(stub_.get(), nid, absl::Milliseconds(50)).ok());
  }
  for (int i = 0; i < kItems; ++i) {
    auto got = testutil::GetSession(stub_.get(), resp.sessions(i).id());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->client().tcb().state(), v1::TCP_STATE_ESTABLISHED) << i;
    EXPECT_EQ(got->server().tcb().state(), v1::TCP_STATE_ESTABLISHED) << i;
  }
  EXPECT_EQ(Held(), kItems);
}

TEST_F(OpenSessionsTest, BatchSizeIsBounded) {
  v1::OpenSessionsRequest req;
  v1::OpenSessionsResponse resp;
  grpc::Status s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("sessions: 0 requests, allowed [1, 1000]"),
            std::string::npos)
      << s.error_message();
  for (size_t i = 0; i <= kMaxOpenSessionsBatch; ++i) {
    req.add_sessions()->set_link_id(links_[0]);
  }
  s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(
      s.error_message().find("sessions: 1001 requests, allowed [1, 1000]"),
      std::string::npos)
      << s.error_message();
  EXPECT_EQ(Held(), 0);
}

TEST_F(OpenSessionsTest, BadItemIsNamedAndNothingOpens) {
  v1::OpenSessionsRequest req;
  req.add_sessions()->set_link_id(links_[0]);
  req.add_sessions()->set_link_id(links_[1]);
  req.add_sessions()->set_link_id(999999);
  v1::OpenSessionsResponse resp;
  grpc::Status s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("sessions[2].link_id 999999"),
            std::string::npos)
      << s.error_message();

  req.mutable_sessions(2)->set_link_id(links_[0]);
  req.mutable_sessions(1)->set_client_port(70000);
  s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("sessions[1].client_port 70000 out of "
                                   "range [0, 65535]"),
            std::string::npos)
      << s.error_message();
  req.mutable_sessions(1)->set_client_port(0);
  req.mutable_sessions(0)->mutable_client()->set_send_buffer(1u << 30);
  s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("sessions[0].client.send_buffer"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(Held(), 0);
}

TEST_F(OpenSessionsTest, SessionLimitRefusesTheWholeBatch) {
  v1::OpenSessionsRequest req;
  for (uint32_t i = 0; i < kMaxSessions - 2; ++i) {
    req.add_sessions()->set_link_id(links_[i % 2]);
  }
  v1::OpenSessionsResponse resp;
  ASSERT_TRUE(Open(req, &resp).ok());
  req.clear_sessions();
  for (int i = 0; i < 3; ++i) req.add_sessions()->set_link_id(links_[0]);
  grpc::Status s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find(absl::StrCat(
                "--max_sessions is ", kMaxSessions,
                " (sessions held, live or "
                "finished); delete finished sessions first (",
                kMaxSessions - 2, " held, this call asks for 3 more)")),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(Held(), static_cast<int>(kMaxSessions - 2));
  // Two more fit exactly.
  req.mutable_sessions()->RemoveLast();
  s = Open(req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Held(), static_cast<int>(kMaxSessions));
  // And the single-session call is refused at the limit too.
  v1::Session one;
  s = Call(stub_.get(), &Stub::OpenSession, req.sessions(0), &one);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(OpenSessionsTest, ItemTheEngineRefusesUndoesTheBatch) {
  v1::OpenSessionsRequest req;
  // Items 0-3 open (on both shards); item 4 asks for item 3's ports.
  for (int i = 0; i < 4; ++i) {
    v1::OpenSessionRequest* item = req.add_sessions();
    item->set_link_id(links_[i % 2]);
    item->set_client_port(static_cast<uint32_t>(40000 + i));
    item->set_server_port(7000);
  }
  *req.add_sessions() = req.sessions(2);
  v1::OpenSessionsResponse resp;
  grpc::Status s = Open(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(
      s.error_message().find("sessions[4]: a session with client_port 40002"),
      std::string::npos)
      << s.error_message();
  EXPECT_EQ(resp.sessions_size(), 0);
  EXPECT_EQ(Held(), 0);
  // The ports are free again: the same batch without the duplicate opens.
  req.mutable_sessions()->RemoveLast();
  s = Open(req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.sessions_size(), 4);
  EXPECT_EQ(Held(), 4);
}

}  // namespace
}  // namespace tcpemu::server
