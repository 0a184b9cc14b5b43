// Tests for engine/trace/jsonl: exact JSON text for known events of several
// kinds, relative sequence numbers on both sides, and JsonlWriter's lines.
#include "engine/trace/jsonl.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

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
  t.rto = 1000000000;
  t.snd_wscale = 7;
  t.rcv_wscale = 8;
  t.ts_ok = true;
  t.sack_ok = true;
  t.ts_recent = 77777;
  t.sacked_bytes = 2920;
  t.lost_bytes = 1460;
  t.retrans_bytes = 1460;
  t.pipe = 2920;
  t.cc_phase = CcPhase::kProbeBw;
  t.pacing_rate = 12500000;
  t.bandwidth_estimate = 12100000;
  t.min_rtt = 40123456;
  return t;
}

constexpr char kSampleTcbJson[] =
    "\"tcb\":{\"state\":\"ESTABLISHED\",\"iss\":1000,\"irs\":5000,"
    "\"snd_una\":1001,\"snd_nxt\":2461,\"snd_wnd\":65535,\"rcv_nxt\":5001,"
    "\"rcv_wnd\":131072,\"cwnd\":14600,\"ssthresh\":4294967295,"
    "\"bytes_in_flight\":1460,\"srtt_ns\":40000000,\"rttvar_ns\":20000000,"
    "\"rto_ns\":1000000000,\"snd_wscale\":7,\"rcv_wscale\":8,\"ts_ok\":true,"
    "\"sack_ok\":true,\"ts_recent\":77777,\"sacked_bytes\":2920,"
    "\"lost_bytes\":1460,\"retrans_bytes\":1460,\"pipe\":2920,"
    "\"pacing_rate\":12500000,\"cc_phase\":\"probe_bw\","
    "\"bandwidth_estimate\":12100000,\"min_rtt_ns\":40123456,"
    "\"ecn_ok\":false}";

TEST(TcpFlagsStringTest, LettersInBitOrder) {
  EXPECT_EQ(TcpFlagsString(0), "");
  EXPECT_EQ(TcpFlagsString(0x02), "S");
  EXPECT_EQ(TcpFlagsString(0x12), "SA");
  EXPECT_EQ(TcpFlagsString(0x19), "FPA");
  EXPECT_EQ(TcpFlagsString(0x14), "RA");
  EXPECT_EQ(TcpFlagsString(0xff), "FSRPAUEC");
}

TEST(EventToJsonTest, SegmentSentWithOptions) {
  Event e;
  e.time = 1500;
  e.kind = EventKind::kSegmentSent;
  e.endpoint = Endpoint::kClient;
  e.session_id = 4;
  e.link_id = 2;
  e.send_reason = SendReason::kSyn;
  e.seg.seq = 1000;
  e.seg.ack = 0;
  e.seg.flags = 0x02;
  e.seg.window = 65535;
  e.seg.opt_mss = 1460;
  e.seg.opt_wscale = 7;
  e.seg.opt_sack_permitted = 1;
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 4000000000u;
  e.seg.window_bytes = 65535;  // never scaled in a SYN
  e.tcb = SampleTcb();
  e.tcb.state = TcpState::kSynSent;
  e.tcb.irs = 0;
  e.tcb.snd_wscale = 0;
  e.tcb.rcv_wscale = 0;
  e.tcb.ts_ok = false;
  e.tcb.sack_ok = false;
  e.tcb.ts_recent = 0;
  e.tcb.sacked_bytes = e.tcb.lost_bytes = e.tcb.retrans_bytes = 0;
  e.tcb.pipe = 0;
  e.tcb.cc_phase = CcPhase::kNone;
  e.tcb.pacing_rate = e.tcb.bandwidth_estimate = 0;
  e.tcb.min_rtt = 0;
  EXPECT_EQ(
      EventToJson(e),
      "{\"time_ns\":1500,\"kind\":\"segment_sent\",\"endpoint\":\"client\","
      "\"session_id\":4,\"link_id\":2,\"reason\":\"syn\",\"seq\":1000,"
      "\"ack\":0,\"rel_seq\":0,\"rel_ack\":0,\"flags\":\"S\",\"len\":0,"
      "\"window\":65535,\"window_bytes\":65535,\"ts_val\":4000000000,"
      "\"ts_ecr\":0,\"options\":{\"mss\":1460,\"wscale\":7,"
      "\"sack_permitted\":true,\"timestamp\":true},"
      "\"tcb\":{\"state\":\"SYN_SENT\",\"iss\":1000,\"irs\":0,"
      "\"snd_una\":1001,\"snd_nxt\":2461,\"snd_wnd\":65535,\"rcv_nxt\":5001,"
      "\"rcv_wnd\":131072,\"cwnd\":14600,\"ssthresh\":4294967295,"
      "\"bytes_in_flight\":1460,\"srtt_ns\":40000000,\"rttvar_ns\":20000000,"
      "\"rto_ns\":1000000000,\"snd_wscale\":0,\"rcv_wscale\":0,"
      "\"ts_ok\":false,\"sack_ok\":false,\"ts_recent\":0,"
      "\"sacked_bytes\":0,\"lost_bytes\":0,\"retrans_bytes\":0,"
      "\"pipe\":0,\"pacing_rate\":0,\"cc_phase\":\"none\","
      "\"bandwidth_estimate\":0,\"min_rtt_ns\":0,\"ecn_ok\":false}}");
}

TEST(EventToJsonTest, SegmentSentDataRelativeToIssAndIrs) {
  Event e;
  e.time = 2000000;
  e.kind = EventKind::kSegmentSent;
  e.send_reason = SendReason::kFullMss;
  e.seg.seq = 2461;
  e.seg.ack = 5001;
  e.seg.len = 1460;
  e.seg.window = 1024;
  e.seg.window_bytes = 1024 << 8;
  e.seg.flags = 0x18;
  e.tcb = SampleTcb();
  EXPECT_EQ(EventToJson(e),
            std::string("{\"time_ns\":2000000,\"kind\":\"segment_sent\","
                        "\"endpoint\":\"client\",\"session_id\":0,"
                        "\"link_id\":0,\"reason\":\"full_mss\",\"seq\":2461,"
                        "\"ack\":5001,\"rel_seq\":1461,\"rel_ack\":1,"
                        "\"flags\":\"PA\",\"len\":1460,\"window\":1024,"
                        "\"window_bytes\":262144,\"options\":{},") +
                kSampleTcbJson + "}");
}

TEST(EventToJsonTest, SegmentReceivedRelativeToReceiversIrsAndIss) {
  // The server received the client's segment: its irs is the client's iss.
  Event e;
  e.time = 7;
  e.kind = EventKind::kSegmentReceived;
  e.endpoint = Endpoint::kServer;
  e.disposition = Disposition::kOutOfOrder;
  e.seg.seq = 5000 + 2921;
  e.seg.ack = 1001;
  e.seg.len = 1460;
  e.seg.window = 502;
  e.seg.window_bytes = 502 << 7;
  e.seg.flags = 0x10;
  e.seg.opt_sack_blocks = 1;
  e.seg.sack_left[0] = 2461;  // our own bytes 1461-2921, iss 1000
  e.seg.sack_right[0] = 3921;
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 5;
  e.seg.ts_ecr = 77000;
  e.tcb = SampleTcb();
  EXPECT_EQ(EventToJson(e),
            std::string("{\"time_ns\":7,\"kind\":\"segment_received\","
                        "\"endpoint\":\"server\",\"session_id\":0,"
                        "\"link_id\":0,\"disposition\":\"out_of_order\","
                        "\"seq\":7921,\"ack\":1001,\"rel_seq\":2921,"
                        "\"rel_ack\":1,\"flags\":\"A\",\"len\":1460,"
                        "\"window\":502,\"window_bytes\":64256,"
                        "\"sack\":[[2461,3921]],\"rel_sack\":[[1461,2921]],"
                        "\"ts_val\":5,\"ts_ecr\":77000,"
                        "\"options\":{\"sack_blocks\":1,\"timestamp\":true},") +
                kSampleTcbJson + "}");
}

TEST(EventToJsonTest, RelativeNumbersWrap) {
  Event e;
  e.kind = EventKind::kSegmentSent;
  e.tcb.iss = 0xfffffff0u;
  e.tcb.irs = 0xffffffffu;
  e.seg.seq = 0x00000010u;
  e.seg.ack = 0x00000004u;
  e.seg.flags = 0x10;  // ACK
  const std::string json = EventToJson(e);
  EXPECT_NE(json.find("\"rel_seq\":32,\"rel_ack\":5,"), std::string::npos)
      << json;
}

// An ACK that reports three blocks of the peer's data: the first a D-SACK
// below the cumulative ACK, then two held out of order, one across the wrap.
TEST(EventToJsonTest, SentSackBlocksAreRelativeToIrs) {
  Event e;
  e.kind = EventKind::kSegmentSent;
  e.send_reason = SendReason::kAck;
  e.tcb = SampleTcb();
  e.tcb.irs = 0xfffff000u;
  e.seg.seq = 1001;
  e.seg.ack = 0xfffff000u + 2921;
  e.seg.flags = 0x10;
  e.seg.opt_sack_blocks = 3;
  e.seg.sack_left[0] = 0xfffff000u + 1461;
  e.seg.sack_right[0] = 0xfffff000u + 2921;
  e.seg.sack_left[1] = 0xfffff000u + 4381;
  e.seg.sack_right[1] = 0xfffff000u + 5841;
  e.seg.sack_left[2] = 0xfffff000u + 7301;
  e.seg.sack_right[2] = 0xfffff000u + 8761;
  e.seg.sack_left[3] = 1;  // past opt_sack_blocks: not written
  e.seg.sack_right[3] = 2;
  const std::string json = EventToJson(e);
  EXPECT_NE(json.find("\"sack\":[[4294964661,4294966121],[285,1745],"
                      "[3205,4665]],\"rel_sack\":[[1461,2921],[4381,5841],"
                      "[7301,8761]],\"options\":{\"sack_blocks\":3}"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("ts_val"), std::string::npos) << json;
}

TEST(EventToJsonTest, LinkEventSackBlocksAreAbsolute) {
  Event e;
  e.kind = EventKind::kSegmentDropped;
  e.drop_reason = DropReason::kLoss;
  e.seg.ack = 5001;
  e.seg.flags = 0x10;
  e.seg.window = 100;
  e.seg.window_bytes = 12800;
  e.seg.opt_sack_blocks = 1;
  e.seg.sack_left[0] = 6461;
  e.seg.sack_right[0] = 7921;
  e.seg.opt_timestamp = 1;
  e.seg.ts_val = 10;
  e.seg.ts_ecr = 9;
  EXPECT_EQ(EventToJson(e),
            "{\"time_ns\":0,\"kind\":\"segment_dropped\",\"endpoint\":"
            "\"client\",\"session_id\":0,\"link_id\":0,\"reason\":\"loss\","
            "\"seq\":0,\"ack\":5001,\"flags\":\"A\",\"len\":0,"
            "\"window\":100,\"window_bytes\":12800,\"sack\":[[6461,7921]],"
            "\"ts_val\":10,\"ts_ecr\":9,\"options\":{\"sack_blocks\":1,"
            "\"timestamp\":true}}");
}

// A received SYN carries the peer's ISN (irs is not known yet), and a segment
// without ACK has no acknowledgement to make relative.
TEST(EventToJsonTest, ReceivedSynIsRelativeZero) {
  Event e;
  e.kind = EventKind::kSegmentReceived;
  e.tcb.iss = 1000;
  e.tcb.irs = 0;
  e.seg.seq = 777777;
  e.seg.ack = 0;
  e.seg.flags = 0x02;  // SYN
  std::string json = EventToJson(e);
  EXPECT_NE(json.find("\"rel_seq\":0,\"rel_ack\":0,"), std::string::npos)
      << json;
  e.seg.flags = 0x12;  // SYN-ACK
  e.seg.ack = 1001;
  json = EventToJson(e);
  EXPECT_NE(json.find("\"rel_seq\":0,\"rel_ack\":1,"), std::string::npos)
      << json;
}

TEST(EventToJsonTest, SegmentDroppedHasNoTcb) {
  Event e;
  e.time = 99;
  e.kind = EventKind::kSegmentDropped;
  e.endpoint = Endpoint::kServer;
  e.session_id = 1;
  e.link_id = 9;
  e.drop_reason = DropReason::kQueue;
  e.seg.seq = 42;
  e.seg.ack = 43;
  e.seg.len = 100;
  e.seg.window = 10;
  e.seg.flags = 0x11;
  e.tcb = SampleTcb();  // ignored for link events
  EXPECT_EQ(EventToJson(e),
            "{\"time_ns\":99,\"kind\":\"segment_dropped\",\"endpoint\":"
            "\"server\",\"session_id\":1,\"link_id\":9,\"reason\":\"queue\","
            "\"seq\":42,\"ack\":43,\"flags\":\"FA\",\"len\":100,"
            "\"window\":10,\"window_bytes\":0,\"options\":{}}");
}

TEST(EventToJsonTest, SegmentMangled) {
  Event e;
  e.kind = EventKind::kSegmentMangled;
  e.mangle = MangleKind::kCorrupt;
  EXPECT_EQ(EventToJson(e),
            "{\"time_ns\":0,\"kind\":\"segment_mangled\",\"endpoint\":"
            "\"client\",\"session_id\":0,\"link_id\":0,\"mangle\":\"corrupt\","
            "\"seq\":0,\"ack\":0,\"flags\":\"\",\"len\":0,\"window\":0,"
            "\"window_bytes\":0,\"options\":{}}");
}

TEST(EventToJsonTest, StateChanged) {
  Event e;
  e.time = 3;
  e.kind = EventKind::kStateChanged;
  e.old_state = TcpState::kFinWait2;
  e.new_state = TcpState::kTimeWait;
  e.tcb = SampleTcb();
  EXPECT_EQ(EventToJson(e),
            std::string("{\"time_ns\":3,\"kind\":\"state_changed\","
                        "\"endpoint\":\"client\",\"session_id\":0,"
                        "\"link_id\":0,\"old_state\":\"FIN_WAIT_2\","
                        "\"new_state\":\"TIME_WAIT\",") +
                kSampleTcbJson + "}");
}

TEST(EventToJsonTest, KindSpecificNumbers) {
  Event e;
  e.tcb = SampleTcb();
  const std::string tail = std::string(",") + kSampleTcbJson + "}";
  const std::string head =
      "\"endpoint\":\"client\",\"session_id\":0,\"link_id\":0,";

  e.kind = EventKind::kAppWrite;
  e.a = 100000;
  e.b = 65536;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"app_write\"," + head +
                                "\"requested\":100000,\"accepted\":65536" +
                                tail);

  e.kind = EventKind::kAppRead;
  e.a = 4096;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"app_read\"," + head +
                                "\"bytes\":4096" + tail);

  e.kind = EventKind::kRttSample;
  e.a = 41000000;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"rtt_sample\"," + head +
                                "\"rtt_ns\":41000000" + tail);

  e.kind = EventKind::kCwndChanged;
  e.a = 14600;
  e.b = 7300;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"cwnd_changed\"," + head +
                                "\"old_cwnd\":14600,\"new_cwnd\":7300" + tail);

  e.kind = EventKind::kTimerArmed;
  e.timer = TimerKind::kRto;
  e.a = 1200000000;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"timer_armed\"," + head +
                                "\"timer\":\"rto\",\"deadline_ns\":1200000000" +
                                tail);

  e.kind = EventKind::kTimerFired;
  e.timer = TimerKind::kPersist;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"timer_fired\"," + head +
                                "\"timer\":\"persist\"" + tail);
  e.timer = TimerKind::kReorder;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"timer_fired\"," + head +
                                "\"timer\":\"reorder\"" + tail);
  e.timer = TimerKind::kTlp;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"timer_fired\"," + head +
                                "\"timer\":\"tlp\"" + tail);

  e.kind = EventKind::kConnectionError;
  e.error = ErrorCode::kTimedOut;
  EXPECT_EQ(EventToJson(e), "{\"time_ns\":0,\"kind\":\"connection_error\"," +
                                head + "\"error\":\"timed_out\"" + tail);

  e.kind = EventKind::kSessionDestroyed;
  EXPECT_EQ(EventToJson(e),
            "{\"time_ns\":0,\"kind\":\"session_destroyed\",\"endpoint\":"
            "\"client\",\"session_id\":0,\"link_id\":0}");
}

TEST(EventToJsonTest, NegativeTimeAndAppend) {
  Event e;
  e.time = -5;
  e.kind = EventKind::kSessionDestroyed;
  std::string out = "x";
  AppendEventJson(e, &out);
  EXPECT_EQ(out,
            "x{\"time_ns\":-5,\"kind\":\"session_destroyed\",\"endpoint\":"
            "\"client\",\"session_id\":0,\"link_id\":0}");
}

std::string ReadAll(FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

TEST(JsonlWriterTest, OneLinePerEventAfterFlush) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Event e;
  e.kind = EventKind::kSessionDestroyed;
  {
    JsonlWriter w(f);
    e.time = 1;
    w.OnEvent(e);
    e.time = 2;
    w.OnEvent(e);
    // Small events stay in the writer's buffer until a flush.
    std::fflush(f);
    EXPECT_EQ(ReadAll(f), "");
    std::fseek(f, 0, SEEK_END);
    ASSERT_TRUE(w.Flush().ok());
    EXPECT_EQ(w.events_written(), 2u);
  }
  e.time = 1;
  std::string expected = EventToJson(e) + "\n";
  e.time = 2;
  expected += EventToJson(e) + "\n";
  EXPECT_EQ(ReadAll(f), expected);
  std::fclose(f);
}

TEST(JsonlWriterTest, SmallBufferWritesAsItGoesAndDestructorFlushes) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Event e;
  e.kind = EventKind::kSegmentSent;
  std::string expected;
  {
    JsonlWriter w(f, /*buffer_bytes=*/1);
    for (int i = 0; i < 100; ++i) {
      e.time = i;
      w.OnEvent(e);
      expected += EventToJson(e) + "\n";
    }
    EXPECT_TRUE(w.status().ok());
  }
  EXPECT_EQ(ReadAll(f), expected);
  std::fclose(f);
}

TEST(JsonlWriterTest, OpenFailsWithPathInMessage) {
  auto w = JsonlWriter::Open("/nonexistent-dir/events.jsonl");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("/nonexistent-dir/events.jsonl"),
            std::string::npos);
}

TEST(JsonlWriterTest, OpenWritesFile) {
  const std::string path =
      ::testing::TempDir() + "/jsonl_writer_test_events.jsonl";
  Event e;
  e.kind = EventKind::kSessionDestroyed;
  {
    auto w = JsonlWriter::Open(path);
    ASSERT_TRUE(w.ok()) << w.status();
    (*w)->OnEvent(e);
  }
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(ReadAll(f), EventToJson(e) + "\n");
  std::fclose(f);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tcpemu
