// Congestion control behind an interface (RFC 5681), so that NewReno and
// CUBIC (RFC 9438), and later BBR, plug into the same sender. The sender owns
// loss detection and recovery state; the algorithm owns cwnd and ssthresh.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/sim/time.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;

  virtual std::string_view name() const = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;

  // New data acknowledged outside of recovery.
  virtual void OnAck(TimeNs now, uint32_t bytes_acked, uint32_t flight) = 0;
  // Every ACK that acknowledges new data, before OnAck or the recovery
  // calls: the round-trip time it measured (0 when it measured none) and
  // SND.UNA and SND.MAX after it, for algorithms that count rounds (HyStart++,
  // RFC 9406 4.2: a round ends when SND.UNA passes the SND.MAX of its start).
  virtual void OnAckRtt(TimeNs now, DurationNs rtt, Seq snd_una, Seq snd_max) {}
  // Entry into loss recovery (RFC 5681 3.2 steps 2-3, RFC 6675 5 step 4).
  // `flight` is FlightSize at that moment. Without SACK the window is
  // inflated by the three segments that left the network; with SACK cwnd is
  // ssthresh and the sender's pipe estimate paces the recovery.
  virtual void OnEnterRecovery(TimeNs now, uint32_t flight, bool sack) = 0;
  // A further duplicate ACK during recovery without SACK (RFC 5681 3.2
  // step 4).
  virtual void OnDupAckInRecovery() = 0;
  // A partial ACK during recovery without SACK (RFC 6582 3.2 step 5).
  virtual void OnPartialAck(uint32_t bytes_acked) = 0;
  // A full ACK ends recovery (RFC 6582 3.2 step 6).
  virtual void OnExitRecovery(uint32_t flight) = 0;
  // The SYN or SYN-ACK had to be retransmitted: the initial window is one
  // segment (RFC 5681 3.1).
  virtual void OnSynLoss() = 0;
  // Retransmission timeout (RFC 5681 3.1, equation 4).
  virtual void OnRetransmitTimeout(uint32_t flight) = 0;
  // The smoothed RTT after a new sample (RFC 6298), for algorithms that
  // look ahead by one RTT.
  virtual void OnRttSample(DurationNs srtt) {}
};

// Creates the algorithm selected in `config` for a connection whose SMSS is
// `mss`.
std::unique_ptr<CongestionControl> MakeCongestionControl(
    const TcpConfig& config, uint32_t mss);

}  // namespace tcpemu
