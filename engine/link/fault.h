// Fault rules of an emulated path: targeted impairments that pick segments by
// TCP flags, payload, sequence range or position (the nth match) and drop,
// delay, duplicate, corrupt or reorder them (`InjectFault` in
// proto/tcpemu/v1/tcpemu.proto).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/rng.h"
#include "engine/base/time.h"
#include "engine/wire/packet.h"
#include "engine/wire/seq.h"

namespace tcpemu {

// Which segments a rule applies to. Every criterion set must hold.
struct FaultMatch {
  uint8_t flags_all = 0;      // all these TCP flag bits set (tcp_flags::*)
  uint8_t flags_none = 0;     // none of these set
  bool payload_only = false;  // only segments carrying payload bytes
  // The segment's sequence space [seq, seq + len + SYN + FIN) overlaps
  // [seq_lo, seq_hi); a segment occupying no sequence space (a pure ACK or
  // RST) matches when seq_lo <= seq < seq_hi.
  bool has_seq_range = false;
  Seq seq_lo, seq_hi;
  // 1-based: only the nth segment (since the rule was added) that matches the
  // criteria above; 0 = every matching segment.
  uint32_t nth = 0;
  // Only segments between these ports (0 = any), so that a rule can target
  // one session of a link.
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

enum class FaultAction { kDrop, kDelay, kDuplicate, kCorrupt, kReorder };

std::string_view ToString(FaultAction a);

struct FaultRule {
  FaultMatch match;
  FaultAction action = FaultAction::kDrop;
  DurationNs delay = 0;  // kDelay: extra delay on top of the path's
  // kDelay: the delay varies uniformly in [delay - jitter, delay + jitter];
  // [0, delay]. Draws from the rng only when set.
  DurationNs jitter = 0;
  uint64_t count = 0;       // apply to at most this many segments; 0 = no limit
  double probability = 1;   // chance that a matching segment is acted on
  DurationNs duration = 0;  // active this long after being added; 0 = until
                            // cleared
};

inline constexpr size_t kMaxFaultRules = 64;

// OK, or InvalidArgument naming the bad field and its allowed range.
absl::Status ValidateFaultRule(const FaultRule& rule);

// True when `seg` meets the flag, payload and sequence criteria of `m` (not
// `nth`, which needs the rule's history).
bool MatchesSegment(const FaultMatch& m, const TcpPeek& seg);

// What a rule decided for one segment.
struct FaultHit {
  uint32_t rule_id = 0;
  FaultAction action = FaultAction::kDrop;
  DurationNs delay = 0;
};

// The ordered rules of one path direction.
class FaultTable {
 public:
  // Validates and appends a rule active from `now`; returns its id (ids start
  // at 1 and are never reused by this table). ResourceExhausted beyond
  // kMaxFaultRules rules.
  absl::StatusOr<uint32_t> Add(const FaultRule& rule, TimeNs now);
  // Removes one rule; false if no such rule is held.
  bool Remove(uint32_t id);
  void Clear() { rules_.clear(); }
  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }

  // Offers one segment to the rules, in the order they were added. Every
  // active rule whose criteria match counts the segment (so `nth` counts
  // independently of other rules); the first of them that also passes its
  // nth and probability tests acts and consumes one unit of its count, and
  // the rest do not act. Rules that expired (duration), ran out of count or
  // went past their nth segment are removed here. Draws from `rng` only for
  // probabilities strictly between 0 and 1.
  std::optional<FaultHit> Apply(TimeNs now, const TcpPeek& seg, Rng& rng);

 private:
  struct Entry {
    uint32_t id;
    FaultRule rule;
    TimeNs expires;     // kNever when duration is 0
    uint64_t seen = 0;  // segments that met the criteria
    uint64_t applied = 0;
  };
  static bool Spent(const Entry& e, TimeNs now);

  std::vector<Entry> rules_;
  uint32_t next_id_ = 1;
};

}  // namespace tcpemu
