// Playing link schedules; see schedule_player.h.
#include "engine/link/schedule_player.h"

#include <cmath>
#include <utility>

namespace tcpemu {
namespace {

template <typename T>
T Lerp(T from, T to, double f) {
  return static_cast<T>(
      std::llround(static_cast<double>(from) +
                   (static_cast<double>(to) - static_cast<double>(from)) * f));
}

}  // namespace

SchedulePlayer::SchedulePlayer(std::shared_ptr<const LinkSchedule> schedule,
                               TimeNs start, const ScheduledValues& initial)
    : schedule_(std::move(schedule)),
      start_(start),
      values_(initial),
      ramp_from_(initial),
      ramp_begin_(start) {
  for (const SchedulePoint& p : schedule_->points) {
    values_.sets_rate |= p.rate_bps.has_value();
    values_.sets_delay |= p.delay.has_value();
    values_.sets_jitter |= p.jitter.has_value();
    values_.sets_loss |= p.loss.has_value();
    values_.sets_down |= p.down.has_value();
  }
  ramp_from_ = values_;
  Plan();
}

TimeNs SchedulePlayer::PointTime(size_t i) const {
  return start_ + static_cast<TimeNs>(cycle_) * schedule_->repeat +
         schedule_->points[i].at;
}

void SchedulePlayer::Plan() {
  if (point_ >= schedule_->points.size()) {
    next_ = kNever;
    return;
  }
  const SchedulePoint& p = schedule_->points[point_];
  const TimeNs at = PointTime(point_);
  if (p.ramp) {
    const TimeNs step = ramp_begin_ + static_cast<TimeNs>(ramp_step_ + 1) *
                                          schedule_->ramp_step;
    if (step < at) {
      next_ = step;
      return;
    }
  }
  next_ = at;
}

const ScheduledValues& SchedulePlayer::Step() {
  const SchedulePoint& p = schedule_->points[point_];
  const TimeNs at = PointTime(point_);
  if (next_ < at) {
    // An intermediate step of a ramp.
    ++ramp_step_;
    const double f = static_cast<double>(next_ - ramp_begin_) /
                     static_cast<double>(at - ramp_begin_);
    if (p.rate_bps)
      values_.rate_bps = Lerp(ramp_from_.rate_bps, *p.rate_bps, f);
    if (p.delay) values_.delay = Lerp(ramp_from_.delay, *p.delay, f);
    if (p.jitter) values_.jitter = Lerp(ramp_from_.jitter, *p.jitter, f);
    if (p.loss)
      values_.loss = ramp_from_.loss + (*p.loss - ramp_from_.loss) * f;
    Plan();
    return values_;
  }
  if (p.rate_bps) values_.rate_bps = *p.rate_bps;
  if (p.delay) values_.delay = *p.delay;
  if (p.jitter) values_.jitter = *p.jitter;
  if (p.loss) values_.loss = *p.loss;
  if (p.down) values_.down = *p.down;
  // The next point's ramp begins here.
  ramp_from_ = values_;
  ramp_begin_ = at;
  ramp_step_ = 0;
  ++point_;
  if (point_ == schedule_->points.size() && schedule_->repeat > 0) {
    point_ = 0;
    ++cycle_;
  }
  Plan();
  return values_;
}

}  // namespace tcpemu
