// NewReno's fast recovery without SACK (RFC 5681 3.2 steps 3-4, RFC 6582 3.2
// step 5): the window is inflated by the segments that left the network, one
// per duplicate ACK, and deflated by what a partial ACK acknowledges. The
// algorithm's own cwnd (ssthresh after its congestion response) is the base;
// this keeps the temporary difference, so that every congestion control
// recovers alike. With SACK the sender uses the scoreboard and PRR instead.
#pragma once

#include <cstdint>

namespace tcpemu {

class RenoRecovery {
 public:
  // Recovery begins: three segments left the network (step 3).
  void OnEnter(uint32_t mss) { inflation_ = 3 * int64_t{mss}; }
  // A further duplicate ACK (step 4).
  void OnDupAck(uint32_t mss) { inflation_ += mss; }
  // A partial ACK of `acked` bytes while the algorithm's window is `base`
  // (RFC 6582 3.2 step 5): deflate by the amount acknowledged, and add one
  // SMSS back if that was at least one SMSS; never below one SMSS.
  void OnPartialAck(uint32_t base, uint32_t acked, uint32_t mss);
  // Recovery ended, or a timeout: no inflation.
  void Reset() { inflation_ = 0; }

  // The window in force over the algorithm's `base`.
  uint32_t Window(uint32_t base) const;
  int64_t inflation() const { return inflation_; }

 private:
  int64_t inflation_ = 0;  // may be negative after a deflating partial ACK
};

}  // namespace tcpemu
