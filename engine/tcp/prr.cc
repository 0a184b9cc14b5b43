// Proportional Rate Reduction (RFC 6937); see prr.h.
#include "engine/tcp/prr.h"

#include <algorithm>
#include <cstdint>

namespace tcpemu {

void Prr::Start(uint32_t recover_fs) {
  delivered_ = out_ = 0;
  allowance_ = 0;
  recover_fs_ = recover_fs;
}

void Prr::OnSent(uint32_t len) {
  out_ += len;
  allowance_ -= len;
}

void Prr::OnAck(uint32_t delivered, uint64_t pipe, uint64_t ssthresh,
                uint32_t mss) {
  delivered_ += delivered;
  int64_t sndcnt;
  if (pipe > ssthresh) {
    // Proportional rate reduction: ssthresh / RecoverFS of what leaves.
    const uint64_t fs = std::max<uint32_t>(recover_fs_, 1);
    sndcnt = static_cast<int64_t>((delivered_ * ssthresh + fs - 1) / fs) -
             static_cast<int64_t>(out_);
  } else {
    // Slow start reduction bound: back towards ssthresh, at most one
    // segment beyond what was delivered.
    const int64_t limit = std::max<int64_t>(static_cast<int64_t>(delivered_) -
                                                static_cast<int64_t>(out_),
                                            delivered) +
                          mss;
    sndcnt = std::min<int64_t>(static_cast<int64_t>(ssthresh - pipe), limit);
  }
  allowance_ = std::max<int64_t>(sndcnt, 0);
}

uint32_t Prr::SendRoom(uint32_t mss) const {
  if (allowance_ <= 0) return 0;
  const uint64_t segments = (static_cast<uint64_t>(allowance_) + mss - 1) / mss;
  return static_cast<uint32_t>(std::min<uint64_t>(segments * mss, UINT32_MAX));
}

}  // namespace tcpemu
