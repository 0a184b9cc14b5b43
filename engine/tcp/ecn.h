// Explicit Congestion Notification in TCP (RFC 3168 6.1): its negotiation
// in the handshake, the receiver's ECE echo of CE marks until the sender's
// CWR, and the sender's side: ECT(0) on new data only, one window reduction
// per window of data, and CWR on the first new data segment after it.
//
// Choices, as Linux makes them (net.ipv4.tcp_ecn=1):
// - TcpConfig::ecn makes an endpoint request ECN in its SYN (ECE|CWR) and
//   accept it in its SYN-ACK (ECE alone) when the peer requested it; an
//   endpoint without it answers a requesting SYN without ECE, and ECN is
//   then not used. A passive open completed by a SYN cookie keeps no state
//   of the SYN and does not use ECN. A retransmitted SYN still requests it.
// - The receiver echoes ECE on every ACK from the first CE-marked data
//   segment until a segment with CWR arrives (a CWR segment that is itself
//   CE-marked starts a new episode), and the first CE mark of an episode is
//   acknowledged at once rather than after the delayed-ACK timeout (Linux's
//   quick ACK), so that the sender hears of it within a round trip.
// - The sender marks ECT(0) on segments carrying new data (first
//   transmissions, a tail loss probe of new data included): not on pure
//   ACKs, SYN, SYN-ACK, RST, FIN-only segments, window probes or
//   retransmissions (RFC 3168 6.1.5, 6.1.6).
// - Any window reduction, by ECE or by a loss, queues CWR for the next new
//   data segment and opens a guard: further ECE is not acted on until
//   SND.UNA passes SND.MAX of the reduction (RFC 3168 6.1.2: at most once
//   per window of data).
#pragma once

#include <cstdint>

#include "engine/wire/ecn.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class TcpEcn {
 public:
  // `want`: TcpConfig::ecn.
  explicit TcpEcn(bool want) : want_(want) {}

  // ECN is in use on this connection (negotiated).
  bool ok() const { return ok_; }

  // Handshake (RFC 3168 6.1.1). The flags our SYN carries (ECE|CWR when we
  // want ECN), and those of our SYN-ACK (ECE when ECN was negotiated).
  uint8_t SynFlags() const;
  uint8_t SynAckFlags() const;
  // No answer came to our ECN-setup SYNs: later SYNs go without the setup
  // and ECN is not used (RFC 3168 6.1.1.1).
  void GiveUpSetup() { want_ = false; }
  // The peer's SYN (passive open, or a simultaneous open): an "ECN-setup
  // SYN" has both ECE and CWR.
  void OnPeerSyn(uint8_t flags);
  // The peer's SYN-ACK (active open): an "ECN-setup SYN-ACK" has ECE and
  // not CWR.
  void OnPeerSynAck(uint8_t flags);
  // The handshake is over and new data starts at `first_data`.
  void Start(Seq first_data) { sent_high_ = first_data; }

  // Receiver (RFC 3168 6.1.3). A data segment arrived with `codepoint` in
  // its IP header and `flags`: CWR ends the echo, CE starts it. Returns
  // true when the segment is to be acknowledged at once (the first CE of an
  // episode).
  bool OnData(Ecn codepoint, uint8_t flags);
  // ECE goes on every ACK while this holds.
  bool echoing() const { return ok_ && echo_; }

  // Sender. What a segment carrying `len` bytes from `seq` gets: the IP
  // codepoint, and CWR when it is the first new data after a reduction.
  struct Marking {
    Ecn codepoint = Ecn::kNotEct;
    bool cwr = false;
  };
  Marking OnSend(Seq seq, uint32_t len);
  // An ACK with ECE after which SND.UNA is `snd_una`: true when the window
  // is to be reduced now (no reduction within the current window).
  bool OnEce(Seq snd_una) const;
  // Every acceptable ACK: the guard ends once SND.UNA passes the point of
  // the last reduction.
  void OnAck(Seq snd_una) {
    if (guarded_ && snd_una > recover_) guarded_ = false;
  }
  // The window was reduced (by ECE or a loss) with SND.MAX at `snd_max`:
  // CWR goes on the next new data, and ECE is ignored until SND.UNA passes
  // `snd_max`.
  void OnReduced(Seq snd_max);

 private:
  bool want_;
  bool ok_ = false;
  bool echo_ = false;         // receiver: ECE owed until CWR
  bool cwr_pending_ = false;  // sender: CWR on the next new data
  bool guarded_ = false;      // sender: a reduction within this window
  Seq recover_;               // SND.MAX at the last reduction
  Seq sent_high_;             // end of the new data sent so far
};

}  // namespace tcpemu
