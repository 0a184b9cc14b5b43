// CoDel over one FIFO; see codel.h.
#include "engine/link/aqm/codel.h"

#include <utility>

#include "engine/link/aqm/drop_tail.h"

namespace tcpemu {

CodelQueue::CodelQueue(const AqmSpec& spec, QueueLimits limits)
    : params_{.target = spec.codel_target,
              .interval = spec.codel_interval,
              .mtu = limits.mtu,
              .ecn = spec.ecn},
      limits_(limits) {}

Admission CodelQueue::Admit(TimeNs /*now*/, Packet& p, bool wire_busy) {
  return DropTailQueue::Fits(limits_, fifo_.size(), bytes_, p.size(), wire_busy)
             ? Admission::kAccept
             : Admission::kOverLimit;
}

void CodelQueue::Push(TimeNs /*now*/, QueuedPacket&& p, Notify /*notify*/) {
  bytes_ += p.packet.size();
  fifo_.push_back(std::move(p));
}

bool CodelQueue::Pop(TimeNs now, QueuedPacket* out, Notify notify) {
  return state_.Dequeue(
      now, params_, [this](QueuedPacket* p) { return Drain(p); },
      [this] { return bytes_; }, out, notify);
}

bool CodelQueue::Drain(QueuedPacket* out) {
  if (fifo_.empty()) return false;
  *out = fifo_.take_front();
  bytes_ -= out->packet.size();
  return true;
}

}  // namespace tcpemu
