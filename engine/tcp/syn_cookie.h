// SYN cookies: a listener whose backlog is full answers a SYN with a SYN-ACK
// whose ISN encodes what the connection needs, and keeps no state; the
// ACK that completes the handshake carries the ISN back (as SEG.ACK - 1)
// and is checked here before a connection is made for it.
//
// ISN layout: 5 bits of a 64-second counter, 3 bits indexing the peer's MSS
// in a table, 24 bits of a keyed SHA-256 over the four-tuple, the peer's
// ISN, the counter and the MSS index. A cookie is valid for two counter
// periods (64 to 128 s). Window scaling, SACK and timestamps offered in the
// SYN are not remembered: without timestamps there is nowhere to keep them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "engine/base/time.h"
#include "engine/tcp/connection.h"
#include "engine/wire/seq.h"

namespace tcpemu {

class SynCookies {
 public:
  explicit SynCookies(const std::array<uint8_t, 16>& secret)
      : secret_(secret) {}

  // The ISN of the SYN-ACK answering a SYN from `t`'s remote end with
  // sequence number `peer_isn` and MSS option `peer_mss` (0 when absent).
  Seq Make(TimeNs now, const FourTuple& t, Seq peer_isn,
           uint16_t peer_mss) const;

  // The peer's MSS encoded in `cookie` (rounded down to the table), or
  // nullopt when `cookie` is not one this generator made for `t` and
  // `peer_isn` in the last two periods.
  std::optional<uint16_t> Check(TimeNs now, const FourTuple& t, Seq peer_isn,
                                Seq cookie) const;

  static constexpr DurationNs kPeriod = 64 * kSecond;

 private:
  uint32_t Mac(const FourTuple& t, Seq peer_isn, uint32_t counter,
               uint32_t mss_index) const;

  std::array<uint8_t, 16> secret_;
};

}  // namespace tcpemu
