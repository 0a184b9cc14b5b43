// The sender's scoreboard (RFC 6675 2, 4): every segment sent and not yet
// cumulatively acknowledged, in sequence order, with what the peer's SACK
// blocks (RFC 2018) said of it, whether it is deemed lost, whether it was
// retransmitted since, and when it last left (for RACK, RFC 8985).
//
// Loss is decided as RFC 6675 IsLost() does: a segment is lost once more
// than (DupThresh - 1) * SMSS bytes above it have been SACKed, or DupThresh
// discontiguous SACKed runs lie above it. The byte counts kept beside the
// list give "pipe" (RFC 6675 SetPipe) in constant time: bytes sent and not
// acknowledged, less those SACKed or deemed lost, plus those retransmitted
// and not yet acknowledged.
//
// Per ACK the work is bounded by what changed, not by what is in flight:
// SACK blocks are applied only where they reach beyond the ranges the last
// ACK already applied (as Linux's recv_sack_cache does), and RACK walks the
// transmissions in the order they left (as Linux's tsorted list), starting
// from the oldest one that can still be lost, so it stops at the first that
// has not yet timed out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "absl/types/span.h"
#include "engine/base/ring_buffer.h"
#include "engine/base/time.h"
#include "engine/tcp/delivery_rate.h"
#include "engine/wire/seq.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

class Scoreboard {
 public:
  struct Segment {
    Seq start;  // [start, end): a FIN counts as one
    Seq end;
    TimeNs sent_at = 0;  // the last transmission
    // Transmission order across the board: segments sent at one instant
    // still left one after another (RACK's "sent after", RFC 8985 6.1).
    uint64_t order = 0;
    bool sacked = false;
    bool lost = false;
    // Retransmitted since it was last deemed lost (counted in pipe).
    bool retransmitted = false;
    // Sent more than once (RACK cannot date its delivery by sent_at alone).
    bool ever_retransmitted = false;
    // Delivery-rate stamp of the last transmission.
    TxRateState rate;
    uint32_t length() const { return static_cast<uint32_t>(end - start); }
  };

  struct AckResult {
    uint32_t acked_bytes = 0;         // newly cumulatively acknowledged
    uint32_t newly_sacked_bytes = 0;  // newly selectively acknowledged
    // Delivered by this ACK (RFC 6937 DeliveredData): the advance of the
    // cumulative ACK plus the change in SACKed bytes, so that bytes SACKed
    // before count once.
    uint32_t delivered_bytes = 0;
    bool dsack = false;  // the first block was a D-SACK
    // The newest transmission among the segments this ACK delivered, and
    // whether that one had been retransmitted (RFC 8985 6.2 step 2).
    std::optional<TimeNs> newest_delivered_sent_at;
    uint64_t newest_delivered_order = 0;
    Seq newest_delivered_end;
    bool newest_delivered_retransmitted = false;
    TxRateState newest_delivered_rate;
  };

  // A transmission of [start, end) at `now`. Sequence space at or beyond
  // the highest sent so far is new and appended; anything below is a
  // retransmission of segments already held.
  // `rate` stamps the transmission for delivery-rate estimation.
  void OnSend(TimeNs now, Seq start, Seq end, const TxRateState& rate = {});

  // Applies a cumulative ACK and the SACK blocks that came with it. Blocks
  // at or below `ack`, or inside the next block, are D-SACKs (RFC 2883 4)
  // and change nothing; the rest are clipped to what was sent.
  AckResult OnAck(Seq ack, absl::Span<const SackBlock> blocks);

  // RFC 6675 IsLost() over the whole board: marks every segment it finds
  // lost. Returns how many segments were newly marked.
  uint32_t MarkLosses(uint32_t mss, uint32_t dup_thresh = 3);
  // Marks the first segment not SACKed as lost unless it already is or was
  // retransmitted since, or nothing above it is SACKed (then it is no hole
  // the peer has shown).
  bool MarkFirstHoleLost();
  // A retransmission timeout: everything not SACKed is lost and to be sent
  // again (RFC 6675 5.1).
  void MarkAllLost();
  // The peer discarded what it had SACKed (RFC 2018 8): forget the blocks.
  void ClearSacks();
  // RACK (RFC 8985 6.2): marks lost every segment not SACKed, not already
  // lost-and-unretransmitted, that was sent before the transmission
  // numbered `order` and more than `rtt + reo_wnd` before `now`. Returns
  // the number marked, and in `timeout` the earliest time at which another
  // such segment will qualify (if any is waiting).
  uint32_t RackDetect(TimeNs now, uint64_t order, DurationNs rtt,
                      DurationNs reo_wnd, std::optional<TimeNs>* timeout);

  // The first segment that is lost and not retransmitted since (RFC 6675
  // NextSeg() rule 1), or nullptr.
  const Segment* NextLost() const;
  // The first segment held (at SND.UNA) and the last one sent, or nullptr.
  const Segment* First() const {
    return segments_.empty() ? nullptr : &segments_.front();
  }
  const Segment* Last() const;
  bool empty() const { return segments_.empty(); }
  size_t size() const { return segments_.size(); }
  void Clear();

  uint32_t sacked_bytes() const { return sacked_; }
  uint32_t lost_bytes() const { return lost_; }
  uint32_t retrans_bytes() const { return retrans_; }
  uint32_t outstanding_bytes() const { return outstanding_; }
  uint32_t pipe() const { return outstanding_ - sacked_ - lost_ + retrans_; }
  bool has_sacks() const { return sacked_ > 0; }

 private:
  // The index of the first segment that ends after `at` (size() if none).
  size_t FirstEndingAfter(Seq at) const;
  // Splits the segment holding `at` so that one starts exactly at `at`;
  // returns the index of that segment (size() if `at` is beyond the end).
  size_t SplitAt(Seq at);
  void SetSacked(Segment& s);
  void SetLost(Segment& s);
  void SetRetransmitted(Segment& s, bool on);

  // A transmission of [start, end) numbered `order`; split pieces of it
  // share the number.
  struct Transmission {
    uint64_t order = 0;
    Seq start;
    Seq end;
  };
  // A range [left, right) every byte of which is SACKed.
  struct Range {
    Seq left;
    Seq right;
  };

  // Records `s` in `r` if it is the newest transmission delivered so far.
  static void NoteDelivered(const Segment& s, AckResult& r);
  // Marks SACKed the segments of [left, right), recording newly delivered
  // ones in `r`.
  void ApplySack(Seq left, Seq right, AckResult& r);
  // Drops transmissions at the front of the RACK list that are acknowledged.
  void TrimTransmissions();
  // Rebuilds the RACK list from the segments (after SACKs were forgotten).
  void RebuildTransmissions();
  // Whether a segment can still be deemed lost by RACK: not SACKed, and not
  // lost without being sent again since.
  static bool RackCandidate(const Segment& s) {
    return !s.sacked && !(s.lost && !s.retransmitted);
  }
  // Forgets what RACK knew of the transmission of `s` (its state changes).
  void Touch(const Segment& s) {
    if (s.order == waiting_order_) waiting_order_ = 0;
  }
  // Whether a segment waits to be sent again (what NextLost looks for).
  static bool Pending(const Segment& s) {
    return s.lost && !s.retransmitted && !s.sacked;
  }

  // In sequence order. A ring rather than a std::deque: an empty one holds
  // no memory, and an idle connection's board is empty.
  RingBuffer<Segment> segments_;
  // Transmissions in the order they left (so in sent_at order). Entries
  // whose segments were since acknowledged, SACKed, deemed lost or sent
  // again are skipped and dropped when they reach the front.
  RingBuffer<Transmission> transmissions_;
  // The SACKed ranges the last ACK applied, clipped to what was sent.
  std::array<Range, 4> sack_cache_{};
  uint8_t sack_cache_count_ = 0;
  // The transmission RACK last found still waiting (0: none), and when it
  // left: until a segment of it changes, RACK needs no search to find it
  // waiting again.
  uint64_t waiting_order_ = 0;
  TimeNs waiting_sent_at_ = 0;
  uint32_t outstanding_ = 0;
  uint32_t sacked_ = 0;
  uint32_t lost_ = 0;     // lost and not SACKed
  uint32_t retrans_ = 0;  // retransmitted, not SACKed, not yet acknowledged
  uint32_t pending_ = 0;  // lost and not retransmitted since
  // No segment lost and not retransmitted starts below this (where
  // NextLost's search begins).
  mutable Seq lost_hint_;
  uint64_t next_order_ = 1;
};

}  // namespace tcpemu
