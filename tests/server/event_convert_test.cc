// Tests for server/event_convert: exact proto field values for hand-built
// events of several kinds, enum mappings both ways, message reuse, batches and
// WatchEvents filters.
#include "server/event_convert.h"

#include <cctype>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;

TcbSnapshot SampleTcb() {
  TcbSnapshot t;
  t.state = TcpState::kEstablished;
  t.iss = 1000;
  t.irs = 5000;
  t.snd_una = 1001;
  t.snd_nxt = 2461;
  t.snd_wnd = 65535;
  t.rcv_nxt = 5001;
  t.rcv_wnd = 131072;
  t.cwnd = 14600;
  t.ssthresh = 4294967295u;
  t.bytes_in_flight = 1460;
  t.srtt = 40000000;
  t.rttvar = 20000000;
  t.rto = 200000000;
  t.snd_wscale = 7;
  t.rcv_wscale = 9;
  t.ts_ok = true;
  t.sack_ok = true;
  t.ts_recent = 3000000000u;
  t.sacked_bytes = 2920;
  t.lost_bytes = 1460;
  t.retrans_bytes = 1400;
  t.pipe = 4380;
  t.cc_phase = CcPhase::kProbeRtt;
  t.pacing_rate = 12500000;
  t.bandwidth_estimate = 12100000;
  t.min_rtt = 40123456;
  return t;
}

void ExpectSampleTcb(const v1::Tcb& t) {
  EXPECT_EQ(t.state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(t.iss(), 1000u);
  EXPECT_EQ(t.irs(), 5000u);
  EXPECT_EQ(t.snd_una(), 1001u);
  EXPECT_EQ(t.snd_nxt(), 2461u);
  EXPECT_EQ(t.snd_wnd(), 65535u);
  EXPECT_EQ(t.rcv_nxt(), 5001u);
  EXPECT_EQ(t.rcv_wnd(), 131072u);
  EXPECT_EQ(t.cwnd(), 14600u);
  EXPECT_EQ(t.ssthresh(), 4294967295u);
  EXPECT_EQ(t.bytes_in_flight(), 1460u);
  EXPECT_EQ(t.srtt_ns(), 40000000);
  EXPECT_EQ(t.rttvar_ns(), 20000000);
  EXPECT_EQ(t.rto_ns(), 200000000);
  EXPECT_EQ(t.snd_wscale(), 7u);
  EXPECT_EQ(t.rcv_wscale(), 9u);
  EXPECT_TRUE(t.ts_ok());
  EXPECT_TRUE(t.sack_ok());
  EXPECT_EQ(t.ts_recent(), 3000000000u);
  EXPECT_EQ(t.sacked_bytes(), 2920u);
  EXPECT_EQ(t.lost_bytes(), 1460u);
  EXPECT_EQ(t.retrans_bytes(), 1400u);
  EXPECT_EQ(t.pipe(), 4380u);
  EXPECT_EQ(t.cc_phase(), v1::CC_PHASE_PROBE_RTT);
  EXPECT_EQ(t.pacing_rate(), 12500000u);
  EXPECT_EQ(t.bandwidth_estimate(), 12100000u);
  EXPECT_EQ(t.min_rtt_ns(), 40123456);
}

NetworkEvent SegmentSent() {
  NetworkEvent ne;
  ne.network_id = 4;
  Event& e = ne.event;
  e.time = 123456789;
  e.kind = EventKind::kSegmentSent;
  e.endpoint = Endpoint::kClient;
  e.session_id = 7;
  e.link_id = 3;
  e.send_reason = SendReason::kRetransmitRto;
  e.seg.seq = 1001;
  e.seg.ack = 5001;
  e.seg.len = 1460;
  e.seg.window = 512;
  e.seg.flags = 0x18;  // PSH|ACK
  e.seg.opt_mss = 1460;
  e.seg.opt_wscale = 7;
  e.seg.opt_sack_permitted = 1;
  e.seg.opt_sack_blocks = 2;
  // Blocks of the peer's data held out of order (irs 5000): bytes 2921-4381
  // and 5841-7301 of its stream.
  e.seg.sack_left[0] = 7921;
  e.seg.sack_right[0] = 9381;
  e.seg.sack_left[1] = 10841;
  e.seg.sack_right[1] = 12301;
  e.seg.sack_left[2] = 99;  // past opt_sack_blocks: not carried
  e.seg.sack_right[2] = 199;
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 4000000000u;
  e.seg.ts_ecr = 17;
  e.seg.window_bytes = 512 << 9;
  e.tcb = SampleTcb();
  return ne;
}

TEST(EventConvertTest, SegmentSentFillsEveryField) {
  v1::Event out;
  ToProto(SegmentSent(), &out);
  EXPECT_EQ(out.time_ns(), 123456789);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_SEGMENT_SENT);
  EXPECT_EQ(out.network_id(), 4u);
  EXPECT_EQ(out.session_id(), 7u);
  EXPECT_EQ(out.link_id(), 3u);
  EXPECT_EQ(out.endpoint(), v1::ENDPOINT_CLIENT);
  EXPECT_EQ(out.reason(), "retransmit_rto");
  EXPECT_EQ(out.old_state(), v1::TCP_STATE_UNSPECIFIED);
  EXPECT_EQ(out.new_state(), v1::TCP_STATE_UNSPECIFIED);
  EXPECT_EQ(out.a(), 0);
  EXPECT_EQ(out.b(), 0);
  ASSERT_TRUE(out.has_segment());
  const v1::Segment& s = out.segment();
  EXPECT_EQ(s.seq(), 1001u);
  EXPECT_EQ(s.ack(), 5001u);
  EXPECT_EQ(s.rel_seq(), 1u);  // seq - own ISS
  EXPECT_EQ(s.rel_ack(), 1u);  // ack - IRS (the peer's ISS)
  EXPECT_EQ(s.len(), 1460u);
  EXPECT_EQ(s.window(), 512u);
  EXPECT_EQ(s.flags(), static_cast<uint32_t>(v1::TCP_FLAG_PSH) |
                           static_cast<uint32_t>(v1::TCP_FLAG_ACK));
  EXPECT_EQ(s.opt_mss(), 1460u);
  ASSERT_TRUE(s.has_opt_wscale());
  EXPECT_EQ(s.opt_wscale(), 7u);
  EXPECT_TRUE(s.opt_sack_permitted());
  EXPECT_EQ(s.opt_sack_blocks(), 2u);
  EXPECT_TRUE(s.opt_timestamp());
  ASSERT_EQ(s.sack_blocks_size(), 2);
  EXPECT_EQ(s.sack_blocks(0).left(), 7921u);
  EXPECT_EQ(s.sack_blocks(0).right(), 9381u);
  EXPECT_EQ(s.sack_blocks(0).rel_left(), 2921u);  // left - IRS, as rel_ack
  EXPECT_EQ(s.sack_blocks(0).rel_right(), 4381u);
  EXPECT_EQ(s.sack_blocks(1).left(), 10841u);
  EXPECT_EQ(s.sack_blocks(1).right(), 12301u);
  EXPECT_EQ(s.sack_blocks(1).rel_left(), 5841u);
  EXPECT_EQ(s.sack_blocks(1).rel_right(), 7301u);
  ASSERT_TRUE(s.has_ts_val());
  EXPECT_EQ(s.ts_val(), 4000000000u);
  ASSERT_TRUE(s.has_ts_ecr());
  EXPECT_EQ(s.ts_ecr(), 17u);
  EXPECT_EQ(s.window_bytes(), 262144u);
  ASSERT_TRUE(out.has_tcb());
  ExpectSampleTcb(out.tcb());
}

TEST(EventConvertTest, SegmentReceivedIsRelativeToThePeersIss) {
  NetworkEvent ne;
  ne.network_id = 1;
  Event& e = ne.event;
  e.kind = EventKind::kSegmentReceived;
  e.endpoint = Endpoint::kServer;
  e.session_id = 2;
  e.disposition = Disposition::kOutOfOrder;
  e.seg.seq = 7921;  // the sender's (client's) ISS is this endpoint's IRS
  e.seg.ack = 1000;
  e.seg.flags = 0x10;
  e.tcb = SampleTcb();
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_SEGMENT_RECEIVED);
  EXPECT_EQ(out.endpoint(), v1::ENDPOINT_SERVER);
  EXPECT_EQ(out.reason(), "out_of_order");
  EXPECT_EQ(out.segment().rel_seq(), 2921u);  // 7921 - irs 5000
  EXPECT_EQ(out.segment().rel_ack(), 0u);     // 1000 - iss 1000
  EXPECT_FALSE(out.segment().has_opt_wscale());
  EXPECT_FALSE(out.segment().opt_sack_permitted());
  EXPECT_TRUE(out.segment().sack_blocks().empty());
  EXPECT_FALSE(out.segment().has_ts_val());
  EXPECT_FALSE(out.segment().has_ts_ecr());
  EXPECT_TRUE(out.has_tcb());
}

// The client's ACK reports what the server holds of the client's data: the
// blocks count from this endpoint's own ISS, like rel_ack.
TEST(EventConvertTest, ReceivedSackBlocksAreRelativeToOwnIss) {
  NetworkEvent ne;
  Event& e = ne.event;
  e.kind = EventKind::kSegmentReceived;
  e.endpoint = Endpoint::kClient;
  e.disposition = Disposition::kInOrder;
  e.seg.seq = 5001;
  e.seg.ack = 2461;
  e.seg.flags = 0x10;
  e.seg.window = 1000;
  e.seg.window_bytes = 1000 << 7;
  e.seg.opt_sack_blocks = 3;
  e.seg.sack_left[0] = 1001;  // a D-SACK below the ACK comes first
  e.seg.sack_right[0] = 2461;
  e.seg.sack_left[1] = 3921;
  e.seg.sack_right[1] = 5381;
  e.seg.sack_left[2] = 6841;
  e.seg.sack_right[2] = 8301;
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 0;  // a zero TSval is still a timestamp
  e.seg.ts_ecr = 0;
  e.tcb = SampleTcb();
  v1::Event out;
  ToProto(ne, &out);
  const v1::Segment& s = out.segment();
  EXPECT_EQ(s.rel_ack(), 1461u);
  ASSERT_EQ(s.sack_blocks_size(), 3);
  const uint32_t want[3][4] = {{1001, 2461, 1, 1461},
                               {3921, 5381, 2921, 4381},
                               {6841, 8301, 5841, 7301}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.sack_blocks(i).left(), want[i][0]) << i;
    EXPECT_EQ(s.sack_blocks(i).right(), want[i][1]) << i;
    EXPECT_EQ(s.sack_blocks(i).rel_left(), want[i][2]) << i;
    EXPECT_EQ(s.sack_blocks(i).rel_right(), want[i][3]) << i;
  }
  ASSERT_TRUE(s.has_ts_val());
  EXPECT_EQ(s.ts_val(), 0u);
  ASSERT_TRUE(s.has_ts_ecr());
  EXPECT_EQ(s.ts_ecr(), 0u);
  EXPECT_EQ(s.window(), 1000u);
  EXPECT_EQ(s.window_bytes(), 128000u);
}

TEST(EventConvertTest, SackBlocksWrapAroundLikeSequenceSpace) {
  NetworkEvent ne = SegmentSent();
  ne.event.tcb.irs = 4294967000u;
  ne.event.seg.ack = 4294967001u;
  ne.event.seg.opt_sack_blocks = 1;
  ne.event.seg.sack_left[0] = 4294967200u;  // 200 past the IRS
  ne.event.seg.sack_right[0] = 100;         // 396 past it, across the wrap
  v1::Event out;
  ToProto(ne, &out);
  ASSERT_EQ(out.segment().sack_blocks_size(), 1);
  EXPECT_EQ(out.segment().sack_blocks(0).rel_left(), 200u);
  EXPECT_EQ(out.segment().sack_blocks(0).rel_right(), 396u);
}

TEST(EventConvertTest, RelativeNumbersWrapAroundLikeSequenceSpace) {
  NetworkEvent ne = SegmentSent();
  ne.event.tcb.iss = 4294967000u;
  ne.event.seg.seq = 100;  // 396 bytes past the ISS, across the wrap
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.segment().rel_seq(), 396u);
}

TEST(EventConvertTest, LinkDropHasASegmentButNoTcbOrRelativeNumbers) {
  NetworkEvent ne;
  ne.network_id = 2;
  Event& e = ne.event;
  e.time = 5;
  e.kind = EventKind::kSegmentDropped;
  e.endpoint = Endpoint::kServer;
  e.link_id = 9;
  e.drop_reason = DropReason::kQueue;
  e.seg.seq = 77;
  e.seg.ack = 88;
  e.seg.len = 100;
  e.seg.flags = 0x02;
  e.tcb = SampleTcb();  // ignored: link events carry no TCB
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_SEGMENT_DROPPED);
  EXPECT_EQ(out.session_id(), 0u);
  EXPECT_EQ(out.link_id(), 9u);
  EXPECT_EQ(out.reason(), "queue");
  ASSERT_TRUE(out.has_segment());
  EXPECT_EQ(out.segment().seq(), 77u);
  EXPECT_EQ(out.segment().ack(), 88u);
  EXPECT_EQ(out.segment().rel_seq(), 0u);
  EXPECT_EQ(out.segment().rel_ack(), 0u);
  EXPECT_EQ(out.segment().len(), 100u);
  EXPECT_EQ(out.segment().flags(), static_cast<uint32_t>(v1::TCP_FLAG_SYN));
  EXPECT_FALSE(out.segment().has_opt_wscale());
  EXPECT_FALSE(out.has_tcb());
}

TEST(EventConvertTest, LinkEventSackBlocksAreAbsoluteOnly) {
  NetworkEvent ne = SegmentSent();
  ne.event.kind = EventKind::kSegmentDropped;
  ne.event.drop_reason = DropReason::kLoss;
  v1::Event out;
  ToProto(ne, &out);
  const v1::Segment& s = out.segment();
  ASSERT_EQ(s.sack_blocks_size(), 2);
  EXPECT_EQ(s.sack_blocks(1).left(), 10841u);
  EXPECT_EQ(s.sack_blocks(1).right(), 12301u);
  EXPECT_EQ(s.sack_blocks(1).rel_left(), 0u);
  EXPECT_EQ(s.sack_blocks(1).rel_right(), 0u);
  EXPECT_EQ(s.ts_val(), 4000000000u);
  EXPECT_EQ(s.window_bytes(), 262144u);
}

TEST(EventConvertTest, RackTlpReasons) {
  NetworkEvent ne = SegmentSent();
  ne.event.send_reason = SendReason::kTailLossProbe;
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.reason(), "tail_loss_probe");
  ne.event.kind = EventKind::kTimerArmed;
  ne.event.timer = TimerKind::kReorder;
  ToProto(ne, &out);
  EXPECT_EQ(out.reason(), "reorder");
  ne.event.kind = EventKind::kTimerFired;
  ne.event.timer = TimerKind::kTlp;
  ToProto(ne, &out);
  EXPECT_EQ(out.reason(), "tlp");
}

// A reused Segment drops the blocks and timestamps the next event lacks.
TEST(EventConvertTest, ReusedSegmentDropsBlocksAndTimestamps) {
  v1::Event out;
  ToProto(SegmentSent(), &out);
  ASSERT_EQ(out.segment().sack_blocks_size(), 2);
  NetworkEvent fewer = SegmentSent();
  fewer.event.seg.opt_sack_blocks = 1;
  fewer.event.seg.opt_timestamp = 0;
  ToProto(fewer, &out);
  v1::Event fresh;
  ToProto(fewer, &fresh);
  EXPECT_EQ(out.SerializeAsString(), fresh.SerializeAsString());
  EXPECT_EQ(out.segment().sack_blocks_size(), 1);
  EXPECT_FALSE(out.segment().has_ts_val());
  EXPECT_FALSE(out.segment().has_ts_ecr());
  ToProto(SegmentSent(), &out);
  ToProto(SegmentSent(), &fresh);
  EXPECT_EQ(out.SerializeAsString(), fresh.SerializeAsString());
}

TEST(EventConvertTest, MangledNamesTheMangle) {
  NetworkEvent ne;
  ne.event.kind = EventKind::kSegmentMangled;
  ne.event.mangle = MangleKind::kReorder;
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_SEGMENT_MANGLED);
  EXPECT_EQ(out.reason(), "reorder");
  EXPECT_TRUE(out.has_segment());
  EXPECT_FALSE(out.has_tcb());
}

TEST(EventConvertTest, StateChangeCarriesBothStates) {
  NetworkEvent ne;
  ne.network_id = 1;
  ne.event.kind = EventKind::kStateChanged;
  ne.event.session_id = 3;
  ne.event.old_state = TcpState::kSynSent;
  ne.event.new_state = TcpState::kEstablished;
  ne.event.tcb = SampleTcb();
  v1::Event out;
  ToProto(ne, &out);
  EXPECT_EQ(out.kind(), v1::EVENT_KIND_STATE_CHANGED);
  EXPECT_EQ(out.old_state(), v1::TCP_STATE_SYN_SENT);
  EXPECT_EQ(out.new_state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(out.reason(), "");
  EXPECT_FALSE(out.has_segment());
  ASSERT_TRUE(out.has_tcb());
  ExpectSampleTcb(out.tcb());
}

TEST(EventConvertTest, KindSpecificNumbersAndReasons) {
  struct Case {
    EventKind kind;
    int64_t a, b;  // set on the engine event
    int64_t want_a, want_b;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {EventKind::kTimerArmed, 777, 1, 777, 0, "persist"},
      {EventKind::kTimerFired, 777, 1, 0, 0, "persist"},
      {EventKind::kAppWrite, 1000, 600, 1000, 600, ""},
      {EventKind::kAppRead, 4096, 1, 4096, 0, ""},
      {EventKind::kRttSample, 40000000, 1, 40000000, 0, ""},
      {EventKind::kCwndChanged, 14600, 16060, 14600, 16060, ""},
      {EventKind::kConnectionError, 1, 1, 0, 0, "reset"},
      {EventKind::kSessionDestroyed, 1, 1, 0, 0, ""},
  };
  for (const Case& c : cases) {
    NetworkEvent ne;
    ne.event.kind = c.kind;
    ne.event.timer = TimerKind::kPersist;
    ne.event.error = ErrorCode::kReset;
    ne.event.a = c.a;
    ne.event.b = c.b;
    ne.event.tcb = SampleTcb();
    v1::Event out;
    ToProto(ne, &out);
    const std::string name(ToString(c.kind));
    EXPECT_EQ(out.kind(), ToProto(c.kind)) << name;
    EXPECT_EQ(out.a(), c.want_a) << name;
    EXPECT_EQ(out.b(), c.want_b) << name;
    EXPECT_EQ(out.reason(), c.reason) << name;
    EXPECT_FALSE(out.has_segment()) << name;
    EXPECT_EQ(out.has_tcb(), c.kind != EventKind::kSessionDestroyed) << name;
  }
}

TEST(EventConvertTest, ReusedMessageKeepsNothingOfTheEarlierEvent) {
  v1::Event out;
  ToProto(SegmentSent(), &out);
  NetworkEvent destroyed;
  destroyed.network_id = 9;
  destroyed.event.kind = EventKind::kSessionDestroyed;
  destroyed.event.session_id = 7;
  ToProto(destroyed, &out);

  v1::Event fresh;
  ToProto(destroyed, &fresh);
  EXPECT_EQ(out.SerializeAsString(), fresh.SerializeAsString());
  EXPECT_FALSE(out.has_segment());
  EXPECT_FALSE(out.has_tcb());
  EXPECT_EQ(out.reason(), "");
  EXPECT_EQ(out.link_id(), 0u);
}

TEST(EventConvertTest, EnumsMapByName) {
  for (int i = 0; i <= static_cast<int>(TcpState::kTimeWait); ++i) {
    const auto s = static_cast<TcpState>(i);
    EXPECT_EQ(v1::TcpState_Name(ToProto(s)),
              "TCP_STATE_" + std::string(ToString(s)));
  }
  for (int i = 0; i <= static_cast<int>(EventKind::kSessionAccepted); ++i) {
    const auto k = static_cast<EventKind>(i);
    std::string want = "EVENT_KIND_" + std::string(ToString(k));
    for (char& c : want) c = static_cast<char>(std::toupper(c));
    EXPECT_EQ(v1::EventKind_Name(ToProto(k)), want);
    EXPECT_EQ(FromProto(ToProto(k)), k);
  }
  // Every phase but kNone ("none", before synchronization) maps by name.
  EXPECT_EQ(ToProto(CcPhase::kNone), v1::CC_PHASE_UNSPECIFIED);
  for (int i = 1; i <= static_cast<int>(CcPhase::kProbeRtt); ++i) {
    const auto p = static_cast<CcPhase>(i);
    std::string want = "CC_PHASE_" + std::string(ToString(p));
    for (char& c : want) c = static_cast<char>(std::toupper(c));
    EXPECT_EQ(v1::CcPhase_Name(ToProto(p)), want);
  }
  EXPECT_EQ(ToProto(Endpoint::kClient), v1::ENDPOINT_CLIENT);
  EXPECT_EQ(ToProto(Endpoint::kServer), v1::ENDPOINT_SERVER);
  EXPECT_EQ(FromProto(v1::ENDPOINT_CLIENT), Endpoint::kClient);
  EXPECT_EQ(FromProto(v1::ENDPOINT_SERVER), Endpoint::kServer);
  EXPECT_EQ(FromProto(v1::ENDPOINT_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(FromProto(static_cast<v1::Endpoint>(7)), std::nullopt);
  EXPECT_EQ(FromProto(v1::EVENT_KIND_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(FromProto(static_cast<v1::EventKind>(99)), std::nullopt);
}

TEST(EventConvertTest, BatchReusesMessagesAndSetsLoss) {
  std::vector<NetworkEvent> events(3, SegmentSent());
  events[1].event.time = 2;
  v1::EventBatch batch;
  ToProto(events, 5, &batch);
  ASSERT_EQ(batch.events_size(), 3);
  EXPECT_EQ(batch.events_lost(), 5u);
  EXPECT_EQ(batch.events(1).time_ns(), 2);

  std::vector<NetworkEvent> fewer(1);
  fewer[0].event.kind = EventKind::kRttSample;
  fewer[0].event.a = 9;
  ToProto(fewer, 0, &batch);
  ASSERT_EQ(batch.events_size(), 1);
  EXPECT_EQ(batch.events_lost(), 0u);
  EXPECT_EQ(batch.events(0).kind(), v1::EVENT_KIND_RTT_SAMPLE);
  EXPECT_FALSE(batch.events(0).has_segment());

  ToProto(events, 1, &batch);
  ASSERT_EQ(batch.events_size(), 3);
  v1::EventBatch fresh;
  ToProto(events, 1, &fresh);
  EXPECT_EQ(batch.SerializeAsString(), fresh.SerializeAsString());
}

TEST(EventConvertTest, FilterFromRequest) {
  v1::WatchEventsRequest req;
  req.set_network_id(3);
  req.add_session_ids(5);
  req.add_session_ids(6);
  req.add_kinds(v1::EVENT_KIND_SEGMENT_SENT);
  req.add_kinds(v1::EVENT_KIND_SESSION_DESTROYED);
  req.set_endpoint(v1::ENDPOINT_SERVER);
  absl::StatusOr<EventFilter> f = EventFilterFromProto(req);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->network_id, 3u);
  EXPECT_EQ(f->session_ids, (absl::flat_hash_set<uint32_t>{5, 6}));
  EXPECT_EQ(f->kinds_mask,
            EventFilter::KindBit(EventKind::kSegmentSent) |
                EventFilter::KindBit(EventKind::kSessionDestroyed));
  EXPECT_EQ(f->endpoint, Endpoint::kServer);

  absl::StatusOr<EventFilter> any =
      EventFilterFromProto(v1::WatchEventsRequest());
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->network_id, 0u);
  EXPECT_TRUE(any->session_ids.empty());
  EXPECT_EQ(any->kinds_mask, 0u);
  EXPECT_FALSE(any->endpoint.has_value());
}

TEST(EventConvertTest, FilterRejectsUnknownKindsAndEndpoints) {
  v1::WatchEventsRequest req;
  req.add_kinds(v1::EVENT_KIND_APP_READ);
  req.add_kinds(v1::EVENT_KIND_UNSPECIFIED);
  absl::StatusOr<EventFilter> f = EventFilterFromProto(req);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("kinds[1]"), absl::string_view::npos)
      << f.status();

  v1::WatchEventsRequest bad_endpoint;
  bad_endpoint.set_endpoint(static_cast<v1::Endpoint>(5));
  f = EventFilterFromProto(bad_endpoint);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("endpoint"), absl::string_view::npos)
      << f.status();
}

}  // namespace
}  // namespace tcpemu::server
