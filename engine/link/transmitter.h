// The wire behind a path's bottleneck queue: when it can take the next
// packet and when that packet has left. Either a fixed serialization rate
// (size * 8 / rate, exact to the nanosecond with no drift) or a Mahimahi
// delivery trace (mm-link(1): each opportunity carries up to
// kTraceOpportunityBytes bytes, byte by byte, and is lost when nothing
// waits), or stopped while the link is down.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/base/time.h"
#include "engine/link/link_schedule.h"

namespace tcpemu {

class Transmitter {
 public:
  // A rate wire (0 = unlimited: packets leave the instant they start).
  // Applies to packets that start from now on.
  void SetRate(uint64_t rate_bps);
  // A trace wire whose first period starts at `start` (null: back to the
  // rate wire). A packet on the wire keeps its departure.
  void SetTrace(std::shared_ptr<const DeliveryTrace> trace, TimeNs start);
  // A stopped wire takes nothing until it is started again.
  void SetStopped(bool stopped) { stopped_ = stopped; }
  bool stopped() const { return stopped_; }

  // The earliest time at or after `ready` at which a waiting packet can
  // start, or kNever while stopped.
  TimeNs NextStart(TimeNs ready) const;
  // Takes a packet of `bytes` at `start` (a value NextStart returned, or
  // later) and returns when its last bit has left.
  TimeNs Transmit(TimeNs start, size_t bytes);

  // Whether a packet is still on the wire at `now`.
  bool Busy(TimeNs now) const { return busy_until_ > now; }
  TimeNs busy_until() const { return busy_until_; }
  bool tracing() const { return trace_ != nullptr; }

 private:
  // The time of trace opportunity number k (counted over repeated
  // periods from trace_start_).
  TimeNs OpportunityTime(uint64_t k) const;
  // The first opportunity at or after `t`.
  uint64_t FirstOpportunityAt(TimeNs t) const;

  uint64_t rate_bps_ = 0;
  bool stopped_ = false;
  TimeNs busy_until_ = 0;
  uint64_t remainder_ = 0;

  std::shared_ptr<const DeliveryTrace> trace_;
  TimeNs trace_start_ = 0;
  // The opportunity the last packet ended in (once one has been used), and
  // the bytes it has left.
  bool used_ = false;
  uint64_t opportunity_ = 0;
  uint32_t opportunity_left_ = 0;
};

}  // namespace tcpemu
