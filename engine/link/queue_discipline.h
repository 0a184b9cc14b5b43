// The bottleneck queue of an emulated path: what decides which packets wait
// for the wire, which are dropped or ECN-marked, and in which order they
// leave. Drop-tail (drop_tail.h), RED, CoDel (RFC 8289) and FQ-CoDel
// (RFC 8290) implement it; the Path owns one and feeds the wire from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "engine/base/rng.h"
#include "engine/base/time.h"
#include "engine/link/aqm_spec.h"
#include "engine/wire/packet.h"

namespace tcpemu {

// A packet waiting in the queue, with what the path decided for it when it
// arrived: its propagation delay is drawn at arrival (so that the path's
// random draws keep their order whatever the queue does) and added when it
// leaves the wire.
struct QueuedPacket {
  Packet packet;
  TimeNs enqueued = 0;     // when it joined the queue
  DurationNs delay = 0;    // delay + jitter after the wire
  DurationNs extra = 0;    // a delay fault's extra delay, after keep_order
  bool reordered = false;  // skips delay and jitter (netem's reorder)
};

enum class QueueAction : uint8_t {
  kDrop,  // the packet is dropped by the queue management
  kMark,  // CE was set on the packet, which goes on
};

// Arrival verdicts.
enum class Admission : uint8_t {
  kAccept,
  kMarked,     // accepted, and CE set on the packet (RED with ecn)
  kOverLimit,  // dropped: the hard packet or byte limit
  kEarlyDrop,  // dropped by the queue management (RED)
};

class QueueDiscipline {
 public:
  // Reports packets that the discipline drops or marks after accepting
  // them (CoDel at dequeue, FQ-CoDel's overflow from the fattest flow):
  // `when` is the time of the decision. A dropped packet is destroyed
  // after the call.
  using Notify = absl::FunctionRef<void(TimeNs when, const QueuedPacket& p,
                                        QueueAction action)>;

  virtual ~QueueDiscipline() = default;

  // Decides on a packet arriving at `now` before it is queued. It may set
  // CE on `p` (kMarked). `wire_busy` says whether the wire is serializing a
  // packet, so that a packet arriving at an idle wire and an empty queue is
  // never refused for the byte limit.
  virtual Admission Admit(TimeNs now, Packet& p, bool wire_busy) = 0;

  // Queues an admitted packet, or a duplicate copy of one (admitted with
  // its original). May drop other packets, reported through `notify`.
  virtual void Push(TimeNs now, QueuedPacket&& p, Notify notify) = 0;

  // Takes the next packet for the wire at `now`, dropping or marking on the
  // way as the discipline does (reported through `notify`). False when
  // nothing is left.
  virtual bool Pop(TimeNs now, QueuedPacket* out, Notify notify) = 0;

  // Takes the next packet with no queue-management decision: for moving
  // packets to a new discipline when the path's spec changes.
  virtual bool Drain(QueuedPacket* out) = 0;

  // Packets and bytes waiting (the one on the wire is not counted).
  virtual size_t packets() const = 0;
  virtual uint64_t bytes() const = 0;
  bool empty() const { return packets() == 0; }
};

// The hard limits every discipline obeys: packets and bytes waiting for
// the wire (0 = unlimited), from PathSpec's queue_limit_packets and
// queue_limit_bytes.
struct QueueLimits {
  uint32_t packets = 0;
  uint64_t bytes = 0;
  // The path MTU: CoDel never drops while no more than this waits.
  uint32_t mtu = 1500;
};

// A discipline for `spec` (which passed ValidateAqmSpec). `seed` seeds the
// discipline's own random draws (RED), apart from the path's.
std::unique_ptr<QueueDiscipline> MakeQueueDiscipline(const AqmSpec& spec,
                                                     QueueLimits limits,
                                                     uint64_t seed);

}  // namespace tcpemu
