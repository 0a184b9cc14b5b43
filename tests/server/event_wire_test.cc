// Tests for server/event_wire: the hand-written EventBatch encoder gives the
// same bytes as the protobuf message ToProto builds, serialized by protobuf,
// for every event kind and edge values (zero, all ones, negative numbers,
// absent and present optional fields, more SACK blocks than fit), and the
// bytes parse back to the same message field by field.
#include "server/event_wire.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/event_convert.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;

constexpr EventKind kAllKinds[] = {
    EventKind::kSegmentSent,      EventKind::kSegmentReceived,
    EventKind::kSegmentDropped,   EventKind::kSegmentMangled,
    EventKind::kStateChanged,     EventKind::kTimerArmed,
    EventKind::kTimerFired,       EventKind::kAppWrite,
    EventKind::kAppRead,          EventKind::kRttSample,
    EventKind::kCwndChanged,      EventKind::kConnectionError,
    EventKind::kSessionDestroyed, EventKind::kSessionAccepted,
    EventKind::kClockBehind,      EventKind::kClockCaughtUp,
};

// Values that exercise varint widths: zero, one byte, the 7-bit boundary,
// wide, all ones and (for signed fields) negative.
class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  uint64_t U64() {
    switch (Pick(6)) {
      case 0:
        return 0;
      case 1:
        return Pick(128);
      case 2:
        return 128 + Pick(1000);
      case 3:
        return ~uint64_t{0};
      default:
        return rng_();
    }
  }
  uint32_t U32() { return static_cast<uint32_t>(U64()); }
  uint16_t U16() { return static_cast<uint16_t>(U64()); }
  uint8_t U8() { return static_cast<uint8_t>(U64()); }
  int64_t I64() {
    const auto v = static_cast<int64_t>(U64());
    return Pick(3) == 0 ? -v : v;
  }
  uint32_t Pick(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  template <typename E>
  E Enum(int count) {
    return static_cast<E>(Pick(static_cast<uint32_t>(count)));
  }

 private:
  std::mt19937_64 rng_;
};

Event RandomEvent(Gen& g, EventKind kind) {
  Event e;
  e.time = g.I64();
  e.kind = kind;
  e.endpoint = g.Enum<Endpoint>(2);
  e.session_id = g.U32();
  e.link_id = g.U32();
  e.send_reason = g.Enum<SendReason>(22);
  e.disposition = g.Enum<Disposition>(12);
  e.drop_reason = g.Enum<DropReason>(5);
  e.mangle = g.Enum<MangleKind>(5);
  e.timer = g.Enum<TimerKind>(10);
  e.error = g.Enum<ErrorCode>(5);
  e.old_state = g.Enum<TcpState>(11);
  e.new_state = g.Enum<TcpState>(11);
  e.a = g.I64();
  e.b = g.I64();
  SegmentInfo& s = e.seg;
  s.seq = g.U32();
  s.ack = g.U32();
  s.src_port = g.U16();
  s.dst_port = g.U16();
  s.len = g.U32();
  s.window = g.U16();
  s.flags = g.U8();
  s.opt_mss = g.U16();
  s.opt_wscale = g.Pick(3) == 0 ? 0xff : g.U8();
  s.opt_sack_permitted = g.Pick(2);
  s.opt_sack_blocks = g.Pick(4) == 0 ? g.U8() : g.Pick(5);
  s.opt_timestamp = g.Pick(2);
  for (int i = 0; i < 4; ++i) {
    s.sack_left[i] = g.U32();
    s.sack_right[i] = g.U32();
  }
  s.ts_val = g.U32();
  s.ts_ecr = g.U32();
  s.window_bytes = g.U32();
  TcbSnapshot& t = e.tcb;
  t.state = g.Enum<TcpState>(11);
  t.iss = g.U32();
  t.irs = g.U32();
  t.snd_una = g.U32();
  t.snd_nxt = g.U32();
  t.snd_wnd = g.U32();
  t.rcv_nxt = g.U32();
  t.rcv_wnd = g.U32();
  t.cwnd = g.U32();
  t.ssthresh = g.U32();
  t.bytes_in_flight = g.U32();
  t.srtt = g.I64();
  t.rttvar = g.I64();
  t.rto = g.I64();
  t.snd_wscale = g.U8();
  t.rcv_wscale = g.U8();
  t.ts_ok = g.Pick(2) != 0;
  t.sack_ok = g.Pick(2) != 0;
  t.cc_phase = g.Enum<CcPhase>(8);
  t.ts_recent = g.U32();
  t.sacked_bytes = g.U32();
  t.lost_bytes = g.U32();
  t.retrans_bytes = g.U32();
  t.pipe = g.U32();
  t.pacing_rate = g.U64();
  t.bandwidth_estimate = g.U64();
  t.min_rtt = g.I64();
  return e;
}

std::string Encoded(const std::vector<NetworkEvent>& events, uint64_t lost) {
  WireBuffer buf;
  AppendEventBatch(events, lost, &buf);
  return std::string(buf.data(), buf.size());
}

std::string ViaProto(const std::vector<NetworkEvent>& events, uint64_t lost,
                     v1::EventBatch* batch) {
  ToProto(events, lost, batch);
  std::string out;
  EXPECT_TRUE(batch->SerializeToString(&out));
  return out;
}

// Same bytes, and the encoder's bytes parse to the same message.
void ExpectSameAsProto(const std::vector<NetworkEvent>& events, uint64_t lost) {
  v1::EventBatch want;
  const std::string proto_bytes = ViaProto(events, lost, &want);
  const std::string wire_bytes = Encoded(events, lost);
  EXPECT_EQ(wire_bytes, proto_bytes);
  v1::EventBatch got;
  ASSERT_TRUE(got.ParseFromString(wire_bytes));
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(want, got)) << diff;
  // Presence of the optional and sub-message fields, which equality of
  // values alone would not show.
  ASSERT_EQ(got.events_size(), static_cast<int>(events.size()));
  for (int i = 0; i < got.events_size(); ++i) {
    const v1::Event& w = want.events(i);
    const v1::Event& g = got.events(i);
    EXPECT_EQ(g.has_segment(), w.has_segment()) << i;
    EXPECT_EQ(g.has_tcb(), w.has_tcb()) << i;
    if (w.has_segment()) {
      EXPECT_EQ(g.segment().has_opt_wscale(), w.segment().has_opt_wscale());
      EXPECT_EQ(g.segment().has_ts_val(), w.segment().has_ts_val());
      EXPECT_EQ(g.segment().has_ts_ecr(), w.segment().has_ts_ecr());
    }
  }
}

TEST(EventWireTest, EveryKindWithRandomFieldsMatchesProtobuf) {
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Gen g(seed);
    for (EventKind kind : kAllKinds) {
      SCOPED_TRACE(testing::Message()
                   << "seed " << seed << " kind " << ToString(kind));
      ExpectSameAsProto({{g.U32(), RandomEvent(g, kind)}}, 0);
    }
  }
}

TEST(EventWireTest, DefaultEventOfEveryKindMatchesProtobuf) {
  // All zero: only the always-present parts (kind, endpoint, reason and the
  // empty sub-messages a kind carries) remain.
  for (EventKind kind : kAllKinds) {
    SCOPED_TRACE(ToString(kind));
    Event e;
    e.kind = kind;
    ExpectSameAsProto({{0, e}}, 0);
  }
}

TEST(EventWireTest, SegmentOptionsPresentWithZeroValues) {
  Event e;
  e.kind = EventKind::kSegmentSent;
  e.seg.opt_wscale = 0;  // present, value 0: still on the wire
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 0;
  e.seg.ts_ecr = 0;
  e.seg.opt_sack_blocks = 9;  // more than the 4 blocks a record holds
  ExpectSameAsProto({{7, e}}, 0);
  v1::EventBatch got;
  ASSERT_TRUE(got.ParseFromString(Encoded({{7, e}}, 0)));
  ASSERT_EQ(got.events_size(), 1);
  const v1::Segment& s = got.events(0).segment();
  EXPECT_TRUE(s.has_opt_wscale());
  EXPECT_TRUE(s.has_ts_val());
  EXPECT_EQ(s.opt_sack_blocks(), 9u);
  EXPECT_EQ(s.sack_blocks_size(), 4);
}

TEST(EventWireTest, BatchesOfMixedKindsWithLossesMatchProtobuf) {
  Gen g(42);
  for (size_t n : {0, 1, 2, 17, 1024}) {
    std::vector<NetworkEvent> events;
    for (size_t i = 0; i < n; ++i) {
      events.push_back(
          {g.U32(), RandomEvent(g, kAllKinds[g.Pick(std::size(kAllKinds))])});
    }
    for (uint64_t lost :
         {uint64_t{0}, uint64_t{1}, uint64_t{300}, ~uint64_t{0}}) {
      SCOPED_TRACE(testing::Message() << n << " events, " << lost << " lost");
      ExpectSameAsProto(events, lost);
    }
  }
}

TEST(EventWireTest, EmptyBatchIsEmpty) { EXPECT_EQ(Encoded({}, 0), ""); }

TEST(EventWireTest, BufferAppendsAcrossBatchesAndClears) {
  Gen g(7);
  std::vector<NetworkEvent> a = {{1, RandomEvent(g, EventKind::kAppRead)}};
  std::vector<NetworkEvent> b = {{2, RandomEvent(g, EventKind::kSegmentSent)}};
  WireBuffer buf;
  AppendEventBatch(a, 0, &buf);
  AppendEventBatch(b, 0, &buf);
  // Two batches appended are the one batch of both (repeated fields concat).
  std::vector<NetworkEvent> both = {a[0], b[0]};
  EXPECT_EQ(std::string(buf.data(), buf.size()), Encoded(both, 0));
  buf.clear();
  EXPECT_EQ(buf.size(), 0u);
  AppendEventBatch(b, 3, &buf);
  EXPECT_EQ(std::string(buf.data(), buf.size()), Encoded(b, 3));
}

}  // namespace
}  // namespace tcpemu::server
