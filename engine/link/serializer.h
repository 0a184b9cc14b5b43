// The transmitter of an emulated path: a drop-tail queue in front of a wire
// of finite rate. A packet starts serializing when the wire is free and
// leaves size*8/rate later; while it waits it occupies the queue, whose
// packet and byte limits reject newcomers (like a router's output queue, or
// netem's `rate` with `limit`).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/base/ring_buffer.h"
#include "engine/base/time.h"

namespace tcpemu {

class Serializer {
 public:
  Serializer() = default;
  Serializer(uint64_t rate_bps, uint32_t limit_packets, uint64_t limit_bytes) {
    Configure(rate_bps, limit_packets, limit_bytes);
  }

  // New rate and limits apply to packets enqueued from now on; packets
  // already scheduled keep their times.
  void Configure(uint64_t rate_bps, uint32_t limit_packets,
                 uint64_t limit_bytes);

  // Forgets queued packets whose serialization has started by `now`.
  void Advance(TimeNs now);

  // Whether a packet of `bytes` offered at `now` fits. A packet that finds
  // the wire idle never waits, so it always fits; otherwise the queue must
  // hold fewer than limit_packets packets and at most limit_bytes bytes
  // with it (0 = no limit). Call after Advance(now).
  bool Admits(TimeNs now, size_t bytes) const;

  // Schedules a packet of `bytes` offered at `now` (not before the previous
  // one) and returns its departure: the end of its serialization,
  // max(now, previous departure) + bytes*8/rate. Sub-nanosecond remainders
  // are carried from packet to packet while the wire stays busy, so a busy
  // period of N bits lasts exactly floor(N * 1e9 / rate) ns without drift.
  TimeNs Enqueue(TimeNs now, size_t bytes);

  // Packets (bytes) waiting for the wire as of the last Advance/Enqueue.
  size_t waiting_packets() const { return waiting_.size(); }
  uint64_t waiting_bytes() const { return waiting_bytes_; }
  // When the wire becomes free; in the past when it is idle.
  TimeNs busy_until() const { return busy_until_; }

 private:
  struct Waiting {
    TimeNs start = 0;  // when its serialization begins
    uint64_t bytes = 0;
  };

  uint64_t rate_bps_ = 0;
  uint32_t limit_packets_ = 0;
  uint64_t limit_bytes_ = 0;

  TimeNs busy_until_ = 0;
  // Fraction of a nanosecond by which the true end of the last
  // serialization exceeds busy_until_, in units of 1/rate_bps_ ns.
  uint64_t remainder_ = 0;
  RingBuffer<Waiting> waiting_;
  uint64_t waiting_bytes_ = 0;
};

}  // namespace tcpemu
