// Names of the event enums: lower_snake_case for kinds and causes, RFC 9293
// upper-case names for TCP states. These strings are part of the JSON and
// metrics output, so they change only with the API.
#include "engine/base/event.h"

namespace tcpemu {

std::string_view ToString(EventKind k) {
  switch (k) {
    case EventKind::kSegmentSent:
      return "segment_sent";
    case EventKind::kSegmentReceived:
      return "segment_received";
    case EventKind::kSegmentDropped:
      return "segment_dropped";
    case EventKind::kSegmentMangled:
      return "segment_mangled";
    case EventKind::kStateChanged:
      return "state_changed";
    case EventKind::kTimerArmed:
      return "timer_armed";
    case EventKind::kTimerFired:
      return "timer_fired";
    case EventKind::kAppWrite:
      return "app_write";
    case EventKind::kAppRead:
      return "app_read";
    case EventKind::kRttSample:
      return "rtt_sample";
    case EventKind::kCwndChanged:
      return "cwnd_changed";
    case EventKind::kConnectionError:
      return "connection_error";
    case EventKind::kSessionDestroyed:
      return "session_destroyed";
    case EventKind::kSessionAccepted:
      return "session_accepted";
    case EventKind::kClockBehind:
      return "clock_behind";
    case EventKind::kClockCaughtUp:
      return "clock_caught_up";
    case EventKind::kLinkChanged:
      return "link_changed";
    case EventKind::kQueueSample:
      return "queue_sample";
  }
  return "unknown";
}

std::string_view ToString(SendReason r) {
  switch (r) {
    case SendReason::kNone:
      return "none";
    case SendReason::kFullMss:
      return "full_mss";
    case SendReason::kNagleRelease:
      return "nagle_release";
    case SendReason::kNodelay:
      return "nodelay";
    case SendReason::kCorkTimer:
      return "cork_timer";
    case SendReason::kPush:
      return "push";
    case SendReason::kRetransmitRto:
      return "retransmit_rto";
    case SendReason::kRetransmitFast:
      return "retransmit_fast";
    case SendReason::kWindowProbe:
      return "window_probe";
    case SendReason::kWindowLimited:
      return "window_limited";
    case SendReason::kDelayedAck:
      return "delayed_ack";
    case SendReason::kWindowUpdate:
      return "window_update";
    case SendReason::kAck:
      return "ack";
    case SendReason::kSyn:
      return "syn";
    case SendReason::kSynAck:
      return "syn_ack";
    case SendReason::kFin:
      return "fin";
    case SendReason::kRst:
      return "rst";
    case SendReason::kChallengeAck:
      return "challenge_ack";
    case SendReason::kLimitedTransmit:
      return "limited_transmit";
    case SendReason::kSynCookie:
      return "syn_cookie";
    case SendReason::kKeepalive:
      return "keepalive";
    case SendReason::kTailLossProbe:
      return "tail_loss_probe";
  }
  return "unknown";
}

std::string_view ToString(Disposition d) {
  switch (d) {
    case Disposition::kNone:
      return "none";
    case Disposition::kInOrder:
      return "in_order";
    case Disposition::kOutOfOrder:
      return "out_of_order";
    case Disposition::kDuplicate:
      return "duplicate";
    case Disposition::kBadChecksum:
      return "bad_checksum";
    case Disposition::kPaws:
      return "paws";
    case Disposition::kSynCookie:
      return "syn_cookie";
    case Disposition::kAckInvalid:
      return "ack_invalid";
    case Disposition::kOutsideWindow:
      return "outside_window";
    case Disposition::kMalformed:
      return "malformed";
    case Disposition::kNoConnection:
      return "no_connection";
    case Disposition::kRstInvalid:
      return "rst_invalid";
  }
  return "unknown";
}

std::string_view ToString(DropReason r) {
  switch (r) {
    case DropReason::kNone:
      return "none";
    case DropReason::kLoss:
      return "loss";
    case DropReason::kQueue:
      return "queue";
    case DropReason::kFault:
      return "fault";
    case DropReason::kMtu:
      return "mtu";
    case DropReason::kAqm:
      return "aqm";
  }
  return "unknown";
}

std::string_view ToString(MangleKind m) {
  switch (m) {
    case MangleKind::kNone:
      return "none";
    case MangleKind::kDuplicate:
      return "duplicate";
    case MangleKind::kCorrupt:
      return "corrupt";
    case MangleKind::kReorder:
      return "reorder";
    case MangleKind::kDelay:
      return "delay";
    case MangleKind::kCeMark:
      return "ce_mark";
  }
  return "unknown";
}

std::string_view ToString(TimerKind t) {
  switch (t) {
    case TimerKind::kNone:
      return "none";
    case TimerKind::kRto:
      return "rto";
    case TimerKind::kPersist:
      return "persist";
    case TimerKind::kDelayedAck:
      return "delayed_ack";
    case TimerKind::kCork:
      return "cork";
    case TimerKind::kTimeWait:
      return "time_wait";
    case TimerKind::kKeepalive:
      return "keepalive";
    case TimerKind::kReorder:
      return "reorder";
    case TimerKind::kTlp:
      return "tlp";
    case TimerKind::kPacing:
      return "pacing";
  }
  return "unknown";
}

std::string_view ToString(CcPhase p) {
  switch (p) {
    case CcPhase::kNone:
      return "none";
    case CcPhase::kSlowStart:
      return "slow_start";
    case CcPhase::kCongestionAvoidance:
      return "congestion_avoidance";
    case CcPhase::kRecovery:
      return "recovery";
    case CcPhase::kStartup:
      return "startup";
    case CcPhase::kDrain:
      return "drain";
    case CcPhase::kProbeBw:
      return "probe_bw";
    case CcPhase::kProbeRtt:
      return "probe_rtt";
  }
  return "unknown";
}

std::string_view ToString(TcpState s) {
  switch (s) {
    case TcpState::kClosed:
      return "CLOSED";
    case TcpState::kListen:
      return "LISTEN";
    case TcpState::kSynSent:
      return "SYN_SENT";
    case TcpState::kSynReceived:
      return "SYN_RECEIVED";
    case TcpState::kEstablished:
      return "ESTABLISHED";
    case TcpState::kFinWait1:
      return "FIN_WAIT_1";
    case TcpState::kFinWait2:
      return "FIN_WAIT_2";
    case TcpState::kCloseWait:
      return "CLOSE_WAIT";
    case TcpState::kClosing:
      return "CLOSING";
    case TcpState::kLastAck:
      return "LAST_ACK";
    case TcpState::kTimeWait:
      return "TIME_WAIT";
  }
  return "unknown";
}

std::string_view ToString(Endpoint e) {
  switch (e) {
    case Endpoint::kClient:
      return "client";
    case Endpoint::kServer:
      return "server";
  }
  return "unknown";
}

std::string_view ToString(ErrorCode e) {
  switch (e) {
    case ErrorCode::kNone:
      return "none";
    case ErrorCode::kTimedOut:
      return "timed_out";
    case ErrorCode::kReset:
      return "reset";
    case ErrorCode::kRefused:
      return "refused";
    case ErrorCode::kAborted:
      return "aborted";
  }
  return "unknown";
}

}  // namespace tcpemu
