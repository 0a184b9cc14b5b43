// NewReno congestion control: slow start and congestion avoidance (RFC 5681
// 3.1) with fast recovery as modified by RFC 6582; initial window per
// RFC 6928 (configurable, default 10 segments). With `hystart` the initial
// slow start is HyStart++ (RFC 9406).
#pragma once

#include <optional>

#include "engine/tcp/congestion_control.h"
#include "engine/tcp/hystart.h"

namespace tcpemu {

class NewReno final : public CongestionControl {
 public:
  NewReno(uint32_t mss, uint32_t initial_window_segments, bool hystart = false);

  std::string_view name() const override { return "newreno"; }
  uint32_t cwnd() const override { return cwnd_; }
  uint32_t ssthresh() const override { return ssthresh_; }

  void OnAck(const AckSample& ack) override;
  void OnCongestionEvent(TimeNs now, uint32_t in_flight) override;
  void OnRecoveryEnd(TimeNs now, uint32_t in_flight) override;
  void OnRetransmitTimeout(TimeNs now, uint32_t in_flight) override;
  void OnSynLoss() override;

  // Null without HyStart++.
  const HyStartPlusPlus* hystart() const {
    return hystart_.has_value() ? &*hystart_ : nullptr;
  }

 private:
  uint32_t HalfFlight(uint32_t flight) const;

  uint32_t mss_;
  uint32_t cwnd_;
  uint32_t ssthresh_;
  // Bytes acknowledged since cwnd last grew in congestion avoidance
  // (appropriate byte counting, RFC 5681 3.1).
  uint32_t bytes_acked_ca_ = 0;
  std::optional<HyStartPlusPlus> hystart_;
};

}  // namespace tcpemu
