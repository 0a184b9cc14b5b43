// RED (tc-red; Floyd & Jacobson, "Random Early Detection Gateways for
// Congestion Avoidance", 1993) in bytes: an arrival is dropped (or
// CE-marked) with a probability that grows with the average queue.
#pragma once

#include <cstdint>

#include "engine/base/ring_buffer.h"
#include "engine/base/rng.h"
#include "engine/link/queue_discipline.h"

namespace tcpemu {

// The average:
//   - at each arrival to a non-empty queue, avg += w_q * (q - avg), with q
//     the bytes waiting (the arrival not counted), as tc-red does;
//   - at an arrival to an empty queue, avg *= (1 - w_q)^m, where m is the
//     number of avpkt-byte packets the link could have sent during the idle
//     time. tc-red is told the link rate; this queue is not, so it measures
//     it: the mean service time per byte is an EWMA (weight 1/8) of the
//     time between back-to-back Pops (the path pops when the wire is free,
//     so a Pop that follows one that left packets waiting comes one
//     serialization after it) over the size of the packet then sent. The
//     idle time starts when the last packet left the wire (its Pop plus its
//     estimated serialization) and ends at the arrival. Before any
//     back-to-back Pop the rate is unknown; the queue then never held two
//     packets and idle time resets avg to 0.
// The probability: p_b = max_p * (avg - min) / (max - min) between the
// thresholds; with `gentle`, p_b = max_p + (1 - max_p) * (avg - max) / max
// between max and 2 * max. Each arrival is dropped with p_a = p_b / (1 -
// count * p_b), count being the arrivals since the last drop or mark
// (reset when avg falls below min), which spaces drops uniformly over 1 ..
// 1/p_b arrivals: the dropped fraction on a steady average is about
// 2 / (1 + 1/p_b), not p_b. Above the last threshold every arrival is
// dropped.
// ECN, as tc-red with `ecn` and without `harddrop`: an ECN-capable packet
// is marked instead of dropped, in the probabilistic region and above the
// last threshold alike; packets that are not ECN-capable are dropped.
// Hard limits (drop-tail's) are checked after the RED decision, as tc-red's
// child bfifo does.
class RedQueue : public QueueDiscipline {
 public:
  // `spec` passed ValidateAqmSpec; `seed` seeds the drop draws.
  RedQueue(const AqmSpec& spec, QueueLimits limits, uint64_t seed);

  Admission Admit(TimeNs now, Packet& p, bool wire_busy) override;
  void Push(TimeNs now, QueuedPacket&& p, Notify notify) override;
  bool Pop(TimeNs now, QueuedPacket* out, Notify notify) override;
  bool Drain(QueuedPacket* out) override;
  size_t packets() const override { return fifo_.size(); }
  uint64_t bytes() const override { return bytes_; }

  // The average queue in bytes after the last arrival.
  double average() const { return avg_; }
  // p_b for an average of `avg` bytes (1 above the last threshold).
  double DropProbability(double avg) const;
  // The estimated service time per byte, ns (0 while unknown).
  double ns_per_byte() const { return ns_per_byte_; }

 private:
  void UpdateAverage(TimeNs now);

  AqmSpec spec_;
  QueueLimits limits_;
  Rng rng_;
  RingBuffer<QueuedPacket> fifo_;
  uint64_t bytes_ = 0;

  double avg_ = 0;
  int64_t count_ = 0;  // arrivals since the last drop or mark

  // Idle time and rate estimate.
  bool idle_ = true;       // the queue is empty
  TimeNs idle_since_ = 0;  // when the wire went (or will go) idle
  TimeNs last_pop_ = 0;
  uint64_t last_pop_size_ = 0;
  bool back_to_back_ = false;  // the last Pop left packets waiting
  double ns_per_byte_ = 0;
};

}  // namespace tcpemu
