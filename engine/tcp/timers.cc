// The connection's timers: arming, the next deadline, dispatch of expired
// timers, the retransmission timeout (RFC 6298, RFC 5681 3.1, RFC 6675
// 5.1) and keepalive (RFC 1122 4.2.3.6).
#include <algorithm>
#include <optional>
#include <utility>

#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

}  // namespace

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
    if (state_ == TcpState::kSynSent &&
        retransmit_count_ > config_.ecn_syn_retries) {
      ecn_.GiveUpSetup();
    }
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
  ecn_.OnReduced(snd_max_);  // CWR tells the peer of the reduction
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
  rtt_timing_ = false;           // Karn: no sample from retransmitted data
  ts_sample_wanted_ = ts_.ok();  // but a timestamp echo is unambiguous
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

}  // namespace tcpemu
