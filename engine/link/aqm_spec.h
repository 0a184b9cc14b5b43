// The queue management of a path direction's bottleneck queue: which
// discipline and its parameters, with Linux qdisc names.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "engine/base/time.h"

namespace tcpemu {

// The queue management of one path direction, with Linux qdisc names.
struct AqmSpec {
  enum class Kind : uint8_t {
    kDropTail,  // tc-pfifo / tc-bfifo: drop arrivals over the limits
    kRed,       // tc-red: Floyd & Jacobson's Random Early Detection
    kCodel,     // tc-codel: RFC 8289
    kFqCodel,   // tc-fq_codel: RFC 8290
  } kind = Kind::kDropTail;
  // RED, CoDel, FQ-CoDel: set CE on ECN-capable packets (RFC 3168) instead
  // of dropping them. Packets that are not ECN-capable are still dropped,
  // and so is every packet over the hard limits.
  bool ecn = false;

  // RED: thresholds on the average queue, in bytes; drop (or mark)
  // probability rises linearly from 0 at min_threshold to max_p at
  // max_threshold; above it every arrival is dropped, or with `gentle`,
  // the probability rises from max_p to 1 at 2 * max_threshold. The
  // average is an EWMA with weight `weight` per arrival (w_q), decayed over
  // idle time as if small packets of `avpkt` bytes had left at line rate.
  uint64_t red_min_threshold = 30'000;
  uint64_t red_max_threshold = 90'000;
  double red_max_p = 0.02;
  double red_weight = 0.002;
  bool red_gentle = true;
  uint32_t red_avpkt = 1000;

  // CoDel (RFC 8289) and FQ-CoDel's per-queue CoDel: the acceptable
  // standing sojourn time and the window it must persist over.
  DurationNs codel_target = 5 * kMillisecond;
  DurationNs codel_interval = 100 * kMillisecond;

  // FQ-CoDel (RFC 8290): number of flow queues (packets hash into them by
  // their 5-tuple) and the deficit round robin quantum in bytes.
  uint32_t fq_flows = 1024;
  uint32_t fq_quantum = 1514;

  bool operator==(const AqmSpec&) const = default;
};

// Limits enforced by ValidateAqmSpec.
inline constexpr uint32_t kMaxFqFlows = 65536;
inline constexpr DurationNs kMaxCodelTime = 10 * kSecond;

// OK, or InvalidArgument naming the first bad field and its allowed range,
// e.g. "aqm.red_max_p 1.5 out of range (0, 1]".
absl::Status ValidateAqmSpec(const AqmSpec& spec);

}  // namespace tcpemu
