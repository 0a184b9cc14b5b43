// The sender's scoreboard (RFC 6675); see scoreboard.h.
#include "engine/tcp/scoreboard.h"

#include <algorithm>
#include <vector>

namespace tcpemu {

void Scoreboard::NoteDelivered(const Segment& s, AckResult& r) {
  if (!r.newest_delivered_sent_at.has_value() ||
      s.order > r.newest_delivered_order) {
    r.newest_delivered_sent_at = s.sent_at;
    r.newest_delivered_order = s.order;
    r.newest_delivered_end = s.end;
    r.newest_delivered_retransmitted = s.ever_retransmitted;
    r.newest_delivered_rate = s.rate;
  }
}

size_t Scoreboard::FirstEndingAfter(Seq at) const {
  const size_t n = segments_.size();
  if (n == 0 || segments_.back().end <= at) return n;
  // A few steps from the back, where the newest SACK block grows, and from
  // the front, where retransmissions and RACK's oldest candidates are;
  // then a binary search.
  constexpr size_t kSteps = 8;
  for (size_t k = n - 1, steps = 0; steps < kSteps; --k, ++steps) {
    if (k == 0 || segments_[k - 1].end <= at) return k;
  }
  for (size_t k = 0; k < kSteps; ++k) {
    if (segments_[k].end > at) return k;
  }
  return segments_.PartitionPoint(
      [at](const Segment& s) { return s.end <= at; });
}

size_t Scoreboard::SplitAt(Seq at) {
  const size_t i = FirstEndingAfter(at);
  if (i == segments_.size()) return i;
  Segment& head = segments_[i];
  if (head.start >= at) return i;
  Segment tail = head;
  tail.start = at;
  head.end = at;
  segments_.Insert(i + 1, tail);
  return i + 1;
}

void Scoreboard::SetSacked(Segment& s) {
  if (s.sacked) return;
  Touch(s);
  SetRetransmitted(s, false);
  if (s.lost) {
    s.lost = false;
    lost_ -= s.length();
    pending_ -= s.length();
  }
  s.sacked = true;
  sacked_ += s.length();
}

void Scoreboard::SetLost(Segment& s) {
  if (s.sacked || s.lost) return;
  Touch(s);
  s.lost = true;
  lost_ += s.length();
  if (!s.retransmitted) {
    pending_ += s.length();
    if (s.start < lost_hint_) lost_hint_ = s.start;
  }
}

void Scoreboard::SetRetransmitted(Segment& s, bool on) {
  if (s.retransmitted == on || s.sacked) return;
  Touch(s);
  s.retransmitted = on;
  if (on) {
    retrans_ += s.length();
    if (s.lost) pending_ -= s.length();
  } else {
    retrans_ -= s.length();
    if (s.lost) {
      pending_ += s.length();
      if (s.start < lost_hint_) lost_hint_ = s.start;
    }
  }
}

void Scoreboard::OnSend(TimeNs now, Seq start, Seq end,
                        const TxRateState& rate) {
  if (end <= start) return;
  const Seq high = segments_.empty() ? start : segments_.back().end;
  if (!segments_.empty() && start < high) {
    // A retransmission of what is still held.
    const Seq from = SeqMax(start, segments_.front().start);
    const Seq to = end < high ? end : high;
    if (from < to) {
      const size_t i = SplitAt(from);
      const size_t j = SplitAt(to);
      for (size_t k = i; k < j; ++k) {
        Segment& s = segments_[k];
        if (s.sacked) continue;
        Touch(s);
        SetRetransmitted(s, true);
        s.ever_retransmitted = true;
        s.sent_at = now;
        s.order = next_order_++;
        s.rate = rate;
        transmissions_.push_back({s.order, s.start, s.end});
      }
    }
    if (end <= high) return;
    start = high;
  }
  Segment s;
  s.start = start;
  s.end = end;
  s.sent_at = now;
  s.order = next_order_++;
  s.rate = rate;
  outstanding_ += s.length();
  if (segments_.empty()) lost_hint_ = start;
  segments_.push_back(s);
  transmissions_.push_back({s.order, s.start, s.end});
}

void Scoreboard::ApplySack(Seq left, Seq right, AckResult& r) {
  const size_t i = SplitAt(left);
  const size_t j = SplitAt(right);
  for (size_t k = i; k < j; ++k) {
    Segment& s = segments_[k];
    if (s.sacked) continue;
    NoteDelivered(s, r);
    r.newly_sacked_bytes += s.length();
    SetSacked(s);
  }
}

void Scoreboard::TrimTransmissions() {
  while (!transmissions_.empty() &&
         (segments_.empty() ||
          transmissions_.front().end <= segments_.front().start)) {
    transmissions_.pop_front();
  }
  if (transmissions_.empty() && segments_.empty()) transmissions_.Release();
}

void Scoreboard::RebuildTransmissions() {
  transmissions_.Release();
  std::vector<Transmission> all;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (RackCandidate(s)) all.push_back({s.order, s.start, s.end});
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Transmission& a, const Transmission& b) {
                     return a.order < b.order;
                   });
  for (const Transmission& t : all) transmissions_.push_back(t);
}

Scoreboard::AckResult Scoreboard::OnAck(Seq ack,
                                        absl::Span<const SackBlock> blocks) {
  AckResult r;
  const uint32_t sacked_before = sacked_;

  const Seq una = segments_.empty() ? ack : segments_.front().start;
  // Cumulative acknowledgement.
  while (!segments_.empty() && segments_.front().start < ack) {
    Segment& s = segments_.front();
    Touch(s);
    if (!s.sacked) NoteDelivered(s, r);
    if (s.end > ack) {
      // Acknowledged in part: keep the rest.
      const uint32_t part = static_cast<uint32_t>(ack - s.start);
      outstanding_ -= part;
      if (s.sacked) sacked_ -= part;
      if (s.lost && !s.sacked) lost_ -= part;
      if (s.retransmitted && !s.sacked) retrans_ -= part;
      if (Pending(s)) pending_ -= part;
      r.acked_bytes += part;
      s.start = ack;
      break;
    }
    const uint32_t len = s.length();
    outstanding_ -= len;
    if (s.sacked) {
      sacked_ -= len;
    } else {
      if (s.lost) lost_ -= len;
      if (s.retransmitted) retrans_ -= len;
      if (Pending(s)) pending_ -= len;
    }
    r.acked_bytes += len;
    segments_.pop_front();
  }
  if (segments_.empty()) {
    lost_hint_ = ack;
    segments_.Release();  // an idle connection holds no board
  }
  TrimTransmissions();
  // Selective acknowledgements. What the last ACK's blocks covered is
  // SACKed already: only the parts beyond them are walked.
  std::array<Range, 4> applied{};
  uint8_t applied_count = 0;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const SackBlock& blk = blocks[b];
    if (blk.right <= blk.left) continue;
    if (b == 0 && (blk.right <= SeqMax(ack, una) ||
                   (blocks.size() > 1 && blocks[1].left <= blk.left &&
                    blk.right <= blocks[1].right))) {
      r.dsack = true;  // RFC 2883 4: reports a duplicate, not a hole
      continue;
    }
    if (segments_.empty()) break;
    const Seq left = SeqMax(blk.left, segments_.front().start);
    const Seq right =
        blk.right < segments_.back().end ? blk.right : segments_.back().end;
    if (right <= left) continue;
    Seq cur = left;
    while (cur < right) {
      // Past every cached range that holds `cur`, then up to the next one.
      bool moved = true;
      while (moved) {
        moved = false;
        for (uint8_t c = 0; c < sack_cache_count_; ++c) {
          const Range& k = sack_cache_[c];
          if (k.left <= cur && cur < k.right) {
            cur = k.right;
            moved = true;
          }
        }
      }
      if (cur >= right) break;
      Seq next = right;
      for (uint8_t c = 0; c < sack_cache_count_; ++c) {
        const Range& k = sack_cache_[c];
        if (cur < k.left && k.left < next) next = k.left;
      }
      ApplySack(cur, next, r);
      cur = next;
    }
    if (applied_count < applied.size())
      applied[applied_count++] = {left, right};
  }
  sack_cache_ = applied;
  sack_cache_count_ = applied_count;
  r.delivered_bytes = r.acked_bytes + sacked_ - sacked_before;
  return r;
}

uint32_t Scoreboard::MarkLosses(uint32_t mss, uint32_t dup_thresh) {
  uint32_t marked = 0;
  uint64_t sacked_above = 0;
  uint32_t runs_above = 0;
  bool above_sacked = false;
  bool lost_from_here = false;
  for (size_t i = segments_.size(); i-- > 0;) {
    Segment& s = segments_[i];
    if (s.sacked) {
      sacked_above += s.length();
      if (!above_sacked) ++runs_above;
      above_sacked = true;
      continue;
    }
    above_sacked = false;
    if (!lost_from_here) {
      lost_from_here = sacked_above > uint64_t{dup_thresh - 1} * mss ||
                       runs_above >= dup_thresh;
    }
    if (lost_from_here && !s.lost) {
      SetLost(s);
      ++marked;
    }
  }
  return marked;
}

bool Scoreboard::MarkFirstHoleLost() {
  if (sacked_ == 0) return false;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& s = segments_[i];
    if (s.sacked) continue;
    if (s.lost || s.retransmitted) return false;
    SetLost(s);
    return true;
  }
  return false;
}

void Scoreboard::MarkAllLost() {
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& s = segments_[i];
    if (s.sacked) continue;
    SetRetransmitted(s, false);
    SetLost(s);
  }
  // Nothing is left for RACK until it is sent again.
  transmissions_.Release();
  waiting_order_ = 0;
}

void Scoreboard::ClearSacks() {
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& s = segments_[i];
    if (!s.sacked) continue;
    s.sacked = false;
    sacked_ -= s.length();
  }
  sack_cache_count_ = 0;
  waiting_order_ = 0;
  RebuildTransmissions();
}

uint32_t Scoreboard::RackDetect(TimeNs now, uint64_t order, DurationNs rtt,
                                DurationNs reo_wnd,
                                std::optional<TimeNs>* timeout) {
  uint32_t marked = 0;
  // Transmissions leave in time order, so the first candidate still
  // waiting holds the earliest deadline and every later one waits too.
  while (!transmissions_.empty()) {
    const Transmission t = transmissions_.front();
    // RFC 8985 6.2: only segments sent before the one most recently
    // delivered are candidates.
    if (t.order >= order) break;
    if (t.order == waiting_order_) {
      // Found waiting before and untouched since: its deadline is known.
      const TimeNs deadline = waiting_sent_at_ + rtt + reo_wnd;
      if (deadline > now) {
        if (!timeout->has_value() || deadline < **timeout) *timeout = deadline;
        break;
      }
    }
    bool waiting = false;
    for (size_t i = FirstEndingAfter(t.start);
         i < segments_.size() && segments_[i].start < t.end; ++i) {
      Segment& s = segments_[i];
      if (s.order != t.order || !RackCandidate(s)) continue;
      const TimeNs deadline = s.sent_at + rtt + reo_wnd;
      if (deadline <= now) {
        SetRetransmitted(s, false);
        SetLost(s);
        ++marked;
      } else {
        if (!timeout->has_value() || deadline < **timeout) *timeout = deadline;
        waiting = true;
        waiting_order_ = t.order;
        waiting_sent_at_ = s.sent_at;
      }
    }
    if (waiting) break;
    transmissions_.pop_front();
  }
  return marked;
}

const Scoreboard::Segment* Scoreboard::NextLost() const {
  // Nothing lost and not yet sent again: nothing to search (the common
  // case, and a search of a large board costs a cache miss per step).
  if (pending_ == 0) return nullptr;
  for (size_t i = segments_.PartitionPoint(
           [this](const Segment& s) { return s.end <= lost_hint_; });
       i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    if (s.lost && !s.retransmitted && !s.sacked) {
      lost_hint_ = s.start;
      return &s;
    }
  }
  lost_hint_ = segments_.empty() ? lost_hint_ : segments_.back().end;
  return nullptr;
}

const Scoreboard::Segment* Scoreboard::Last() const {
  return segments_.empty() ? nullptr : &segments_.back();
}

void Scoreboard::Clear() {
  segments_.Release();
  transmissions_.Release();
  sack_cache_count_ = 0;
  waiting_order_ = 0;
  outstanding_ = sacked_ = lost_ = retrans_ = pending_ = 0;
}

}  // namespace tcpemu
