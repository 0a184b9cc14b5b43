// Plays a LinkSchedule against the clock: the times at which a path's
// rate, delay, jitter, loss or up/down state change, and their values then.
// Ramps become steps every ramp_step, linear between the value in force
// when the ramp begins and the point's value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "engine/base/time.h"
#include "engine/link/link_schedule.h"

namespace tcpemu {

// The values a schedule controls.
struct ScheduledValues {
  uint64_t rate_bps = 0;
  DurationNs delay = 0;
  DurationNs jitter = 0;
  double loss = 0;
  bool down = false;
  // The fields some point of the schedule sets: the others are the path's
  // own and stay as its spec says.
  bool sets_rate = false, sets_delay = false, sets_jitter = false,
       sets_loss = false, sets_down = false;
};

class SchedulePlayer {
 public:
  // Starts `schedule` at `start` from the values `initial` (the path's own).
  SchedulePlayer(std::shared_ptr<const LinkSchedule> schedule, TimeNs start,
                 const ScheduledValues& initial);

  // When the values change next (kNever once a one-shot schedule is over).
  TimeNs next_change() const { return next_; }
  // Moves to the next change and returns the values from then on.
  const ScheduledValues& Step();

  const ScheduledValues& values() const { return values_; }

 private:
  // The time of point i of the current cycle.
  TimeNs PointTime(size_t i) const;
  // Positions next_ on the next change after the current one.
  void Plan();

  std::shared_ptr<const LinkSchedule> schedule_;
  TimeNs start_;
  uint64_t cycle_ = 0;
  size_t point_ = 0;        // the point being approached
  uint64_t ramp_step_ = 0;  // steps of its ramp taken so far
  ScheduledValues values_;
  ScheduledValues ramp_from_;  // values when the current ramp began
  TimeNs ramp_begin_ = 0;
  TimeNs next_ = kNever;
};

}  // namespace tcpemu
