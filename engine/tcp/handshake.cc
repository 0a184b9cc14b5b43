// Opening a connection (RFC 9293 3.5): active and passive open, SYN and
// SYN-ACK, the options the handshake negotiates (MSS, window scale, SACK,
// timestamps), SYN-SENT and LISTEN input, and passive opens completed by a
// SYN cookie.
#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

}  // namespace

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

void Connection::SendSyn(TimeNs now, bool with_ack, SendReason reason) {
  // RFC 3168 6.1.1: an ECN-setup SYN carries ECE and CWR, an ECN-setup
  // SYN-ACK ECE alone.
  const uint8_t flags =
      with_ack ? (kSyn | kAck | ecn_.SynAckFlags()) : (kSyn | ecn_.SynFlags());
  SendSegment(now, iss_, flags, Payload(), reason);
}

void Connection::RoundBuffersToMss(uint32_t mss) {
  // FreeBSD's tcp_mss rounds by the MSS without options.
  const uint64_t m = std::max<uint32_t>(1, mss);
  auto round = [m](uint32_t b) {
    return b <= m ? b
                  : static_cast<uint32_t>(
                        std::min<uint64_t>((b + m - 1) / m * m, 256 << 20));
  };
  config_.recv_buffer = round(config_.recv_buffer);
  config_.send_buffer = round(config_.send_buffer);
  snd_buf_.set_capacity(config_.send_buffer);
}

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
  ts_.Negotiate(now, config_.timestamps, h);
  if (ts_.ok()) {
    snd_mss_ = snd_mss_ > Timestamps::kOptionLen
                   ? snd_mss_ - Timestamps::kOptionLen
                   : 1;
  }
  // FreeBSD rounds an active open's buffers when the SYN-ACK (or the
  // peer's SYN) arrives; a passive one's when the handshake completes.
  if (config_.flavor == StackFlavor::kFreeBsd && !passive_) {
    RoundBuffersToMss(std::min(peer_mss, config_.mss()));
  }
  // The window is counted in segments of the negotiated MSS (RFC 5681 3.1).
  if (snd_mss_ != config_.mss()) {
    cc_ = MakeCongestionControl(config_, snd_mss_, iss_.value());
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
  ecn_.OnPeerSyn(h.flags);
  snd_wnd_ = h.window;  // never scaled in a SYN (RFC 7323 2.2)
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = h.seq;
  StartHandshake(now, TcpState::kSynReceived);
}

void Connection::OnSegmentSynSent(TimeNs now, const TcpHeader& h,
                                  const Payload& payload) {
  const uint32_t len = static_cast<uint32_t>(payload.size());
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
  if (ack_ok) {
    ecn_.OnPeerSynAck(h.flags);
  } else {
    ecn_.OnPeerSyn(h.flags);  // simultaneous open: the peer's SYN
  }
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
    // Text and a FIN that came with the SYN-ACK are taken within the window
    // our SYN offered (RFC 9293 3.10.7.3: "continue processing at the sixth
    // step").
    if (len > 0 || h.has(kFin)) {
      rcv_adv_ = rcv_nxt_ + static_cast<int64_t>(
                                std::min<uint32_t>(FreeReceiveSpace(), 65535));
      ProcessText(now, rcv_nxt_, payload, h.has(kFin));
    }
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

}  // namespace tcpemu
