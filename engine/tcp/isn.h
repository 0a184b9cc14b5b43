// Initial sequence numbers per RFC 6528: ISN = M + F(local ip, local port,
// remote ip, remote port, secret), with M a 4-microsecond timer and F a keyed
// hash (SHA-256 here) so that ISNs are unpredictable off-path.
#pragma once

#include <array>
#include <cstdint>

#include "engine/base/time.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class IsnGenerator {
 public:
  // `secret` is drawn from the network's seeded RNG, so runs with the same
  // seed choose the same ISNs.
  explicit IsnGenerator(const std::array<uint8_t, 16>& secret)
      : secret_(secret) {}

  Seq Generate(TimeNs now, uint32_t local_addr, uint16_t local_port,
               uint32_t remote_addr, uint16_t remote_port) const;

 private:
  std::array<uint8_t, 16> secret_;
};

}  // namespace tcpemu
