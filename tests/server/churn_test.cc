// Churn leaves nothing behind: after sessions are opened, faulted, used,
// closed and deleted with their links (and virtual networks), the daemon
// holds no session, link, retained event history or subscriber for them.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

TEST(ChurnTest, DeletedSessionsLinksAndNetworksLeaveNothingRetained) {
  DaemonOptions o = testutil::LocalOptions();
  auto d = Daemon::Start(o);
  ASSERT_TRUE(d.ok()) << d.status();
  std::unique_ptr<Daemon> daemon = *std::move(d);
  auto stub_owner =
      v1::Emulator::NewStub(testutil::LocalChannel(daemon->port()));
  Stub* stub = stub_owner.get();
  const uint32_t rnet = daemon->service().default_network_id();

  for (int round = 0; round < 40; ++round) {
    // A virtual network per round, deleted with what it holds; on odd
    // rounds, sessions on the default REALTIME network too.
    auto vnet = testutil::CreateNetwork(stub, v1::CLOCK_KIND_VIRTUAL,
                                        static_cast<uint64_t>(round + 1));
    ASSERT_TRUE(vnet.ok()) << vnet.status();
    const bool realtime = round % 2 == 1;
    const uint32_t net = realtime ? rnet : vnet->id();
    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    path.mutable_loss()->set_random(0.01);
    path.set_duplicate(0.01);
    auto link = testutil::CreateLink(stub, net, path);
    ASSERT_TRUE(link.ok()) << link.status();
    testutil::EventCollector watcher(stub, v1::WatchEventsRequest());
    for (int i = 0; i < 5; ++i) {
      v1::OpenSessionRequest open;
      open.set_link_id(link->id());
      open.set_digest(true);
      open.set_capture(i == 0);
      for (v1::TcpConfig* c : {open.mutable_client(), open.mutable_server()}) {
        SetDuration(absl::Milliseconds(5), c->mutable_msl());
      }
      auto s = testutil::OpenSession(stub, open);
      ASSERT_TRUE(s.ok()) << s.status();
      v1::InjectFaultRequest f;
      f.set_session_id(s->id());
      f.set_action(v1::FAULT_ACTION_DUPLICATE);
      f.set_count(2);
      v1::Fault fault;
      ASSERT_TRUE(Call(stub, &Stub::InjectFault, f, &fault).ok());
      auto n = testutil::WriteFill(stub, s->id(), v1::ENDPOINT_CLIENT, 50000);
      ASSERT_TRUE(n.ok()) << n.status();
      ASSERT_TRUE(
          testutil::CloseEndpoint(stub, s->id(), v1::ENDPOINT_CLIENT).ok());
      // The server's reader closes it at end of stream (close_on_eof).
      bool destroyed = false;
      for (int k = 0; k < 3000 && !destroyed; ++k) {
        if (!realtime) {
          ASSERT_TRUE(
              testutil::AdvanceTime(stub, net, absl::Milliseconds(50)).ok());
        } else {
          absl::SleepFor(absl::Milliseconds(5));
        }
        auto got = testutil::GetSession(stub, s->id());
        ASSERT_TRUE(got.ok()) << got.status();
        destroyed = got->destroyed();
        if (destroyed) {
          EXPECT_EQ(got->server().bytes_read(), *n);
          EXPECT_EQ(got->client().write_sha256(), got->server().read_sha256());
        }
      }
      ASSERT_TRUE(destroyed) << "session " << s->id();
      v1::DeleteSessionRequest del;
      del.set_session_id(s->id());
      google::protobuf::Empty e;
      ASSERT_TRUE(Call(stub, &Stub::DeleteSession, del, &e).ok());
    }
    v1::ClearFaultsRequest cf;
    cf.set_link_id(link->id());
    google::protobuf::Empty e;
    ASSERT_TRUE(Call(stub, &Stub::ClearFaults, cf, &e).ok());
    v1::DeleteLinkRequest dl;
    dl.set_link_id(link->id());
    ASSERT_TRUE(Call(stub, &Stub::DeleteLink, dl, &e).ok());
    v1::DeleteNetworkRequest dn;
    dn.set_network_id(vnet->id());
    ASSERT_TRUE(Call(stub, &Stub::DeleteNetwork, dn, &e).ok());
  }
  // Let in-flight packets of the realtime links land.
  absl::SleepFor(absl::Milliseconds(200));

  for (int i = 0; i < 1000 && daemon->hub().subscriber_count() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(daemon->hub().subscriber_count(), 0u);
  const EventHub::HistoryStats h = daemon->hub().history_stats();
  EXPECT_EQ(h.sessions, 0u) << h.events << " events retained";
  v1::ListSessionsResponse ls;
  ASSERT_TRUE(
      Call(stub, &Stub::ListSessions, v1::ListSessionsRequest(), &ls).ok());
  EXPECT_EQ(ls.sessions_size(), 0);
  v1::ListLinksResponse ll;
  ASSERT_TRUE(Call(stub, &Stub::ListLinks, v1::ListLinksRequest(), &ll).ok());
  EXPECT_EQ(ll.links_size(), 0);
  v1::ListNetworksResponse ln;
  ASSERT_TRUE(
      Call(stub, &Stub::ListNetworks, v1::ListNetworksRequest(), &ln).ok());
  EXPECT_EQ(ln.networks_size(), 1);
}

}  // namespace
}  // namespace tcpemu::server
