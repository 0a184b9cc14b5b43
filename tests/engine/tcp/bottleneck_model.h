// A packet-level model of one bottleneck path for congestion-control unit
// tests: a sender that paces by CongestionControl::pacing_rate() and sends
// full segments while in flight fits cwnd(), a FIFO bottleneck of fixed rate
// with an unbounded buffer, a fixed propagation delay, and one ACK per
// segment, in order and without loss. Each ACK's rate sample is computed as
// draft-cheng-iccrg-delivery-rate-estimation says (per segment: delivered,
// delivered time and first-sent time at its send, and the app-limited
// mark), so the algorithm sees what a sender would give it. Options add an
// application writing at a limited rate and ACKs released in bunches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>

#include "engine/base/time.h"
#include "engine/tcp/congestion_control.h"
#include "engine/wire/seq.h"

namespace tcpemu {

struct BottleneckOptions {
  uint32_t mss = 1448;
  uint64_t rate = 12'500'000;          // 100 Mbit/s, bytes per second
  DurationNs rtt = 40 * kMillisecond;  // propagation, both ways
  // The application writes this many bytes per second (0: always has
  // data).
  uint64_t app_rate = 0;
  // A sender that marks app-limited samples (draft 3.4); false models
  // one that does not, to show what marking protects against.
  bool mark_app_limited = true;
  // ACKs leave the receiver only at multiples of this period (0: at
  // once): ACK aggregation, as on Wi-Fi or behind a middlebox.
  DurationNs ack_aggregation = 0;
};

// One sender, one bottleneck, one receiver.
class BottleneckModel {
 public:
  using Observer = std::function<void(const AckSample&)>;

  BottleneckModel(CongestionControl* cc, BottleneckOptions options)
      : cc_(cc), o_(options) {}

  // Runs the model until `until`, calling `observer` after every ACK.
  void RunUntil(TimeNs until, const Observer& observer = {}) {
    while (true) {
      const TimeNs next_ack =
          in_flight_list_.empty() ? kNever : in_flight_list_.front().ack_time;
      const TimeNs next_send = NextSendTime();
      const TimeNs t = std::min(next_ack, next_send);
      if (t > until || stop_) break;
      now_ = t;
      if (next_ack <= next_send) {
        Ack(observer);
      } else {
        Send();
      }
    }
    if (!stop_) now_ = until;
    stop_ = false;
  }
  // Called by an observer: RunUntil returns after this ACK.
  void Stop() { stop_ = true; }

  // The propagation delay changes (a route change) from now on.
  void SetRtt(DurationNs rtt) { o_.rtt = rtt; }
  // The application's rate from now on (0: unlimited).
  void SetAppRate(uint64_t rate) {
    app_written_ = o_.app_rate == 0 ? snd_nxt_ : AppAvailable();
    app_since_ = now_;
    o_.app_rate = rate;
  }
  TimeNs now() const { return now_; }
  uint32_t in_flight() const { return in_flight_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t sent() const { return snd_nxt_; }

 private:
  struct Segment {
    uint64_t end;  // sequence offset after it
    uint32_t bytes;
    TimeNs sent_time;
    TimeNs ack_time;
    // The connection's state when it was sent (draft 3.2).
    uint64_t delivered;
    TimeNs delivered_time;
    TimeNs first_sent_time;
    bool app_limited;
  };

  uint64_t AppAvailable() const {
    if (o_.app_rate == 0) return std::numeric_limits<uint64_t>::max();
    return app_written_ +
           static_cast<uint64_t>(static_cast<double>(o_.app_rate) *
                                 static_cast<double>(now_ - app_since_) / 1e9);
  }

  // When the next segment may go: cwnd, pacing and data allowing; kNever
  // while cwnd is full.
  TimeNs NextSendTime() {
    if (in_flight_ + o_.mss > cc_->cwnd()) return kNever;
    TimeNs t = std::max(next_pacing_time_, now_);
    if (o_.app_rate > 0 && snd_nxt_ + o_.mss > AppAvailable()) {
      // Nothing to send: application-limited (draft 3.4), until the
      // application's next segment is written.
      MarkAppLimited();
      const double need = static_cast<double>(snd_nxt_ + o_.mss - app_written_);
      const TimeNs ready =
          app_since_ + static_cast<TimeNs>(std::ceil(
                           need * 1e9 / static_cast<double>(o_.app_rate)));
      t = std::max(t, std::max(ready, now_ + 1));
    }
    return t;
  }

  void MarkAppLimited() {
    if (o_.mark_app_limited) {
      app_limited_until_ = std::max<uint64_t>(delivered_ + in_flight_, 1);
    }
    if (!reported_app_limited_) {
      reported_app_limited_ = true;
      cc_->OnAppLimited(now_, in_flight_);
    }
  }

  void Send() {
    if (in_flight_list_.empty()) {
      first_sent_time_ = now_;
      delivered_time_ = now_;
    }
    // The bottleneck serializes in order; the ACK comes back one
    // propagation delay after the segment leaves it.
    const TimeNs serialized = static_cast<TimeNs>(
        static_cast<double>(o_.mss) * 1e9 / static_cast<double>(o_.rate));
    link_free_ = std::max(link_free_, now_) + serialized;
    TimeNs ack_time = link_free_ + o_.rtt;
    if (o_.ack_aggregation > 0) {
      ack_time = (ack_time + o_.ack_aggregation - 1) / o_.ack_aggregation *
                 o_.ack_aggregation;
    }
    // ACKs stay in order.
    if (!in_flight_list_.empty()) {
      ack_time = std::max(ack_time, in_flight_list_.back().ack_time);
    }
    snd_nxt_ += o_.mss;
    in_flight_list_.push_back(
        Segment{snd_nxt_, o_.mss, now_, ack_time, delivered_, delivered_time_,
                first_sent_time_, app_limited_until_ != 0});
    in_flight_ += o_.mss;
    reported_app_limited_ = false;
    const uint64_t pacing = cc_->pacing_rate();
    next_pacing_time_ =
        now_ + (pacing == 0
                    ? 0
                    : static_cast<TimeNs>(static_cast<double>(o_.mss) * 1e9 /
                                          static_cast<double>(pacing)));
  }

  void Ack(const Observer& observer) {
    const Segment p = in_flight_list_.front();
    in_flight_list_.pop_front();
    const uint32_t prior_in_flight = in_flight_;
    in_flight_ -= p.bytes;
    delivered_ += p.bytes;
    delivered_time_ = now_;

    // Draft 3.3: the sample runs from P's send to now.
    RateSample rs;
    rs.prior_delivered = p.delivered;
    rs.delivered = delivered_ - p.delivered;
    const DurationNs send_elapsed = p.sent_time - p.first_sent_time;
    const DurationNs ack_elapsed = delivered_time_ - p.delivered_time;
    first_sent_time_ = p.sent_time;
    rs.interval = std::max(send_elapsed, ack_elapsed);
    rs.app_limited = p.app_limited;
    rs.rtt = now_ - p.sent_time;
    min_rtt_ = std::min(min_rtt_, rs.rtt);
    if (rs.interval < min_rtt_) rs.interval = 0;  // not a valid sample
    if (app_limited_until_ != 0 && delivered_ > app_limited_until_) {
      app_limited_until_ = 0;
    }
    srtt_ = srtt_ == 0 ? rs.rtt : (7 * srtt_ + rs.rtt) / 8;

    AckSample ack;
    ack.now = now_;
    ack.new_ack = true;
    ack.acked_bytes = p.bytes;
    ack.delivered_bytes = p.bytes;
    ack.prior_in_flight = prior_in_flight;
    ack.in_flight = in_flight_;
    ack.rtt = rs.rtt;
    ack.srtt = srtt_;
    ack.snd_una = Seq(static_cast<uint32_t>(p.end));
    ack.snd_max = Seq(static_cast<uint32_t>(snd_nxt_));
    ack.rate = rs;
    ack.delivered = delivered_;
    cc_->OnAck(ack);
    if (observer) observer(ack);
  }

  CongestionControl* cc_;
  BottleneckOptions o_;
  TimeNs now_ = 0;
  std::deque<Segment> in_flight_list_;
  uint32_t in_flight_ = 0;
  uint64_t snd_nxt_ = 0;
  uint64_t delivered_ = 0;
  TimeNs delivered_time_ = 0;
  TimeNs first_sent_time_ = 0;
  uint64_t app_limited_until_ = 0;
  bool reported_app_limited_ = false;
  uint64_t app_written_ = 0;
  TimeNs app_since_ = 0;
  TimeNs next_pacing_time_ = 0;
  TimeNs link_free_ = 0;
  DurationNs min_rtt_ = std::numeric_limits<DurationNs>::max();
  DurationNs srtt_ = 0;
  bool stop_ = false;
};

}  // namespace tcpemu
