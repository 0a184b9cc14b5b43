// The sender's handling of an acceptable ACK: SND.UNA and the send
// buffer, RTT samples (RFC 6298, Karn; RFC 7323 4), SACK blocks into the
// scoreboard (RFC 6675), duplicate ACKs, entry into and exit from loss
// recovery (RFC 5681 3.2, RFC 6582, RFC 6675 5), PRR updates (RFC 6937)
// and the congestion-control events with their delivery-rate samples.
#include <algorithm>
#include <optional>
#include <utility>

#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

}  // namespace

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

void Connection::UpdatePrr(uint32_t delivered) {
  prr_.OnAck(delivered, scoreboard_.pipe(), cc_->ssthresh(), snd_mss_);
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
  ts_sample_wanted_ = ts_.ok();
  ++counters_.fast_recoveries;
  cc_->OnCongestionEvent(now, flight_size());
  ecn_.OnReduced(snd_max_);  // CWR tells the peer of the reduction
  if (!sack_ok_) reno_.OnEnter(snd_mss_);
  if (sack_ok_) {
    prr_.Start(flight_size());
    // The first hole goes at once even when IsLost does not yet say so
    // (three duplicate ACKs that SACKed short segments); the rest as the
    // scoreboard marks them and pipe allows, from Output.
    scoreboard_.MarkFirstHoleLost();
  } else {
    RetransmitFirst(now, SendReason::kRetransmitFast);
  }
}

void Connection::OnEcnEcho(TimeNs now) {
  ++counters_.ece_received;
  // Loss recovery has already reduced the window for this one (and queued
  // CWR); otherwise at most once per window of data (RFC 3168 6.1.2).
  if (in_recovery_ || !ecn_.OnEce(snd_una_)) return;
  ++counters_.ecn_reductions;
  const uint32_t before = Cwnd();
  cc_->OnEcnCongestion(now, flight_size());
  ecn_.OnReduced(snd_max_);
  NoteCwnd(now, before);
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
          static_cast<int32_t>(ts_.Now(now) - h.options.timestamp->echo_reply);
      if (ticks >= 0) {
        sample = DurationNs{ticks} * kMillisecond;
        ts_sample_wanted_ = false;
      }
    }
    // Every ACK of new data with an echoed timestamp measures a round trip
    // (RFC 7323 4.1), for the congestion controller's round counting.
    DurationNs ack_rtt = sample.value_or(0);
    if (!sample.has_value() && ts_.ok() && h.options.timestamp.has_value() &&
        h.options.timestamp->echo_reply != 0) {
      const int32_t ticks =
          static_cast<int32_t>(ts_.Now(now) - h.options.timestamp->echo_reply);
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

}  // namespace tcpemu
