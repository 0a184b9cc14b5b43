// NewReno's recovery without SACK; see reno_recovery.h.
#include "engine/tcp/reno_recovery.h"

#include <algorithm>

namespace tcpemu {

void RenoRecovery::OnPartialAck(uint32_t base, uint32_t acked, uint32_t mss) {
  const int64_t window = Window(base);
  int64_t deflated = window > acked ? window - acked : mss;
  if (acked >= mss) deflated += mss;
  inflation_ = deflated - int64_t{base};
}

uint32_t RenoRecovery::Window(uint32_t base) const {
  return static_cast<uint32_t>(
      std::max<int64_t>(int64_t{base} + inflation_, 0));
}

}  // namespace tcpemu
