// The calls that wait (server/waiting_calls.cc) over real gRPC: a long
// AdvanceTime shares its shard and ends on cancel, on its budget and on
// shutdown; a waiting Write holds its payload only while its call lives;
// limits on waiting calls; a Read whose network goes away gets NOT_FOUND.
// No verdict here depends on how fast the machine is: each test waits for a
// state, never for a time.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

class WaitingCallsTest : public ::testing::Test {
 protected:
  void Start(DaemonOptions o = testutil::LocalOptions()) {
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));
  }

  // A VIRTUAL network with one session whose server never reads and whose
  // client keeps probing the closed window every millisecond: virtual time
  // that costs real work to compute.
  uint32_t BusyVirtualNetwork(uint32_t* session_id = nullptr) {
    auto net = testutil::CreateNetwork(stub_.get(), v1::CLOCK_KIND_VIRTUAL, 5);
    EXPECT_TRUE(net.ok()) << net.status();
    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    auto link = testutil::CreateLink(stub_.get(), net->id(), path);
    EXPECT_TRUE(link.ok()) << link.status();
    v1::OpenSessionRequest req;
    req.set_network_id(net->id());
    req.set_link_id(link->id());
    for (v1::TcpConfig* c : {req.mutable_client(), req.mutable_server()}) {
      SetDuration(absl::Milliseconds(1), c->mutable_persist_min());
      SetDuration(absl::Milliseconds(1), c->mutable_persist_max());
      c->set_recv_buffer(4096);
    }
    req.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
    auto session = testutil::OpenSession(stub_.get(), req);
    EXPECT_TRUE(session.ok()) << session.status();
    EXPECT_TRUE(
        testutil::AdvanceTime(stub_.get(), net->id(), absl::Milliseconds(50))
            .ok());
    auto w = testutil::WriteFill(stub_.get(), session->id(),
                                 v1::ENDPOINT_CLIENT, 1 << 20);
    EXPECT_TRUE(w.ok()) << w.status();
    if (session_id != nullptr) *session_id = session->id();
    return net->id();
  }

  // A Write of `bytes` bytes of data that waits up to an hour for space.
  static v1::WriteRequest WaitingWrite(uint32_t session_id, size_t bytes) {
    v1::WriteRequest req;
    req.set_session_id(session_id);
    req.set_endpoint(v1::ENDPOINT_CLIENT);
    req.set_data(std::string(bytes, 'x'));
    SetDuration(absl::Hours(1), req.mutable_wait());
    return req;
  }

  TimeNs NowOf(uint32_t network_id) {
    v1::GetNetworkRequest req;
    req.set_network_id(network_id);
    v1::Network net;
    grpc::Status s = Call(stub_.get(), &Stub::GetNetwork, req, &net);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return net.now().seconds() * kSecond + net.now().nanos();
  }

  // Waits until `done()`, however long the machine takes.
  template <typename F>
  static void WaitUntil(F&& done) {
    while (!done()) absl::SleepFor(absl::Milliseconds(5));
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(WaitingCallsTest, LongAdvanceLetsTheShardServeAndEndsOnCancel) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.shards = 1;  // everything below shares the advancing shard
  Start(o);
  const uint32_t nid = BusyVirtualNetwork();

  grpc::ClientContext ctx;  // no deadline: only the cancel ends it
  v1::AdvanceTimeRequest req;
  req.set_network_id(nid);
  SetDuration(absl::Hours(24 * 30), req.mutable_duration());
  v1::AdvanceTimeResponse resp;
  grpc::Status advance;
  std::atomic<bool> returned{false};
  std::thread t([&] {
    advance = stub_->AdvanceTime(&ctx, req, &resp);
    returned = true;
  });
  // The network's clock moves while the call runs, and other calls on the
  // same shard are served in between.
  WaitUntil([&] { return NowOf(nid) > 0; });
  TimeNs seen = NowOf(nid);
  WaitUntil([&] { return NowOf(nid) > seen; });
  v1::ListNetworksResponse list;
  ASSERT_TRUE(
      Call(stub_.get(), &Stub::ListNetworks, v1::ListNetworksRequest(), &list)
          .ok());
  EXPECT_EQ(list.networks_size(), 2);
  // Thirty days of 1 ms probes take far longer than this test.
  EXPECT_FALSE(returned.load());
  ctx.TryCancel();
  t.join();
  EXPECT_EQ(advance.error_code(), grpc::StatusCode::CANCELLED);
  TimeNs stopped = NowOf(nid);
  EXPECT_GT(stopped, seen);
  EXPECT_LT(stopped, 30LL * 86400 * kSecond);
  // The network stays usable where it stopped.
  v1::AdvanceTimeResponse more;
  ASSERT_TRUE(
      testutil::AdvanceTime(stub_.get(), nid, absl::Milliseconds(10), &more)
          .ok());
  EXPECT_GE(more.now().seconds() * kSecond + more.now().nanos(),
            stopped + 10 * kMillisecond);
}

TEST_F(WaitingCallsTest, AdvancePastItsBudgetStopsWithResourceExhausted) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.max_advance_ns = 200'000'000;
  Start(o);
  const uint32_t nid = BusyVirtualNetwork();
  v1::AdvanceTimeResponse resp;
  grpc::Status s =
      testutil::AdvanceTime(stub_.get(), nid, absl::Hours(24 * 30), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "--max_advance_seconds"))
      << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "call AdvanceTime again"))
      << s.error_message();
  TimeNs reached = NowOf(nid);
  EXPECT_GT(reached, 50 * kMillisecond);
  EXPECT_LT(reached, 30LL * 86400 * kSecond);
  // A short advance within the budget still completes.
  EXPECT_TRUE(
      testutil::AdvanceTime(stub_.get(), nid, absl::Milliseconds(1)).ok());
}

TEST_F(WaitingCallsTest, ShutdownEndsALongAdvance) {
  Start();
  const uint32_t nid = BusyVirtualNetwork();
  grpc::ClientContext ctx;
  v1::AdvanceTimeRequest req;
  req.set_network_id(nid);
  SetDuration(absl::Hours(24 * 30), req.mutable_duration());
  v1::AdvanceTimeResponse resp;
  grpc::Status advance;
  std::thread t([&] { advance = stub_->AdvanceTime(&ctx, req, &resp); });
  WaitUntil([&] { return NowOf(nid) > 50 * kMillisecond; });
  daemon_->Shutdown(absl::Seconds(120));
  t.join();
  EXPECT_EQ(advance.error_code(), grpc::StatusCode::UNAVAILABLE)
      << advance.error_message();
}

TEST_F(WaitingCallsTest, ACancelledWriteGivesBackItsPayloadAndWaiter) {
  Start();
  uint32_t sid = 0;
  BusyVirtualNetwork(&sid);
  const WaitBudget& budget = daemon_->service().waiting();
  grpc::ClientContext ctx;
  v1::WriteRequest req = WaitingWrite(sid, 8 << 20);
  v1::WriteResponse resp;
  grpc::Status s;
  std::thread t([&] { s = stub_->Write(&ctx, req, &resp); });
  WaitUntil([&] { return budget.write_bytes() == (8u << 20); });
  EXPECT_EQ(budget.calls(), 1u);
  ctx.TryCancel();
  t.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  // Given back at once, without any activity on the session.
  WaitUntil([&] { return budget.write_bytes() == 0 && budget.calls() == 0; });
  size_t waiters = 0;
  for (size_t i = 0; i < daemon_->service().shard_count(); ++i) {
    Shard& shard = daemon_->service().shard(i);
    shard.Call([&] {
      for (NetworkSlot* slot : shard.networks()) {
        for (const auto& [key, list] : slot->waiters) waiters += list.size();
      }
    });
  }
  EXPECT_EQ(waiters, 0u);
}

TEST_F(WaitingCallsTest, AWriteWhoseWaitEndsReturnsWhatWasAccepted) {
  Start();
  uint32_t sid = 0;
  BusyVirtualNetwork(&sid);
  v1::WriteRequest req = WaitingWrite(sid, 4 << 20);
  SetDuration(absl::Milliseconds(20), req.mutable_wait());
  v1::WriteResponse resp;
  grpc::Status s = Call(stub_.get(), &Stub::Write, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(resp.accepted(), 4u << 20);
  const WaitBudget& budget = daemon_->service().waiting();
  EXPECT_EQ(budget.write_bytes(), 0u);
  EXPECT_EQ(budget.calls(), 0u);
}

TEST_F(WaitingCallsTest, WaitingWritesPastTheByteLimitAreRefused) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.waits.max_write_bytes = 3 << 20;
  o.emulator.waits.max_write_bytes_per_client = 2 << 20;
  Start(o);
  uint32_t sid = 0;
  BusyVirtualNetwork(&sid);
  const WaitBudget& budget = daemon_->service().waiting();
  grpc::ClientContext ctx;
  v1::WriteRequest req = WaitingWrite(sid, 1536 << 10);
  v1::WriteResponse resp;
  grpc::Status first;
  std::thread t([&] { first = stub_->Write(&ctx, req, &resp); });
  WaitUntil([&] { return budget.calls() == 1; });
  v1::WriteResponse refused_resp;
  grpc::Status refused = Call(stub_.get(), &Stub::Write, req, &refused_resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(refused.error_message(),
                                "--max_waiting_write_bytes_per_client"))
      << refused.error_message();
  EXPECT_EQ(refused_resp.accepted(), 0u);
  // Without wait, the same bytes are no waiting call and are taken.
  req.clear_wait();
  EXPECT_TRUE(Call(stub_.get(), &Stub::Write, req, &refused_resp).ok());
  ctx.TryCancel();
  t.join();
  WaitUntil([&] { return budget.calls() == 0; });
  EXPECT_EQ(budget.write_bytes(), 0u);
}

TEST_F(WaitingCallsTest, WaitingReadsHoldNoThreadAndAreLimited) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.waits.max_calls = 300;
  Start(o);
  uint32_t sid = 0;
  BusyVirtualNetwork(&sid);
  auto threads = [] {
    FILE* f = std::fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f != nullptr && std::fgets(line, sizeof(line), f) != nullptr) {
      if (std::sscanf(line, "Threads: %d", &n) == 1) break;
    }
    if (f != nullptr) std::fclose(f);
    return n;
  };
  const int before = threads();
  // 300 Reads on the client endpoint, which receives nothing.
  v1::ReadRequest req;
  req.set_session_id(sid);
  req.set_endpoint(v1::ENDPOINT_CLIENT);
  req.set_max_bytes(100);
  SetDuration(absl::Hours(1), req.mutable_wait());
  grpc::CompletionQueue cq;
  constexpr int kReads = 300;
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<v1::ReadResponse> resps(kReads);
  std::vector<grpc::Status> statuses(kReads);
  for (int i = 0; i < kReads; ++i) {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    auto rpc = stub_->AsyncRead(ctxs.back().get(), req, &cq);
    rpc->Finish(&resps[i], &statuses[i], reinterpret_cast<void*>(i));
  }
  const WaitBudget& budget = daemon_->service().waiting();
  WaitUntil([&] { return budget.calls() == kReads; });
  const int during = threads();
  EXPECT_LT(during - before, 50) << before << " -> " << during;
  // One more is past --max_waiting_calls.
  v1::ReadResponse resp;
  grpc::Status s = Call(stub_.get(), &Stub::Read, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "--max_waiting_calls"))
      << s.error_message();
  for (auto& c : ctxs) c->TryCancel();
  for (int i = 0; i < kReads; ++i) {
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
  }
  for (const grpc::Status& st : statuses) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  }
  WaitUntil([&] { return budget.calls() == 0; });
  cq.Shutdown();
}

TEST_F(WaitingCallsTest, AReadWhoseNetworkIsDeletedGetsNotFound) {
  Start();
  uint32_t sid = 0;
  const uint32_t nid = BusyVirtualNetwork(&sid);
  v1::ReadRequest req;
  req.set_session_id(sid);
  req.set_endpoint(v1::ENDPOINT_CLIENT);
  req.set_max_bytes(100);
  SetDuration(absl::Hours(1), req.mutable_wait());
  v1::ReadResponse resp;
  grpc::Status s;
  std::thread t([&] { s = Call(stub_.get(), &Stub::Read, req, &resp); });
  const WaitBudget& budget = daemon_->service().waiting();
  WaitUntil([&] { return budget.calls() == 1; });
  v1::DeleteNetworkRequest del;
  del.set_network_id(nid);
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(stub_.get(), &Stub::DeleteNetwork, del, &empty).ok());
  t.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_TRUE(absl::StrContains(s.error_message(), "session_id"))
      << s.error_message();
}

TEST_F(WaitingCallsTest, UndecodableRequestsAreInvalidArgumentAndCounted) {
  Start();
  grpc::GenericStub generic(testutil::LocalChannel(daemon_->port()));
  const char kGarbage[] = "\xff\xff\xff\xff\x0f";
  for (const char* method :
       {"/tcpemu.v1.Emulator/GetNetwork", "/tcpemu.v1.Emulator/Write",
        "/tcpemu.v1.Emulator/AdvanceTime"}) {
    grpc::Slice slice(kGarbage, sizeof(kGarbage) - 1);
    grpc::ByteBuffer body(&slice, 1);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    grpc::ByteBuffer out;
    absl::Notification done;
    grpc::Status s;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &body, &out,
                      [&](grpc::Status st) {
                        s = st;
                        done.Notify();
                      });
    done.WaitForNotification();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_TRUE(absl::StrContains(s.error_message(),
                                  "request is not a valid tcpemu.v1."))
        << method << ": " << s.error_message();
  }
  // The stream too.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    grpc::CompletionQueue cq;
    grpc::Slice slice(kGarbage, sizeof(kGarbage) - 1);
    grpc::ByteBuffer body(&slice, 1);
    auto call =
        generic.PrepareCall(&ctx, "/tcpemu.v1.Emulator/WatchEvents", &cq);
    void* tag;
    bool ok;
    call->StartCall(reinterpret_cast<void*>(1));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    call->Write(body, grpc::WriteOptions().set_last_message(),
                reinterpret_cast<void*>(2));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    grpc::Status s;
    call->Finish(&s, reinterpret_cast<void*>(3));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
    EXPECT_TRUE(
        absl::StrContains(s.error_message(), "tcpemu.v1.WatchEventsRequest"))
        << s.error_message();
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  const std::string text = daemon_->metrics().Render();
  for (const char* method :
       {"GetNetwork", "Write", "AdvanceTime", "WatchEvents"}) {
    EXPECT_TRUE(absl::StrContains(
        text,
        absl::StrCat("grpc_server_handled_total{grpc_code=\"",
                     "INVALID_ARGUMENT\",grpc_method=\"", method, "\"} 1")))
        << method;
  }
}

}  // namespace
}  // namespace tcpemu::server
