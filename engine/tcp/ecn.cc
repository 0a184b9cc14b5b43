// ECN in TCP (RFC 3168 6.1); see ecn.h.
#include "engine/tcp/ecn.h"

#include "engine/wire/tcp_header.h"

namespace tcpemu {

uint8_t TcpEcn::SynFlags() const {
  return want_ ? (tcp_flags::kEce | tcp_flags::kCwr) : 0;
}

uint8_t TcpEcn::SynAckFlags() const { return ok_ ? tcp_flags::kEce : 0; }

void TcpEcn::OnPeerSyn(uint8_t flags) {
  constexpr uint8_t kBoth = tcp_flags::kEce | tcp_flags::kCwr;
  ok_ = want_ && (flags & kBoth) == kBoth;
}

void TcpEcn::OnPeerSynAck(uint8_t flags) {
  ok_ =
      want_ && (flags & tcp_flags::kEce) != 0 && (flags & tcp_flags::kCwr) == 0;
}

bool TcpEcn::OnData(Ecn codepoint, uint8_t flags) {
  if (!ok_) return false;
  if ((flags & tcp_flags::kCwr) != 0) echo_ = false;
  if (codepoint != Ecn::kCe) return false;
  const bool first = !echo_;
  echo_ = true;
  return first;
}

TcpEcn::Marking TcpEcn::OnSend(Seq seq, uint32_t len) {
  Marking m;
  if (!ok_ || len == 0 || seq < sent_high_) return m;  // not new data
  sent_high_ = seq + static_cast<int64_t>(len);
  m.codepoint = Ecn::kEct0;
  m.cwr = cwr_pending_;
  cwr_pending_ = false;
  return m;
}

bool TcpEcn::OnEce(Seq snd_una) const {
  return ok_ && (!guarded_ || snd_una > recover_);
}

void TcpEcn::OnReduced(Seq snd_max) {
  if (!ok_) return;
  cwr_pending_ = true;
  guarded_ = true;
  recover_ = snd_max;
}

}  // namespace tcpemu
