// A path's queue and wire; see bottleneck.h.
#include "engine/link/bottleneck.h"

#include <utility>

#include "engine/link/aqm/drop_tail.h"

namespace tcpemu {

void Bottleneck::Configure(const PathSpec& spec, uint64_t seed, TimeNs now,
                           Depart depart) {
  const bool eager = spec.aqm.kind == AqmSpec::Kind::kDropTail &&
                     spec.trace == nullptr && spec.schedule == nullptr;
  const QueueLimits limits{spec.queue_limit_packets, spec.queue_limit_bytes,
                           spec.mtu};
  tx_.SetRate(spec.rate_bps);
  if (spec.trace != trace_) {
    trace_ = spec.trace;
    tx_.SetTrace(trace_, now);
  }
  // The discipline is rebuilt when anything it depends on changes.
  const bool same_queue = queue_ != nullptr && !eager &&
                          limits.packets == limits_.packets &&
                          limits.bytes == limits_.bytes &&
                          limits.mtu == limits_.mtu && aqm_ == spec.aqm;
  limits_ = limits;
  aqm_ = spec.aqm;
  if (same_queue) return;
  std::unique_ptr<QueueDiscipline> old = std::move(queue_);
  eager_ = eager;
  if (!eager_) queue_ = MakeQueueDiscipline(aqm_, limits_, seed);
  if (old == nullptr) return;
  QueuedPacket q;
  while (old->Drain(&q)) {
    if (eager_) {
      const TimeNs start = tx_.NextStart(now);
      const TimeNs departure = tx_.Transmit(start, q.packet.size());
      if (start > now) {
        waiting_.push_back({start, q.packet.size()});
        waiting_bytes_ += q.packet.size();
      }
      depart(start, departure, std::move(q));
    } else {
      if (queue_->empty()) ready_ = now;
      queue_->Push(now, std::move(q),
                   [](TimeNs, const QueuedPacket&, QueueAction) {});
    }
  }
}

void Bottleneck::Forget(TimeNs now) {
  while (!waiting_.empty() && waiting_.front().start <= now) {
    waiting_bytes_ -= waiting_.front().bytes;
    waiting_.pop_front();
  }
}

Admission Bottleneck::Admit(TimeNs now, Packet& p) {
  if (eager_) {
    Forget(now);
    return DropTailQueue::Fits(limits_, waiting_.size(), waiting_bytes_,
                               p.size(), tx_.Busy(now))
               ? Admission::kAccept
               : Admission::kOverLimit;
  }
  return queue_->Admit(now, p, tx_.Busy(now) || !queue_->empty());
}

void Bottleneck::Push(TimeNs now, QueuedPacket&& p, Depart depart,
                      Notify notify) {
  if (eager_) {
    const size_t size = p.packet.size();
    const TimeNs start = tx_.NextStart(now);
    const TimeNs departure = tx_.Transmit(start, size);
    if (start > now) {
      waiting_.push_back({start, size});
      waiting_bytes_ += size;
    }
    depart(start, departure, std::move(p));
    return;
  }
  if (queue_->empty()) ready_ = now;
  queue_->Push(now, std::move(p), notify);
}

void Bottleneck::Run(TimeNs until, Depart depart, Notify notify) {
  Forget(until);
  if (eager_) return;
  QueuedPacket q;
  while (!queue_->empty()) {
    const TimeNs start = tx_.NextStart(ready_);
    if (start > until) break;
    if (!queue_->Pop(start, &q, notify)) break;
    const TimeNs departure = tx_.Transmit(start, q.packet.size());
    // Whatever still waits was queued before this start.
    ready_ = start;
    depart(start, departure, std::move(q));
  }
}

TimeNs Bottleneck::NextStart() const {
  if (eager_ || queue_->empty()) return kNever;
  return tx_.NextStart(ready_);
}

size_t Bottleneck::queued_packets() const {
  return waiting_.size() + (queue_ != nullptr ? queue_->packets() : 0);
}

uint64_t Bottleneck::queued_bytes() const {
  return waiting_bytes_ + (queue_ != nullptr ? queue_->bytes() : 0);
}

}  // namespace tcpemu
