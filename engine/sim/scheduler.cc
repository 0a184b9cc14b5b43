// Scheduler: the time-ordered entry queue of one clock domain; see
// scheduler.h.
#include "engine/sim/scheduler.h"

namespace tcpemu {

void Scheduler::Push(TimeNs t, uint8_t target, uint32_t id, uint8_t sub) {
  queue_.push(ScheduledEntry{t, order_++, target, sub, id});
}

void Scheduler::DispatchTop() {
  ScheduledEntry e = queue_.top();
  queue_.pop();
  if (e.time > now_) now_ = e.time;
  handler_->Dispatch(e);
}

void Scheduler::RunUntil(TimeNs t) {
  while (!queue_.empty() && queue_.top().time <= t) DispatchTop();
  if (t > now_) now_ = t;
}

bool Scheduler::RunUntilBounded(TimeNs t, size_t max_entries) {
  for (size_t n = 0; n < max_entries; ++n) {
    if (queue_.empty() || queue_.top().time > t) {
      if (t > now_) now_ = t;
      return true;
    }
    DispatchTop();
  }
  if (!queue_.empty() && queue_.top().time <= t) return false;
  if (t > now_) now_ = t;
  return true;
}

TimeNs Scheduler::NextDeadline() {
  while (!queue_.empty()) {
    const ScheduledEntry& e = queue_.top();
    if (handler_->IsLive(e)) return e.time;
    queue_.pop();
  }
  return kNever;
}

bool Scheduler::RunUntilIdle(TimeNs limit) {
  while (true) {
    TimeNs next = NextDeadline();
    if (next == kNever) return true;
    if (next > limit) {
      RunUntil(limit);
      return false;
    }
    RunUntil(next);
  }
}

}  // namespace tcpemu
