// Delivery-rate estimation; see delivery_rate.h.
#include "engine/tcp/delivery_rate.h"

#include <algorithm>

namespace tcpemu {

TxRateState DeliveryRate::OnSend(TimeNs now, bool nothing_in_flight) {
  if (nothing_in_flight) {
    // Draft 3.2: the first packet of a flight starts the send and ACK
    // intervals afresh.
    first_sent_time_ = now;
    delivered_time_ = now;
  }
  TxRateState s;
  s.delivered = delivered_;
  s.delivered_time = delivered_time_;
  s.first_sent_time = first_sent_time_;
  s.app_limited = app_limited_until_ != 0;
  return s;
}

RateSample DeliveryRate::OnAck(TimeNs now, uint32_t delivered_bytes,
                               const std::optional<TxRateState>& newest,
                               TimeNs sent_at, bool retransmitted,
                               DurationNs min_rtt) {
  RateSample rs;
  if (delivered_bytes == 0) return rs;
  delivered_ += delivered_bytes;
  delivered_time_ = now;
  if (app_limited_until_ != 0 && delivered_ > app_limited_until_) {
    app_limited_until_ = 0;
  }
  if (!newest.has_value()) return rs;
  // Draft 3.3: the interval runs from P's send (and the delivery before it)
  // to now; the next send interval starts at P's send.
  const DurationNs send_elapsed = sent_at - newest->first_sent_time;
  const DurationNs ack_elapsed = now - newest->delivered_time;
  first_sent_time_ = sent_at;
  rs.prior_delivered = newest->delivered;
  rs.delivered = delivered_ - newest->delivered;
  rs.app_limited = newest->app_limited;
  rs.rtt = retransmitted ? 0 : now - sent_at;
  const DurationNs interval = std::max(send_elapsed, ack_elapsed);
  // An interval shorter than the minimum RTT comes from ACK compression or
  // a stretched send and would overstate the rate (draft 3.3).
  if (interval > 0 && interval >= min_rtt) rs.interval = interval;
  return rs;
}

void DeliveryRate::OnAppLimited(uint32_t in_flight) {
  app_limited_until_ = std::max<uint64_t>(delivered_ + in_flight, 1);
}

}  // namespace tcpemu
