// The bottleneck of a path: its queue (a QueueDiscipline) and the wire
// behind it (a Transmitter). Two ways to run it, with the same results
// where both apply:
//  - eager: a drop-tail FIFO in front of a fixed-rate wire. Each packet's
//    departure is known when it arrives, so it is computed then, and the
//    queue is only bookkeeping (the packets whose serialization has not
//    begun). This is the default and costs no scheduler wake-ups.
//  - queued: packets wait in the discipline and the wire takes them when it
//    is free, so the queue management decides at dequeue (CoDel), the order
//    can change (FQ-CoDel), and the wire may change while they wait
//    (schedules, delivery traces, a link that goes down).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "engine/base/ring_buffer.h"
#include "engine/base/time.h"
#include "engine/link/path_spec.h"
#include "engine/link/queue_discipline.h"
#include "engine/link/transmitter.h"

namespace tcpemu {

class Bottleneck {
 public:
  // A packet taken by the wire at `start` has left it at `departure`.
  using Depart =
      absl::FunctionRef<void(TimeNs start, TimeNs departure, QueuedPacket&& p)>;
  using Notify = QueueDiscipline::Notify;

  // Takes the spec's queue management, limits, rate and trace at `now`.
  // Packets waiting move to the new discipline in their order; a trace
  // starts at `now` when it differs from the one in use.
  void Configure(const PathSpec& spec, uint64_t seed, TimeNs now,
                 Depart depart);
  void SetRate(uint64_t rate_bps) { tx_.SetRate(rate_bps); }
  // Stops the wire, or starts it again at `now`: packets that waited
  // through the stop start from then.
  void SetStopped(bool stopped, TimeNs now) {
    if (!stopped && tx_.stopped()) ready_ = std::max(ready_, now);
    tx_.SetStopped(stopped);
  }

  // Decides on a packet arriving at `now` (after Run(now)).
  Admission Admit(TimeNs now, Packet& p);
  // Queues an admitted packet (or its duplicate copy). Eager: it departs
  // before the call returns. Queued: call Run(now) after the last Push.
  void Push(TimeNs now, QueuedPacket&& p, Depart depart, Notify notify);
  // Lets the wire take every packet whose turn comes at or before `until`.
  void Run(TimeNs until, Depart depart, Notify notify);

  // When the wire takes its next packet (kNever: nothing waits, or eager).
  TimeNs NextStart() const;

  bool eager() const { return eager_; }
  // Packets (bytes) waiting for the wire.
  size_t queued_packets() const;
  uint64_t queued_bytes() const;

 private:
  struct Waiting {
    TimeNs start = 0;
    uint64_t bytes = 0;
  };
  // Eager bookkeeping: forgets packets whose serialization began by `now`.
  void Forget(TimeNs now);

  bool eager_ = true;
  QueueLimits limits_;
  AqmSpec aqm_;
  std::unique_ptr<QueueDiscipline> queue_;  // queued mode
  Transmitter tx_;
  std::shared_ptr<const DeliveryTrace> trace_;
  // Queued mode: when the packet at the head became ready for the wire.
  TimeNs ready_ = 0;
  // Eager mode: packets whose serialization has not begun.
  RingBuffer<Waiting> waiting_;
  uint64_t waiting_bytes_ = 0;
};

}  // namespace tcpemu
