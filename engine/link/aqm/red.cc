// RED; see red.h.
#include "engine/link/aqm/red.h"

#include <cmath>
#include <utility>

#include "engine/link/aqm/drop_tail.h"
#include "engine/wire/ecn.h"

namespace tcpemu {

RedQueue::RedQueue(const AqmSpec& spec, QueueLimits limits, uint64_t seed)
    : spec_(spec), limits_(limits), rng_(seed) {}

double RedQueue::DropProbability(double avg) const {
  const double min = static_cast<double>(spec_.red_min_threshold);
  const double max = static_cast<double>(spec_.red_max_threshold);
  if (avg < min) return 0;
  if (avg < max) return spec_.red_max_p * (avg - min) / (max - min);
  if (spec_.red_gentle && avg < 2 * max) {
    return spec_.red_max_p + (1 - spec_.red_max_p) * (avg - max) / max;
  }
  return 1;
}

void RedQueue::UpdateAverage(TimeNs now) {
  if (idle_ && now > idle_since_) {
    // The link has been idle: decay as if m packets of avpkt bytes had
    // left at the measured rate, one EWMA step with q = 0 each.
    if (ns_per_byte_ > 0) {
      const double m = static_cast<double>(now - idle_since_) /
                       (ns_per_byte_ * static_cast<double>(spec_.red_avpkt));
      avg_ *= std::pow(1 - spec_.red_weight, m);
    } else {
      avg_ = 0;
    }
    idle_since_ = now;
    return;
  }
  avg_ += spec_.red_weight * (static_cast<double>(bytes_) - avg_);
}

Admission RedQueue::Admit(TimeNs now, Packet& p, bool wire_busy) {
  UpdateAverage(now);
  const double pb = DropProbability(avg_);
  bool congested = false;
  if (pb <= 0) {
    count_ = 0;
  } else if (pb >= 1) {
    congested = true;
  } else {
    // Floyd & Jacobson's spreading: uniform spacing between drops.
    const double left = 1 - static_cast<double>(count_) * pb;
    congested = left <= pb || rng_.Bernoulli(pb / left);
    if (!congested) ++count_;
  }
  bool mark = false;
  if (congested) {
    count_ = 0;
    if (!spec_.ecn || !IsEcnCapable(PacketEcn(p))) return Admission::kEarlyDrop;
    mark = true;
  }
  if (!DropTailQueue::Fits(limits_, fifo_.size(), bytes_, p.size(),
                           wire_busy)) {
    return Admission::kOverLimit;
  }
  if (mark) {
    MarkCe(p);
    return Admission::kMarked;
  }
  return Admission::kAccept;
}

void RedQueue::Push(TimeNs /*now*/, QueuedPacket&& p, Notify /*notify*/) {
  bytes_ += p.packet.size();
  fifo_.push_back(std::move(p));
  idle_ = false;
}

bool RedQueue::Pop(TimeNs now, QueuedPacket* out, Notify /*notify*/) {
  if (fifo_.empty()) {
    if (!idle_) {
      idle_ = true;
      idle_since_ = now;
    }
    back_to_back_ = false;
    return false;
  }
  if (back_to_back_ && now > last_pop_) {
    // The wire was busy from the last Pop until now with that packet.
    const double sample = static_cast<double>(now - last_pop_) /
                          static_cast<double>(last_pop_size_);
    ns_per_byte_ =
        ns_per_byte_ == 0 ? sample : ns_per_byte_ + (sample - ns_per_byte_) / 8;
  }
  Drain(out);
  last_pop_ = now;
  last_pop_size_ = out->packet.size();
  back_to_back_ = !fifo_.empty() && last_pop_size_ > 0;
  if (fifo_.empty()) {
    // The wire goes idle once this packet is serialized.
    idle_ = true;
    idle_since_ = now + static_cast<TimeNs>(
                            ns_per_byte_ * static_cast<double>(last_pop_size_));
  }
  return true;
}

bool RedQueue::Drain(QueuedPacket* out) {
  if (fifo_.empty()) return false;
  *out = fifo_.take_front();
  bytes_ -= out->packet.size();
  return true;
}

}  // namespace tcpemu
