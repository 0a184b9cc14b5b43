// Rate and trace wires; see transmitter.h.
#include "engine/link/transmitter.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tcpemu {

void Transmitter::SetRate(uint64_t rate_bps) {
  // The remainder is measured in units of the old rate.
  if (rate_bps != rate_bps_) remainder_ = 0;
  rate_bps_ = rate_bps;
}

void Transmitter::SetTrace(std::shared_ptr<const DeliveryTrace> trace,
                           TimeNs start) {
  trace_ = std::move(trace);
  trace_start_ = start;
  used_ = false;
  opportunity_ = 0;
  opportunity_left_ = 0;
  remainder_ = 0;
}

TimeNs Transmitter::OpportunityTime(uint64_t k) const {
  const std::vector<uint32_t>& ms = trace_->opportunities_ms;
  const uint64_t n = ms.size();
  const TimeNs period = static_cast<TimeNs>(ms.back()) * kMillisecond;
  return trace_start_ + static_cast<TimeNs>(k / n) * period +
         static_cast<TimeNs>(ms[k % n]) * kMillisecond;
}

uint64_t Transmitter::FirstOpportunityAt(TimeNs t) const {
  const std::vector<uint32_t>& ms = trace_->opportunities_ms;
  const uint64_t n = ms.size();
  if (t <= trace_start_) return 0;
  const TimeNs period = static_cast<TimeNs>(ms.back()) * kMillisecond;
  // The last entry of a cycle falls on the first instant of the next, so
  // the search starts a cycle early.
  uint64_t cycle = static_cast<uint64_t>((t - trace_start_) / period);
  if (cycle > 0) --cycle;
  TimeNs offset = t - trace_start_ - static_cast<TimeNs>(cycle) * period;
  const auto first_at = [&ms](TimeNs off) {
    return std::lower_bound(ms.begin(), ms.end(), off,
                            [](uint32_t v, TimeNs o) {
                              return static_cast<TimeNs>(v) * kMillisecond < o;
                            });
  };
  auto it = first_at(offset);
  if (it == ms.end()) {
    ++cycle;
    it = first_at(offset - period);
  }
  return cycle * n + static_cast<uint64_t>(it - ms.begin());
}

TimeNs Transmitter::NextStart(TimeNs ready) const {
  if (stopped_) return kNever;
  if (trace_ == nullptr) return std::max(busy_until_, ready);
  // What is left of the opportunity the last packet ended in serves the
  // next one if it is ready by then; otherwise that rest is lost.
  if (used_ && opportunity_left_ > 0 &&
      OpportunityTime(opportunity_) >= ready) {
    return OpportunityTime(opportunity_);
  }
  uint64_t k = FirstOpportunityAt(ready);
  if (used_) k = std::max(k, opportunity_ + 1);
  return OpportunityTime(k);
}

TimeNs Transmitter::Transmit(TimeNs start, size_t bytes) {
  if (trace_ == nullptr) {
    // While the wire stays busy (or frees up exactly now) the packet
    // inherits the previous one's sub-nanosecond remainder; after an idle
    // gap a new busy period starts on a whole nanosecond.
    if (start > busy_until_) remainder_ = 0;
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
  uint64_t k;
  uint32_t left = kTraceOpportunityBytes;
  if (used_ && opportunity_left_ > 0 &&
      OpportunityTime(opportunity_) == start) {
    k = opportunity_;
    left = opportunity_left_;
  } else {
    k = FirstOpportunityAt(start);
    if (used_) k = std::max(k, opportunity_ + 1);
  }
  size_t remaining = bytes;
  while (true) {
    const size_t used = std::min<size_t>(remaining, left);
    remaining -= used;
    left -= static_cast<uint32_t>(used);
    if (remaining == 0) break;
    ++k;
    left = kTraceOpportunityBytes;
  }
  used_ = true;
  opportunity_ = k;
  opportunity_left_ = left;
  busy_until_ = OpportunityTime(k);
  return busy_until_;
}

}  // namespace tcpemu
