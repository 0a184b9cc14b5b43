// RFC 6528 ISN generation; see isn.h.
#include "engine/tcp/isn.h"

#include "engine/base/sha256.h"

namespace tcpemu {

Seq IsnGenerator::Generate(TimeNs now, uint32_t local_addr, uint16_t local_port,
                           uint32_t remote_addr, uint16_t remote_port) const {
  uint8_t tuple[12];
  auto put32 = [&tuple](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      tuple[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put32(0, local_addr);
  put32(4, remote_addr);
  put32(8, (static_cast<uint32_t>(local_port) << 16) | remote_port);
  Sha256 h;
  h.Update(absl::MakeConstSpan(tuple, sizeof(tuple)));
  h.Update(absl::MakeConstSpan(secret_));
  Sha256::Digest d = h.Finish();
  uint32_t f = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) |
               (uint32_t{d[2]} << 8) | uint32_t{d[3]};
  uint32_t m = static_cast<uint32_t>(now / (4 * kMicrosecond));
  return Seq(m + f);
}

}  // namespace tcpemu
