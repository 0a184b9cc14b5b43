// The TCP connection state machine and data path (RFC 9293), with RFC 6298
// retransmission timing, RFC 5681/6582 congestion control, RFC 1122 delayed
// ACK, Nagle and SWS avoidance, and RFC 5961 RST/SYN/ACK validation.
#include "engine/tcp/connection.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

// The floor of the tail loss probe's timeout (Linux's, in
// tcp_schedule_loss_probe).
constexpr DurationNs kMinPto = 10 * kMillisecond;

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
      snd_buf_(config.send_buffer),
      rtt_(config.rto_initial, config.rto_min, config.rto_max),
      cc_(MakeCongestionControl(config, config.mss(), iss.value())),
      recover_(iss) {
  deadlines_.fill(kNever);
  // A per-connection offset for the timestamp clock (RFC 7323 5.4), from
  // the ISS, itself unpredictable (RFC 6528).
  ts_offset_ = iss.value() * 2654435761u;
  if (config_.window_scaling) {
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

// ---------------------------------------------------------------- events

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
  t.ts_ok = ts_ok_;
  t.sack_ok = sack_ok_;
  t.ts_recent = ts_recent_;
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

// ---------------------------------------------------------------- timers

void Connection::Arm(TimeNs now, TimerKind k, TimeNs deadline) {
  deadlines_[TimerIndex(k)] = deadline;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kTimerArmed);
    e.timer = k;
    e.a = deadline;
    Emit(e);
  }
}

TimeNs Connection::NextDeadline() const {
  return *std::min_element(deadlines_.begin(), deadlines_.end());
}

void Connection::OnTimer(TimeNs now) {
  for (TimerKind k :
       // A probe timeout capped at the RTO's deadline goes first: the
       // probe restarts the retransmission timer (RFC 8985 7.2).
       {TimerKind::kTimeWait, TimerKind::kReorder, TimerKind::kTlp,
        TimerKind::kRto, TimerKind::kPersist, TimerKind::kDelayedAck,
        TimerKind::kCork, TimerKind::kKeepalive, TimerKind::kPacing}) {
    if (deadlines_[TimerIndex(k)] > now) continue;
    Disarm(k);
    if (ctx_.events != nullptr) {
      Event e = MakeEvent(now, EventKind::kTimerFired);
      e.timer = k;
      Emit(e);
    }
    switch (k) {
      case TimerKind::kTimeWait:
        Finish(now);
        return;
      case TimerKind::kRto:
        FireRto(now);
        break;
      case TimerKind::kPersist:
        FirePersist(now);
        break;
      case TimerKind::kDelayedAck:
        if (last_ack_sent_ != rcv_nxt_ && Synchronized()) {
          SendAck(now, SendReason::kDelayedAck);
        }
        break;
      case TimerKind::kCork:
        cork_release_ = true;
        Output(now);
        cork_release_ = false;
        break;
      case TimerKind::kKeepalive:
        FireKeepalive(now);
        break;
      case TimerKind::kReorder:
        FireReorder(now);
        break;
      case TimerKind::kTlp:
        FireTlp(now);
        break;
      case TimerKind::kPacing:
        Output(now);
        break;
      case TimerKind::kNone:
        break;
    }
    if (state_ == TcpState::kClosed) return;
  }
}

void Connection::FireRto(TimeNs now) {
  if (state_ == TcpState::kSynSent || state_ == TcpState::kSynReceived) {
    uint32_t limit = state_ == TcpState::kSynSent ? config_.syn_retries
                                                  : config_.synack_retries;
    if (retransmit_count_ >= limit) {
      Fail(now, ErrorCode::kTimedOut, state_ == TcpState::kSynReceived);
      return;
    }
    ++retransmit_count_;
    rtt_.Backoff();
    rtt_timing_ = false;
    RetransmitFirst(now, SendReason::kRetransmitRto);
    Arm(now, TimerKind::kRto, now + rtt_.rto());
    return;
  }
  if (snd_max_ == snd_una_) return;  // nothing outstanding
  if (retransmit_count_ >= config_.max_retransmissions) {
    Fail(now, ErrorCode::kTimedOut, true);
    return;
  }
  ++retransmit_count_;
  ++counters_.timeouts;
  uint32_t before = Cwnd();
  reno_.Reset();
  cc_->OnRetransmitTimeout(now, flight_size());
  NoteCwnd(now, before);
  // RFC 6582 section 4: no fast retransmit for losses from before the
  // timeout.
  in_recovery_ = false;
  recover_ = snd_max_;
  dup_acks_ = 0;
  tlp_high_seq_.reset();
  Disarm(TimerKind::kTlp);
  Disarm(TimerKind::kReorder);
  rtt_.Backoff();
  rtt_timing_ = false;         // Karn: no sample from retransmitted data
  ts_sample_wanted_ = ts_ok_;  // but a timestamp echo is unambiguous
  Arm(now, TimerKind::kRto, now + rtt_.rto());
  if (sack_ok_ && !scoreboard_.empty()) {
    // RFC 6675 5.1: SACK information is kept across the timeout, unless the
    // peer has evidently discarded what it SACKed (its cumulative ACK stops
    // at a SACKed segment, RFC 2018 8); everything else is resent in order
    // as the window reopens from one segment, SACKed segments skipped.
    const Scoreboard::Segment* first = scoreboard_.First();
    if (first != nullptr && first->sacked) scoreboard_.ClearSacks();
    scoreboard_.MarkAllLost();
  } else {
    RetransmitFirst(now, SendReason::kRetransmitRto);
  }
  Output(now);
}

void Connection::FirePersist(TimeNs now) {
  if (!Synchronized()) return;
  Seq end = data_end();
  bool has_unsent = end > snd_nxt_;
  if (!has_unsent || snd_nxt_ != snd_una_) {
    persist_backoff_ = 0;
    return;
  }
  if (snd_wnd_ == 0) {
    // Zero-window probe: an old sequence number that the receiver must answer
    // with an ACK carrying its current window.
    SendSegment(now, snd_una_ - 1, kAck, Payload(), SendReason::kWindowProbe);
    ++counters_.window_probes_sent;
  } else {
    // A window too small for SWS avoidance and nothing in flight: send what
    // fits rather than wait forever (RFC 1122 4.2.3.4, override timeout).
    uint32_t len = std::min<uint32_t>(
        {snd_wnd_, snd_mss_, static_cast<uint32_t>(end - snd_nxt_)});
    Payload p =
        snd_buf_.Peek(static_cast<size_t>(snd_nxt_ - data_start()), len);
    SendSegment(now, snd_nxt_, kAck | kPsh, p, SendReason::kWindowLimited);
    snd_nxt_ += len;
    snd_max_ = SeqMax(snd_max_, snd_nxt_);
    if (!Armed(TimerKind::kRto)) Arm(now, TimerKind::kRto, now + rtt_.rto());
    persist_backoff_ = 0;
    return;
  }
  ++persist_backoff_;
  DurationNs base = std::max(rtt_.rto(), config_.persist_min);
  DurationNs interval = config_.persist_max;
  if (persist_backoff_ < 30) {
    interval = std::min(config_.persist_max, base << persist_backoff_);
  }
  Arm(now, TimerKind::kPersist, now + interval);
}

void Connection::FireKeepalive(TimeNs now) {
  if (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait) {
    return;
  }
  if (keepalive_probes_sent_ >= config_.keepalive_probes) {
    Fail(now, ErrorCode::kTimedOut, true);
    return;
  }
  ++keepalive_probes_sent_;
  SendSegment(now, snd_una_ - 1, kAck, Payload(), SendReason::kKeepalive);
  Arm(now, TimerKind::kKeepalive, now + config_.keepalive_interval);
}

// ---------------------------------------------------------------- open/close

void Connection::EnterSynchronized(TimeNs now) {
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

absl::Status Connection::Connect(TimeNs now) {
  if (state_ != TcpState::kClosed || opened_) {
    return absl::FailedPreconditionError(
        absl::StrCat("connect in state ", std::string(ToString(state_))));
  }
  opened_ = true;
  StartHandshake(now, TcpState::kSynSent);
  return absl::OkStatus();
}

void Connection::StartHandshake(TimeNs now, TcpState state) {
  snd_una_ = iss_;
  snd_nxt_ = iss_ + 1;
  snd_max_ = snd_nxt_;
  SetState(now, state);
  // The SYN is timed like data; Karn's rule drops the sample if it is
  // retransmitted.
  rtt_timing_ = true;
  rtt_seq_ = iss_;
  rtt_sent_at_ = now;
  bool passive = state == TcpState::kSynReceived;
  SendSyn(now, /*with_ack=*/passive,
          passive ? SendReason::kSynAck : SendReason::kSyn);
  Arm(now, TimerKind::kRto, now + rtt_.rto());
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

absl::Status Connection::Listen(TimeNs now) {
  if (state_ != TcpState::kClosed || opened_) {
    return absl::FailedPreconditionError(
        absl::StrCat("listen in state ", std::string(ToString(state_))));
  }
  opened_ = true;
  passive_ = true;
  SetState(now, TcpState::kListen);
  return absl::OkStatus();
}

absl::Status Connection::AcceptCookie(TimeNs now, Seq iss, Seq irs,
                                      uint16_t peer_mss,
                                      uint16_t advertised_window) {
  if (state_ != TcpState::kClosed || opened_) {
    return absl::FailedPreconditionError(
        absl::StrCat("accept in state ", std::string(ToString(state_))));
  }
  opened_ = true;
  passive_ = true;
  iss_ = iss;
  snd_una_ = snd_nxt_ = snd_max_ = iss + 1;
  irs_ = irs;
  rcv_nxt_ = last_ack_sent_ = irs + 1;
  rcv_adv_ = rcv_nxt_ + static_cast<int64_t>(advertised_window);
  snd_mss_ = std::max<uint32_t>(1, std::min<uint32_t>(peer_mss, config_.mss()));
  snd_wscale_ = rcv_wscale_ = 0;
  if (snd_mss_ != config_.mss()) {
    cc_ = MakeCongestionControl(config_, snd_mss_, iss_.value());
  }
  // The completing ACK updates the send window (SND.WL1 < SEG.SEQ).
  snd_wl1_ = irs;
  snd_wl2_ = iss;
  SetState(now, TcpState::kSynReceived);
  EnterSynchronized(now);
  SetState(now, TcpState::kEstablished);
  return absl::OkStatus();
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

// ---------------------------------------------------------------- app I/O

size_t Connection::send_buffer_free() const { return snd_buf_.free_space(); }

absl::StatusOr<size_t> Connection::Write(TimeNs now,
                                         absl::Span<const uint8_t> data,
                                         bool push) {
  const uint8_t* src = data.data();
  return WriteFill(
      now, data.size(),
      [&src](uint8_t* dst, size_t len) {
        std::memcpy(dst, src, len);
        src += len;
      },
      push);
}

absl::StatusOr<size_t> Connection::WriteFill(
    TimeNs now, size_t n, absl::FunctionRef<void(uint8_t*, size_t)> fill,
    bool push) {
  if (!can_write()) {
    return absl::FailedPreconditionError(
        absl::StrCat("write in state ", std::string(ToString(state_)),
                     fin_queued_ ? " after close" : ""));
  }
  size_t accepted = snd_buf_.WriteFill(n, fill);
  counters_.bytes_written += accepted;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kAppWrite);
    e.a = static_cast<int64_t>(n);
    e.b = static_cast<int64_t>(accepted);
    Emit(e);
  }
  if (push && accepted > 0) {
    push_pending_ = true;
    push_end_ = data_end();
  }
  if (Synchronized()) Output(now);
  return accepted;
}

size_t Connection::Read(TimeNs now, absl::Span<uint8_t> out) {
  size_t done = 0;
  return ReadInto(now, out.size(), [&](absl::Span<const uint8_t> piece) {
    std::memcpy(out.data() + done, piece.data(), piece.size());
    done += piece.size();
  });
}

size_t Connection::ReadInto(
    TimeNs now, size_t max,
    absl::FunctionRef<void(absl::Span<const uint8_t>)> sink) {
  size_t n = std::min(max, rcv_queue_.size());
  if (n == 0) return 0;
  size_t left = n;
  for (const Slice& s : rcv_queue_.slices()) {
    if (left == 0) break;
    size_t take = std::min<size_t>(s.length, left);
    sink(absl::MakeConstSpan(s.data(), take));
    left -= take;
  }
  rcv_queue_.RemovePrefix(n);
  counters_.bytes_read += n;
  if (ctx_.events != nullptr) {
    Event e = MakeEvent(now, EventKind::kAppRead);
    e.a = static_cast<int64_t>(n);
    Emit(e);
  }
  MaybeWindowUpdate(now);
  return n;
}

// ---------------------------------------------------------------- output

uint32_t Connection::FreeReceiveSpace() const {
  size_t held = rcv_queue_.size();
  return held >= config_.recv_buffer
             ? 0
             : static_cast<uint32_t>(config_.recv_buffer - held);
}

uint16_t Connection::WindowToAdvertise(bool syn) {
  uint32_t free_space = FreeReceiveSpace();
  if (syn) {
    uint32_t w = std::min<uint32_t>(free_space, 65535);
    rcv_adv_ = rcv_nxt_ + w;
    return static_cast<uint16_t>(w);
  }
  uint32_t cur =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // Receiver SWS avoidance (RFC 1122 4.2.3.3): move the right edge only by
  // at least min(RCV.BUFF / 2, MSS); never shrink it (RFC 9293 3.8.6.2.2).
  uint32_t threshold = std::min(config_.recv_buffer / 2, config_.mss());
  uint32_t wnd = cur;
  if (free_space >= cur + threshold ||
      (free_space > cur && free_space == config_.recv_buffer)) {
    wnd = free_space;
  }
  uint32_t max_wnd = uint32_t{65535} << rcv_wscale_;
  wnd = std::min(wnd, max_wnd);
  uint32_t raw = wnd >> rcv_wscale_;
  if ((raw << rcv_wscale_) < cur && raw < 65535) ++raw;  // keep the edge
  uint32_t adv = raw << rcv_wscale_;
  if (rcv_nxt_ + static_cast<int64_t>(adv) > rcv_adv_ || adv >= cur) {
    rcv_adv_ = rcv_nxt_ + static_cast<int64_t>(adv);
  }
  return static_cast<uint16_t>(raw);
}

void Connection::SendSegment(TimeNs now, Seq seq, uint8_t flags,
                             const Payload& payload, SendReason reason) {
  TcpHeader h;
  h.src_port = tuple_.local_port;
  h.dst_port = tuple_.remote_port;
  h.seq = seq;
  h.flags = flags;
  if (flags & kAck) {
    h.ack = rcv_nxt_;
    last_ack_sent_ = rcv_nxt_;
    Disarm(TimerKind::kDelayedAck);
  }
  if (flags & kSyn) {
    h.options.mss =
        static_cast<uint16_t>(std::min<uint32_t>(config_.mss(), 65535));
    if (config_.window_scaling &&
        (!(flags & kAck) || rcv_wscale_ > 0 || snd_wscale_ > 0)) {
      h.options.window_scale = offered_wscale_;
    }
    // Offered in a SYN; in a SYN-ACK only in answer to a SYN that had them.
    h.options.sack_permitted = (flags & kAck) ? sack_ok_ : config_.sack;
    if ((flags & kAck) ? ts_ok_ : config_.timestamps) {
      h.options.timestamp =
          TcpTimestamp{TsNow(now), (flags & kAck) ? ts_recent_ : 0};
    }
  } else if (ts_ok_ && !(flags & kRst)) {
    h.options.timestamp = TcpTimestamp{TsNow(now), ts_recent_};
  }
  if (sack_ok_ && (flags & kAck) && !(flags & (kSyn | kRst)) &&
      (sack_recent_count_ > 0 || dsack_.has_value())) {
    // Within the MSS the payload leaves free (RFC 2018 3: a data segment
    // carries as many blocks as fit).
    size_t len = payload.size();
    AddSackBlocks(h.options, len >= snd_mss_ ? 0 : snd_mss_ - len);
  }
  if (flags & kSyn) {
    h.window = WindowToAdvertise(/*syn=*/true);
  } else if (!(flags & kRst) || (flags & kAck)) {
    h.window = WindowToAdvertise(/*syn=*/false);
  }
  uint32_t len = static_cast<uint32_t>(payload.size());
  if (PrrActive() && len > 0) {
    prr_out_ += len;
    prr_allowance_ -= len;
  }
  if (!(flags & (kSyn | kRst)) && (len > 0 || (flags & kFin))) {
    // Every transmission is stamped for delivery-rate estimation; the
    // scoreboard's SACK state is used only with SACK.
    scoreboard_.OnSend(
        now, seq, seq + static_cast<int64_t>(len) + ((flags & kFin) ? 1 : 0),
        rate_.OnSend(now, scoreboard_.empty()));
    if (len > 0) ChargePacing(now, len);
  }
  ++counters_.segments_sent;
  counters_.bytes_sent += len;
  if (len == 0 && !(flags & (kSyn | kFin | kRst))) ++counters_.pure_acks_sent;
  EmitSegment(now, EventKind::kSegmentSent, h, len, reason, Disposition::kNone);
  if (ctx_.output != nullptr) ctx_.output->Transmit(now, h, payload);
}

void Connection::SendAck(TimeNs now, SendReason reason) {
  if (reason == SendReason::kWindowUpdate) ++counters_.window_updates_sent;
  if (reason == SendReason::kChallengeAck) ++counters_.challenge_acks_sent;
  // SND.NXT in RFC terms is our snd_max: after a timeout snd_nxt rewinds to
  // resend, but the peer may already hold everything up to snd_max, and an
  // ACK numbered below its RCV.NXT would be unacceptable there and its
  // acknowledgement lost (both ends in recovery would then stall).
  SendSegment(now, snd_max_, kAck, Payload(), reason);
}

void Connection::SendChallengeAck(TimeNs now) {
  const uint32_t limit = config_.challenge_ack_limit;
  if (limit != 0) {
    if (now - challenge_window_start_ >= kSecond ||
        challenge_acks_in_window_ == 0) {
      challenge_window_start_ = now;
      challenge_acks_in_window_ = 0;
    }
    if (challenge_acks_in_window_ >= limit) {
      ++counters_.challenge_acks_suppressed;
      return;
    }
    ++challenge_acks_in_window_;
  }
  SendAck(now, SendReason::kChallengeAck);
}

void Connection::SendSyn(TimeNs now, bool with_ack, SendReason reason) {
  SendSegment(now, iss_, with_ack ? (kSyn | kAck) : kSyn, Payload(), reason);
}

void Connection::SendRst(TimeNs now, Seq seq, std::optional<Seq> ack) {
  TcpHeader h;
  h.src_port = tuple_.local_port;
  h.dst_port = tuple_.remote_port;
  h.seq = seq;
  h.flags = kRst;
  if (ack) {
    h.flags |= kAck;
    h.ack = *ack;
  }
  ++counters_.segments_sent;
  EmitSegment(now, EventKind::kSegmentSent, h, 0, SendReason::kRst,
              Disposition::kNone);
  if (ctx_.output != nullptr) ctx_.output->Transmit(now, h, Payload());
}

void Connection::RetransmitFirst(TimeNs now, SendReason reason) {
  if (state_ == TcpState::kSynSent) {
    SendSyn(now, false, reason);
    return;
  }
  if (state_ == TcpState::kSynReceived && snd_una_ == iss_) {
    SendSyn(now, true, reason);
    return;
  }
  // Only bytes sent before are retransmitted: the window may have shrunk
  // since, and new data waits for Output().
  Seq sent_end = fin_queued_ && snd_max_ > fin_seq_ ? fin_seq_ : snd_max_;
  size_t outstanding = sent_end > data_start()
                           ? static_cast<size_t>(sent_end - data_start())
                           : 0;
  uint32_t len = static_cast<uint32_t>(
      std::min<size_t>({snd_mss_, snd_buf_.size(), outstanding}));
  bool fin = fin_queued_ && snd_max_ > fin_seq_ &&
             data_start() + static_cast<int64_t>(len) == fin_seq_;
  if (len == 0 && !fin) return;
  Payload p = snd_buf_.Peek(0, len);
  uint8_t flags = kAck | (fin ? kFin : 0) | (len > 0 ? kPsh : 0);
  Seq seq = data_start();
  if (reason == SendReason::kRetransmitRto) {
    ++counters_.retransmits_rto;
    snd_nxt_ = seq + static_cast<int64_t>(len) + (fin ? 1 : 0);
    snd_max_ = SeqMax(snd_max_, snd_nxt_);
  } else {
    ++counters_.retransmits_fast;
  }
  counters_.bytes_retransmitted += len;
  SendSegment(now, seq, flags, p, reason);
}

void Connection::RetransmitSegment(TimeNs now, const Scoreboard::Segment& s,
                                   SendReason reason) {
  const bool fin = fin_queued_ && s.end == fin_seq_ + 1;
  const uint32_t len = s.length() - (fin ? 1 : 0);
  Payload p;
  if (len > 0) {
    p = snd_buf_.Peek(static_cast<size_t>(s.start - data_start()), len);
  }
  uint8_t flags = kAck | (fin ? kFin : 0) | (len > 0 ? kPsh : 0);
  if (reason == SendReason::kRetransmitRto) {
    ++counters_.retransmits_rto;
  } else {
    ++counters_.retransmits_fast;
  }
  counters_.bytes_retransmitted += len;
  rtt_timing_ = false;  // Karn
  ts_sample_wanted_ = ts_ok_;
  SendSegment(now, s.start, flags, p, reason);
  // The segment at SND.UNA is resent: its timer starts again (as Linux
  // does), else the timer of the original transmission, running since the
  // last cumulative ACK, fires before the retransmission can be answered.
  if (s.start == snd_una_) Arm(now, TimerKind::kRto, now + rtt_.rto());
}

uint32_t Connection::SendRoom() const {
  if (PrrActive()) {
    if (prr_allowance_ <= 0) return 0;
    const uint64_t segments =
        (static_cast<uint64_t>(prr_allowance_) + snd_mss_ - 1) / snd_mss_;
    return static_cast<uint32_t>(
        std::min<uint64_t>(segments * snd_mss_, UINT32_MAX));
  }
  const uint32_t cwnd = Cwnd();
  const uint32_t pipe = scoreboard_.pipe();
  return cwnd > pipe ? cwnd - pipe : 0;
}

void Connection::CongestionOnAck(TimeNs now, bool new_ack, uint32_t acked_bytes,
                                 uint32_t prior_in_flight, DurationNs rtt,
                                 const Scoreboard::AckResult& r,
                                 uint32_t lost_bytes) {
  AckSample a;
  a.now = now;
  a.new_ack = new_ack;
  a.acked_bytes = acked_bytes;
  a.delivered_bytes = r.delivered_bytes;
  a.lost_bytes = lost_bytes;
  a.prior_in_flight = prior_in_flight;
  a.in_flight = Pipe();
  a.rtt = rtt;
  a.srtt = rtt_.srtt();
  a.snd_una = snd_una_;
  a.snd_max = snd_max_;
  a.in_recovery = in_recovery_;
  std::optional<TxRateState> newest;
  if (r.newest_delivered_sent_at.has_value()) {
    newest = r.newest_delivered_rate;
  }
  a.rate = rate_.OnAck(now, r.delivered_bytes, newest,
                       r.newest_delivered_sent_at.value_or(0),
                       r.newest_delivered_retransmitted, min_rtt_);
  if (a.rate.rtt > 0 && (min_rtt_ == 0 || a.rate.rtt < min_rtt_)) {
    min_rtt_ = a.rate.rtt;
  }
  a.delivered = rate_.delivered();
  cc_->OnAck(a);
}

uint64_t Connection::PacingRate() const {
  if (const uint64_t rate = cc_->pacing_rate(); rate > 0) return rate;
  if (!config_.pacing || !rtt_.has_sample() || rtt_.srtt() <= 0) return 0;
  // As Linux paces the window-based algorithms: twice cwnd per RTT in slow
  // start, 1.2 times after.
  const double gain = Cwnd() < cc_->ssthresh() ? 2.0 : 1.2;
  return static_cast<uint64_t>(gain * Cwnd() * 1e9 /
                               static_cast<double>(rtt_.srtt()));
}

bool Connection::PacingHolds(TimeNs now) {
  if (pacing_next_ <= now || PacingRate() == 0) return false;
  if (deadlines_[TimerIndex(TimerKind::kPacing)] != pacing_next_) {
    Arm(now, TimerKind::kPacing, pacing_next_);
  }
  return true;
}

void Connection::ChargePacing(TimeNs now, uint32_t len) {
  const uint64_t rate = PacingRate();
  if (rate == 0) return;
  const DurationNs gap = static_cast<DurationNs>(
      static_cast<double>(len) * 1e9 / static_cast<double>(rate));
  pacing_next_ = std::max(pacing_next_, now) + gap;
}

void Connection::UpdatePrr(uint32_t delivered) {
  // RFC 6937 3.
  prr_delivered_ += delivered;
  const uint64_t pipe = scoreboard_.pipe();
  const uint64_t ssthresh = cc_->ssthresh();
  int64_t sndcnt;
  if (pipe > ssthresh) {
    // Proportional rate reduction: ssthresh / RecoverFS of what leaves.
    const uint64_t fs = std::max<uint32_t>(recover_fs_, 1);
    sndcnt = static_cast<int64_t>((prr_delivered_ * ssthresh + fs - 1) / fs) -
             static_cast<int64_t>(prr_out_);
  } else {
    // Slow start reduction bound: back towards ssthresh, at most one
    // segment beyond what was delivered.
    const int64_t limit =
        std::max<int64_t>(static_cast<int64_t>(prr_delivered_) -
                              static_cast<int64_t>(prr_out_),
                          delivered) +
        snd_mss_;
    sndcnt = std::min<int64_t>(static_cast<int64_t>(ssthresh - pipe), limit);
  }
  prr_allowance_ = std::max<int64_t>(sndcnt, 0);
}

void Connection::RetransmitLost(TimeNs now) {
  const SendReason reason =
      in_recovery_ ? SendReason::kRetransmitFast : SendReason::kRetransmitRto;
  while (const Scoreboard::Segment* s = scoreboard_.NextLost()) {
    // RFC 6675 5 step C: cwnd - pipe >= 1 SMSS (a shorter segment fits
    // where it is all that is left); PRR's allowance in recovery.
    const uint32_t room = SendRoom();
    if (room == 0 || room < std::min(snd_mss_, s->length())) break;
    if (PacingHolds(now)) break;
    const Scoreboard::Segment copy = *s;
    RetransmitSegment(now, copy, reason);
  }
  if (!Armed(TimerKind::kRto) && snd_max_ > snd_una_) {
    Arm(now, TimerKind::kRto, now + rtt_.rto());
  }
}

void Connection::Output(TimeNs now) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      break;
    default:
      return;
  }
  if (sack_ok_) RetransmitLost(now);
  const Seq end = data_end();
  while (true) {
    uint32_t unsent =
        snd_nxt_ < end ? static_cast<uint32_t>(end - snd_nxt_) : 0;
    uint32_t in_flight = static_cast<uint32_t>(snd_nxt_ - snd_una_);
    uint32_t wnd = std::min(snd_wnd_, Cwnd());
    uint32_t usable;
    if (sack_ok_) {
      // With a scoreboard, cwnd bounds pipe (RFC 6675), which leaves out
      // what the peer SACKed or what is deemed lost: segments that left the
      // network make room as limited transmit would (RFC 3042). The peer's
      // window still bounds everything sent beyond SND.UNA.
      const uint32_t by_cwnd = SendRoom();
      const uint32_t by_rwnd = snd_wnd_ > in_flight ? snd_wnd_ - in_flight : 0;
      usable = std::min(by_cwnd, by_rwnd);
      wnd = in_flight + usable;
    } else {
      // Limited transmit (RFC 3042): on the first and second duplicate ACK,
      // new data up to cwnd + 2 SMSS, within the peer's window; cwnd itself
      // does not change.
      uint32_t limited = 0;
      if (config_.limited_transmit && !in_recovery_ && dup_acks_ > 0 &&
          dup_acks_ < 3 && snd_nxt_ == snd_max_) {
        limited = std::min(snd_wnd_, Cwnd() + dup_acks_ * snd_mss_) - wnd;
      }
      usable = wnd + limited > in_flight ? wnd + limited - in_flight : 0;
    }
    uint32_t len = std::min({unsent, snd_mss_, usable});
    bool fin_now =
        fin_queued_ && snd_nxt_ + static_cast<int64_t>(len) == fin_seq_;
    if (len == 0 && !fin_now) break;
    if (len == 0 && fin_now && unsent > 0) break;  // data must go first
    if (len > 0 && PacingHolds(now)) break;
    bool retransmission = snd_nxt_ < snd_max_;
    SendReason reason;
    if (retransmission) {
      reason = SendReason::kRetransmitRto;
    } else if (len > 0 && in_flight + len > wnd) {
      reason = SendReason::kLimitedTransmit;
    } else if (len == snd_mss_) {
      reason = SendReason::kFullMss;
    } else if (len > 0 && len < unsent) {
      // Sender SWS avoidance (RFC 1122 4.2.3.4): a window-limited partial
      // segment goes only if it is at least half the largest window seen.
      if (len < max_snd_wnd_ / 2) break;
      reason = SendReason::kWindowLimited;
    } else if (len > 0) {
      // The tail of the buffer, shorter than an MSS.
      bool pushed =
          push_pending_ && snd_nxt_ + static_cast<int64_t>(len) <= push_end_;
      if (config_.cork && !pushed && !cork_release_ && !fin_now) {
        if (!Armed(TimerKind::kCork)) {
          Arm(now, TimerKind::kCork, now + config_.cork_timeout);
        }
        break;
      }
      if (config_.cork && cork_release_) {
        reason = SendReason::kCorkTimer;
      } else if (config_.cork && pushed) {
        reason = SendReason::kPush;
      } else if (config_.nodelay) {
        reason = SendReason::kNodelay;
      } else if (in_flight == 0) {
        reason = SendReason::kNagleRelease;
      } else if (fin_now) {
        reason = SendReason::kFin;
      } else {
        break;  // Nagle: wait for the outstanding data to be acknowledged
      }
    } else {
      reason = SendReason::kFin;
    }
    Payload p;
    if (len > 0) {
      p = snd_buf_.Peek(static_cast<size_t>(snd_nxt_ - data_start()), len);
    }
    uint8_t flags = kAck;
    if (len > 0 && snd_nxt_ + static_cast<int64_t>(len) == end) flags |= kPsh;
    if (fin_now) flags |= kFin;
    if (retransmission) {
      rtt_timing_ = false;
      counters_.bytes_retransmitted += len;
      ++counters_.retransmits_rto;
    } else if (!rtt_timing_ && len > 0) {
      rtt_timing_ = true;
      rtt_seq_ = snd_nxt_;
      rtt_sent_at_ = now;
    }
    Seq seq = snd_nxt_;
    snd_nxt_ += len + (fin_now ? 1 : 0);
    snd_max_ = SeqMax(snd_max_, snd_nxt_);
    if (!Armed(TimerKind::kRto)) Arm(now, TimerKind::kRto, now + rtt_.rto());
    Disarm(TimerKind::kCork);
    SendSegment(now, seq, flags, p, reason);
    if (fin_now) break;
  }
  if (push_pending_ && snd_nxt_ >= push_end_) push_pending_ = false;
  if (snd_nxt_ >= end && Pipe() < Cwnd() &&
      (!sack_ok_ || scoreboard_.NextLost() == nullptr)) {
    // Nothing left to send and cwnd not full: rate samples are
    // app-limited until what is in flight now is delivered.
    rate_.OnAppLimited(Pipe());
    cc_->OnAppLimited(now, Pipe());
  }
  // Zero window with data waiting and nothing in flight: only the persist
  // timer can learn that the window opened (RFC 9293 3.8.6.1).
  bool waiting = end > snd_nxt_ || (fin_queued_ && snd_nxt_ <= fin_seq_);
  if (Rack()) ArmTlp(now);
  if (waiting && snd_nxt_ == snd_una_ && !Armed(TimerKind::kRto) &&
      snd_wnd_ < std::min(snd_mss_, static_cast<uint32_t>(end - snd_nxt_))) {
    if (!Armed(TimerKind::kPersist)) {
      DurationNs interval = std::max(rtt_.rto(), config_.persist_min);
      Arm(now, TimerKind::kPersist,
          now + std::min(interval, config_.persist_max));
    }
  }
}

// ---------------------------------------------------------------- input

void Connection::ApplySynOptions(TimeNs now, const TcpHeader& h) {
  uint32_t peer_mss = h.options.mss.value_or(536);
  snd_mss_ = std::max<uint32_t>(1, std::min(peer_mss, config_.mss()));
  if (config_.window_scaling && h.options.window_scale.has_value()) {
    snd_wscale_ = std::min<uint8_t>(*h.options.window_scale, 14);
    rcv_wscale_ = offered_wscale_;
  } else {
    snd_wscale_ = 0;
    rcv_wscale_ = 0;
  }
  // Timestamps are used when both SYNs carry them (RFC 7323 3.2); each
  // segment then spends 12 bytes of its MSS on the option (RFC 6691).
  sack_ok_ = config_.sack && h.options.sack_permitted;
  ts_ok_ = config_.timestamps && h.options.timestamp.has_value();
  if (ts_ok_) {
    ts_recent_ = h.options.timestamp->value;
    ts_recent_age_ = now;
    snd_mss_ =
        snd_mss_ > kTimestampOptionLen ? snd_mss_ - kTimestampOptionLen : 1;
  }
  // The window is counted in segments of the negotiated MSS (RFC 5681 3.1).
  if (snd_mss_ != config_.mss()) {
    cc_ = MakeCongestionControl(config_, snd_mss_, iss_.value());
  }
}

uint32_t Connection::TsNow(TimeNs now) const {
  return ts_offset_ + static_cast<uint32_t>(now / kMillisecond);
}

bool Connection::PawsRejects(TimeNs now, const TcpHeader& h) const {
  if (!ts_ok_ || !h.options.timestamp.has_value() || h.has(kRst)) {
    return false;
  }
  const int32_t behind =
      static_cast<int32_t>(h.options.timestamp->value - ts_recent_);
  // A TS.Recent idle for more than 24 days is no longer a reference
  // (RFC 7323 5.5).
  return behind < 0 && now - ts_recent_age_ <= 24 * 24 * 3600 * kSecond;
}

void Connection::UpdateTsRecent(TimeNs now, const TcpHeader& h) {
  if (!ts_ok_ || !h.options.timestamp.has_value()) return;
  const int32_t ahead =
      static_cast<int32_t>(h.options.timestamp->value - ts_recent_);
  if (ahead >= 0 && h.seq <= last_ack_sent_) {
    ts_recent_ = h.options.timestamp->value;
    ts_recent_age_ = now;
  }
}

void Connection::NoteSackBlock(Seq seq) {
  std::optional<std::pair<Seq, Seq>> run = reassembly_.RunAround(seq);
  if (!run.has_value()) return;
  const SackBlock b{run->first, run->second};
  // The new block first; older ones it now covers go.
  std::array<SackBlock, kSackBlocks> next{};
  uint8_t n = 0;
  next[n++] = b;
  for (uint8_t i = 0; i < sack_recent_count_ && n < next.size(); ++i) {
    const SackBlock& old = sack_recent_[i];
    if (old.right < b.left || old.left > b.right) next[n++] = old;
  }
  sack_recent_ = next;
  sack_recent_count_ = n;
}

void Connection::NoteDuplicate(Seq left, Seq right) {
  if (sack_ok_ && left < right) dsack_ = SackBlock{left, right};
}

void Connection::AddSackBlocks(TcpOptions& o, size_t space) {
  // Blocks delivered since, or no longer held, are not reported.
  uint8_t kept = 0;
  for (uint8_t i = 0; i < sack_recent_count_; ++i) {
    const SackBlock& b = sack_recent_[i];
    if (b.left > rcv_nxt_ && reassembly_.Holds(b.left, b.right)) {
      sack_recent_[kept++] = b;
    }
  }
  sack_recent_count_ = kept;
  // 40 bytes of options: timestamps leave room for three blocks (RFC 2018
  // 3), and the NOP NOP kind length header takes 4.
  size_t room = (ts_ok_ ? 40 - kTimestampOptionLen : 40);
  room = std::min(room, space);
  if (room < 4 + kSackBlockBytes) return;
  const size_t limit = (room - 4) / kSackBlockBytes;
  size_t n = 0;
  if (dsack_.has_value()) {
    o.sack[n++] = *dsack_;  // reported once
    dsack_.reset();
  }
  for (size_t i = 0; i < kept && n < limit; ++i) o.sack[n++] = sack_recent_[i];
  o.sack_count = static_cast<uint8_t>(n);
}

void Connection::OnBadChecksum(TimeNs now, const TcpHeader& h, uint32_t len) {
  ++counters_.bad_checksum_segments;
  EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
              Disposition::kBadChecksum);
}

void Connection::OnSegment(TimeNs now, const TcpHeader& h_in,
                           const Payload& payload) {
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
      OnSegmentSynSent(now, h_in, len);
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
  if (PawsRejects(now, h)) {
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
  UpdateTsRecent(now, h);

  // Second: RST (RFC 5961 3.2: exact match resets, in-window challenges).
  if (h.has(kRst)) {
    if (h.seq == rcv_nxt_) {
      EmitSegment(now, EventKind::kSegmentReceived, h_in, len,
                  SendReason::kNone, Disposition::kInOrder);
      if (state_ == TcpState::kSynReceived && passive_) {
        // RFC 9293 3.10.7.4: a passive open returns to LISTEN.
        ReturnToListen(now);
        return;
      }
      ErrorCode code = state_ == TcpState::kSynReceived ? ErrorCode::kRefused
                                                        : ErrorCode::kReset;
      bool quiet = state_ == TcpState::kClosing ||
                   state_ == TcpState::kLastAck ||
                   state_ == TcpState::kTimeWait;
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

  // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 4).
  if (h.has(kSyn)) {
    EmitSegment(now, EventKind::kSegmentReceived, h_in, len, SendReason::kNone,
                Disposition::kOutsideWindow);
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

  // Seventh and eighth: segment text and FIN.
  pending_ack_ = text_dropped ? SendReason::kAck : SendReason::kNone;
  uint64_t sent_before = counters_.segments_sent;
  ProcessText(now, h.seq, data, h.has(kFin));
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

void Connection::FlushDeferredAck(TimeNs now) {
  if (!ack_deferred_) return;
  ack_deferred_ = false;
  if (last_ack_sent_ != rcv_nxt_ && opened() && !finished()) {
    SendAck(now, SendReason::kDelayedAck);
  }
}

void Connection::OnSegmentListen(TimeNs now, const TcpHeader& h) {
  if (h.has(kRst)) {
    EmitSegment(now, EventKind::kSegmentReceived, h, 0, SendReason::kNone,
                Disposition::kNoConnection);
    return;
  }
  if (h.has(kAck) || !h.has(kSyn)) {
    EmitSegment(now, EventKind::kSegmentReceived, h, 0, SendReason::kNone,
                Disposition::kNoConnection);
    if (h.has(kAck)) SendRst(now, h.ack, std::nullopt);
    return;
  }
  EmitSegment(now, EventKind::kSegmentReceived, h, 0, SendReason::kNone,
              Disposition::kInOrder);
  irs_ = h.seq;
  rcv_nxt_ = h.seq + 1;
  rcv_adv_ = rcv_nxt_;
  ApplySynOptions(now, h);
  snd_wnd_ = h.window;  // never scaled in a SYN (RFC 7323 2.2)
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = h.seq;
  StartHandshake(now, TcpState::kSynReceived);
}

void Connection::OnSegmentSynSent(TimeNs now, const TcpHeader& h,
                                  uint32_t len) {
  bool ack_ok = false;
  if (h.has(kAck)) {
    if (h.ack <= iss_ || h.ack > snd_nxt_) {
      EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
                  Disposition::kOutsideWindow);
      if (!h.has(kRst)) SendRst(now, h.ack, std::nullopt);
      return;
    }
    ack_ok = true;
  }
  if (h.has(kRst)) {
    if (ack_ok) {
      EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
                  Disposition::kInOrder);
      Fail(now, ErrorCode::kRefused, false);
    } else {
      EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
                  Disposition::kRstInvalid);
    }
    return;
  }
  if (!h.has(kSyn)) {
    EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
                Disposition::kOutsideWindow);
    return;
  }
  EmitSegment(now, EventKind::kSegmentReceived, h, len, SendReason::kNone,
              Disposition::kInOrder);
  irs_ = h.seq;
  rcv_nxt_ = h.seq + 1;
  rcv_adv_ = rcv_nxt_;
  ApplySynOptions(now, h);
  snd_wnd_ = h.window;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = h.seq;
  snd_wl2_ = h.ack;
  if (ack_ok) {
    snd_una_ = h.ack;
    Disarm(TimerKind::kRto);
    EnterSynchronized(now);
    if (rtt_timing_) {
      rtt_timing_ = false;
      rtt_.Sample(now - rtt_sent_at_);
      Event e = MakeEvent(now, EventKind::kRttSample);
      e.a = now - rtt_sent_at_;
      Emit(e);
    }
    SetState(now, TcpState::kEstablished);
    if (fin_queued_) SetState(now, TcpState::kFinWait1);
    // Data queued before the handshake completed goes now, carrying the ACK;
    // otherwise a pure ACK completes the handshake.
    Output(now);
    if (last_ack_sent_ != rcv_nxt_) SendAck(now, SendReason::kAck);
  } else {
    // Simultaneous open (RFC 9293 3.5, figure 7).
    rtt_timing_ = false;
    SetState(now, TcpState::kSynReceived);
    SendSyn(now, /*with_ack=*/true, SendReason::kSynAck);
    Arm(now, TimerKind::kRto, now + rtt_.rto());
  }
}

void Connection::UpdateSendWindow(const TcpHeader& h) {
  // RFC 9293 3.10.7.4: take the window from the newest segment only.
  if (snd_wl1_ < h.seq || (snd_wl1_ == h.seq && snd_wl2_ <= h.ack)) {
    snd_wnd_ = static_cast<uint32_t>(h.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = h.seq;
    snd_wl2_ = h.ack;
  } else if (h.ack > snd_wl2_) {
    // An older segment (one that a later one overtook) moves SND.UNA but
    // not the window: keep the right edge the peer advertised, SND.WL2 +
    // SND.WND, instead of sliding it along with SND.UNA.
    const Seq edge = snd_wl2_ + static_cast<int64_t>(snd_wnd_);
    snd_wnd_ = edge > h.ack ? static_cast<uint32_t>(edge - h.ack) : 0;
    snd_wl2_ = h.ack;
  }
}

Scoreboard::AckResult Connection::TakeSacks(TimeNs now, const TcpHeader& h) {
  const Scoreboard::AckResult r = scoreboard_.OnAck(
      SeqMax(h.ack, snd_una_),
      absl::MakeConstSpan(h.options.sack.data(), h.options.sack_count));
  if (r.dsack) ++counters_.dsacks_received;
  if (r.newly_sacked_bytes > 0 && !Rack()) scoreboard_.MarkLosses(snd_mss_);
  return r;
}

void Connection::EnterRecovery(TimeNs now) {
  // Fast retransmit (RFC 5681 3.2, RFC 6582 3.2 step 2, RFC 6675 5 step 4).
  in_recovery_ = true;
  recover_ = snd_max_;
  rtt_timing_ = false;
  ts_sample_wanted_ = ts_ok_;
  ++counters_.fast_recoveries;
  cc_->OnCongestionEvent(now, flight_size());
  if (!sack_ok_) reno_.OnEnter(snd_mss_);
  if (sack_ok_) {
    prr_delivered_ = prr_out_ = 0;
    prr_allowance_ = 0;
    recover_fs_ = flight_size();
    // The first hole goes at once even when IsLost does not yet say so
    // (three duplicate ACKs that SACKed short segments); the rest as the
    // scoreboard marks them and pipe allows, from Output.
    scoreboard_.MarkFirstHoleLost();
  } else {
    RetransmitFirst(now, SendReason::kRetransmitFast);
  }
}

void Connection::ProcessAck(TimeNs now, const TcpHeader& h, uint32_t len) {
  uint32_t old_wnd = snd_wnd_;
  const uint32_t lost_before = scoreboard_.lost_bytes();
  const uint32_t prior_in_flight = flight_size();
  Scoreboard::AckResult sacks =
      sack_ok_ ? TakeSacks(now, h)
               : scoreboard_.OnAck(SeqMax(h.ack, snd_una_), {});
  // Bytes the SACK blocks newly showed lost (RFC 6675 IsLost): the lost
  // count after the ACK, less what was lost before and not acknowledged.
  const uint32_t lost_kept =
      lost_before - std::min(lost_before, sacks.acked_bytes);
  const uint32_t newly_lost = scoreboard_.lost_bytes() > lost_kept
                                  ? scoreboard_.lost_bytes() - lost_kept
                                  : 0;
  if (h.ack > snd_una_) {
    uint32_t flight_before = flight_size();
    size_t data_acked = std::min<size_t>(
        static_cast<size_t>(h.ack - data_start()), snd_buf_.size());
    snd_buf_.Consume(data_acked);
    snd_una_ = h.ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    retransmit_count_ = 0;
    persist_backoff_ = 0;
    // RTT measurement of the timed segment (Karn's rule: timing is cancelled
    // whenever anything is retransmitted).
    std::optional<DurationNs> sample;
    if (rtt_timing_ && h.ack > rtt_seq_) {
      rtt_timing_ = false;
      sample = now - rtt_sent_at_;
    } else if (ts_sample_wanted_ && h.options.timestamp.has_value() &&
               h.options.timestamp->echo_reply != 0) {
      // After a retransmission Karn's rule leaves no timed segment; the
      // echoed timestamp still dates what this ACK answers (RFC 7323 4),
      // so the backed-off RTO is measured again instead of lingering.
      const int32_t ticks =
          static_cast<int32_t>(TsNow(now) - h.options.timestamp->echo_reply);
      if (ticks >= 0) {
        sample = DurationNs{ticks} * kMillisecond;
        ts_sample_wanted_ = false;
      }
    }
    // Every ACK of new data with an echoed timestamp measures a round trip
    // (RFC 7323 4.1), for the congestion controller's round counting.
    DurationNs ack_rtt = sample.value_or(0);
    if (!sample.has_value() && ts_ok_ && h.options.timestamp.has_value() &&
        h.options.timestamp->echo_reply != 0) {
      const int32_t ticks =
          static_cast<int32_t>(TsNow(now) - h.options.timestamp->echo_reply);
      if (ticks >= 0) ack_rtt = DurationNs{ticks} * kMillisecond;
    }
    if (sample.has_value()) {
      DurationNs r = *sample;
      rtt_.Sample(r);
      if (ctx_.events != nullptr) {
        Event e = MakeEvent(now, EventKind::kRttSample);
        e.a = r;
        Emit(e);
      }
    }
    uint32_t before = Cwnd();
    CongestionOnAck(now, /*new_ack=*/true, static_cast<uint32_t>(data_acked),
                    prior_in_flight, ack_rtt, sacks, newly_lost);
    if (in_recovery_) {
      if (h.ack >= recover_) {
        in_recovery_ = false;
        reno_.Reset();
        cc_->OnRecoveryEnd(now, flight_size());
      } else if (sack_ok_) {
        // A partial ACK: cwnd stays at ssthresh (RFC 6675) and the next
        // hole is deemed lost, as NewReno would (RFC 6582 3.2 step 5);
        // RACK dates holes by itself.
        if (!Rack()) scoreboard_.MarkFirstHoleLost();
        Arm(now, TimerKind::kRto, now + rtt_.rto());
      } else {
        // Partial ACK (RFC 6582 3.2 step 5): the next hole is lost too.
        reno_.OnPartialAck(cc_->cwnd(), static_cast<uint32_t>(data_acked),
                           snd_mss_);
        RetransmitFirst(now, SendReason::kRetransmitFast);
        Arm(now, TimerKind::kRto, now + rtt_.rto());
      }
    } else {
      // New SACK information on an ACK that also moved SND.UNA can show a
      // loss just as duplicate ACKs do (RFC 6675 IsLost).
      if (sack_ok_ && !Rack() && sacks.newly_sacked_bytes > 0 &&
          scoreboard_.NextLost() != nullptr && h.ack >= recover_ &&
          snd_max_ > snd_una_) {
        EnterRecovery(now);
      }
    }
    if (tlp_high_seq_.has_value() && h.ack >= *tlp_high_seq_) {
      // RFC 8985 7.4: a probe that resent old data and was not reported
      // twice (D-SACK) repaired a loss: the congestion response is owed.
      if (!tlp_dsack_ && !in_recovery_) {
        cc_->OnCongestionEvent(now, flight_before);
        cc_->OnRecoveryEnd(now, flight_size());
      }
      tlp_high_seq_.reset();
    }
    if (Rack()) RackOnAck(now, sacks);
    if (PrrActive()) {
      UpdatePrr(sacks.delivered_bytes);
    }
    NoteCwnd(now, before);
    dup_acks_ = 0;
    UpdateSendWindow(h);
    // RFC 6298 5.2 and 5.3.
    if (snd_max_ == snd_una_) {
      Disarm(TimerKind::kRto);
    } else if (!in_recovery_ || h.ack >= recover_) {
      Arm(now, TimerKind::kRto, now + rtt_.rto());
    }
    if (snd_wnd_ > 0) Disarm(TimerKind::kPersist);
    return;
  }
  // h.ack == snd_una_ (older ACKs were rejected or are ignored here). With
  // SACK, an ACK that SACKs new data is a duplicate whatever else it
  // carries (RFC 6675 2).
  bool dup = h.ack == snd_una_ && len == 0 && !h.has(kSyn) && !h.has(kFin) &&
             (static_cast<uint32_t>(h.window) << snd_wscale_) == old_wnd &&
             snd_max_ > snd_una_;
  if (sack_ok_ && h.ack == snd_una_ && sacks.newly_sacked_bytes > 0 &&
      snd_max_ > snd_una_) {
    dup = true;
  }
  UpdateSendWindow(h);
  if (sacks.delivered_bytes > 0) {
    CongestionOnAck(now, /*new_ack=*/false, 0, prior_in_flight, 0, sacks,
                    newly_lost);
  }
  if (snd_wnd_ > 0 && old_wnd == 0) {
    Disarm(TimerKind::kPersist);
    persist_backoff_ = 0;
  }
  if (Rack()) {
    const uint32_t before = Cwnd();
    const bool was_in_recovery = in_recovery_;
    RackOnAck(now, sacks);
    if (in_recovery_ && !was_in_recovery) {
      if (dup) ++counters_.dup_acks_received;
      UpdatePrr(sacks.delivered_bytes);
      NoteCwnd(now, before);
      return;
    }
  }
  if (!dup) return;
  ++counters_.dup_acks_received;
  ++dup_acks_;
  uint32_t before = Cwnd();
  // RFC 6582 4: no new recovery for duplicate ACKs below "recover"; with
  // SACK the scoreboard tells a new loss at "recover" itself from an old one.
  const bool may_enter =
      (sack_ok_ ? h.ack >= recover_ : h.ack > recover_) || recover_ == iss_;
  if (in_recovery_) {
    if (!sack_ok_) reno_.OnDupAck(snd_mss_);
  } else if (may_enter && !Rack() &&
             (sack_ok_ ? dup_acks_ >= 3 || scoreboard_.NextLost() != nullptr
                       : dup_acks_ == 3)) {
    EnterRecovery(now);
  }
  if (PrrActive()) UpdatePrr(sacks.delivered_bytes);
  NoteCwnd(now, before);
}

void Connection::RackOnAck(TimeNs now, const Scoreboard::AckResult& r) {
  if (r.dsack) {
    rack_reordering_seen_ = true;
    if (tlp_high_seq_.has_value()) tlp_dsack_ = true;
  }
  if (r.newest_delivered_sent_at.has_value()) {
    const TimeNs sent_at = *r.newest_delivered_sent_at;
    const DurationNs rtt = now - sent_at;
    // Step 2: a retransmitted segment whose RTT is below the minimum was
    // answered by its first transmission: it dates nothing.
    if (!(r.newest_delivered_retransmitted && rack_min_rtt_ > 0 &&
          rtt < rack_min_rtt_)) {
      rack_rtt_ = rtt;
      if (rack_min_rtt_ == 0 || rtt < rack_min_rtt_) rack_min_rtt_ = rtt;
      if (r.newest_delivered_order > rack_order_) {
        rack_xmit_ts_ = sent_at;
        rack_order_ = r.newest_delivered_order;
      }
    }
  }
  RackDetectLoss(now);
}

void Connection::RackDetectLoss(TimeNs now) {
  if (rack_xmit_ts_ < 0 || scoreboard_.empty()) {
    Disarm(TimerKind::kReorder);
    return;
  }
  // Step 4: the reordering window is a quarter of the minimum RTT, or none
  // in recovery (or with DupThresh segments SACKed) while no reordering
  // has been seen.
  DurationNs reo_wnd = std::min(rack_min_rtt_ / 4, rtt_.srtt());
  if (!rack_reordering_seen_ &&
      (in_recovery_ || scoreboard_.sacked_bytes() >= 3 * snd_mss_)) {
    reo_wnd = 0;
  }
  std::optional<TimeNs> timeout;
  const uint32_t lost =
      scoreboard_.RackDetect(now, rack_order_, rack_rtt_, reo_wnd, &timeout);
  counters_.rack_losses += lost;
  if (timeout.has_value()) {
    Arm(now, TimerKind::kReorder, *timeout);
  } else {
    Disarm(TimerKind::kReorder);
  }
  if (lost > 0 && !in_recovery_ && snd_max_ > snd_una_ &&
      (snd_una_ >= recover_ || recover_ == iss_)) {
    EnterRecovery(now);
  }
}

void Connection::FireReorder(TimeNs now) {
  if (!Rack() || !Synchronized()) return;
  const uint32_t before = Cwnd();
  const bool was_in_recovery = in_recovery_;
  RackDetectLoss(now);
  if (in_recovery_ && !was_in_recovery) UpdatePrr(0);
  NoteCwnd(now, before);
  Output(now);
}

void Connection::ArmTlp(TimeNs now) {
  const bool eligible = Synchronized() && !in_recovery_ &&
                        snd_max_ > snd_una_ && !tlp_high_seq_.has_value() &&
                        scoreboard_.lost_bytes() == 0;
  if (!eligible) {
    Disarm(TimerKind::kTlp);
    return;
  }
  // RFC 8985 7.2: two smoothed RTTs, plus the peer's worst delayed-ACK
  // time when only one segment is out, and never after the RTO.
  // Linux also keeps it at 10 ms at least: on a path of no delay, a probe
  // due at once would go out before the ACK that is already on its way.
  DurationNs pto = rtt_.has_sample() ? 2 * rtt_.srtt() : kSecond;
  if (flight_size() <= snd_mss_) pto += 200 * kMillisecond;
  pto = std::max(pto, kMinPto);
  TimeNs deadline = now + pto;
  if (Armed(TimerKind::kRto)) {
    deadline = std::min(deadline, deadlines_[TimerIndex(TimerKind::kRto)]);
  }
  Arm(now, TimerKind::kTlp, deadline);
}

void Connection::FireTlp(TimeNs now) {
  if (!Rack() || snd_max_ == snd_una_ || in_recovery_) return;
  ++counters_.tail_loss_probes;
  const Seq end = data_end();
  const uint32_t unsent =
      snd_nxt_ < end ? static_cast<uint32_t>(end - snd_nxt_) : 0;
  const uint32_t outstanding = flight_size();
  const uint32_t room = snd_wnd_ > outstanding ? snd_wnd_ - outstanding : 0;
  const uint32_t len = std::min({unsent, snd_mss_, room});
  if (len > 0) {
    // RFC 8985 7.3: new data when there is some and the peer's window
    // allows, whatever cwnd says.
    Payload p =
        snd_buf_.Peek(static_cast<size_t>(snd_nxt_ - data_start()), len);
    const Seq seq = snd_nxt_;
    const uint8_t flags =
        kAck | (seq + static_cast<int64_t>(len) == end ? kPsh : 0);
    snd_nxt_ += len;
    snd_max_ = SeqMax(snd_max_, snd_nxt_);
    SendSegment(now, seq, flags, p, SendReason::kTailLossProbe);
  } else if (const Scoreboard::Segment* last = scoreboard_.Last()) {
    // Otherwise the last segment sent, again.
    const Scoreboard::Segment copy = *last;
    tlp_high_seq_ = snd_max_;
    tlp_dsack_ = false;
    RetransmitSegment(now, copy, SendReason::kTailLossProbe);
  }
  Arm(now, TimerKind::kRto, now + rtt_.rto());
}

void Connection::ProcessText(TimeNs now, Seq seq, const Payload& data_in,
                             bool fin) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      return;  // text after the peer's FIN is ignored (RFC 9293 3.10.7.4)
  }
  Payload data = data_in;
  bool ack_now = false;
  if (!data.empty() || fin) {
    // Trim what was already received and what lies beyond the window.
    if (seq < rcv_nxt_) {
      size_t skip = static_cast<size_t>(rcv_nxt_ - seq);
      NoteDuplicate(seq, rcv_nxt_ - seq > static_cast<int32_t>(data.size())
                             ? seq + static_cast<int64_t>(data.size())
                             : rcv_nxt_);
      if (skip >= data.size()) {
        data = Payload();
      } else {
        data.RemovePrefix(skip);
      }
      seq = rcv_nxt_;
    }
    Seq edge = SeqMax(rcv_adv_, rcv_nxt_);
    if (seq + static_cast<int64_t>(data.size()) > edge) {
      size_t keep = seq < edge ? static_cast<size_t>(edge - seq) : 0;
      data = data.Sub(0, keep);
      fin = false;
    }
  }
  if (fin) peer_fin_seq_ = seq + static_cast<int64_t>(data.size());
  if (!data.empty()) {
    if (seq == rcv_nxt_) {
      if (reassembly_.empty()) {
        rcv_queue_.Append(data);
        rcv_nxt_ += static_cast<int64_t>(data.size());
        counters_.bytes_delivered += data.size();
      } else {
        // The first arrival of every byte wins: where this text overlaps
        // bytes held out of order, those are delivered, not these.
        reassembly_.Insert(seq, data);
        Payload run = reassembly_.PopContiguous(rcv_nxt_);
        rcv_queue_.Append(run);
        rcv_nxt_ += static_cast<int64_t>(run.size());
        counters_.bytes_delivered += run.size();
        ack_now = true;  // RFC 5681 4.2: ACK at once when a gap fills
      }
    } else {
      ++counters_.out_of_order_segments;
      size_t stored = reassembly_.Insert(seq, data);
      if (stored == 0) {
        ++counters_.duplicate_segments;
        NoteDuplicate(seq, seq + static_cast<int64_t>(data.size()));
      }
      if (sack_ok_) NoteSackBlock(seq);
      // RFC 5681 4.2: an out-of-order segment is answered with an immediate
      // (duplicate) ACK.
      SendAck(now, SendReason::kAck);
      return;
    }
  }
  if (peer_fin_seq_ && *peer_fin_seq_ == rcv_nxt_ && !peer_fin_received_) {
    ProcessFin(now);
    return;
  }
  if (data.empty()) return;
  // The ACK decided here leaves after Output(), so that a data segment can
  // carry it instead.
  if (ack_now || !config_.delayed_ack) {
    pending_ack_ = SendReason::kAck;
  } else if (rcv_nxt_ - last_ack_sent_ >= static_cast<int32_t>(2 * snd_mss_)) {
    // Every second full-sized segment (RFC 1122 4.2.3.2, RFC 5681 4.2).
    pending_ack_ = SendReason::kDelayedAck;
  } else if (!Armed(TimerKind::kDelayedAck)) {
    Arm(now, TimerKind::kDelayedAck, now + config_.delayed_ack_timeout);
  }
}

void Connection::ProcessFin(TimeNs now) {
  peer_fin_received_ = true;
  rcv_nxt_ += 1;
  peer_fin_seq_.reset();
  switch (state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      SetState(now, TcpState::kCloseWait);
      break;
    case TcpState::kFinWait1:
      if (fin_queued_ && snd_una_ > fin_seq_) {
        SetState(now, TcpState::kTimeWait);
        Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      } else {
        SetState(now, TcpState::kClosing);
      }
      break;
    case TcpState::kFinWait2:
      SetState(now, TcpState::kTimeWait);
      Disarm(TimerKind::kRto);
      Arm(now, TimerKind::kTimeWait, now + 2 * config_.msl);
      break;
    default:
      break;
  }
  SendAck(now, SendReason::kAck);
}

void Connection::MaybeWindowUpdate(TimeNs now) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      return;
  }
  uint32_t cur =
      rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  uint32_t free_space =
      std::min(FreeReceiveSpace(), uint32_t{65535} << rcv_wscale_);
  uint32_t threshold = std::min(config_.recv_buffer / 2, config_.mss());
  // Announce a reopened window when the advertised one had shrunk to at most
  // half the buffer and can now grow by the SWS threshold; a pending delayed
  // ACK leaves merged into this update.
  if (2 * static_cast<uint64_t>(cur) <= config_.recv_buffer &&
      free_space >= cur + threshold) {
    SendAck(now, SendReason::kWindowUpdate);
  }
}

}  // namespace tcpemu
