// Fixed-size event records: everything the engine does that a user can watch
// (docs/tcp.md, the "where to see it" column). Records are plain data; they
// become JSON or protobuf only at the edge. The vocabulary of every layer, so
// it lives in engine/base.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/base/time.h"

namespace tcpemu {

enum class EventKind : uint8_t {
  kSegmentSent,
  kSegmentReceived,
  kSegmentDropped,  // by a link (reason in `drop_reason`)
  kSegmentMangled,  // a link duplicated, corrupted or reordered a segment
  kStateChanged,
  kTimerArmed,
  kTimerFired,
  kAppWrite,
  kAppRead,
  kRttSample,
  kCwndChanged,
  kConnectionError,
  kSessionDestroyed,
  // A listener accepted a connection from a host (a = its IPv4 address).
  kSessionAccepted,
  // A REALTIME network fell behind wall time: its earliest due deadline was
  // a (ns) in the past when its shard came to it. No session.
  kClockBehind,
  // ... and caught up again: a = the largest lag seen (ns), b = how long it
  // was behind (ns).
  kClockCaughtUp,
  // A link direction's schedule changed its values (endpoint = the sending
  // side): a = rate in bit/s, b = delay in ns. No session.
  kLinkChanged,
  // A link direction's bottleneck queue, sampled when the wire takes a
  // packet: a = bytes waiting, b = that packet's sojourn time in ns.
  kQueueSample,
};

enum class SendReason : uint8_t {
  kNone,
  kFullMss,
  kNagleRelease,
  kNodelay,
  kCorkTimer,
  kPush,
  kRetransmitRto,
  kRetransmitFast,
  kWindowProbe,
  kWindowLimited,  // a partial segment the peer's window cut short
  kDelayedAck,
  kWindowUpdate,
  kAck,  // an immediate ACK (out-of-order data, handshake, quick ack)
  kSyn,
  kSynAck,
  kFin,
  kRst,
  kChallengeAck,
  kKeepalive,
  kLimitedTransmit,  // new data on the 1st or 2nd duplicate ACK (RFC 3042)
  kSynCookie,        // a stateless SYN-ACK from a listener's full backlog
  kTailLossProbe,    // RFC 8985 7: a probe at the end of a flight
};

enum class Disposition : uint8_t {
  kNone,
  kInOrder,
  kOutOfOrder,
  kDuplicate,
  kBadChecksum,
  kOutsideWindow,
  kMalformed,
  kNoConnection,  // nothing listens: answered with RST
  kRstInvalid,    // an RST that failed RFC 5961 validation
  kAckInvalid,    // an ACK outside RFC 5961 5.2's range: dropped, text too
  kSynCookie,     // a SYN over a full backlog, answered with a SYN cookie
  kPaws,          // an old timestamp: an old duplicate (RFC 7323 5.3)
};

enum class DropReason : uint8_t {
  kNone,
  kLoss,   // random or Gilbert-Elliott loss model
  kQueue,  // drop-tail queue full
  kFault,  // a fault rule
  kMtu,    // larger than the path MTU
  kAqm,    // the queue management (RED, CoDel, FQ-CoDel)
};

enum class MangleKind : uint8_t {
  kNone,
  kDuplicate,
  kCorrupt,
  kReorder,
  kDelay,
  kCeMark,  // the queue management set CE instead of dropping
};

enum class TimerKind : uint8_t {
  kNone,
  kRto,
  kPersist,
  kDelayedAck,
  kCork,
  kTimeWait,
  kKeepalive,
  kReorder,  // RFC 8985 6.2: RACK's reordering window
  kTlp,      // RFC 8985 7.2: the probe timeout (PTO)
  kPacing,   // the next paced transmission
};

enum class TcpState : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};

enum class Endpoint : uint8_t { kClient = 0, kServer = 1 };

enum class ErrorCode : uint8_t {
  kNone,
  kTimedOut,  // ETIMEDOUT: retransmissions exhausted
  kReset,     // ECONNRESET: peer sent RST in a synchronized state
  kRefused,   // ECONNREFUSED: RST in answer to our SYN
  kAborted,   // local abort
};

// The TCB fields every segment event carries (RFC 9293 3.3.1 names).
// The phase of congestion control: the window-based algorithms' (RFC 5681)
// or BBR's.
enum class CcPhase : uint8_t {
  kNone,  // not synchronized
  kSlowStart,
  kCongestionAvoidance,
  kRecovery,
  kStartup,
  kDrain,
  kProbeBw,
  kProbeRtt,
};
std::string_view ToString(CcPhase p);

struct TcbSnapshot {
  TcpState state = TcpState::kClosed;
  uint32_t iss = 0, irs = 0;
  uint32_t snd_una = 0, snd_nxt = 0, snd_wnd = 0;
  uint32_t rcv_nxt = 0, rcv_wnd = 0;
  uint32_t cwnd = 0, ssthresh = 0;
  uint32_t bytes_in_flight = 0;
  DurationNs srtt = 0, rttvar = 0, rto = 0;
  // Negotiated in the handshake: window scale shifts (RFC 7323 2; 0 when
  // not in use), timestamps (Snd.TS.OK, RFC 7323 3) and SACK (RFC 2018).
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool ts_ok = false, sack_ok = false;
  CcPhase cc_phase = CcPhase::kNone;  // see below
  uint32_t ts_recent = 0;             // TS.Recent, the timestamp to echo
  // The sender's scoreboard (RFC 6675), in bytes between SND.UNA and
  // SND.MAX: selectively acknowledged, deemed lost, retransmitted and not yet
  // acknowledged; and "pipe", the sender's estimate of bytes in the network.
  uint32_t sacked_bytes = 0, lost_bytes = 0, retrans_bytes = 0;
  uint32_t pipe = 0;
  // Congestion control: the rate segments are paced at (bytes/s, 0 when
  // not pacing), its phase (cc_phase above), and the algorithm's
  // bottleneck-rate (bytes/s) and base-RTT estimates (0 where it keeps
  // none). Not part of the trace digest.
  uint64_t pacing_rate = 0;
  uint64_t bandwidth_estimate = 0;
  DurationNs min_rtt = 0;
  // ECN (RFC 3168) negotiated in the handshake. Not part of the trace
  // digest.
  bool ecn_ok = false;
};

// Header fields of one segment.
struct SegmentInfo {
  uint32_t seq = 0, ack = 0;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t len = 0;     // payload bytes
  uint16_t window = 0;  // raw window field
  uint8_t flags = 0;
  uint16_t opt_mss = 0;       // 0 = absent
  uint8_t opt_wscale = 0xff;  // 0xff = absent
  uint8_t opt_sack_permitted = 0;
  uint8_t opt_sack_blocks = 0;
  uint8_t opt_timestamp = 0;
  // The SACK blocks, [left, right) in absolute sequence numbers, the first
  // opt_sack_blocks of them used.
  uint32_t sack_left[4] = {0, 0, 0, 0};
  uint32_t sack_right[4] = {0, 0, 0, 0};
  uint32_t ts_val = 0, ts_ecr = 0;  // when opt_timestamp
  // The window in bytes: the raw field shifted by the scale in use for its
  // direction (never in a SYN, RFC 7323 2.2).
  uint32_t window_bytes = 0;
};

struct Event {
  TimeNs time = 0;
  EventKind kind = EventKind::kSegmentSent;
  Endpoint endpoint = Endpoint::kClient;  // for link events: the sender side
  uint32_t session_id = 0;
  uint32_t link_id = 0;

  SendReason send_reason = SendReason::kNone;
  Disposition disposition = Disposition::kNone;
  DropReason drop_reason = DropReason::kNone;
  MangleKind mangle = MangleKind::kNone;
  TimerKind timer = TimerKind::kNone;
  ErrorCode error = ErrorCode::kNone;
  TcpState old_state = TcpState::kClosed;  // kStateChanged
  TcpState new_state = TcpState::kClosed;  // kStateChanged

  // Kind-specific numbers: kAppWrite (requested, accepted), kAppRead (bytes,
  // 0), kRttSample (rtt ns, 0), kCwndChanged (old, new), kTimerArmed
  // (deadline ns, 0).
  int64_t a = 0;
  int64_t b = 0;

  SegmentInfo seg;  // segment events
  // The endpoint's TCB: for kSegmentReceived as the segment arrived (before
  // it is processed, so the consequences follow as their own events); for
  // every other endpoint event, after it.
  TcbSnapshot tcb;
};

// Bases that make a segment event's seq and ack relative (0 = the sender's
// ISN): a sent segment counts from this endpoint's iss and acknowledges from
// its irs; a received one the other way round. A received SYN carries the
// peer's ISN itself (irs is not known yet when the event is taken), and a
// segment without ACK has no meaningful ack.
struct RelativeBases {
  uint32_t seq = 0;
  uint32_t ack = 0;
};
inline RelativeBases RelativeBasesOf(const Event& e) {
  constexpr uint8_t kSynFlag = 0x02, kAckFlag = 0x10;
  RelativeBases b;
  if (e.kind == EventKind::kSegmentSent) {
    b = {e.tcb.iss, e.tcb.irs};
  } else {
    b = {(e.seg.flags & kSynFlag) ? e.seg.seq : e.tcb.irs, e.tcb.iss};
  }
  if ((e.seg.flags & kAckFlag) == 0) b.ack = e.seg.ack;
  return b;
}

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const Event& e) = 0;
};

std::string_view ToString(EventKind k);
std::string_view ToString(SendReason r);
std::string_view ToString(Disposition d);
std::string_view ToString(DropReason r);
std::string_view ToString(MangleKind m);
std::string_view ToString(TimerKind t);
std::string_view ToString(TcpState s);
std::string_view ToString(Endpoint e);
std::string_view ToString(ErrorCode e);

}  // namespace tcpemu
