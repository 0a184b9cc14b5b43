// Arrival-ordered store of packets in flight; see delivery_queue.h.
#include "engine/link/delivery_queue.h"

#include <algorithm>
#include <utility>

namespace tcpemu {

void DeliveryQueue::Push(TimeNs arrival, uint64_t order, Packet&& p) {
  bytes_ += p.size();
  if (fifo_.empty() || arrival >= fifo_.back().arrival) {
    fifo_.push_back(FifoEntry{arrival, order, std::move(p)});
    return;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(p);
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(p));
  }
  heap_.push_back(HeapEntry{arrival, order, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later);
}

TimeNs DeliveryQueue::NextArrival() const {
  TimeNs t = kNever;
  if (!fifo_.empty()) t = fifo_.front().arrival;
  if (!heap_.empty()) t = std::min(t, heap_.front().arrival);
  return t;
}

bool DeliveryQueue::PopBefore(TimeNs now, uint64_t order_limit, TimeNs* arrival,
                              Packet* out) {
  // Pick the earlier of the two heads.
  bool from_heap;
  TimeNs t;
  uint64_t order;
  if (heap_.empty()) {
    if (fifo_.empty()) return false;
    from_heap = false;
  } else if (fifo_.empty()) {
    from_heap = true;
  } else {
    const FifoEntry& f = fifo_.front();
    const HeapEntry& h = heap_.front();
    from_heap =
        h.arrival != f.arrival ? h.arrival < f.arrival : h.order < f.order;
  }
  if (from_heap) {
    t = heap_.front().arrival;
    order = heap_.front().order;
  } else {
    t = fifo_.front().arrival;
    order = fifo_.front().order;
  }
  if (t > now || (t == now && order >= order_limit)) return false;

  *arrival = t;
  if (from_heap) {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    const uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    *out = std::move(slots_[slot]);
    free_slots_.push_back(slot);
  } else {
    *out = std::move(fifo_.front().packet);
    fifo_.pop_front();
  }
  bytes_ -= out->size();
  return true;
}

}  // namespace tcpemu
