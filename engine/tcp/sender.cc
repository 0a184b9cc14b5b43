// The sender: the application's writes, segment construction, output of
// new data within the windows (Nagle, cork and sender SWS avoidance, RFC
// 1122 4.2.3.4; limited transmit, RFC 3042), retransmission (RFC 6675 5
// with SACK), the persist timer (RFC 9293 3.8.6.1), the send window update
// (RFC 9293 3.10.7.4) and pacing.
#include <algorithm>
#include <optional>
#include <utility>

#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

}  // namespace

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

void Connection::SendSegment(TimeNs now, Seq seq, uint8_t flags,
                             const Payload& payload, SendReason reason) {
  TcpHeader h;
  h.src_port = tuple_.local_port;
  h.dst_port = tuple_.remote_port;
  h.seq = seq;
  h.flags = flags;
  h.options.layout = config_.flavor == StackFlavor::kFreeBsd
                         ? OptionLayout::kFreeBsd
                         : OptionLayout::kLinux;
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
    if ((flags & kAck) ? ts_.ok() : config_.timestamps) {
      h.options.timestamp =
          TcpTimestamp{ts_.Now(now), (flags & kAck) ? ts_.recent() : 0};
    }
  } else if (ts_.ok() && !(flags & kRst)) {
    h.options.timestamp = TcpTimestamp{ts_.Now(now), ts_.recent()};
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
  // ECN (RFC 3168 6.1): ECE on every ACK while a CE mark is to be echoed;
  // ECT(0) on new data, and CWR on the first new data after a reduction.
  Ecn codepoint = Ecn::kNotEct;
  if (ecn_.ok() && !(flags & (kSyn | kRst))) {
    if ((flags & kAck) && ecn_.echoing()) h.flags |= kEce;
    const TcpEcn::Marking m = ecn_.OnSend(seq, len);
    codepoint = m.codepoint;
    if (m.cwr) {
      h.flags |= kCwr;
      ++counters_.cwr_sent;
    }
  }
  if (PrrActive() && len > 0) prr_.OnSent(len);
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
  if (ctx_.output == nullptr) return;
  if (codepoint == Ecn::kNotEct) {
    ctx_.output->Transmit(now, h, payload);
  } else {
    ctx_.output->TransmitEcn(now, h, payload, codepoint);
  }
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
  ts_sample_wanted_ = ts_.ok();
  SendSegment(now, s.start, flags, p, reason);
  // The segment at SND.UNA is resent: its timer starts again (as Linux
  // does), else the timer of the original transmission, running since the
  // last cumulative ACK, fires before the retransmission can be answered.
  if (s.start == snd_una_) Arm(now, TimerKind::kRto, now + rtt_.rto());
}

uint32_t Connection::SendRoom() const {
  if (PrrActive()) return prr_.SendRoom(snd_mss_);
  const uint32_t cwnd = Cwnd();
  const uint32_t pipe = scoreboard_.pipe();
  return cwnd > pipe ? cwnd - pipe : 0;
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

void Connection::SetNoDelay(TimeNs now, bool on) {
  config_.nodelay = on;
  if (on && Synchronized()) Output(now);
}

void Connection::SetCork(TimeNs now, bool on) {
  config_.cork = on;
  if (!on) {
    Disarm(TimerKind::kCork);
    cork_release_ = false;
    if (Synchronized()) Output(now);
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

}  // namespace tcpemu
