// Fault rules; see fault.h.
#include "engine/link/fault.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/link/path_spec.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

std::string_view ToString(FaultAction a) {
  switch (a) {
    case FaultAction::kDrop:
      return "drop";
    case FaultAction::kDelay:
      return "delay";
    case FaultAction::kDuplicate:
      return "duplicate";
    case FaultAction::kCorrupt:
      return "corrupt";
    case FaultAction::kReorder:
      return "reorder";
  }
  return "unknown";
}

absl::Status ValidateFaultRule(const FaultRule& rule) {
  const FaultMatch& m = rule.match;
  if ((m.flags_all & m.flags_none) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "match.flags_all 0x%02x and match.flags_none 0x%02x both contain "
        "0x%02x: no segment can match",
        m.flags_all, m.flags_none, m.flags_all & m.flags_none));
  }
  if (m.has_seq_range && (m.seq_hi - m.seq_lo) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "match.seq_hi ", m.seq_hi.value(), " must be after match.seq_lo ",
        m.seq_lo.value(), " by 1 to 2^31-1"));
  }
  switch (rule.action) {
    case FaultAction::kDrop:
    case FaultAction::kDuplicate:
    case FaultAction::kCorrupt:
    case FaultAction::kReorder:
      break;
    case FaultAction::kDelay:
      if (rule.delay <= 0 || rule.delay > kMaxPathDelay) {
        return absl::InvalidArgumentError(
            absl::StrCat("delay ", rule.delay, "ns out of range [1, ",
                         kMaxPathDelay, "ns] for action DELAY"));
      }
      if (rule.jitter < 0 || rule.jitter > rule.delay) {
        return absl::InvalidArgumentError(
            absl::StrCat("jitter ", rule.jitter, "ns out of range [0, delay ",
                         rule.delay, "ns]"));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("action ", static_cast<int>(rule.action),
                       " is not one of DROP, DELAY, DUPLICATE, CORRUPT, "
                       "REORDER"));
  }
  if (rule.delay < 0 || rule.delay > kMaxPathDelay) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delay ", rule.delay, "ns out of range [0, ", kMaxPathDelay, "ns]"));
  }
  if (!(rule.probability >= 0 && rule.probability <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("probability ", rule.probability, " out of range [0, 1]"));
  }
  if (rule.duration < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration ", rule.duration, "ns out of range [0, ", kNever,
                     "ns] (0 = until cleared)"));
  }
  return absl::OkStatus();
}

bool MatchesSegment(const FaultMatch& m, const TcpPeek& seg) {
  if ((seg.flags & m.flags_all) != m.flags_all) return false;
  if ((seg.flags & m.flags_none) != 0) return false;
  if (m.payload_only && seg.payload_len == 0) return false;
  if (m.src_port != 0 && seg.src_port != m.src_port) return false;
  if (m.dst_port != 0 && seg.dst_port != m.dst_port) return false;
  if (m.has_seq_range) {
    // SYN and FIN occupy one sequence number each (RFC 9293 3.4).
    const uint32_t span = seg.payload_len +
                          ((seg.flags & tcp_flags::kSyn) ? 1 : 0) +
                          ((seg.flags & tcp_flags::kFin) ? 1 : 0);
    if (span == 0) return SeqInRange(seg.seq, m.seq_lo, m.seq_hi);
    return seg.seq < m.seq_hi && m.seq_lo < seg.seq + span;
  }
  return true;
}

absl::StatusOr<uint32_t> FaultTable::Add(const FaultRule& rule, TimeNs now) {
  if (absl::Status s = ValidateFaultRule(rule); !s.ok()) return s;
  // Make room by forgetting rules that can no longer act.
  std::erase_if(rules_, [now](const Entry& e) { return Spent(e, now); });
  if (rules_.size() >= kMaxFaultRules) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a path holds at most ", kMaxFaultRules,
                     " fault rules; clear some first"));
  }
  const TimeNs expires = rule.duration == 0 || rule.duration > kNever - now
                             ? kNever
                             : now + rule.duration;
  const uint32_t id = next_id_++;
  rules_.push_back(Entry{id, rule, expires});
  return id;
}

bool FaultTable::Remove(uint32_t id) {
  return std::erase_if(rules_, [id](const Entry& e) { return e.id == id; }) > 0;
}

bool FaultTable::Spent(const Entry& e, TimeNs now) {
  return now >= e.expires || (e.rule.count != 0 && e.applied >= e.rule.count) ||
         (e.rule.match.nth != 0 && e.seen >= e.rule.match.nth);
}

std::optional<FaultHit> FaultTable::Apply(TimeNs now, const TcpPeek& seg,
                                          Rng& rng) {
  std::optional<FaultHit> hit;
  bool any_spent = false;
  for (Entry& e : rules_) {
    if (Spent(e, now)) {
      any_spent = true;
      continue;
    }
    if (!MatchesSegment(e.rule.match, seg)) continue;
    ++e.seen;
    const bool at_position =
        e.rule.match.nth == 0 || e.seen == e.rule.match.nth;
    if (!hit && at_position && rng.Bernoulli(e.rule.probability)) {
      ++e.applied;
      hit = FaultHit{e.id, e.rule.action, e.rule.delay};
      if (e.rule.action == FaultAction::kDelay && e.rule.jitter > 0) {
        hit->delay += rng.UniformInt(-e.rule.jitter, e.rule.jitter);
      }
    }
    any_spent = any_spent || Spent(e, now);
  }
  if (any_spent) {
    std::erase_if(rules_, [now](const Entry& e) { return Spent(e, now); });
  }
  return hit;
}

}  // namespace tcpemu
