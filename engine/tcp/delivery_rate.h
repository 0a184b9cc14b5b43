// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation): the
// sender stamps each transmission with how much had been delivered and when,
// and each ACK turns the stamp of the newest segment it delivered into a rate
// sample over the interval since. BBR models the path from these samples;
// NewReno and CUBIC ignore them.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/base/time.h"
#include "engine/tcp/congestion_control.h"

namespace tcpemu {

// What a transmission carries (the draft's per-packet P.* fields).
struct TxRateState {
  uint64_t delivered = 0;      // C.delivered when it left
  TimeNs delivered_time = 0;   // C.delivered_time when it left
  TimeNs first_sent_time = 0;  // C.first_sent_time when it left
  bool app_limited = false;    // C.app_limited was set when it left
};

class DeliveryRate {
 public:
  // A transmission at `now`; `nothing_in_flight` when no data was
  // outstanding before it (the sampling interval restarts there). Returns
  // the stamp it carries.
  TxRateState OnSend(TimeNs now, bool nothing_in_flight);

  // An ACK that newly delivered `delivered_bytes`; `newest` is the stamp of
  // the most recently sent segment among them and when it left (absent when
  // it delivered nothing); `retransmitted` if that segment was sent more
  // than once. `min_rtt` rejects samples over too short an interval.
  RateSample OnAck(TimeNs now, uint32_t delivered_bytes,
                   const std::optional<TxRateState>& newest, TimeNs sent_at,
                   bool retransmitted, DurationNs min_rtt);

  // The sender has nothing to send and cwnd is not full (draft 3.4): samples
  // until the bytes now in flight are delivered are app-limited.
  void OnAppLimited(uint32_t in_flight);

  uint64_t delivered() const { return delivered_; }
  bool app_limited() const { return app_limited_until_ != 0; }

 private:
  uint64_t delivered_ = 0;          // C.delivered
  TimeNs delivered_time_ = 0;       // C.delivered_time
  TimeNs first_sent_time_ = 0;      // C.first_sent_time
  uint64_t app_limited_until_ = 0;  // C.app_limited: 0 when not limited
};

}  // namespace tcpemu
