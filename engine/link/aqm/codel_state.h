// The CoDel control law of RFC 8289 (section 5 and its pseudo-code), kept
// apart from any queue so that CoDel (one FIFO) and FQ-CoDel (one state per
// flow queue) share it.
#pragma once

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "engine/base/time.h"
#include "engine/link/queue_discipline.h"

namespace tcpemu {

// The MAXPACKET of RFC 8289 for IPv4 packets on an Ethernet-sized path.
inline constexpr uint64_t kCodelMtu = 1500;

struct CodelParams {
  DurationNs target = 5 * kMillisecond;
  DurationNs interval = 100 * kMillisecond;
  // RFC 8289's MAXPACKET: no drop while the queue holds at most this many
  // bytes (one MTU), since a single packet cannot be a standing queue.
  uint64_t mtu = kCodelMtu;
  // Set CE on ECN-capable packets instead of dropping them.
  bool ecn = false;
};

// One CoDel instance's state: first_above_time, drop_next, count,
// lastcount and the dropping flag.
class CodelState {
 public:
  // Takes the head of the controlled queue into `out` (false when empty).
  using Take = absl::FunctionRef<bool(QueuedPacket* out)>;
  // The bytes left waiting after a Take, compared against params.mtu (the
  // whole discipline's backlog, as Linux's fq_codel does).
  using Backlog = absl::FunctionRef<uint64_t()>;

  // RFC 8289's dequeue(): takes packets through `take` until one leaves;
  // those dropped on the way are reported through `notify` (kDrop) before
  // they are destroyed; a packet that leaves with CE set is reported as
  // kMark. False when the queue has nothing left to send.
  bool Dequeue(TimeNs now, const CodelParams& params, Take take,
               Backlog backlog, QueuedPacket* out,
               QueueDiscipline::Notify notify);

  // When the sojourn was first seen above target plus an interval (valid
  // while above_target()).
  bool above_target() const { return above_; }
  TimeNs first_above_time() const { return first_above_time_; }
  bool dropping() const { return dropping_; }
  uint32_t count() const { return count_; }
  uint32_t lastcount() const { return lastcount_; }
  TimeNs drop_next() const { return drop_next_; }

  // RFC 8289's control_law(): t + interval / sqrt(count).
  static TimeNs ControlLaw(TimeNs t, DurationNs interval, uint32_t count);

 private:
  // RFC 8289's dodequeue(): takes one packet and says whether the sojourn
  // has stayed above target for an interval (ok_to_drop).
  bool DoDequeue(TimeNs now, const CodelParams& params, Take take,
                 Backlog backlog, QueuedPacket* out, bool* ok_to_drop);

  bool above_ = false;  // first_above_time_ is set (RFC: != 0)
  TimeNs first_above_time_ = 0;
  TimeNs drop_next_ = 0;
  uint32_t count_ = 0;
  uint32_t lastcount_ = 0;
  bool dropping_ = false;
};

}  // namespace tcpemu
