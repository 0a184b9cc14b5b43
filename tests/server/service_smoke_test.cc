// The Emulator service over real gRPC on 127.0.0.1 port 0: the basic flows.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.emulator.shards = 2;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(daemon_->port()),
                            grpc::InsecureChannelCredentials());
    stub_ = v1::Emulator::NewStub(channel);
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<v1::Emulator::Stub> stub_;
};

TEST_F(ServiceTest, VirtualNetworkTransferCompletes) {
  grpc::ClientContext c1;
  v1::CreateNetworkRequest nreq;
  nreq.set_clock(v1::CLOCK_KIND_VIRTUAL);
  nreq.set_seed(9);
  v1::Network net;
  ASSERT_TRUE(stub_->CreateNetwork(&c1, nreq, &net).ok());

  grpc::ClientContext c2;
  v1::CreateLinkRequest lreq;
  lreq.set_network_id(net.id());
  lreq.mutable_forward()->mutable_delay()->set_nanos(10'000'000);
  lreq.mutable_forward()->mutable_loss()->set_random(0.02);
  lreq.mutable_reverse()->mutable_delay()->set_nanos(10'000'000);
  v1::Link link;
  ASSERT_TRUE(stub_->CreateLink(&c2, lreq, &link).ok());

  grpc::ClientContext c3;
  v1::OpenSessionRequest sreq;
  sreq.set_link_id(link.id());
  sreq.set_digest(true);
  v1::Session s;
  grpc::Status st = stub_->OpenSession(&c3, sreq, &s);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(s.client().tcb().state(), v1::TCP_STATE_SYN_SENT);

  grpc::ClientContext c4;
  v1::WriteRequest w;
  w.set_session_id(s.id());
  w.set_endpoint(v1::ENDPOINT_CLIENT);
  w.set_fill_bytes(100000);
  v1::WriteResponse wr;
  ASSERT_TRUE(stub_->Write(&c4, w, &wr).ok());
  EXPECT_EQ(wr.accepted(), 100000u);

  grpc::ClientContext c5;
  v1::CloseRequest cl;
  cl.set_session_id(s.id());
  cl.set_endpoint(v1::ENDPOINT_CLIENT);
  v1::CloseResponse cr;
  st = stub_->Close(&c5, cl, &cr);
  ASSERT_TRUE(st.ok()) << st.error_message();

  grpc::ClientContext c6;
  v1::AdvanceTimeRequest at;
  at.set_network_id(net.id());
  at.set_until_idle(true);
  v1::AdvanceTimeResponse ar;
  ASSERT_TRUE(stub_->AdvanceTime(&c6, at, &ar).ok());
  EXPECT_TRUE(ar.idle());

  grpc::ClientContext c7;
  v1::GetSessionRequest g;
  g.set_session_id(s.id());
  v1::Session done;
  ASSERT_TRUE(stub_->GetSession(&c7, g, &done).ok());
  EXPECT_TRUE(done.destroyed());
  EXPECT_EQ(done.server().bytes_read(), 100000u);
  EXPECT_EQ(done.client().write_sha256(), done.server().read_sha256());
  EXPECT_EQ(done.client().write_sha256().size(), 32u);
}

TEST_F(ServiceTest, RealtimeWriteWaitsAndReadsBack) {
  grpc::ClientContext c1;
  v1::CreateLinkRequest lreq;
  lreq.mutable_forward()->mutable_delay()->set_nanos(1'000'000);
  lreq.mutable_reverse()->mutable_delay()->set_nanos(1'000'000);
  v1::Link link;
  ASSERT_TRUE(stub_->CreateLink(&c1, lreq, &link).ok());
  grpc::ClientContext c2;
  v1::OpenSessionRequest sreq;
  sreq.set_link_id(link.id());
  sreq.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
  v1::Session s;
  ASSERT_TRUE(stub_->OpenSession(&c2, sreq, &s).ok());

  std::string data(1000000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string got;
  grpc::ClientContext c3;
  v1::WriteRequest w;
  w.set_session_id(s.id());
  w.set_endpoint(v1::ENDPOINT_CLIENT);
  w.set_data(data);
  w.mutable_wait()->set_seconds(1);
  v1::WriteResponse wr;
  // The server reads nothing yet: only the buffers' worth is accepted.
  ASSERT_TRUE(stub_->Write(&c3, w, &wr).ok());
  EXPECT_GT(wr.accepted(), 0u);
  EXPECT_LT(wr.accepted(), data.size());
  size_t sent = wr.accepted();
  while (got.size() < data.size()) {
    grpc::ClientContext cr;
    v1::ReadRequest r;
    r.set_session_id(s.id());
    r.set_endpoint(v1::ENDPOINT_SERVER);
    r.set_max_bytes(65536);
    r.mutable_wait()->set_seconds(2);
    v1::ReadResponse rr;
    grpc::Status st = stub_->Read(&cr, r, &rr);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_FALSE(rr.data().empty());
    got += rr.data();
    if (sent < data.size()) {
      grpc::ClientContext cw;
      v1::WriteRequest more;
      more.set_session_id(s.id());
      more.set_endpoint(v1::ENDPOINT_CLIENT);
      more.set_data(data.substr(sent));
      v1::WriteResponse mr;
      ASSERT_TRUE(stub_->Write(&cw, more, &mr).ok());
      sent += mr.accepted();
    }
  }
  EXPECT_EQ(got, data);
}

TEST_F(ServiceTest, WatchEventsStreamsReplayAndEndsOnShutdown) {
  grpc::ClientContext c1;
  v1::CreateNetworkRequest nreq;
  nreq.set_clock(v1::CLOCK_KIND_VIRTUAL);
  nreq.set_seed(3);
  v1::Network net;
  ASSERT_TRUE(stub_->CreateNetwork(&c1, nreq, &net).ok());
  grpc::ClientContext c2;
  v1::CreateLinkRequest lreq;
  lreq.set_network_id(net.id());
  v1::Link link;
  ASSERT_TRUE(stub_->CreateLink(&c2, lreq, &link).ok());
  grpc::ClientContext c3;
  v1::OpenSessionRequest sreq;
  sreq.set_link_id(link.id());
  v1::Session s;
  ASSERT_TRUE(stub_->OpenSession(&c3, sreq, &s).ok());

  // Subscribed after OpenSession: replay still starts at the first SYN.
  grpc::ClientContext wctx;
  v1::WatchEventsRequest wreq;
  wreq.add_session_ids(s.id());
  wreq.set_replay(true);
  auto reader = stub_->WatchEvents(&wctx, wreq);
  grpc::ClientContext c4;
  v1::AdvanceTimeRequest at;
  at.set_network_id(net.id());
  at.mutable_duration()->set_seconds(1);
  v1::AdvanceTimeResponse ar;
  ASSERT_TRUE(stub_->AdvanceTime(&c4, at, &ar).ok());
  v1::EventBatch batch;
  std::vector<v1::Event> events;
  bool saw_syn = false, saw_established = false;
  for (int i = 0;
       i < 50 && !(saw_syn && saw_established) && reader->Read(&batch); ++i) {
    for (const v1::Event& e : batch.events()) {
      events.push_back(e);
      EXPECT_EQ(e.session_id(), s.id());
      if (e.kind() == v1::EVENT_KIND_SEGMENT_SENT && e.reason() == "syn") {
        saw_syn = true;
      }
      if (e.kind() == v1::EVENT_KIND_STATE_CHANGED &&
          e.new_state() == v1::TCP_STATE_ESTABLISHED) {
        saw_established = true;
      }
    }
  }
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(saw_syn);
  EXPECT_TRUE(saw_established);
  EXPECT_EQ(events.front().kind(), v1::EVENT_KIND_STATE_CHANGED);

  daemon_->Shutdown(absl::Seconds(5));
  while (reader->Read(&batch)) {
  }
  grpc::Status end = reader->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE)
      << end.error_message();
}

// UpdateLink with a field mask changes the named fields of the link's
// current spec; fields outside the mask keep their values, whatever the
// request holds; an empty mask replaces both directions.
TEST_F(ServiceTest, UpdateLinkChangesTheFieldsItsMaskNames) {
  grpc::ClientContext c1;
  v1::CreateLinkRequest lreq;
  lreq.mutable_forward()->mutable_delay()->set_nanos(10'000'000);
  lreq.mutable_forward()->mutable_loss()->set_random(0.02);
  lreq.mutable_reverse()->mutable_delay()->set_nanos(20'000'000);
  lreq.mutable_reverse()->set_rate_bps(5'000'000);
  v1::Link link;
  ASSERT_TRUE(stub_->CreateLink(&c1, lreq, &link).ok());

  grpc::ClientContext c2;
  v1::UpdateLinkRequest u;
  u.set_link_id(link.id());
  u.mutable_forward()->set_rate_bps(1'000'000);
  u.mutable_forward()->mutable_delay()->set_seconds(9);  // not named
  u.mutable_reverse()->mutable_loss()->set_random(0.5);
  u.mutable_update_mask()->add_paths("forward.rate_bps");
  u.mutable_update_mask()->add_paths("reverse.loss");
  v1::Link out;
  grpc::Status st = stub_->UpdateLink(&c2, u, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.forward().rate_bps(), 1'000'000u);
  EXPECT_EQ(out.forward().delay().nanos(), 10'000'000);
  EXPECT_EQ(out.forward().delay().seconds(), 0);
  EXPECT_EQ(out.forward().loss().random(), 0.02);
  EXPECT_EQ(out.reverse().loss().random(), 0.5);
  EXPECT_EQ(out.reverse().delay().nanos(), 20'000'000);
  EXPECT_EQ(out.reverse().rate_bps(), 5'000'000u);

  grpc::ClientContext c3;
  v1::UpdateLinkRequest bad;
  bad.set_link_id(link.id());
  bad.mutable_update_mask()->add_paths("forward.latency");
  st = stub_->UpdateLink(&c3, bad, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("update_mask"), std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find("forward.delay"), std::string::npos)
      << st.error_message();

  grpc::ClientContext c4;
  v1::UpdateLinkRequest whole;
  whole.set_link_id(link.id());
  whole.mutable_forward()->mutable_delay()->set_nanos(3'000'000);
  st = stub_->UpdateLink(&c4, whole, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(out.forward().delay().nanos(), 3'000'000);
  EXPECT_EQ(out.forward().rate_bps(), 0u);
  EXPECT_FALSE(out.forward().has_loss());
  EXPECT_EQ(out.reverse().delay().nanos(), 0);
  EXPECT_EQ(out.reverse().rate_bps(), 0u);
}

TEST_F(ServiceTest, BadRequestsNameTheField) {
  grpc::ClientContext c1;
  v1::CreateLinkRequest lreq;
  lreq.mutable_forward()->mutable_loss()->set_random(1.5);
  v1::Link link;
  grpc::Status st = stub_->CreateLink(&c1, lreq, &link);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("forward.loss.random"), std::string::npos)
      << st.error_message();
  grpc::ClientContext c2;
  v1::GetSessionRequest g;
  g.set_session_id(12345);
  v1::Session s;
  st = stub_->GetSession(&c2, g, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c3;
  v1::AdvanceTimeRequest at;
  at.mutable_duration()->set_seconds(1);
  v1::AdvanceTimeResponse ar;
  st = stub_->AdvanceTime(&c3, at, &ar);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace tcpemu::server

namespace tcpemu::server {
namespace {

TEST_F(ServiceTest, EveryMethodHasRpcSeriesFromTheStart) {
  const std::string text = daemon_->metrics().Render();
  for (const char* method : {"OpenSession", "WatchEvents", "CreateInterface",
                             "ExportPcap", "Listen"}) {
    EXPECT_NE(text.find(absl::StrCat("grpc_server_handled_total{grpc_code="
                                     "\"OK\",grpc_method=\"",
                                     method, "\"} 0")),
              std::string::npos)
        << method;
  }
}

}  // namespace
}  // namespace tcpemu::server
