// Application: writes and reads with their digests, sources, rate readers and
// close on end-of-file, on two connections joined by a lossless wire.
#include "engine/sim/application.h"

#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

struct Segment {
  TcpHeader h;
  Payload payload;
};

class Queue : public SegmentOutput {
 public:
  void Transmit(TimeNs, const TcpHeader& h, const Payload& p) override {
    q.push_back(Segment{h, p});
  }
  std::deque<Segment> q;
};

// Client and server connections and their applications.
class Pair {
 public:
  explicit Pair(const ReaderSpec& server_reader,
                uint32_t send_buffer = 64 * 1024)
      : client_app(ReaderSpec(), 1, true), server_app(server_reader, 2, true) {
    TcpConfig config;
    config.send_buffer = send_buffer;
    const FourTuple ct{0x0a000001, 40000, 0x0a000002, 80};
    const FourTuple st{0x0a000002, 80, 0x0a000001, 40000};
    Connection::Context cc;
    cc.output = &to_server;
    Connection::Context sc;
    sc.endpoint = Endpoint::kServer;
    sc.output = &to_client;
    client = std::make_unique<Connection>(config, ct, Seq(1000), cc);
    server = std::make_unique<Connection>(config, st, Seq(5000), sc);
    EXPECT_TRUE(server->Listen(now).ok());
    EXPECT_TRUE(client->Connect(now).ok());
    Pump();
  }
  // Delivers segments both ways, and runs timers when none is in flight,
  // until nothing is left to do; each side's application runs after its
  // connection acted.
  void Pump() {
    for (int i = 0; i < 100000; ++i) {
      if (to_server.q.empty() && to_client.q.empty()) {
        TimeNs t = std::min(client->NextDeadline(), server->NextDeadline());
        if (t == kNever) return;
        now = std::max(now, t);
        for (Connection* c : {client.get(), server.get()}) {
          if (c->NextDeadline() <= now) c->OnTimer(now);
        }
        client_app.OnActivity(*client, now);
        server_app.OnActivity(*server, now);
        continue;
      }
      now += 10 * kMicrosecond;
      if (!to_server.q.empty()) {
        Segment s = std::move(to_server.q.front());
        to_server.q.pop_front();
        server->OnSegment(now, s.h, s.payload);
        server_app.OnActivity(*server, now);
      }
      if (!to_client.q.empty()) {
        Segment s = std::move(to_client.q.front());
        to_client.q.pop_front();
        client->OnSegment(now, s.h, s.payload);
        client_app.OnActivity(*client, now);
      }
    }
  }

  TimeNs now = 0;
  Queue to_server, to_client;
  std::unique_ptr<Connection> client, server;
  Application client_app, server_app;
};

TEST(ApplicationTest, RateReaderWithoutRateIsRefused) {
  ReaderSpec r;
  r.mode = ReaderMode::kRate;
  absl::Status s = ValidateReaderSpec(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rate_bytes_per_sec"), absl::string_view::npos);
  r.rate_bytes_per_sec = 1;
  EXPECT_TRUE(ValidateReaderSpec(r).ok());
  EXPECT_TRUE(ValidateReaderSpec(ReaderSpec()).ok());
}

TEST(ApplicationTest, ManualReadGetsTheWrittenBytesAndDigestsAgree) {
  ReaderSpec manual;
  manual.mode = ReaderMode::kManual;
  Pair p(manual);
  ASSERT_EQ(p.client->state(), TcpState::kEstablished);
  std::vector<uint8_t> data(3000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  absl::StatusOr<size_t> n = p.client_app.Write(*p.client, p.now, data, true);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, data.size());
  p.Pump();
  // A manual reader leaves the bytes queued until asked.
  EXPECT_EQ(p.server->readable(), data.size());
  EXPECT_EQ(p.server_app.Stats(p.server.get()).bytes_read, 0u);
  std::vector<uint8_t> out(5000);
  size_t got = p.server_app.Read(*p.server, p.now, absl::MakeSpan(out));
  ASSERT_EQ(got, data.size());
  out.resize(got);
  EXPECT_EQ(out, data);
  EndpointStats w = p.client_app.Stats(p.client.get());
  EndpointStats r = p.server_app.Stats(p.server.get());
  EXPECT_EQ(w.bytes_written, data.size());
  EXPECT_EQ(r.bytes_read, data.size());
  EXPECT_EQ(w.write_digest, r.read_digest);
  EXPECT_EQ(w.final_state, TcpState::kEstablished);
}

TEST(ApplicationTest, SourceWritesItsTotalThenClosesAndAutoReaderClosesOnEof) {
  Pair p(ReaderSpec(), /*send_buffer=*/8 * 1024);
  const uint64_t total = 100 * 1024;  // many times the send buffer
  p.client_app.SetSource(total, /*close_when_done=*/true);
  p.client_app.OnActivity(*p.client, p.now);
  // Only what fits went in; the rest follows as acknowledgements free space.
  EXPECT_LE(p.client_app.Stats(p.client.get()).bytes_written, 8u * 1024);
  p.Pump();
  EndpointStats w = p.client_app.Stats(p.client.get());
  EndpointStats r = p.server_app.Stats(p.server.get());
  EXPECT_EQ(w.bytes_written, total);
  EXPECT_EQ(r.bytes_read, total);
  EXPECT_EQ(w.write_digest, r.read_digest);
  // The client closed when done; the server read EOF and closed in turn.
  EXPECT_TRUE(p.server->state() == TcpState::kLastAck ||
              p.server->state() == TcpState::kClosed)
      << ToString(p.server->state());
  p.server_app.Finish(*p.server);
  EXPECT_EQ(p.server_app.Stats(nullptr).read_digest, r.read_digest);
}

TEST(ApplicationTest, RateReaderReadsWhatItsBucketAllowsPerTick) {
  ReaderSpec rate;
  rate.mode = ReaderMode::kRate;
  rate.rate_bytes_per_sec = 100'000;  // 1000 bytes per 10 ms tick
  Pair p(rate);
  std::vector<uint8_t> data(5000, 7);
  ASSERT_TRUE(p.client_app.Write(*p.client, p.now, data, true).ok());
  p.Pump();
  ASSERT_EQ(p.server->readable(), data.size());
  TimeNs t = p.server_app.ArmReader(p.now, /*reset_tokens=*/true);
  EXPECT_EQ(t, p.now + Application::kReaderTick);
  EXPECT_EQ(p.server_app.reader_due(), t);
  TimeNs next = p.server_app.Tick(*p.server, t);
  EXPECT_EQ(next, t + Application::kReaderTick);
  EXPECT_EQ(p.server_app.Stats(p.server.get()).bytes_read, 1000u);
  next = p.server_app.Tick(*p.server, next);
  EXPECT_EQ(p.server_app.Stats(p.server.get()).bytes_read, 2000u);
  // Not a rate reader any more: the clock stops.
  p.server_app.set_reader(ReaderSpec());
  EXPECT_EQ(p.server_app.Tick(*p.server, next + Application::kReaderTick),
            kNever);
  EXPECT_EQ(p.server_app.reader_due(), kNever);
}

}  // namespace
}  // namespace tcpemu
