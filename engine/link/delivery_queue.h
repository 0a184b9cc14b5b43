// Packets travelling along an emulated path, ordered by arrival time (ties:
// send order). Arrivals of a path without jitter are non-decreasing, so
// packets go to a FIFO ring and cost O(1); only a packet that would overtake
// the ring's tail (jitter, reorder, a delay fault, a lowered delay) goes to a
// binary min-heap. Both structures keep their storage, so the steady state
// makes no heap allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/base/ring_buffer.h"
#include "engine/base/time.h"
#include "engine/wire/packet.h"

namespace tcpemu {

class DeliveryQueue {
 public:
  // Adds a packet. `order` must increase from call to call; it breaks ties
  // between equal arrival times.
  void Push(TimeNs arrival, uint64_t order, Packet&& p);

  // Earliest arrival held, or kNever.
  TimeNs NextArrival() const;

  // Removes the first packet in (arrival, order) order if it sorts before
  // (now, order_limit), i.e. arrival < now, or arrival == now and order <
  // order_limit. Returns false, leaving the outputs alone, otherwise.
  bool PopBefore(TimeNs now, uint64_t order_limit, TimeNs* arrival,
                 Packet* out);

  bool empty() const { return size() == 0; }
  size_t size() const { return fifo_.size() + heap_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct FifoEntry {
    TimeNs arrival = 0;
    uint64_t order = 0;
    Packet packet;
  };
  // Heap entries stay small; the packet waits in a reusable slot.
  struct HeapEntry {
    TimeNs arrival;
    uint64_t order;
    uint32_t slot;
  };
  static bool Later(const HeapEntry& a, const HeapEntry& b) {
    return a.arrival != b.arrival ? a.arrival > b.arrival : a.order > b.order;
  }

  RingBuffer<FifoEntry> fifo_;
  std::vector<HeapEntry> heap_;  // min-heap by (arrival, order)
  std::vector<Packet> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t bytes_ = 0;
};

}  // namespace tcpemu
