// One direction of an emulated link: the stages a packet crosses between two
// interfaces, after Linux netem (tc-netem(8)): fault rules, MTU, loss,
// drop-tail queue, duplication, corruption, rate, delay with jitter, reorder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/event.h"
#include "engine/base/rng.h"
#include "engine/base/time.h"
#include "engine/link/bottleneck.h"
#include "engine/link/delivery_queue.h"
#include "engine/link/fault.h"
#include "engine/link/jitter.h"
#include "engine/link/loss_model.h"
#include "engine/link/path_spec.h"
#include "engine/link/schedule_player.h"
#include "engine/wire/packet.h"

namespace tcpemu {

struct PathCounters {
  uint64_t packets_sent = 0;  // offered to Send
  uint64_t bytes_sent = 0;
  uint64_t packets_delivered = 0;  // handed over by Poll, copies included
  uint64_t bytes_delivered = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_queue = 0;
  uint64_t dropped_fault = 0;
  uint64_t dropped_mtu = 0;
  uint64_t duplicated = 0;    // extra copies made
  uint64_t corrupted = 0;     // packets with a flipped bit
  uint64_t reordered = 0;     // packets that skipped the propagation delay
  uint64_t fault_hits = 0;    // segments a fault rule acted on
  uint64_t dropped_aqm = 0;   // by the queue management (RED, CoDel, ...)
  uint64_t ce_marked = 0;     // packets the queue management marked CE
  uint64_t link_changes = 0;  // schedule steps applied
  // The packets the wire took and the time they had waited in the
  // bottleneck queue, summed (their distribution: QUEUE_SAMPLE events).
  uint64_t dequeued = 0;
  uint64_t sojourn_ns_total = 0;
};

// A packet given to Send goes through these stages, in this order:
//
//  1. Fault rules (see FaultTable::Apply): the first active matching rule
//     acts. kDrop drops the packet here; the other actions are carried to
//     their stage below, applied to the original (not to a duplicate copy)
//     in addition to the random impairments. A packet that a later stage
//     drops loses its action, but the rule still counts the hit.
//  2. MTU: a packet larger than `mtu` bytes is dropped (kMtu).
//  3. Loss model (kLoss), stepped once per packet reaching it.
//  4. Queue admission (see Bottleneck and QueueDiscipline): a packet over
//     the hard limits (queue_limit_packets, queue_limit_bytes; a packet that
//     finds the wire idle and the queue empty always fits) is dropped
//     (kQueue); RED may drop it early (kAqm) or mark it CE (kSegmentMangled,
//     kCeMark).
//  5. Duplicate: with probability `duplicate` a second copy follows the
//     original. Like netem's duplicate, which re-enqueues its clone, the copy
//     then crosses stages 6-8 on its own (its own corruption, reorder and
//     jitter draws); it is admitted with the original and not re-checked
//     against the queue limit.
//  6. Corrupt: with probability `corrupt` one uniformly chosen bit of the
//     packet (IPv4 header, TCP header or payload) is flipped, so that the
//     receiver's IPv4 or TCP checksum catches it. The payload is copied
//     first (Payload::FlipBit): the sender's chunk is never modified.
//  7. Queue and wire: the packet waits in the queue until the wire takes
//     it, and leaves size*8/rate later (exact to the nanosecond with no
//     drift), or at the trace opportunity that carries its last byte (see
//     Transmitter). CoDel and FQ-CoDel may drop it at dequeue (kAqm) or mark
//     it CE (kCeMark), with the time of that decision. Its propagation
//     delay was drawn at arrival (stages 6 and 8 draw in arrival order).
//  8. Delay: arrival = departure + max(0, delay + jitter); with keep_order,
//     never before the previous packet's arrival. A packet chosen for
//     reordering (netem's reorder/gap rule, or a kReorder fault) skips the
//     delay and jitter, arriving at its departure, so it overtakes packets
//     still propagating. (netem also lets it bypass the rate; here it still
//     takes its turn on the wire, so the rate stays honest.) A kDelay fault
//     adds its delay after keep_order, so it delays that one packet only.
//
// Events go to the sink (if any) with time = now, link_id, endpoint = from,
// session_id = the packet's session_id (its sender's, 0 if unknown) and `seg`
// read from the packet before any corruption: kSegmentDropped with
// drop_reason at the stage that drops, and kSegmentMangled with mangle =
// kDuplicate (once per copy made), kCorrupt (b = the bit flipped), kReorder
// or kDelay (b = the fault's extra delay in ns). `a` holds the id of the
// fault rule that caused the event, or 0 for the path's random impairments.
//
// A schedule (PathSpec::schedule) changes rate, delay, jitter, random loss
// and the up/down state at its points' times, each change a kLinkChanged
// event (a = rate in bit/s, b = delay in ns) with the new values in spec().
// A packet takes the delay and jitter in force when it arrives and the rate
// in force when the wire takes it; a link that is down keeps its wire
// stopped, so packets wait (and overflow the queue) until it is up again.
//
// With queue_sample_interval > 0, the wire emits kQueueSample (a = bytes
// waiting, b = the sojourn time in ns of the packet it takes) at most once
// per interval.
//
// Random draws come only from this path's Rng, seeded with `seed`, and only
// for impairments that are enabled, so the same seed, spec and inputs give
// the same drops, copies and times.
//
// Cost: with no faults, loss, duplicate, corrupt, reorder or jitter, a packet
// costs one FIFO push in Send and one pop in Poll; no stage allocates in the
// steady state (corruption copies the hit slice, by design).
class Path {
 public:
  // `spec` should have passed ValidatePathSpec; out-of-range values are
  // clamped into range here rather than trusted. `sink` may be null and must
  // outlive the path.
  Path(const PathSpec& spec, uint64_t seed, uint32_t link_id, Endpoint from,
       EventSink* sink, TimeNs now = 0);

  Path(const Path&) = delete;
  Path& operator=(const Path&) = delete;

  // Replaces the spec live at `now` (InvalidArgument, changing nothing, if
  // invalid). Packets already on the wire or propagating keep their arrival
  // times; packets sent from now on see the new values, and so do packets
  // still queued in queued mode (a new rate applies when the wire takes
  // them). The loss chain, jitter correlation and reorder gap counter carry
  // over; a schedule or trace other than the one in use starts at `now`.
  absl::Status Update(const PathSpec& spec, TimeNs now);

  // Adds a fault rule active from `now`; returns its id (InvalidArgument or
  // ResourceExhausted otherwise).
  absl::StatusOr<uint32_t> AddFault(const FaultRule& rule, TimeNs now);
  // Removes one rule (NotFound if it is not held, e.g. already spent).
  absl::Status RemoveFault(uint32_t id);
  void ClearFaults();
  size_t fault_count() const { return faults_.size(); }

  // A packet enters the path at `now` (non-decreasing across calls).
  void Send(TimeNs now, Packet p);

  // Earliest time at which something happens on the path (an arrival, the
  // wire taking a packet, a schedule change), or kNever.
  TimeNs NextDeadline() const;

  // Hands over every packet with arrival <= now, in arrival order (ties:
  // send order), passing its arrival time. The packet is removed before
  // `deliver` runs, so `deliver` may call Send (or anything else) on this
  // path; packets it sends are not delivered by this same call, which keeps
  // a zero-delay loop from running forever.
  void Poll(TimeNs now,
            absl::FunctionRef<void(TimeNs arrival, Packet&&)> deliver);

  const PathCounters& counters() const { return counters_; }
  const PathSpec& spec() const { return spec_; }
  // The bottleneck queue: packets (bytes) waiting for the wire, as of the
  // latest Send or Poll.
  size_t queued_packets() const { return bottleneck_.queued_packets(); }
  size_t queued_bytes() const { return bottleneck_.queued_bytes(); }
  // Everything held: queued, on the wire or propagating.
  size_t in_flight_packets() const { return in_flight_.size(); }
  uint64_t in_flight_bytes() const { return in_flight_.bytes(); }

  uint32_t link_id() const { return link_id_; }
  Endpoint from() const { return from_; }

 private:
  // Stages 6-8 for one copy. `seg` was read before any corruption.
  void Forward(TimeNs now, Packet&& p, const FaultHit* fault,
               const TcpPeek& seg);
  // Applies schedule changes and runs the wire up to `now`.
  void Advance(TimeNs now);
  // The wire took `q` at `start`; it has left at `departure`.
  void Depart(TimeNs start, TimeNs departure, QueuedPacket&& q);
  // The queue management dropped or marked a packet it had accepted.
  void OnQueueAction(TimeNs when, const QueuedPacket& q, QueueAction action);
  void RunWire(TimeNs until);
  void ApplyScheduled(TimeNs now, const ScheduledValues& v);
  // Puts a schedule's values in force (spec_, the wire).
  void SetValues(const ScheduledValues& v, TimeNs now);
  bool DrawReorder();
  void Emit(TimeNs now, EventKind kind, DropReason reason, MangleKind mangle,
            uint32_t rule_id, int64_t b, const TcpPeek& seg,
            uint32_t session_id);
  void ApplySpec(const PathSpec& spec, TimeNs now);

  PathSpec spec_;
  const uint64_t seed_;
  Rng rng_;
  const uint32_t link_id_;
  const Endpoint from_;
  EventSink* const sink_;

  LossModel loss_;
  JitterModel jitter_;
  FaultTable faults_;
  Bottleneck bottleneck_;
  std::unique_ptr<SchedulePlayer> schedule_;
  DeliveryQueue in_flight_;
  TimeNs last_sample_ = kNever;  // the last kQueueSample
  PathCounters counters_;

  uint64_t next_order_ = 0;  // send order of the next packet accepted
  // Latest delay-stage arrival so far (before fault delays), for keep_order.
  TimeNs last_arrival_ = 0;
  // netem's reorder counter: packets delayed normally since the last
  // reordered one.
  uint64_t reorder_counter_ = 0;
};

}  // namespace tcpemu
