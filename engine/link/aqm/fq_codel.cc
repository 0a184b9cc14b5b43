// FQ-CoDel; see fq_codel.h.
#include "engine/link/aqm/fq_codel.h"

#include <utility>

#include "engine/link/aqm/drop_tail.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/ipv4.h"

namespace tcpemu {
namespace {

// The splitmix64 finalizer: a bijective 64-bit mix.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

FqCodelQueue::FqCodelQueue(const AqmSpec& spec, QueueLimits limits,
                           uint64_t seed)
    : params_{.target = spec.codel_target,
              .interval = spec.codel_interval,
              .mtu = limits.mtu,
              .ecn = spec.ecn},
      limits_(limits),
      seed_(Mix(seed)),
      quantum_(spec.fq_quantum),
      flows_(spec.fq_flows) {}

uint32_t FqCodelQueue::FlowOf(const Packet& p) const {
  uint64_t addrs = 0;
  uint64_t rest = 0;
  if (p.header_len >= kIpv4MinHeaderLen) {
    const uint8_t* h = p.header.data();
    addrs = uint64_t{wire_internal::Get32(h + 12)} << 32 |
            wire_internal::Get32(h + 16);
    const uint8_t protocol = h[9];
    rest = protocol;
    if (protocol == kIpProtoTcp) {
      const TcpPeek tcp = PeekTcp(p);
      rest |= uint64_t{tcp.src_port} << 24 | uint64_t{tcp.dst_port} << 8;
    }
  }
  const uint64_t h = Mix(Mix(seed_ ^ addrs) ^ rest);
  return static_cast<uint32_t>(h % flows_.size());
}

Admission FqCodelQueue::Admit(TimeNs /*now*/, Packet& p, bool wire_busy) {
  // Only a packet that can never fit is refused here; otherwise room is
  // made in Push by dropping from the fattest flow.
  return DropTailQueue::Fits(limits_, 0, 0, p.size(), wire_busy || packets_ > 0)
             ? Admission::kAccept
             : Admission::kOverLimit;
}

void FqCodelQueue::Push(TimeNs now, QueuedPacket&& p, Notify notify) {
  const uint32_t f = FlowOf(p.packet);
  Flow& flow = flows_[f];
  const uint64_t size = p.packet.size();
  flow.fifo.push_back(std::move(p));
  flow.bytes += size;
  bytes_ += size;
  ++packets_;
  if (flow.list == List::kNone) {
    flow.list = List::kNew;
    flow.deficit = quantum_;
    new_flows_.push_back(f);
  }
  while (OverLimits() && packets_ > 1 && DropBatch(now, notify)) {
  }
}

bool FqCodelQueue::DropBatch(TimeNs now, Notify notify) {
  const uint32_t f = FattestFlow();
  const uint64_t half = flows_[f].bytes / 2;
  uint64_t dropped_bytes = 0;
  QueuedPacket dropped;
  int i = 0;
  // At least one packet, then up to half of the flow's bytes.
  for (; i < kDropBatch && (i == 0 || dropped_bytes < half) &&
         TakeFrom(f, &dropped);
       ++i) {
    dropped_bytes += dropped.packet.size();
    notify(now, dropped, QueueAction::kDrop);
  }
  return i > 0;
}

bool FqCodelQueue::Pop(TimeNs now, QueuedPacket* out, Notify notify) {
  while (true) {
    RingBuffer<uint32_t>* list;
    if (!new_flows_.empty()) {
      list = &new_flows_;
    } else if (!old_flows_.empty()) {
      list = &old_flows_;
    } else {
      return false;
    }
    const uint32_t f = list->front();
    Flow& flow = flows_[f];
    if (flow.deficit <= 0) {
      // Used up its quantum: more credit, and to the back of old flows.
      flow.deficit += quantum_;
      list->pop_front();
      old_flows_.push_back(f);
      flow.list = List::kOld;
      continue;
    }
    const bool got = flow.codel.Dequeue(
        now, params_, [&](QueuedPacket* p) { return TakeFrom(f, p); },
        [this] { return bytes_; }, out, notify);
    if (!got) {
      // Empty: a new flow goes to the end of the old flows (so that a
      // flow cannot stay new by emptying and refilling), an old flow
      // leaves the lists.
      list->pop_front();
      if (list == &new_flows_) {
        old_flows_.push_back(f);
        flow.list = List::kOld;
      } else {
        flow.list = List::kNone;
      }
      continue;
    }
    flow.deficit -= static_cast<int64_t>(out->packet.size());
    return true;
  }
}

bool FqCodelQueue::Drain(QueuedPacket* out) {
  for (RingBuffer<uint32_t>* list : {&new_flows_, &old_flows_}) {
    while (!list->empty()) {
      const uint32_t f = list->front();
      if (TakeFrom(f, out)) return true;
      list->pop_front();
      flows_[f].list = List::kNone;
    }
  }
  return false;
}

bool FqCodelQueue::TakeFrom(uint32_t f, QueuedPacket* out) {
  Flow& flow = flows_[f];
  if (flow.fifo.empty()) return false;
  *out = flow.fifo.take_front();
  const uint64_t size = out->packet.size();
  flow.bytes -= size;
  bytes_ -= size;
  --packets_;
  return true;
}

bool FqCodelQueue::OverLimits() const {
  return (limits_.packets != 0 && packets_ > limits_.packets) ||
         (limits_.bytes != 0 && bytes_ > limits_.bytes);
}

uint32_t FqCodelQueue::FattestFlow() const {
  // By bytes, then by packets, so that a flow holding packets is chosen
  // even if they are all empty.
  uint32_t fattest = 0;
  std::pair<uint64_t, size_t> most{0, 0};
  for (const RingBuffer<uint32_t>* list : {&new_flows_, &old_flows_}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const uint32_t f = (*list)[i];
      const std::pair<uint64_t, size_t> size{flows_[f].bytes,
                                             flows_[f].fifo.size()};
      if (size > most) {
        most = size;
        fattest = f;
      }
    }
  }
  return fattest;
}

}  // namespace tcpemu
