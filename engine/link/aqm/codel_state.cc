// The CoDel control law; see codel_state.h. The structure follows the
// pseudo-code of RFC 8289 section 5 line by line; ECN marking follows
// Linux's codel_dequeue: a mark takes the place of a drop, counts like one,
// and the marked packet leaves.
#include "engine/link/aqm/codel_state.h"

#include <algorithm>
#include <cmath>

#include "engine/wire/ecn.h"

namespace tcpemu {

TimeNs CodelState::ControlLaw(TimeNs t, DurationNs interval, uint32_t count) {
  // std::sqrt is correctly rounded (IEEE 754), so this is deterministic.
  const double root = std::sqrt(static_cast<double>(std::max(count, 1u)));
  return t + static_cast<DurationNs>(static_cast<double>(interval) / root);
}

bool CodelState::DoDequeue(TimeNs now, const CodelParams& params, Take take,
                           Backlog backlog, QueuedPacket* out,
                           bool* ok_to_drop) {
  *ok_to_drop = false;
  if (!take(out)) {
    // The queue is empty: we can't be above target.
    above_ = false;
    return false;
  }
  const DurationNs sojourn = now - out->enqueued;
  if (sojourn < params.target || backlog() <= params.mtu) {
    // Went below target (or the queue holds at most one MTU): stay below
    // for at least an interval before dropping.
    above_ = false;
  } else if (!above_) {
    // Just went above target: start the interval.
    above_ = true;
    first_above_time_ = now + params.interval;
  } else if (now >= first_above_time_) {
    *ok_to_drop = true;
  }
  return true;
}

bool CodelState::Dequeue(TimeNs now, const CodelParams& params, Take take,
                         Backlog backlog, QueuedPacket* out,
                         QueueDiscipline::Notify notify) {
  bool ok_to_drop = false;
  if (!DoDequeue(now, params, take, backlog, out, &ok_to_drop)) {
    // An empty queue takes us out of the dropping state.
    dropping_ = false;
    return false;
  }
  if (dropping_) {
    if (!ok_to_drop) {
      // The sojourn went below target: leave the dropping state.
      dropping_ = false;
    }
    // Time for the next drop (or mark)? Several may be due at once.
    while (dropping_ && now >= drop_next_) {
      ++count_;
      if (params.ecn && MarkCe(out->packet)) {
        notify(now, *out, QueueAction::kMark);
        drop_next_ = ControlLaw(drop_next_, params.interval, count_);
        return true;
      }
      notify(now, *out, QueueAction::kDrop);
      if (!DoDequeue(now, params, take, backlog, out, &ok_to_drop)) {
        dropping_ = false;
        return false;
      }
      if (!ok_to_drop) {
        // Leave the dropping state.
        dropping_ = false;
      } else {
        // Schedule the next drop.
        drop_next_ = ControlLaw(drop_next_, params.interval, count_);
      }
    }
    return true;
  }
  if (!ok_to_drop) return true;
  // Enter the dropping state: drop (or mark) this packet.
  bool have = true;
  if (params.ecn && MarkCe(out->packet)) {
    notify(now, *out, QueueAction::kMark);
  } else {
    notify(now, *out, QueueAction::kDrop);
    have = DoDequeue(now, params, take, backlog, out, &ok_to_drop);
  }
  dropping_ = true;
  // If we were dropping recently, start the control law where it left off
  // rather than at 1: count - lastcount drops happened in the last cycle.
  const uint32_t delta = count_ - lastcount_;
  count_ = 1;
  if (delta > 1 && now - drop_next_ < 16 * params.interval) count_ = delta;
  drop_next_ = ControlLaw(now, params.interval, count_);
  lastcount_ = count_;
  return have;
}

}  // namespace tcpemu
