// Congestion control as an event interface, so that NewReno (RFC 5681, RFC
// 6582), CUBIC (RFC 9438) and BBR plug into the same sender. The sender owns
// loss detection and recovery (SACK recovery with PRR, or NewReno's window
// inflation without SACK) and hands the algorithm one AckSample per ACK that
// acknowledged or selectively acknowledged data, with a delivery-rate sample
// (draft-cheng-iccrg-delivery-rate-estimation), plus the congestion events.
// The algorithm owns cwnd and ssthresh and may set a pacing rate.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/base/event.h"
#include "engine/base/time.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/seq.h"

namespace tcpemu {

// A delivery-rate sample: how much was delivered over which interval,
// measured from the newest segment this ACK delivered (its "P" in
// draft-cheng-iccrg-delivery-rate-estimation 3.3).
struct RateSample {
  // Bytes delivered in `interval`: C.delivered now less P.delivered.
  uint64_t delivered = 0;
  // max(send_elapsed, ack_elapsed); 0 when the ACK gives no valid sample
  // (it delivered nothing new, or the interval is shorter than min RTT).
  DurationNs interval = 0;
  // P was sent while the application or the receiver window, not cwnd,
  // limited the sender: the rate is a lower bound only.
  bool app_limited = false;
  // The round trip of P (now - P.sent_time), 0 if P was retransmitted.
  DurationNs rtt = 0;
  // C.delivered when P was sent: a round ends when this passes the
  // C.delivered at the round's start (BBR's round counting).
  uint64_t prior_delivered = 0;

  bool valid() const { return interval > 0; }
  // Bytes per second; 0 when not valid.
  uint64_t rate() const {
    return interval > 0
               ? static_cast<uint64_t>(static_cast<double>(delivered) * 1e9 /
                                       static_cast<double>(interval))
               : 0;
  }
};

// What one ACK told the sender.
struct AckSample {
  TimeNs now = 0;
  // The ACK moved SND.UNA (acknowledged new sequence space, data or not).
  bool new_ack = false;
  // Data bytes newly acknowledged cumulatively (an acknowledged SYN or FIN
  // counts nothing).
  uint32_t acked_bytes = 0;
  // Bytes newly delivered: acked_bytes plus the newly SACKed (RFC 6937
  // DeliveredData).
  uint32_t delivered_bytes = 0;
  // Bytes the sender newly deemed lost while taking this ACK.
  uint32_t lost_bytes = 0;
  // Bytes in flight (FlightSize) before the ACK, and the sender's estimate
  // (pipe) after it.
  uint32_t prior_in_flight = 0;
  uint32_t in_flight = 0;
  // The round trip this ACK measured (a timed segment, or an echoed
  // timestamp), 0 when none; and the smoothed RTT after it (0 before any).
  DurationNs rtt = 0;
  DurationNs srtt = 0;
  // After the ACK, for algorithms that count rounds by sequence (HyStart++,
  // RFC 9406 4.2: a round ends when SND.UNA passes the SND.MAX of its
  // start).
  Seq snd_una;
  Seq snd_max;
  // The sender was in loss recovery when the ACK came: window growth is
  // withheld (RFC 5681 3.2, RFC 6675 5).
  bool in_recovery = false;
  RateSample rate;
  // C.delivered after the ACK: every byte delivered since the connection
  // began.
  uint64_t delivered = 0;
};

// What an algorithm believes of the path, for snapshots and plots.
struct CcModel {
  // The algorithm's phase (BBR's); kNone for the window-based algorithms,
  // whose phase the sender knows.
  CcPhase phase = CcPhase::kNone;
  uint64_t bandwidth = 0;  // estimated bottleneck rate, bytes/s (0: none)
  DurationNs min_rtt = 0;  // estimated base RTT (0: none)
};

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;

  virtual std::string_view name() const = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
  // Bytes per second at which the sender spaces its segments; 0 sends as
  // cwnd allows, without pacing.
  virtual uint64_t pacing_rate() const { return 0; }
  // The algorithm sets cwnd itself during loss recovery (BBR's packet
  // conservation), so the sender does not run PRR (RFC 6937) over it.
  virtual bool sets_recovery_window() const { return false; }
  virtual CcModel model() const { return {}; }

  // Every ACK that moved SND.UNA or SACKed new data.
  virtual void OnAck(const AckSample& ack) = 0;
  // A loss was detected and recovery begins (RFC 5681 3.2 steps 2-3, RFC
  // 6675 5 step 4, RFC 8985): the window's response to congestion.
  // `in_flight` is FlightSize at that moment.
  virtual void OnCongestionEvent(TimeNs now, uint32_t in_flight) = 0;
  // An ACK echoed a CE mark (RFC 3168 6.1.2): the window's response to
  // congestion, as to a loss but with nothing to retransmit, at most once
  // per window of data (the sender sees to that). `in_flight` is FlightSize
  // at that moment. By default the same reduction as a loss (NewReno:
  // ssthresh = max(FlightSize / 2, 2 * SMSS) and cwnd = ssthresh; CUBIC: its
  // beta), entered and left at once since nothing is to be repaired.
  virtual void OnEcnCongestion(TimeNs now, uint32_t in_flight) {
    OnCongestionEvent(now, in_flight);
  }
  // Recovery ended by a full ACK (RFC 6582 3.2 step 6). `in_flight` is
  // FlightSize after that ACK.
  virtual void OnRecoveryEnd(TimeNs now, uint32_t in_flight) = 0;
  // Retransmission timeout (RFC 5681 3.1, equation 4).
  virtual void OnRetransmitTimeout(TimeNs now, uint32_t in_flight) = 0;
  // The SYN or SYN-ACK had to be retransmitted: the initial window is one
  // segment (RFC 5681 3.1).
  virtual void OnSynLoss() = 0;
  // The sender has nothing to send (the application or the receiver's
  // window limits it, not cwnd) with `in_flight` bytes out.
  virtual void OnAppLimited(TimeNs now, uint32_t in_flight) {}
};

// Creates the algorithm selected in `config` for a connection whose SMSS is
// `mss`; `random` seeds what an algorithm draws (BBR's first gain phase), so
// that a connection's run is reproducible.
std::unique_ptr<CongestionControl> MakeCongestionControl(
    const TcpConfig& config, uint32_t mss, uint32_t random = 0);

}  // namespace tcpemu
