// Bad input and limits over real gRPC: INVALID_ARGUMENT naming the field for
// every RPC, NOT_FOUND for unknown ids, RESOURCE_EXHAUSTED at the daemon's
// limits, while a session transferring data meanwhile is not disturbed.
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/sha256.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

constexpr uint32_t kMaxSessions = 4;
constexpr uint32_t kMaxLinks = 3;
constexpr uint32_t kMaxNetworks = 2;  // the default network counts
constexpr size_t kMaxSubscribers = 2;
constexpr uint32_t kMaxBuffer = 1 << 20;
constexpr uint32_t kMaxWrite = 1 << 20;
constexpr uint32_t kUnknown = 999999;

// Checks a status's code and that its message names `field`.
#define EXPECT_STATUS(call, code, field)                              \
  do {                                                                \
    const grpc::Status status_ = (call);                              \
    EXPECT_EQ(status_.error_code(), grpc::StatusCode::code)           \
        << #call << ": " << status_.error_message();                  \
    EXPECT_NE(status_.error_message().find(field), std::string::npos) \
        << #call << ": message \"" << status_.error_message()         \
        << "\" does not name " << field;                              \
  } while (0)

// Moves client-supplied bytes client -> server in 64 KiB writes, reading
// them back with MANUAL reads, until stopped; keeps SHA-256 of both sides.
class BackgroundTransfer {
 public:
  BackgroundTransfer(Stub* stub, uint32_t session_id)
      : stub_(stub), sid_(session_id) {
    writer_ = std::thread([this] { Write(); });
    reader_ = std::thread([this] { Read(); });
  }
  ~BackgroundTransfer() { Stop(); }

  uint64_t received() const { return received_.load(); }

  // Stops writing, waits until the reader has every byte; true if the
  // transfer had no error.
  bool Stop() {
    stop_ = true;
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
    return !failed_;
  }
  std::string error() {
    absl::MutexLock l(&mu_);
    return error_;
  }
  std::string sent_digest() { return Hex(sent_hash_); }
  std::string received_digest() { return Hex(received_hash_); }
  uint64_t sent() const { return sent_.load(); }

 private:
  static std::string Hex(Sha256& h) { return Sha256::Hex(h.Finish()); }

  void Write() {
    testutil::ByteSource source(7);
    std::string chunk;
    while (!stop_ && !failed_) {
      source.Fill(&chunk, 64 * 1024);
      size_t off = 0;
      while (off < chunk.size()) {
        v1::WriteRequest w;
        w.set_session_id(sid_);
        w.set_endpoint(v1::ENDPOINT_CLIENT);
        w.set_data(chunk.substr(off));
        SetDuration(absl::Seconds(10), w.mutable_wait());
        v1::WriteResponse wr;
        grpc::Status s = Call(stub_, &Stub::Write, w, &wr);
        if (!s.ok() || wr.accepted() == 0) {
          Fail(absl::StrCat("Write: ", s.error_message()));
          return;
        }
        off += wr.accepted();
      }
      sent_hash_.Update(chunk);
      sent_ += chunk.size();
    }
    writer_done_ = true;
  }

  void Read() {
    while (!failed_) {
      if (writer_done_ && received_.load() == sent_.load()) return;
      v1::ReadRequest r;
      r.set_session_id(sid_);
      r.set_endpoint(v1::ENDPOINT_SERVER);
      r.set_max_bytes(1 << 20);
      SetDuration(absl::Milliseconds(200), r.mutable_wait());
      v1::ReadResponse rr;
      grpc::Status s = Call(stub_, &Stub::Read, r, &rr);
      if (!s.ok() || rr.eof()) {
        Fail(absl::StrCat("Read: ", s.error_message(), " eof ", rr.eof()));
        return;
      }
      received_hash_.Update(rr.data());
      received_ += rr.data().size();
    }
  }

  void Fail(std::string why) {
    absl::MutexLock l(&mu_);
    if (error_.empty()) error_ = std::move(why);
    failed_ = true;
    writer_done_ = true;
  }

  Stub* stub_;
  uint32_t sid_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> writer_done_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  Sha256 sent_hash_;
  Sha256 received_hash_;
  absl::Mutex mu_;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
  std::thread reader_;
};

class ServiceLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o = testutil::LocalOptions();
    o.emulator.max_sessions = kMaxSessions;
    o.emulator.max_links = kMaxLinks;
    o.emulator.max_networks = kMaxNetworks;
    o.emulator.max_buffer = kMaxBuffer;
    o.emulator.max_write_bytes = kMaxWrite;
    o.max_subscribers = kMaxSubscribers;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));

    // The session whose transfer must not be disturbed, on the default
    // REALTIME network.
    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    auto link = testutil::CreateLink(stub_.get(), 0, path);
    ASSERT_TRUE(link.ok()) << link.status();
    link_ = *link;
    v1::OpenSessionRequest open;
    open.set_link_id(link_.id());
    open.set_digest(true);
    open.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
    auto s = testutil::OpenSession(stub_.get(), open);
    ASSERT_TRUE(s.ok()) << s.status();
    sid_ = s->id();
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Stub> stub_;
  v1::Link link_;
  uint32_t sid_ = 0;
};

// Runs one WatchEvents call to the end of its first read and returns the
// stream's status (the call is cancelled if it is still open).
grpc::Status WatchStatus(Stub* stub, const v1::WatchEventsRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  auto reader = stub->WatchEvents(&ctx, req);
  v1::EventBatch batch;
  while (reader->Read(&batch)) {
  }
  return reader->Finish();
}

TEST_F(ServiceLimitsTest, BadRequestsAreRejectedWhileATransferRuns) {
  Stub* stub = stub_.get();
  BackgroundTransfer transfer(stub, sid_);
  // Let the transfer get going.
  for (int i = 0; i < 200 && transfer.received() < (1 << 20); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const uint64_t received_before = transfer.received();
  ASSERT_GT(received_before, 0u) << transfer.error();

  auto vnet = testutil::CreateNetwork(stub, v1::CLOCK_KIND_VIRTUAL, /*seed=*/5);
  ASSERT_TRUE(vnet.ok()) << vnet.status();

  // ---------------------------------------------------------------- networks
  {
    v1::CreateNetworkRequest r;
    r.set_clock(static_cast<v1::ClockKind>(9));
    v1::Network out;
    EXPECT_STATUS(Call(stub, &Stub::CreateNetwork, r, &out), INVALID_ARGUMENT,
                  "clock");
  }
  {
    v1::GetNetworkRequest r;
    r.set_network_id(kUnknown);
    v1::Network out;
    EXPECT_STATUS(Call(stub, &Stub::GetNetwork, r, &out), NOT_FOUND,
                  "network_id");
    v1::DeleteNetworkRequest d;
    d.set_network_id(kUnknown);
    google::protobuf::Empty e;
    EXPECT_STATUS(Call(stub, &Stub::DeleteNetwork, d, &e), NOT_FOUND,
                  "network_id");
    d.set_network_id(0);
    EXPECT_STATUS(Call(stub, &Stub::DeleteNetwork, d, &e), FAILED_PRECONDITION,
                  "network_id");
  }
  {
    v1::AdvanceTimeResponse out;
    v1::AdvanceTimeRequest r;
    r.set_network_id(vnet->id());
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), INVALID_ARGUMENT,
                  "target");
    r.mutable_duration()->set_seconds(-1);
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), INVALID_ARGUMENT,
                  "duration");
    r.mutable_duration()->set_seconds(31LL * 86400);
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), INVALID_ARGUMENT,
                  "duration");
    r.mutable_duration()->set_seconds(0);
    r.mutable_duration()->set_nanos(-5);
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), INVALID_ARGUMENT,
                  "duration");
    r.set_until_idle(true);
    r.mutable_limit()->set_seconds(-3);
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), INVALID_ARGUMENT,
                  "limit");
    r.set_network_id(kUnknown);
    r.clear_limit();
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), NOT_FOUND,
                  "network_id");
    r.set_network_id(link_.network_id());  // REALTIME
    EXPECT_STATUS(Call(stub, &Stub::AdvanceTime, r, &out), FAILED_PRECONDITION,
                  "REALTIME");
  }

  // ---------------------------------------------------------------- links
  {
    v1::Link out;
    auto bad_link = [&](auto mutate, const std::string& field) {
      v1::CreateLinkRequest r;
      r.set_network_id(vnet->id());
      mutate(r);
      EXPECT_STATUS(Call(stub, &Stub::CreateLink, r, &out), INVALID_ARGUMENT,
                    field);
      v1::UpdateLinkRequest u;
      u.set_link_id(link_.id());
      *u.mutable_forward() = r.forward();
      *u.mutable_reverse() = r.reverse();
      EXPECT_STATUS(Call(stub, &Stub::UpdateLink, u, &out), INVALID_ARGUMENT,
                    field);
    };
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_forward()->mutable_loss()->set_random(1.5);
        },
        "forward.loss.random");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_reverse()->mutable_delay()->set_seconds(-1);
        },
        "reverse.delay");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_reverse()->mutable_delay()->set_nanos(1'000'000'000);
        },
        "reverse.delay");
    bad_link([](v1::CreateLinkRequest& r) { r.mutable_forward()->set_mtu(10); },
             "forward.mtu");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_forward()->mutable_jitter()->set_correlation(2);
        },
        "forward.jitter.correlation");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_forward()->mutable_jitter()->set_distribution(
              static_cast<v1::Jitter::Distribution>(9));
        },
        "forward.jitter.distribution");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_reverse()->set_duplicate(-0.1);
        },
        "reverse.duplicate");
    bad_link(
        [](v1::CreateLinkRequest& r) { r.mutable_forward()->set_corrupt(3); },
        "forward.corrupt");
    bad_link(
        [](v1::CreateLinkRequest& r) { r.mutable_forward()->set_reorder(-1); },
        "forward.reorder");
    bad_link(
        [](v1::CreateLinkRequest& r) {
          r.mutable_forward()->mutable_loss()->mutable_gilbert_elliott()->set_r(
              7);
        },
        "forward.loss.gilbert_elliott.r");
    v1::CreateLinkRequest r;
    r.set_network_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::CreateLink, r, &out), NOT_FOUND,
                  "network_id");
    v1::GetLinkRequest g;
    g.set_link_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::GetLink, g, &out), NOT_FOUND, "link_id");
    v1::UpdateLinkRequest u;
    u.set_link_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::UpdateLink, u, &out), NOT_FOUND, "link_id");
    v1::DeleteLinkRequest d;
    d.set_link_id(kUnknown);
    google::protobuf::Empty e;
    EXPECT_STATUS(Call(stub, &Stub::DeleteLink, d, &e), NOT_FOUND, "link_id");
    v1::ListLinksRequest l;
    l.set_network_id(kUnknown);
    v1::ListLinksResponse lo;
    EXPECT_STATUS(Call(stub, &Stub::ListLinks, l, &lo), NOT_FOUND,
                  "network_id");
  }

  // ---------------------------------------------------------------- sessions
  {
    v1::Session out;
    auto bad_open = [&](auto mutate, grpc::StatusCode code,
                        const std::string& field) {
      v1::OpenSessionRequest r;
      r.set_link_id(link_.id());
      mutate(r);
      grpc::Status s = Call(stub, &Stub::OpenSession, r, &out);
      EXPECT_EQ(s.error_code(), code) << field << ": " << s.error_message();
      EXPECT_NE(s.error_message().find(field), std::string::npos)
          << "message \"" << s.error_message() << "\" does not name " << field;
    };
    using R = v1::OpenSessionRequest;
    const auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
    bad_open([](R& r) { r.set_link_id(0); }, kInvalid, "link_id");
    bad_open([](R& r) { r.mutable_client()->set_mtu(10); }, kInvalid,
             "client.mtu");
    bad_open([](R& r) { r.mutable_server()->mutable_rto_min()->set_nanos(1); },
             kInvalid, "server.rto_min");
    bad_open([](R& r) { r.mutable_client()->mutable_msl()->set_seconds(-1); },
             kInvalid, "client.msl");
    bad_open([](R& r) { r.mutable_client()->set_initial_window(0); }, kInvalid,
             "client.initial_window");
    bad_open([](R& r) { r.mutable_server()->set_send_buffer(0); }, kInvalid,
             "server.send_buffer");
    bad_open(
        [](R& r) {
          r.mutable_client()->set_congestion_control(
              static_cast<v1::CongestionControl>(5));
        },
        kInvalid, "client.congestion_control");
    bad_open(
        [](R& r) {
          r.mutable_client()->mutable_delayed_ack_timeout()->set_seconds(2);
        },
        kInvalid, "client.delayed_ack_timeout");
    bad_open([](R& r) { r.set_client_port(70000); }, kInvalid, "client_port");
    bad_open([](R& r) { r.set_server_port(65536); }, kInvalid, "server_port");
    bad_open(
        [](R& r) {
          r.mutable_client_reader()->set_mode(static_cast<v1::Reader::Mode>(9));
        },
        kInvalid, "client_reader.mode");
    bad_open(
        [](R& r) {
          r.mutable_server_reader()->set_mode(v1::Reader::MODE_RATE);
        },
        kInvalid, "server_reader.rate_bytes_per_sec");
    bad_open([](R& r) { r.set_network_id(kUnknown); },
             grpc::StatusCode::NOT_FOUND, "network_id");
    bad_open([](R& r) { r.set_link_id(kUnknown); }, grpc::StatusCode::NOT_FOUND,
             "link_id");
    bad_open([](R& r) { r.mutable_client()->set_send_buffer(kMaxBuffer + 1); },
             grpc::StatusCode::RESOURCE_EXHAUSTED, "client.send_buffer");
    bad_open([](R& r) { r.mutable_server()->set_recv_buffer(kMaxBuffer + 1); },
             grpc::StatusCode::RESOURCE_EXHAUSTED, "server.recv_buffer");

    v1::GetSessionRequest g;
    g.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::GetSession, g, &out), NOT_FOUND,
                  "session_id");
    v1::DeleteSessionRequest d;
    d.set_session_id(kUnknown);
    google::protobuf::Empty e;
    EXPECT_STATUS(Call(stub, &Stub::DeleteSession, d, &e), NOT_FOUND,
                  "session_id");
    v1::ListSessionsResponse lo;
    v1::ListSessionsRequest l;
    l.set_page_size(-1);
    EXPECT_STATUS(Call(stub, &Stub::ListSessions, l, &lo), INVALID_ARGUMENT,
                  "page_size");
    l.set_page_size(1001);
    EXPECT_STATUS(Call(stub, &Stub::ListSessions, l, &lo), INVALID_ARGUMENT,
                  "page_size");
    l.set_page_size(10);
    l.set_page_token("not-a-token");
    EXPECT_STATUS(Call(stub, &Stub::ListSessions, l, &lo), INVALID_ARGUMENT,
                  "page_token");
    l.clear_page_token();
    l.set_network_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::ListSessions, l, &lo), NOT_FOUND,
                  "network_id");
  }

  // ---------------------------------------------------------------- data
  // Aimed at the transferring session itself: rejected before touching it.
  {
    v1::WriteResponse out;
    v1::WriteRequest w;
    w.set_session_id(sid_);
    w.set_fill_bytes(10);
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), INVALID_ARGUMENT,
                  "endpoint");
    w.set_endpoint(static_cast<v1::Endpoint>(7));
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), INVALID_ARGUMENT,
                  "endpoint");
    w.set_endpoint(v1::ENDPOINT_CLIENT);
    w.clear_fill_bytes();
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), INVALID_ARGUMENT,
                  "payload");
    w.set_fill_bytes((uint64_t{1} << 40) + 1);
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), INVALID_ARGUMENT,
                  "fill_bytes");
    w.set_data(std::string(kMaxWrite + 1, 'x'));
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), RESOURCE_EXHAUSTED,
                  "--max_write_bytes");
    w.set_fill_bytes(10);
    w.mutable_wait()->set_seconds(-1);
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), INVALID_ARGUMENT, "wait");
    w.clear_wait();
    w.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::Write, w, &out), NOT_FOUND, "session_id");
  }
  {
    v1::ReadResponse out;
    v1::ReadRequest r;
    r.set_session_id(sid_);
    r.set_max_bytes(100);
    EXPECT_STATUS(Call(stub, &Stub::Read, r, &out), INVALID_ARGUMENT,
                  "endpoint");
    r.set_endpoint(v1::ENDPOINT_SERVER);
    r.set_max_bytes(0);
    EXPECT_STATUS(Call(stub, &Stub::Read, r, &out), INVALID_ARGUMENT,
                  "max_bytes");
    r.set_max_bytes(4 * 1024 * 1024 + 1);
    EXPECT_STATUS(Call(stub, &Stub::Read, r, &out), INVALID_ARGUMENT,
                  "max_bytes");
    r.set_max_bytes(100);
    r.mutable_wait()->set_nanos(2'000'000'000);
    EXPECT_STATUS(Call(stub, &Stub::Read, r, &out), INVALID_ARGUMENT, "wait");
    r.clear_wait();
    r.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::Read, r, &out), NOT_FOUND, "session_id");
  }
  {
    v1::CloseResponse out;
    v1::CloseRequest c;
    c.set_session_id(sid_);
    EXPECT_STATUS(Call(stub, &Stub::Close, c, &out), INVALID_ARGUMENT,
                  "endpoint");
    c.set_endpoint(v1::ENDPOINT_CLIENT);
    c.set_mode(static_cast<v1::CloseRequest::Mode>(7));
    EXPECT_STATUS(Call(stub, &Stub::Close, c, &out), INVALID_ARGUMENT, "mode");
    c.set_mode(v1::CloseRequest::MODE_FIN);
    c.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::Close, c, &out), NOT_FOUND, "session_id");
  }
  {
    google::protobuf::Empty out;
    v1::SetReaderRequest r;
    r.set_session_id(sid_);
    EXPECT_STATUS(Call(stub, &Stub::SetReader, r, &out), INVALID_ARGUMENT,
                  "endpoint");
    r.set_endpoint(v1::ENDPOINT_SERVER);
    r.mutable_reader()->set_mode(static_cast<v1::Reader::Mode>(9));
    EXPECT_STATUS(Call(stub, &Stub::SetReader, r, &out), INVALID_ARGUMENT,
                  "reader.mode");
    r.mutable_reader()->set_mode(v1::Reader::MODE_RATE);
    EXPECT_STATUS(Call(stub, &Stub::SetReader, r, &out), INVALID_ARGUMENT,
                  "reader.rate_bytes_per_sec");
    r.mutable_reader()->set_mode(v1::Reader::MODE_MANUAL);
    r.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::SetReader, r, &out), NOT_FOUND,
                  "session_id");
  }

  // ---------------------------------------------------------------- faults
  {
    v1::Fault out;
    auto bad_fault = [&](auto mutate, grpc::StatusCode code,
                         const std::string& field) {
      v1::InjectFaultRequest r;
      r.set_session_id(sid_);
      r.set_action(v1::FAULT_ACTION_DROP);
      r.set_count(1);
      mutate(r);
      grpc::Status s = Call(stub, &Stub::InjectFault, r, &out);
      EXPECT_EQ(s.error_code(), code) << field << ": " << s.error_message();
      EXPECT_NE(s.error_message().find(field), std::string::npos)
          << "message \"" << s.error_message() << "\" does not name " << field;
    };
    using F = v1::InjectFaultRequest;
    const auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
    bad_fault([](F& r) { r.clear_action(); }, kInvalid, "action");
    bad_fault([](F& r) { r.mutable_match()->set_flags_all(256); }, kInvalid,
              "match.flags_all");
    bad_fault(
        [](F& r) {
          r.mutable_match()->set_flags_all(v1::TCP_FLAG_FIN);
          r.mutable_match()->set_flags_none(v1::TCP_FLAG_FIN);
        },
        kInvalid, "match.flags_all");
    bad_fault([](F& r) { r.mutable_match()->set_seq_lo(5); }, kInvalid,
              "match.seq_lo");
    bad_fault(
        [](F& r) {
          r.mutable_match()->set_seq_lo(10);
          r.mutable_match()->set_seq_hi(10);
        },
        kInvalid, "match.seq_hi");
    bad_fault([](F& r) { r.mutable_delay()->set_seconds(-1); }, kInvalid,
              "delay");
    bad_fault([](F& r) { r.set_action(v1::FAULT_ACTION_DELAY); }, kInvalid,
              "delay");
    bad_fault([](F& r) { r.mutable_duration()->set_nanos(-1); }, kInvalid,
              "duration");
    bad_fault([](F& r) { r.set_direction(static_cast<v1::Direction>(9)); },
              kInvalid, "direction");
    bad_fault([](F& r) { r.set_probability(1.5); }, kInvalid, "probability");
    bad_fault([](F& r) { r.clear_session_id(); }, kInvalid, "target");
    bad_fault([](F& r) { r.set_session_id(kUnknown); },
              grpc::StatusCode::NOT_FOUND, "session_id");
    bad_fault([](F& r) { r.set_link_id(kUnknown); },
              grpc::StatusCode::NOT_FOUND, "link_id");

    google::protobuf::Empty e;
    v1::ClearFaultsRequest c;
    EXPECT_STATUS(Call(stub, &Stub::ClearFaults, c, &e), INVALID_ARGUMENT,
                  "target");
    c.set_link_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::ClearFaults, c, &e), NOT_FOUND, "link_id");
    c.set_session_id(kUnknown);
    EXPECT_STATUS(Call(stub, &Stub::ClearFaults, c, &e), NOT_FOUND,
                  "session_id");
  }

  // ---------------------------------------------------------------- events
  {
    v1::WatchEventsRequest w;
    w.add_kinds(static_cast<v1::EventKind>(99));
    EXPECT_STATUS(WatchStatus(stub, w), INVALID_ARGUMENT, "kinds[0]");
    w.clear_kinds();
    w.set_endpoint(static_cast<v1::Endpoint>(9));
    EXPECT_STATUS(WatchStatus(stub, w), INVALID_ARGUMENT, "endpoint");
    w.clear_endpoint();
    w.set_max_batch(70000);
    EXPECT_STATUS(WatchStatus(stub, w), INVALID_ARGUMENT, "max_batch");
    w.clear_max_batch();
    w.set_network_id(kUnknown);
    EXPECT_STATUS(WatchStatus(stub, w), NOT_FOUND, "network_id");
  }

  // ---------------------------------------------------------------- limits
  {
    // Networks: the default one and `vnet` fill the limit.
    auto more = testutil::CreateNetwork(stub, v1::CLOCK_KIND_VIRTUAL, 1);
    EXPECT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted)
        << more.status();
    // Links: link_ plus two more.
    v1::PathSpec path;
    std::vector<uint32_t> links;
    for (uint32_t i = 1; i < kMaxLinks; ++i) {
      auto l = testutil::CreateLink(stub, vnet->id(), path);
      ASSERT_TRUE(l.ok()) << l.status();
      links.push_back(l->id());
    }
    auto over = testutil::CreateLink(stub, vnet->id(), path);
    EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted)
        << over.status();
    // Sessions: the transfer plus three more.
    std::vector<uint32_t> sessions;
    for (uint32_t i = 1; i < kMaxSessions; ++i) {
      v1::OpenSessionRequest r;
      r.set_link_id(links[0]);
      auto s = testutil::OpenSession(stub, r);
      ASSERT_TRUE(s.ok()) << s.status();
      sessions.push_back(s->id());
    }
    v1::OpenSessionRequest r;
    r.set_link_id(links[0]);
    auto over_session = testutil::OpenSession(stub, r);
    EXPECT_EQ(over_session.status().code(),
              absl::StatusCode::kResourceExhausted)
        << over_session.status();
    // Deleting one makes room again.
    v1::DeleteSessionRequest d;
    d.set_session_id(sessions.back());
    google::protobuf::Empty e;
    ASSERT_TRUE(Call(stub, &Stub::DeleteSession, d, &e).ok());
    EXPECT_TRUE(testutil::OpenSession(stub, r).ok());

    // Subscribers: two streams are held, the third is refused; closing one
    // makes room.
    auto first = std::make_unique<testutil::EventCollector>(
        stub, v1::WatchEventsRequest());
    auto second = std::make_unique<testutil::EventCollector>(
        stub, v1::WatchEventsRequest());
    ASSERT_TRUE(first->registered() && second->registered());
    EXPECT_EQ(daemon_->hub().subscriber_count(), kMaxSubscribers);
    grpc::Status third = WatchStatus(stub, v1::WatchEventsRequest());
    EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << third.error_message();
    first.reset();
    for (int i = 0; i < 1000 && daemon_->hub().subscriber_count() >= 2; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    testutil::EventCollector again(stub, v1::WatchEventsRequest());
    EXPECT_TRUE(again.registered());
  }

  // ---------------------------------------------------------------- verdict
  ASSERT_TRUE(transfer.Stop()) << transfer.error();
  EXPECT_GT(transfer.received(), received_before);
  EXPECT_EQ(transfer.received(), transfer.sent());
  const std::string sent = transfer.sent_digest();
  EXPECT_EQ(transfer.received_digest(), sent);
  auto s = testutil::GetSession(stub, sid_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->destroyed());
  EXPECT_EQ(s->client().tcb().state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(s->server().tcb().state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(s->client().error(), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_EQ(s->server().error(), v1::ERROR_CODE_UNSPECIFIED);
  ASSERT_EQ(s->server().read_sha256().size(), 32u);
  EXPECT_EQ(Sha256::Hex(*reinterpret_cast<const Sha256::Digest*>(
                s->server().read_sha256().data())),
            sent);
  EXPECT_EQ(s->client().counters().retransmits_rto(), 0u);
  v1::GetLinkRequest gl;
  gl.set_link_id(link_.id());
  v1::Link l;
  ASSERT_TRUE(Call(stub, &Stub::GetLink, gl, &l).ok());
  EXPECT_EQ(l.forward_counters().fault_hits(), 0u);
  EXPECT_EQ(l.forward().loss().random(), 0.0);  // UpdateLink changed nothing
  EXPECT_EQ(l.forward().corrupt(), 0.0);
  std::cout << "the transfer moved " << transfer.received()
            << " bytes during the checks\n";
}

}  // namespace
}  // namespace tcpemu::server
