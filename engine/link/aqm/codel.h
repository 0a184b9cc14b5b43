// CoDel (tc-codel, RFC 8289): a FIFO whose head is dropped (or CE-marked)
// at dequeue when its sojourn time has stayed above `target` for an
// `interval`, at a rate that grows as sqrt(count).
#pragma once

#include <cstdint>

#include "engine/base/ring_buffer.h"
#include "engine/link/aqm/codel_state.h"
#include "engine/link/queue_discipline.h"

namespace tcpemu {

class CodelQueue : public QueueDiscipline {
 public:
  // `spec` passed ValidateAqmSpec. Arrivals over `limits` are refused
  // (kOverLimit) as by drop-tail.
  CodelQueue(const AqmSpec& spec, QueueLimits limits);

  Admission Admit(TimeNs now, Packet& p, bool wire_busy) override;
  void Push(TimeNs now, QueuedPacket&& p, Notify notify) override;
  bool Pop(TimeNs now, QueuedPacket* out, Notify notify) override;
  bool Drain(QueuedPacket* out) override;
  size_t packets() const override { return fifo_.size(); }
  uint64_t bytes() const override { return bytes_; }

  // CoDel's MAXPACKET (no drop while at most this many bytes wait): the
  // path's MTU, from QueueLimits::mtu.
  uint64_t mtu() const { return params_.mtu; }
  const CodelState& state() const { return state_; }

 private:
  CodelParams params_;
  QueueLimits limits_;
  RingBuffer<QueuedPacket> fifo_;
  uint64_t bytes_ = 0;
  CodelState state_;
};

}  // namespace tcpemu
