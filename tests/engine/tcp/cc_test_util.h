// AckSamples for driving a CongestionControl directly in unit tests.
#pragma once

#include <cstdint>

#include "engine/tcp/congestion_control.h"

namespace tcpemu {

// An ACK at `now` that moved SND.UNA by `bytes` of data, outside recovery,
// having measured `rtt` (0: none) with a smoothed RTT of `srtt`.
inline AckSample Acked(TimeNs now, uint32_t bytes, DurationNs srtt = 0,
                       DurationNs rtt = 0, Seq snd_una = Seq(),
                       Seq snd_max = Seq()) {
  AckSample a;
  a.now = now;
  a.new_ack = true;
  a.acked_bytes = bytes;
  a.delivered_bytes = bytes;
  a.rtt = rtt;
  a.srtt = srtt;
  a.snd_una = snd_una;
  a.snd_max = snd_max;
  return a;
}

}  // namespace tcpemu
