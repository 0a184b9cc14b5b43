// Drop-tail (tc-pfifo / tc-bfifo): a FIFO that refuses arrivals over its
// packet or byte limit and never drops what it has accepted.
#pragma once

#include "engine/base/ring_buffer.h"
#include "engine/link/queue_discipline.h"

namespace tcpemu {

class DropTailQueue : public QueueDiscipline {
 public:
  explicit DropTailQueue(QueueLimits limits) : limits_(limits) {}

  // A packet is refused when the queue already holds `packets` packets, or
  // when the bytes waiting with it would exceed `bytes`; a packet that finds
  // the wire idle and the queue empty is always accepted (it never waits).
  Admission Admit(TimeNs now, Packet& p, bool wire_busy) override;
  void Push(TimeNs now, QueuedPacket&& p, Notify notify) override;
  bool Pop(TimeNs now, QueuedPacket* out, Notify notify) override;
  bool Drain(QueuedPacket* out) override;
  size_t packets() const override { return fifo_.size(); }
  uint64_t bytes() const override { return bytes_; }

  // Whether `limits` admit a packet of `size` bytes into a FIFO holding
  // `packets` packets of `bytes` bytes. Shared with the AQMs' hard limits.
  static bool Fits(QueueLimits limits, size_t packets, uint64_t bytes,
                   size_t size, bool wire_busy);

 private:
  QueueLimits limits_;
  RingBuffer<QueuedPacket> fifo_;
  uint64_t bytes_ = 0;
};

}  // namespace tcpemu
