// RACK-TLP (RFC 8985) with SACK: loss detection by time (6.2, the
// reordering window and its timer) and the tail loss probe (7).
#include <algorithm>
#include <optional>
#include <utility>

#include "engine/tcp/connection.h"

namespace tcpemu {
namespace {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best
                            // bare

// The floor of the tail loss probe's timeout (Linux's, in
// tcp_schedule_loss_probe).
constexpr DurationNs kMinPto = 10 * kMillisecond;

}  // namespace

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

}  // namespace tcpemu
