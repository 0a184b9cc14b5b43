// Out-of-order reassembly (RFC 9293 3.10.7.4, "segment text"): acceptable
// segments that arrive ahead of RCV.NXT are held here, with overlaps trimmed,
// until the gap before them is filled.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <utility>

#include "engine/wire/buffer.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class Reassembly {
 public:
  // Holds `data` starting at `seq`. Bytes already held are kept as they are;
  // only the new ones are stored. Returns the count of new bytes stored.
  size_t Insert(Seq seq, const Payload& data);
  // Removes and returns the bytes contiguous from `rcv_nxt`, if any.
  Payload PopContiguous(Seq rcv_nxt);
  // Drops everything below `rcv_nxt` (already delivered).
  void DropBefore(Seq rcv_nxt);
  // The run of held bytes that contains `seq` (adjacent blocks merged), as
  // [left, right); nullopt if `seq` is not held.
  std::optional<std::pair<Seq, Seq>> RunAround(Seq seq) const;
  // The first held bytes within [left, right), as [left, right) of the part
  // of one run that lies inside; nullopt if none of them is held.
  std::optional<std::pair<Seq, Seq>> FirstHeldWithin(Seq left, Seq right) const;
  // Whether every byte of [left, right) is held.
  bool Holds(Seq left, Seq right) const;

  bool empty() const { return blocks_.empty(); }
  size_t bytes() const { return bytes_; }
  size_t blocks() const { return blocks_.size(); }
  // The first held sequence number; only valid when !empty().
  Seq first() const { return blocks_.begin()->first; }

 private:
  struct SeqLess {
    bool operator()(Seq a, Seq b) const { return a < b; }
  };
  // Records [left, right) as held, merging it with the runs it touches.
  void AddRun(Seq left, Seq right);
  // Forgets what lies below `seq` in the runs.
  void TrimRuns(Seq seq);

  // Non-overlapping blocks keyed by their first sequence number.
  std::map<Seq, Payload, SeqLess> blocks_;
  // The same bytes as maximal runs, left -> right: blocks stay apart as
  // they arrived, and a run spans many of them, so it is kept here rather
  // than found by walking them.
  std::map<Seq, Seq, SeqLess> runs_;
  size_t bytes_ = 0;
};

}  // namespace tcpemu
