// FQ-CoDel (tc-fq_codel, RFC 8290): packets hash by their 5-tuple into
// flow queues, each under its own CoDel; a deficit round robin over two
// lists, new flows before old ones, chooses which flow sends next.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/ring_buffer.h"
#include "engine/link/aqm/codel_state.h"
#include "engine/link/queue_discipline.h"

namespace tcpemu {

// Overflow (RFC 8290 4.1): an arrival is accepted, and while the hard
// limits (packets or bytes, across all flows) are exceeded, packets are
// dropped from the head of the flow with the largest byte backlog and
// reported through `notify` (kDrop). As Linux's fq_codel does, one such
// drop takes a batch from that flow: up to half of its bytes, at most
// kDropBatch packets (Linux's drop_batch default). Finding the fattest flow
// scans the active flows, so the batch keeps that cost off most arrivals
// of a queue that stays at its limit. An arrival larger than the byte
// limit on its own is refused (kOverLimit) as drop-tail refuses it, unless
// it finds the wire idle and the queue empty.
class FqCodelQueue : public QueueDiscipline {
 public:
  static constexpr int kDropBatch = 64;

  // `spec` passed ValidateAqmSpec; `seed` perturbs the flow hash.
  FqCodelQueue(const AqmSpec& spec, QueueLimits limits, uint64_t seed);

  Admission Admit(TimeNs now, Packet& p, bool wire_busy) override;
  void Push(TimeNs now, QueuedPacket&& p, Notify notify) override;
  bool Pop(TimeNs now, QueuedPacket* out, Notify notify) override;
  // Takes packets flow by flow (new flows, then old flows, each in FIFO
  // order) with no CoDel decision and no deficit accounting.
  bool Drain(QueuedPacket* out) override;
  size_t packets() const override { return packets_; }
  uint64_t bytes() const override { return bytes_; }

  // CoDel's MAXPACKET (no drop while at most this many bytes wait): the
  // path's MTU, from QueueLimits::mtu.
  uint64_t mtu() const { return params_.mtu; }
  // The flow queue `p` hashes into: a 64-bit mix of the IPv4 addresses
  // (header offsets 12 and 16), the protocol and the TCP ports, perturbed
  // by the seed; deterministic across processes.
  uint32_t FlowOf(const Packet& p) const;
  // Bytes and packets waiting in flow queue `flow`.
  uint64_t flow_bytes(uint32_t flow) const { return flows_[flow].bytes; }
  size_t flow_packets(uint32_t flow) const { return flows_[flow].fifo.size(); }
  const CodelState& flow_codel(uint32_t flow) const {
    return flows_[flow].codel;
  }
  size_t new_flow_count() const { return new_flows_.size(); }
  size_t old_flow_count() const { return old_flows_.size(); }

 private:
  enum class List : uint8_t { kNone, kNew, kOld };
  struct Flow {
    RingBuffer<QueuedPacket> fifo;
    uint64_t bytes = 0;
    int64_t deficit = 0;
    List list = List::kNone;
    CodelState codel;
  };

  bool TakeFrom(uint32_t flow, QueuedPacket* out);
  // Drops one overflow batch from the fattest flow; false if it held
  // nothing.
  bool DropBatch(TimeNs now, Notify notify);
  bool OverLimits() const;
  // The active flow with the largest byte backlog.
  uint32_t FattestFlow() const;

  CodelParams params_;
  QueueLimits limits_;
  uint64_t seed_;
  uint32_t quantum_;
  std::vector<Flow> flows_;
  RingBuffer<uint32_t> new_flows_;
  RingBuffer<uint32_t> old_flows_;
  size_t packets_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace tcpemu
