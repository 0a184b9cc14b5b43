// The scheduler of one clock domain: a time-ordered queue of entries (timers
// of connections, packet arrivals of paths, application reader ticks) and the
// clock they move. Entries are dispatched in (time, insertion) order, so the
// same pushes give the same order. Entries are rescheduled lazily: an entry
// whose target has since moved its deadline is "stale"; the owner tells which
// are live when asked for the next deadline and ignores stale ones when they
// are dispatched.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include "engine/base/time.h"

namespace tcpemu {

struct ScheduledEntry {
  TimeNs time = 0;
  uint64_t order = 0;  // insertion order, breaks ties in time
  uint8_t target = 0;  // what the owner schedules (a kind of its own)
  uint8_t sub = 0;     // e.g. endpoint or direction
  uint32_t id = 0;     // e.g. session or link
  bool operator>(const ScheduledEntry& o) const {
    return time != o.time ? time > o.time : order > o.order;
  }
};

// What the scheduler calls back: the owner of the scheduled targets.
class EntryHandler {
 public:
  virtual ~EntryHandler() = default;
  // Runs a due entry (now() == e.time, or later for a late one).
  virtual void Dispatch(const ScheduledEntry& e) = 0;
  // False if the target no longer waits for this entry (it was rescheduled
  // or is gone).
  virtual bool IsLive(const ScheduledEntry& e) const = 0;
};

class Scheduler {
 public:
  explicit Scheduler(EntryHandler* handler) : handler_(handler) {}

  TimeNs now() const { return now_; }
  void Push(TimeNs t, uint8_t target, uint32_t id, uint8_t sub);
  size_t queued() const { return queue_.size(); }

  // Processes, in time order, everything due at or before `t` and leaves
  // now() == t (t earlier than now() is a no-op).
  void RunUntil(TimeNs t);
  // RunUntil in bounded steps: processes at most `max_entries` entries and
  // returns true once it has reached `t` (now() == t); false leaves now() at
  // the last entry processed. The entries and their order are those of one
  // RunUntil(t).
  bool RunUntilBounded(TimeNs t, size_t max_entries);
  // Runs until nothing live is scheduled or `limit`; true if it went idle.
  bool RunUntilIdle(TimeNs limit);
  // The time of the earliest live entry (kNever if none); drops the stale
  // entries ahead of it.
  TimeNs NextDeadline();

 private:
  void DispatchTop();

  EntryHandler* handler_;
  TimeNs now_ = 0;
  uint64_t order_ = 0;
  std::priority_queue<ScheduledEntry, std::vector<ScheduledEntry>,
                      std::greater<ScheduledEntry>>
      queue_;
};

}  // namespace tcpemu
