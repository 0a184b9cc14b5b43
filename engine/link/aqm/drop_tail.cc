// Drop-tail FIFO; see drop_tail.h.
#include "engine/link/aqm/drop_tail.h"

#include <utility>

namespace tcpemu {

bool DropTailQueue::Fits(QueueLimits limits, size_t packets, uint64_t bytes,
                         size_t size, bool wire_busy) {
  if (!wire_busy && packets == 0) return true;
  if (limits.packets != 0 && packets >= limits.packets) return false;
  if (limits.bytes != 0 && bytes + size > limits.bytes) return false;
  return true;
}

Admission DropTailQueue::Admit(TimeNs /*now*/, Packet& p, bool wire_busy) {
  return Fits(limits_, fifo_.size(), bytes_, p.size(), wire_busy)
             ? Admission::kAccept
             : Admission::kOverLimit;
}

void DropTailQueue::Push(TimeNs /*now*/, QueuedPacket&& p, Notify /*notify*/) {
  bytes_ += p.packet.size();
  fifo_.push_back(std::move(p));
}

bool DropTailQueue::Pop(TimeNs /*now*/, QueuedPacket* out, Notify /*notify*/) {
  return Drain(out);
}

bool DropTailQueue::Drain(QueuedPacket* out) {
  if (fifo_.empty()) return false;
  *out = std::move(fifo_.front());
  fifo_.pop_front();
  bytes_ -= out->packet.size();
  return true;
}

}  // namespace tcpemu
