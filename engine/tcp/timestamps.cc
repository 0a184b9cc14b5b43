// TCP timestamps and PAWS (RFC 7323); see timestamps.h.
#include "engine/tcp/timestamps.h"

namespace tcpemu {

void Timestamps::Negotiate(TimeNs now, bool ok, const TcpHeader& h) {
  ok_ = ok && h.options.timestamp.has_value();
  if (ok_) {
    recent_ = h.options.timestamp->value;
    recent_age_ = now;
  }
}

bool Timestamps::Rejects(TimeNs now, const TcpHeader& h) const {
  if (!ok_ || !h.options.timestamp.has_value() || h.has(tcp_flags::kRst)) {
    return false;
  }
  const int32_t behind =
      static_cast<int32_t>(h.options.timestamp->value - recent_);
  return behind < 0 && now - recent_age_ <= 24 * 24 * 3600 * kSecond;
}

void Timestamps::Update(TimeNs now, const TcpHeader& h, Seq last_ack_sent) {
  if (!ok_ || !h.options.timestamp.has_value()) return;
  const int32_t ahead =
      static_cast<int32_t>(h.options.timestamp->value - recent_);
  if (ahead >= 0 && h.seq <= last_ack_sent) {
    recent_ = h.options.timestamp->value;
    recent_age_ = now;
  }
}

}  // namespace tcpemu
