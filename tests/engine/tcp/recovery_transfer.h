// Loss-recovery transfers for the tests of ack_processing.cc and rack.cc:
// two engine connections across a link with a 100 ms round trip, where fault
// rules drop chosen data segments of one flight.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/base/event.h"
#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu::recovery_test {

constexpr DurationNs kOneWay = 50 * kMillisecond;
constexpr uint64_t kBytes = 400'000;

class RetransmissionLog final : public EventSink {
 public:
  void OnEvent(const Event& e) override {
    if (e.endpoint != Endpoint::kClient) return;
    if (!in_recovery.has_value() && e.tcb.lost_bytes > 0) in_recovery = e.tcb;
    if (e.kind == EventKind::kSegmentSent &&
        e.send_reason == SendReason::kSyn) {
      iss = e.seg.seq;
    }
    if (e.kind == EventKind::kSegmentSent &&
        (e.send_reason == SendReason::kRetransmitFast ||
         e.send_reason == SendReason::kRetransmitRto ||
         e.send_reason == SendReason::kTailLossProbe)) {
      retransmissions.push_back(e);
    }
  }
  std::vector<Event> retransmissions;
  std::optional<TcbSnapshot> in_recovery;
  std::optional<uint32_t> iss;
};

struct Outcome {
  ConnectionCounters client;
  TimeNs done_at = -1;  // when the server had read every byte
  bool intact = false;
  std::vector<Event> retransmissions;
  // The client's TCB when the scoreboard first held a lost segment.
  TcbSnapshot tcb_in_recovery;
};

// Sends kBytes in one burst (a 60-segment initial window: the whole first
// flight) and drops the payload segments numbered in `drops` (1-based). With
// `twice` set, the segment at that position in the byte stream is instead
// dropped on its first two transmissions.
inline Outcome Transfer(bool sack, const std::vector<uint32_t>& drops,
                        std::optional<uint32_t> twice = std::nullopt,
                        bool rack = false, bool drop_last = false) {
  RetransmissionLog log;
  Network net(7, &log, Network::Limits());
  PathSpec path;
  path.delay = kOneWay;
  path.queue_limit_packets = 0;
  absl::StatusOr<uint32_t> link = net.CreateLink(path, path);
  EXPECT_TRUE(link.ok()) << link.status();
  for (uint32_t nth : drops) {
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.nth = nth;
    rule.count = 1;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  SessionSpec spec;
  spec.link_id = *link;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->sack = sack;
    c->rack = rack;
    c->initial_window = 60;
    c->send_buffer = 1 << 20;
    c->recv_buffer = 1 << 20;
  }
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  EXPECT_TRUE(net.SetSource(*sid, Endpoint::kClient, kBytes, true).ok());
  if (twice.has_value()) {
    net.RunUntil(kMillisecond);  // the SYN is out: the ISS is known
    EXPECT_TRUE(log.iss.has_value());
    const uint32_t mss = spec.client.mss() - 12;  // with timestamps
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.has_seq_range = true;
    rule.match.seq_lo = Seq(*log.iss + 1) + int64_t{*twice - 1} * mss;
    rule.match.seq_hi = rule.match.seq_lo + 1;
    rule.count = 2;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  if (drop_last) {
    net.RunUntil(kMillisecond);
    EXPECT_TRUE(log.iss.has_value());
    FaultRule rule;
    rule.match.payload_only = true;
    rule.match.has_seq_range = true;
    rule.match.seq_lo = Seq(*log.iss) + int64_t{kBytes};  // the last byte
    rule.match.seq_hi = rule.match.seq_lo + 1;
    rule.count = 1;
    EXPECT_TRUE(net.AddFault(*link, Direction::kForward, rule).ok());
  }
  Outcome out;
  for (TimeNs t = kMillisecond; t <= 20 * kSecond; t += kMillisecond) {
    net.RunUntil(t);
    const SessionInfo info = *net.GetSession(*sid);
    if (info.server.counters.bytes_read == kBytes) {
      out.done_at = t;
      out.client = info.client.counters;
      out.intact = info.client.write_digest == info.server.read_digest;
      break;
    }
  }
  out.retransmissions = log.retransmissions;
  if (log.in_recovery.has_value()) out.tcb_in_recovery = *log.in_recovery;
  return out;
}

}  // namespace tcpemu::recovery_test
