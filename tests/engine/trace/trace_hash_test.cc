// Tests for engine/trace/trace_hash: the digest depends on every event field
// and on event order, and FanoutSink delivers to every sink in order.
#include "engine/trace/trace_hash.h"

#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

Event SampleEvent() {
  Event e;
  e.time = 123'456'789;
  e.kind = EventKind::kSegmentSent;
  e.endpoint = Endpoint::kServer;
  e.session_id = 7;
  e.link_id = 3;
  e.send_reason = SendReason::kFullMss;
  e.seg.seq = 1000;
  e.seg.ack = 2000;
  e.seg.len = 1460;
  e.seg.window = 512;
  e.seg.flags = 0x18;
  e.tcb.state = TcpState::kEstablished;
  e.tcb.iss = 999;
  e.tcb.irs = 1999;
  e.tcb.cwnd = 14600;
  e.tcb.srtt = 40'000'000;
  return e;
}

std::string HashOf(const std::vector<Event>& events) {
  TraceHasher h;
  for (const Event& e : events) h.OnEvent(e);
  return h.HexDigest();
}

TEST(TraceHasherTest, SameEventsSameHash) {
  Event other = SampleEvent();
  other.kind = EventKind::kRttSample;
  other.a = 40'000'000;
  const std::vector<Event> trace = {SampleEvent(), other};
  EXPECT_EQ(HashOf(trace), HashOf(trace));
  EXPECT_EQ(HashOf(trace).size(), 64u);
}

TEST(TraceHasherTest, EmptyTraceIsSha256OfNothing) {
  TraceHasher h;
  EXPECT_EQ(h.HexDigest(), Sha256::Hex(Sha256::Of(std::string_view())));
  EXPECT_EQ(h.event_count(), 0u);
}

TEST(TraceHasherTest, OrderMatters) {
  Event a = SampleEvent();
  Event b = SampleEvent();
  b.time += 1;
  EXPECT_NE(HashOf({a, b}), HashOf({b, a}));
}

TEST(TraceHasherTest, DigestDoesNotStopHashing) {
  TraceHasher h;
  h.OnEvent(SampleEvent());
  const std::string first = h.HexDigest();
  EXPECT_EQ(h.HexDigest(), first);
  h.OnEvent(SampleEvent());
  EXPECT_NE(h.HexDigest(), first);
  EXPECT_EQ(h.HexDigest(), HashOf({SampleEvent(), SampleEvent()}));
  EXPECT_EQ(h.event_count(), 2u);
}

TEST(TraceHasherTest, EveryFieldChangesTheHash) {
  using Mutation = std::function<void(Event&)>;
  const std::vector<std::pair<const char*, Mutation>> mutations = {
      {"time", [](Event& e) { e.time += 1; }},
      {"kind", [](Event& e) { e.kind = EventKind::kSegmentReceived; }},
      {"endpoint", [](Event& e) { e.endpoint = Endpoint::kClient; }},
      {"session_id", [](Event& e) { e.session_id += 1; }},
      {"link_id", [](Event& e) { e.link_id += 1; }},
      {"send_reason", [](Event& e) { e.send_reason = SendReason::kPush; }},
      {"disposition",
       [](Event& e) { e.disposition = Disposition::kDuplicate; }},
      {"drop_reason", [](Event& e) { e.drop_reason = DropReason::kLoss; }},
      {"mangle", [](Event& e) { e.mangle = MangleKind::kReorder; }},
      {"timer", [](Event& e) { e.timer = TimerKind::kRto; }},
      {"error", [](Event& e) { e.error = ErrorCode::kReset; }},
      {"old_state", [](Event& e) { e.old_state = TcpState::kListen; }},
      {"new_state", [](Event& e) { e.new_state = TcpState::kListen; }},
      {"a", [](Event& e) { e.a = -1; }},
      {"b", [](Event& e) { e.b = int64_t{1} << 40; }},
      {"seg.seq", [](Event& e) { e.seg.seq ^= 0x80000000u; }},
      {"seg.ack", [](Event& e) { e.seg.ack += 1; }},
      {"seg.len", [](Event& e) { e.seg.len += 1; }},
      {"seg.window", [](Event& e) { e.seg.window = 0xff00; }},
      {"seg.flags", [](Event& e) { e.seg.flags |= 0x01; }},
      {"seg.opt_mss", [](Event& e) { e.seg.opt_mss = 1460; }},
      {"seg.opt_wscale", [](Event& e) { e.seg.opt_wscale = 7; }},
      {"seg.opt_sack_permitted",
       [](Event& e) { e.seg.opt_sack_permitted = 1; }},
      {"seg.opt_sack_blocks", [](Event& e) { e.seg.opt_sack_blocks = 2; }},
      {"seg.opt_timestamp", [](Event& e) { e.seg.opt_timestamp = 1; }},
      {"seg.sack_left[0]", [](Event& e) { e.seg.sack_left[0] = 1; }},
      {"seg.sack_right[0]", [](Event& e) { e.seg.sack_right[0] = 1; }},
      {"seg.sack_left[3]", [](Event& e) { e.seg.sack_left[3] = 1; }},
      {"seg.sack_right[3]", [](Event& e) { e.seg.sack_right[3] = 1; }},
      {"seg.ts_val", [](Event& e) { e.seg.ts_val = 0x80000000u; }},
      {"seg.ts_ecr", [](Event& e) { e.seg.ts_ecr = 1; }},
      {"seg.window_bytes", [](Event& e) { e.seg.window_bytes = 1u << 30; }},
      {"tcb.state", [](Event& e) { e.tcb.state = TcpState::kCloseWait; }},
      {"tcb.iss", [](Event& e) { e.tcb.iss += 1; }},
      {"tcb.irs", [](Event& e) { e.tcb.irs += 1; }},
      {"tcb.snd_una", [](Event& e) { e.tcb.snd_una += 1; }},
      {"tcb.snd_nxt", [](Event& e) { e.tcb.snd_nxt += 1; }},
      {"tcb.snd_wnd", [](Event& e) { e.tcb.snd_wnd += 1; }},
      {"tcb.rcv_nxt", [](Event& e) { e.tcb.rcv_nxt += 1; }},
      {"tcb.rcv_wnd", [](Event& e) { e.tcb.rcv_wnd += 1; }},
      {"tcb.cwnd", [](Event& e) { e.tcb.cwnd += 1; }},
      {"tcb.ssthresh", [](Event& e) { e.tcb.ssthresh += 1; }},
      {"tcb.bytes_in_flight", [](Event& e) { e.tcb.bytes_in_flight += 1; }},
      {"tcb.srtt", [](Event& e) { e.tcb.srtt += 1; }},
      {"tcb.rttvar", [](Event& e) { e.tcb.rttvar += 1; }},
      {"tcb.rto", [](Event& e) { e.tcb.rto = int64_t{1} << 50; }},
      {"tcb.snd_wscale", [](Event& e) { e.tcb.snd_wscale = 14; }},
      {"tcb.rcv_wscale", [](Event& e) { e.tcb.rcv_wscale = 14; }},
      {"tcb.ts_ok", [](Event& e) { e.tcb.ts_ok = true; }},
      {"tcb.sack_ok", [](Event& e) { e.tcb.sack_ok = true; }},
      {"tcb.ts_recent", [](Event& e) { e.tcb.ts_recent = 1; }},
      {"tcb.sacked_bytes", [](Event& e) { e.tcb.sacked_bytes = 1; }},
      {"tcb.lost_bytes", [](Event& e) { e.tcb.lost_bytes = 1; }},
      {"tcb.retrans_bytes", [](Event& e) { e.tcb.retrans_bytes = 1; }},
      {"tcb.pipe", [](Event& e) { e.tcb.pipe = 0xffffffffu; }},
  };
  const std::string base = HashOf({SampleEvent()});
  std::set<std::string> seen = {base};
  for (const auto& [name, mutate] : mutations) {
    Event e = SampleEvent();
    mutate(e);
    const std::string h = HashOf({e});
    EXPECT_NE(h, base) << name;
    EXPECT_TRUE(seen.insert(h).second) << name;
  }
}

TEST(TraceHasherTest, SerializationIsLittleEndianAndFixed) {
  Event e;
  e.time = 0x0102030405060708;
  e.session_id = 0xA1B2C3D4;
  uint8_t rec[TraceHasher::kRecordBytes];
  TraceHasher::Serialize(e, rec);
  // time first, least significant byte first.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(rec[i], 8 - i) << i;
  // kind and endpoint, then session_id.
  EXPECT_EQ(rec[10], 0xD4);
  EXPECT_EQ(rec[11], 0xC3);
  EXPECT_EQ(rec[12], 0xB2);
  EXPECT_EQ(rec[13], 0xA1);

  // Two default events serialize identically whatever the stack held before.
  uint8_t rec2[TraceHasher::kRecordBytes];
  std::memset(rec2, 0x5a, sizeof(rec2));
  TraceHasher::Serialize(e, rec2);
  EXPECT_EQ(std::memcmp(rec, rec2, sizeof(rec)), 0);

  // The snapshot's pipe is the last field and fills the record to its end.
  e.tcb.pipe = 0xA1B2C3D4;
  TraceHasher::Serialize(e, rec);
  constexpr size_t kEnd = TraceHasher::kRecordBytes;
  EXPECT_EQ(rec[kEnd - 4], 0xD4);
  EXPECT_EQ(rec[kEnd - 3], 0xC3);
  EXPECT_EQ(rec[kEnd - 2], 0xB2);
  EXPECT_EQ(rec[kEnd - 1], 0xA1);
}

class RecordingSink : public EventSink {
 public:
  RecordingSink(std::vector<std::string>* log, std::string name)
      : log_(log), name_(std::move(name)) {}
  void OnEvent(const Event& e) override {
    log_->push_back(name_ + ":" + std::to_string(e.time));
  }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

TEST(FanoutSinkTest, DeliversToEverySinkInOrder) {
  std::vector<std::string> log;
  RecordingSink a(&log, "a");
  RecordingSink b(&log, "b");
  RecordingSink c(&log, "c");
  FanoutSink fan{&a, nullptr, &b};
  fan.Add(&c);
  fan.Add(nullptr);
  EXPECT_EQ(fan.size(), 3u);
  Event e;
  e.time = 5;
  fan.OnEvent(e);
  e.time = 6;
  fan.OnEvent(e);
  EXPECT_EQ(log, (std::vector<std::string>{"a:5", "b:5", "c:5", "a:6", "b:6",
                                           "c:6"}));
}

TEST(FanoutSinkTest, HasherBehindFanoutSeesEverything) {
  TraceHasher direct;
  TraceHasher behind;
  FanoutSink fan{&behind};
  for (int i = 0; i < 3; ++i) {
    Event e = SampleEvent();
    e.time = i;
    direct.OnEvent(e);
    fan.OnEvent(e);
  }
  EXPECT_EQ(direct.HexDigest(), behind.HexDigest());
}

}  // namespace
}  // namespace tcpemu
