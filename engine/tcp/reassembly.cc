// Out-of-order reassembly; see reassembly.h.
#include "engine/tcp/reassembly.h"

#include <iterator>

namespace tcpemu {

size_t Reassembly::Insert(Seq seq, const Payload& data) {
  Seq end = seq + static_cast<int64_t>(data.size());
  size_t stored = 0;
  Seq cur = seq;
  // Start from the block at or before `seq`, which may overlap it.
  auto it = blocks_.upper_bound(seq);
  if (it != blocks_.begin()) --it;
  while (cur < end) {
    // Skip blocks that end before cur.
    while (it != blocks_.end() &&
           it->first + static_cast<int64_t>(it->second.size()) <= cur) {
      ++it;
    }
    Seq gap_end = end;
    if (it != blocks_.end() && it->first <= cur) {
      // cur is inside an existing block: jump past it.
      cur = it->first + static_cast<int64_t>(it->second.size());
      ++it;
      continue;
    }
    if (it != blocks_.end() && it->first < end) gap_end = it->first;
    size_t off = static_cast<size_t>(cur - seq);
    size_t len = static_cast<size_t>(gap_end - cur);
    blocks_.emplace_hint(it, cur, data.Sub(off, len));
    AddRun(cur, gap_end);
    stored += len;
    cur = gap_end;
  }
  bytes_ += stored;
  return stored;
}

Payload Reassembly::PopContiguous(Seq rcv_nxt) {
  DropBefore(rcv_nxt);
  Payload out;
  auto it = blocks_.begin();
  while (it != blocks_.end() && it->first == rcv_nxt) {
    rcv_nxt += static_cast<int64_t>(it->second.size());
    bytes_ -= it->second.size();
    out.Append(it->second);
    it = blocks_.erase(it);
  }
  TrimRuns(rcv_nxt);
  return out;
}

void Reassembly::AddRun(Seq left, Seq right) {
  auto it = runs_.upper_bound(left);
  if (it != runs_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= left) {
      left = prev->first;
      right = SeqMax(right, prev->second);
      runs_.erase(prev);
    }
  }
  while (it != runs_.end() && it->first <= right) {
    right = SeqMax(right, it->second);
    it = runs_.erase(it);
  }
  runs_.emplace_hint(it, left, right);
}

void Reassembly::TrimRuns(Seq seq) {
  while (!runs_.empty()) {
    auto it = runs_.begin();
    if (it->first >= seq) return;
    const Seq right = it->second;
    runs_.erase(it);
    if (right > seq) {
      runs_.emplace(seq, right);
      return;
    }
  }
}

std::optional<std::pair<Seq, Seq>> Reassembly::RunAround(Seq seq) const {
  auto it = runs_.upper_bound(seq);
  if (it == runs_.begin()) return std::nullopt;
  --it;
  if (it->second <= seq) return std::nullopt;
  return std::make_pair(it->first, it->second);
}

std::optional<std::pair<Seq, Seq>> Reassembly::FirstHeldWithin(
    Seq left, Seq right) const {
  auto it = runs_.upper_bound(left);
  if (it != runs_.begin()) {
    auto prev = std::prev(it);
    if (prev->second > left) {
      return std::make_pair(left, SeqMin(prev->second, right));
    }
  }
  if (it != runs_.end() && it->first < right) {
    return std::make_pair(it->first, SeqMin(it->second, right));
  }
  return std::nullopt;
}

bool Reassembly::Holds(Seq left, Seq right) const {
  std::optional<std::pair<Seq, Seq>> run = RunAround(left);
  return run.has_value() && run->second >= right;
}

void Reassembly::DropBefore(Seq rcv_nxt) {
  while (!blocks_.empty()) {
    auto it = blocks_.begin();
    Seq end = it->first + static_cast<int64_t>(it->second.size());
    if (it->first >= rcv_nxt) break;
    if (end <= rcv_nxt) {
      bytes_ -= it->second.size();
      blocks_.erase(it);
      continue;
    }
    // Partly delivered: keep the tail under its new start.
    size_t cut = static_cast<size_t>(rcv_nxt - it->first);
    Payload rest = it->second.Sub(cut, it->second.size() - cut);
    bytes_ -= cut;
    blocks_.erase(it);
    blocks_.emplace(rcv_nxt, std::move(rest));
    break;
  }
  TrimRuns(rcv_nxt);
}

}  // namespace tcpemu
