// Rate limiting and the drop-tail queue; see serializer.h.
#include "engine/link/serializer.h"

#include <algorithm>

namespace tcpemu {

void Serializer::Configure(uint64_t rate_bps, uint32_t limit_packets,
                           uint64_t limit_bytes) {
  // The remainder is measured in units of the old rate.
  if (rate_bps != rate_bps_) remainder_ = 0;
  rate_bps_ = rate_bps;
  limit_packets_ = limit_packets;
  limit_bytes_ = limit_bytes;
}

void Serializer::Advance(TimeNs now) {
  while (!waiting_.empty() && waiting_.front().start <= now) {
    waiting_bytes_ -= waiting_.front().bytes;
    waiting_.pop_front();
  }
}

bool Serializer::Admits(TimeNs now, size_t bytes) const {
  if (busy_until_ <= now) return true;
  if (limit_packets_ != 0 && waiting_.size() >= limit_packets_) return false;
  if (limit_bytes_ != 0 && waiting_bytes_ + bytes > limit_bytes_) return false;
  return true;
}

TimeNs Serializer::Enqueue(TimeNs now, size_t bytes) {
  // While the wire is busy (or frees up exactly now) the new packet follows
  // the previous one and inherits its sub-nanosecond remainder; after an
  // idle gap a new busy period starts on a whole nanosecond.
  const bool busy = busy_until_ >= now;
  if (!busy) remainder_ = 0;
  const TimeNs start = busy ? busy_until_ : now;
  if (start > now) {
    waiting_.push_back(Waiting{start, bytes});
    waiting_bytes_ += bytes;
  }
  TimeNs departure = start;
  if (rate_bps_ != 0) {
    // bytes <= 65535 (MTU) and rate <= 1e15 keep this within 64 bits.
    const uint64_t numerator =
        static_cast<uint64_t>(bytes) * 8 * 1'000'000'000 + remainder_;
    departure += static_cast<TimeNs>(numerator / rate_bps_);
    remainder_ = numerator % rate_bps_;
  }
  busy_until_ = departure;
  return departure;
}

}  // namespace tcpemu
