// The TCP connection: its state machine and the dispatch of each arriving
// segment (RFC 9293 3.10.7: sequence and RST/SYN/ACK checks with RFC 5961's
// challenge ACKs, PAWS, then the ACK, text and FIN), close and abort, and
// its events and snapshot. The sender (sender.cc, ack_processing.cc,
// rack.cc), the receiver (receiver.cc), the handshake (handshake.cc) and the
// timers (timers.cc) are Connection's other parts.
#include "engine/tcp/connection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

uint32_t SegLen(const TcpHeader& h, uint32_t len) {
  return len + (h.has(kSyn) ? 1 : 0) + (h.has(kFin) ? 1 : 0);
}

}  // namespace

std::optional<TcpHeader> ResetForUnmatched(const TcpHeader& h, uint32_t len) {
  if (h.has(kRst)) return std::nullopt;
  TcpHeader r;
  r.src_port = h.dst_port;
  r.dst_port = h.src_port;
  if (h.has(kAck)) {
    r.seq = h.ack;
    r.flags = kRst;
  } else {
    r.seq = Seq(0);
    r.ack = h.seq + SegLen(h, len);
    r.flags = kRst | kAck;
  }
  return r;
}

Connection::Connection(const TcpConfig& config, const FourTuple& tuple, Seq iss,
                       const Context& context)
    : config_(config),
      tuple_(tuple),
      ctx_(context),
      iss_(iss),
      snd_una_(iss),
      snd_nxt_(iss),
      snd_max_(iss),
      // A per-connection offset for the timestamp clock (RFC 7323 5.4),
      // from the ISS, itself unpredictable (RFC 6528).
      ts_(iss.value() * 2654435761u),
      snd_buf_(config.send_buffer),
      rtt_(config.rto_initial, config.rto_min, config.rto_max),
      ecn_(config.ecn),
      cc_(MakeCongestionControl(config, config.mss(), iss.value())),
      recover_(iss) {
  deadlines_.fill(kNever);
  if (config_.window_scaling && config_.window_scale >= 0) {
    offered_wscale_ = static_cast<uint8_t>(config_.window_scale);
  } else if (config_.window_scaling) {
    while (offered_wscale_ < 14 &&
           (config_.recv_buffer >> offered_wscale_) > 65535) {
      ++offered_wscale_;
    }
  }
}

Connection::~Connection() = default;

bool Connection::Synchronized() const {
  return state_ != TcpState::kClosed && state_ != TcpState::kListen &&
         state_ != TcpState::kSynSent;
}

Event Connection::MakeEvent(TimeNs now, EventKind kind) const {
  Event e;
  e.time = now;
  e.kind = kind;
  e.endpoint = ctx_.endpoint;
  e.session_id = ctx_.session_id;
  e.link_id = ctx_.link_id;
  e.tcb = Snapshot();
  return e;
}

void Connection::EmitSegment(TimeNs now, EventKind kind, const TcpHeader& h,
                             uint32_t len, SendReason reason, Disposition d) {
  if (ctx_.events == nullptr) return;
  Event e = MakeEvent(now, kind);
  e.send_reason = reason;
  e.disposition = d;
  e.seg.seq = h.seq.value();
  e.seg.ack = h.ack.value();
  e.seg.src_port = h.src_port;
  e.seg.dst_port = h.dst_port;
  e.seg.len = len;
  e.seg.window = h.window;
  e.seg.flags = h.flags;
  e.seg.opt_mss = h.options.mss.value_or(0);
  e.seg.opt_wscale = h.options.window_scale.value_or(0xff);
  e.seg.opt_sack_permitted = h.options.sack_permitted;
  e.seg.opt_sack_blocks = h.options.sack_count;
  e.seg.opt_timestamp = h.options.timestamp.has_value();
  for (uint8_t i = 0; i < h.options.sack_count && i < 4; ++i) {
    e.seg.sack_left[i] = h.options.sack[i].left.value();
    e.seg.sack_right[i] = h.options.sack[i].right.value();
  }
  if (h.options.timestamp.has_value()) {
    e.seg.ts_val = h.options.timestamp->value;
    e.seg.ts_ecr = h.options.timestamp->echo_reply;
  }
  const uint8_t shift =
      h.has(kSyn)
          ? 0
          : (kind == EventKind::kSegmentSent ? rcv_wscale_ : snd_wscale_);
  e.seg.window_bytes = static_cast<uint32_t>(h.window) << shift;
  Emit(e);
}

TcbSnapshot Connection::Snapshot() const {
  TcbSnapshot t;
  t.state = state_;
  t.iss = iss_.value();
  t.irs = irs_.value();
  t.snd_una = snd_una_.value();
  t.snd_nxt = snd_nxt_.value();
  t.snd_wnd = snd_wnd_;
  t.rcv_nxt = rcv_nxt_.value();
  t.rcv_wnd =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  t.cwnd = Cwnd();
  t.ssthresh = cc_->ssthresh();
  t.bytes_in_flight = static_cast<uint32_t>(snd_nxt_ - snd_una_);
  t.srtt = rtt_.srtt();
  t.rttvar = rtt_.rttvar();
  t.rto = rtt_.rto();
  t.snd_wscale = snd_wscale_;
  t.rcv_wscale = rcv_wscale_;
  t.ts_ok = ts_.ok();
  t.sack_ok = sack_ok_;
  t.ecn_ok = ecn_.ok();
  t.ts_recent = ts_.recent();
  if (sack_ok_) {  // the scoreboard's SACK state means nothing without
    t.sacked_bytes = scoreboard_.sacked_bytes();
    t.lost_bytes = scoreboard_.lost_bytes();
    t.retrans_bytes = scoreboard_.retrans_bytes();
  }
  t.pipe = Pipe();
  t.pacing_rate = PacingRate();
  const CcModel m = cc_->model();
  t.bandwidth_estimate = m.bandwidth;
  t.min_rtt = m.min_rtt > 0 ? m.min_rtt : min_rtt_;
  if (m.phase != CcPhase::kNone) {
    t.cc_phase = m.phase;
  } else if (in_recovery_) {
    t.cc_phase = CcPhase::kRecovery;
  } else if (Synchronized()) {
    t.cc_phase = Cwnd() < cc_->ssthresh() ? CcPhase::kSlowStart
                                          : CcPhase::kCongestionAvoidance;
  }
  return t;
}

void Connection::SetState(TimeNs now, TcpState s) {
  if (s == state_) return;
  TcpState old = state_;
  state_ = s;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kStateChanged);
    e.old_state = old;
    e.new_state = s;
    Emit(e);
  }
}

void Connection::NoteCwnd(TimeNs now, uint32_t before) {
  if (Cwnd() == before || ctx_.events == nullptr) return;
  Event e = MakeEvent(now, EventKind::kCwndChanged);
  e.a = before;
  e.b = Cwnd();
  Emit(e);
}

void Connection::EnterSynchronized(TimeNs now) {
  ecn_.Start(iss_ + 1);
  if (config_.flavor == StackFlavor::kFreeBsd && passive_) {
    RoundBuffersToMss(snd_mss_ + (ts_.ok() ? Timestamps::kOptionLen : 0));
  }
  if (retransmit_count_ > 0) {
    // The SYN or SYN-ACK was lost: RFC 6298 5.7 resets the RTO to 3 s for
    // data, and RFC 5681 3.1 limits the initial window to one segment.
    if (!rtt_.has_sample()) rtt_.ResetTo(3 * kSecond);
    uint32_t before = Cwnd();
    cc_->OnSynLoss();
    NoteCwnd(now, before);
  }
  retransmit_count_ = 0;
  if (config_.keepalive) {
    keepalive_probes_sent_ = 0;
    Arm(now, TimerKind::kKeepalive, now + config_.keepalive_idle);
  }
}

void Connection::ReturnToListen(TimeNs now) {
  deadlines_.fill(kNever);
  snd_buf_.Consume(snd_buf_.size());
  reassembly_ = Reassembly();
  scoreboard_.Clear();
  sack_recent_count_ = 0;
  dsack_.reset();
  rcv_queue_.Clear();
  fin_queued_ = false;
  push_pending_ = false;
  peer_fin_received_ = false;
  peer_fin_seq_.reset();
  rtt_timing_ = false;
  retransmit_count_ = 0;
  snd_una_ = snd_nxt_ = snd_max_ = iss_;
  snd_wnd_ = max_snd_wnd_ = 0;
  reno_.Reset();
  rate_ = DeliveryRate();
  pacing_next_ = 0;
  irs_ = rcv_nxt_ = rcv_adv_ = last_ack_sent_ = Seq();
  SetState(now, TcpState::kListen);
}

bool Connection::can_write() const {
  switch (state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      return !fin_queued_;
    default:
      return false;
  }
}

absl::Status Connection::Close(TimeNs now) {
  switch (state_) {
    case TcpState::kClosed:
      return absl::FailedPreconditionError("connection is closed");
    case TcpState::kListen:
      Finish(now);
      return absl::OkStatus();
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
      if (state_ == TcpState::kSynSent && snd_buf_.size() == 0) {
        Finish(now);
        return absl::OkStatus();
      }
      if (fin_queued_) {
        return absl::FailedPreconditionError("close already in progress");
      }
      // RFC 9293 3.10.4: queued data goes first, so the FIN waits for the
      // handshake to complete (FIN_WAIT_1 is entered then).
      fin_queued_ = true;
      fin_seq_ = data_end();
      push_pending_ = true;
      push_end_ = fin_seq_;
      return absl::OkStatus();
    case TcpState::kEstablished:
      fin_queued_ = true;
      fin_seq_ = data_end();
      SetState(now, TcpState::kFinWait1);
      break;
    case TcpState::kCloseWait:
      fin_queued_ = true;
      fin_seq_ = data_end();
      SetState(now, TcpState::kLastAck);
      break;
    default:
      return absl::FailedPreconditionError(absl::StrCat(
          "close already in progress (", std::string(ToString(state_)), ")"));
  }
  push_pending_ = true;
  push_end_ = fin_seq_;
  Output(now);
  return absl::OkStatus();
}

void Connection::Abort(TimeNs now) {
  if (state_ == TcpState::kClosed) return;
  Fail(now, ErrorCode::kAborted, true);
}

void Connection::Fail(TimeNs now, ErrorCode error, bool send_rst) {
  bool closing = state_ == TcpState::kClosing || state_ == TcpState::kLastAck ||
                 state_ == TcpState::kTimeWait;
  if (send_rst && Synchronized() && !closing) {
    SendRst(now, snd_max_, std::nullopt);
  }
  error_ = error;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kConnectionError);
    e.error = error;
    Emit(e);
  }
  Finish(now);
}

void Connection::Finish(TimeNs now) {
  deadlines_.fill(kNever);
  SetState(now, TcpState::kClosed);
  finished_ = true;
  // Buffers are released: a closed endpoint holds no payload memory.
  snd_buf_.Consume(snd_buf_.size());
  reassembly_ = Reassembly();
  scoreboard_.Clear();
}

void Connection::OnBadChecksum(TimeNs now, const TcpHeader& h, uint32_t len) {
  ++counters_.bad_checksum_segments;
  EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
              Disposition::kBadChecksum);
}

void Connection::OnSegment(TimeNs now, const TcpHeader& h_in,
                           const Payload& payload, Ecn ecn) {
  ++counters_.segments_received;
  uint32_t len = static_cast<uint32_t>(payload.size());
  if (config_.keepalive && Synchronized()) {
    keepalive_probes_sent_ = 0;
    Arm(now, TimerKind::kKeepalive, now + config_.keepalive_idle);
  }
  switch (state_) {
    case TcpState::kClosed:
      EmitSegment(now, EventKind::kSegmentReceived, h_in, len,
                  SendReason::kNone, Disposition::kNoConnection);
      if (auto rst = ResetForUnmatched(h_in, len)) {
        SendRst(now, rst->seq,
                rst->has(kAck) ? std::optional<Seq>(rst->ack) : std::nullopt);
      }
      return;
    case TcpState::kListen:
      OnSegmentListen(now, h_in);
      return;
    case TcpState::kSynSent:
      OnSegmentSynSent(now, h_in, payload);
      return;
    default:
      break;
  }

  TcpHeader h = h_in;
  Payload data = payload;
  // A retransmitted SYN (or SYN-ACK in a simultaneous open) at IRS: the SYN
  // was already taken, so trim it and process the rest (RFC 9293 3.10.7.4
  // trimming of already-received sequence space).
  if (state_ == TcpState::kSynReceived && h.has(kSyn) && h.seq == irs_) {
    h.flags &= static_cast<uint8_t>(~kSyn);
    h.seq += 1;
  }

  // PAWS (RFC 7323 5.3 R1), before the sequence number test: a segment
  // with an old timestamp is an old duplicate, answered with an ACK.
  if (ts_.Rejects(now, h)) {
    ++counters_.paws_rejected;
    EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
                Disposition::kPaws);
    SendAck(now, SendReason::kAck);
    return;
  }

  // First: the acceptability test (RFC 9293 3.10.7.4).
  uint32_t seg_len = SegLen(h, len);
  uint32_t rcv_wnd =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // FreeBSD judges by its free buffer once a socket exists; a passive open
  // in SYN-RECEIVED lives in the syncache, which has only the window it
  // advertised.
  if (config_.flavor == StackFlavor::kFreeBsd &&
      !(passive_ && state_ == TcpState::kSynReceived)) {
    rcv_wnd = std::max(rcv_wnd, FreeReceiveSpace());
  }
  bool acceptable;
  bool text_dropped = false;
  if (seg_len == 0) {
    acceptable = rcv_wnd == 0 ? h.seq == rcv_nxt_
                              : SeqInRange(h.seq, rcv_nxt_, rcv_nxt_ + rcv_wnd);
  } else if (rcv_wnd == 0) {
    acceptable = false;
  } else {
    Seq last = h.seq + static_cast<int64_t>(seg_len - 1);
    acceptable = SeqInRange(h.seq, rcv_nxt_, rcv_nxt_ + rcv_wnd) ||
                 SeqInRange(last, rcv_nxt_, rcv_nxt_ + rcv_wnd);
  }
  // A zero-length segment at RCV.NXT is acceptable even when the window is
  // closed, and ACKs of a closed window must get through.
  if (!acceptable && seg_len > 0 && rcv_wnd == 0 && h.seq == rcv_nxt_) {
    // Data beyond a zero window: process the ACK, drop the text.
    acceptable = true;
    data = Payload();
    len = 0;
    h.flags &= static_cast<uint8_t>(~kFin);
    ++counters_.outside_window_segments;
    text_dropped = true;
  }
  if (!acceptable) {
    bool old = h.seq + static_cast<int64_t>(seg_len) <= rcv_nxt_;
    Disposition d = old ? Disposition::kDuplicate : Disposition::kOutsideWindow;
    if (old) {
      ++counters_.duplicate_segments;
      if (len > 0) NoteDuplicate(h.seq, h.seq + static_cast<int64_t>(len));
    } else {
      ++counters_.outside_window_segments;
    }
    EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
                d);
    if (h.has(kSyn) && !h.has(kRst)) {
      // RFC 5961 4.2: a SYN, whatever its sequence number, gets a
      // (rate-limited) challenge ACK.
      SendChallengeAck(now);
    } else if (!h.has(kRst) && seg_len == 0 &&
               config_.invalid_ack_interval > 0 &&
               last_invalid_ack_.has_value() &&
               now - *last_invalid_ack_ < config_.invalid_ack_interval) {
      ++counters_.invalid_acks_suppressed;
    } else if (!h.has(kRst)) {
      if (seg_len == 0) last_invalid_ack_ = now;
      SendAck(now, SendReason::kAck);
      if (state_ == TcpState::kTimeWait && h.has(kFin)) {
        // A retransmitted FIN: our last ACK was lost; restart 2*MSL.
        Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      }
    }
    return;
  }

  // The segment is acceptable: its timestamp may become TS.Recent.
  ts_.Update(now, h, last_ack_sent_);

  // Second: RST (RFC 5961 3.2: exact match resets, in-window challenges;
  // without RFC 5961, anywhere in the window resets).
  if (h.has(kRst)) {
    if (h.seq == rcv_nxt_ || !config_.rfc5961_rst) {
      EmitSegment(now, EventKind::kSegmentReceived, h_in, len,
                  SendReason::kNone, Disposition::kInOrder);
      if (state_ == TcpState::kSynReceived && passive_) {
        // RFC 9293 3.10.7.4: a passive open returns to LISTEN.
        ReturnToListen(now);
        return;
      }
      ErrorCode code = state_ == TcpState::kSynReceived ? ErrorCode::kRefused
                                                        : ErrorCode::kReset;
      // In CLOSING and LAST-ACK the application may still hold the socket
      // (it shut down only its sending side): it learns of the reset, as
      // from Linux and FreeBSD. TIME-WAIT has nobody left to tell.
      bool quiet = state_ == TcpState::kTimeWait;
      if (quiet) {
        Finish(now);
      } else {
        Fail(now, code, false);
      }
    } else {
      EmitSegment(now, EventKind::kSegmentReceived, h_in, len,
                  SendReason::kNone, Disposition::kRstInvalid);
      SendChallengeAck(now);
    }
    return;
  }

  // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 4);
  // without RFC 5961 one in the window is an error: RST, and the connection
  // is reset (RFC 793 p. 71).
  if (h.has(kSyn)) {
    EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
                Disposition::kOutsideWindow);
    if (!config_.rfc5961_syn) {
      SendRst(now, snd_nxt_, rcv_nxt_);
      Fail(now, ErrorCode::kReset, false);
      return;
    }
    SendChallengeAck(now);
    return;
  }

  // RFC 5961 5.2: in a synchronized state the acceptable ACKs are
  // SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (our snd_max); any other is
  // answered with a challenge ACK and the segment, text included, dropped.
  if (h.has(kAck) && state_ != TcpState::kSynReceived &&
      (h.ack > snd_max_ ||
       h.ack < snd_una_ - static_cast<int64_t>(max_snd_wnd_))) {
    ++counters_.outside_window_segments;
    EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
                Disposition::kAckInvalid);
    SendChallengeAck(now);
    return;
  }

  // Classify the text for the event before it is consumed.
  Disposition disp = Disposition::kInOrder;
  if (len > 0) {
    if (h.seq > rcv_nxt_) {
      disp = Disposition::kOutOfOrder;
    } else if (h.seq + static_cast<int64_t>(len) <= rcv_nxt_) {
      disp = Disposition::kDuplicate;
    }
  }
  EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
              disp);

  if (!h.has(kAck)) return;

  // Fifth: the ACK field.
  if (state_ == TcpState::kSynReceived) {
    if (h.ack <= snd_una_ || h.ack > snd_nxt_) {
      SendRst(now, h.ack, std::nullopt);
      return;
    }
    snd_una_ = iss_ + 1;  // our SYN is acknowledged
    if (rtt_timing_ && h.ack > rtt_seq_) {
      rtt_timing_ = false;
      rtt_.Sample(now - rtt_sent_at_);
      Event e = MakeEvent(now, EventKind::kRttSample);
      e.a = now - rtt_sent_at_;
      Emit(e);
    }
    snd_wnd_ = static_cast<uint32_t>(h.window)
               << (h_in.has(kSyn) ? 0 : snd_wscale_);
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = h.seq;
    snd_wl2_ = h.ack;
    Disarm(TimerKind::kRto);
    EnterSynchronized(now);
    SetState(now, TcpState::kEstablished);
    if (fin_queued_) SetState(now, TcpState::kFinWait1);
    if (h.ack > snd_una_) ProcessAck(now, h, len);
  } else {
    ProcessAck(now, h, len);
    if (state_ == TcpState::kClosed) return;
  }
  if (ecn_.ok()) {
    ecn_.OnAck(snd_una_);
    if (h.has(kEce)) OnEcnEcho(now);
  }

  bool our_fin_acked = fin_queued_ && snd_una_ > fin_seq_;
  switch (state_) {
    case TcpState::kFinWait1:
      if (our_fin_acked) SetState(now, TcpState::kFinWait2);
      break;
    case TcpState::kClosing:
      if (our_fin_acked) {
        SetState(now, TcpState::kTimeWait);
        Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      } else {
        Output(now);
      }
      return;
    case TcpState::kLastAck:
      if (our_fin_acked) {
        Finish(now);
      } else {
        Output(now);
      }
      return;
    case TcpState::kTimeWait:
      return;
    default:
      break;
  }

  // Seventh and eighth: segment text and FIN. A CE mark on data is echoed
  // (RFC 3168 6.1.3), the first of an episode at once.
  pending_ack_ = text_dropped ? SendReason::kAck : SendReason::kNone;
  if (ecn == Ecn::kCe) ++counters_.ce_received;
  const bool ce_ack_now = len > 0 && ecn_.OnData(ecn, h.flags);
  uint64_t sent_before = counters_.segments_sent;
  ProcessText(now, h.seq, data, h.has(kFin));
  if (ce_ack_now) pending_ack_ = SendReason::kAck;
  Output(now);
  // Text refused by a zero window is always answered (RFC 9293 3.8.6.1),
  // even when the ACK repeats the last one.
  if (pending_ack_ != SendReason::kNone &&
      (last_ack_sent_ != rcv_nxt_ ||
       (text_dropped && counters_.segments_sent == sent_before))) {
    if (defer_acks_ && pending_ack_ == SendReason::kDelayedAck) {
      ack_deferred_ = true;
    } else {
      SendAck(now, pending_ack_);
    }
  }
}

}  // namespace tcpemu
