// TCP timestamps (RFC 7323 3-5) on one connection: whether both ends use
// them (Snd.TS.OK), our TSval clock (1 ms a tick from a per-connection
// offset, 5.4), TS.Recent and when it was set, the TS.Recent update (4.3,
// 5.3 R3) and PAWS (5.3 R1, 5.5).
#pragma once

#include <cstdint>

#include "engine/base/time.h"
#include "engine/wire/seq.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

class Timestamps {
 public:
  // Bytes the option takes in a segment, with its two NOPs (RFC 7323
  // appendix A).
  static constexpr uint32_t kOptionLen = 12;

  // `offset` starts our TSval clock (RFC 7323 5.4: unpredictable per
  // connection).
  explicit Timestamps(uint32_t offset) : offset_(offset) {}

  // The handshake decided: both SYNs carried the option (and we offered
  // it), and the peer's SYN carried `h`'s.
  void Negotiate(TimeNs now, bool ok, const TcpHeader& h);

  bool ok() const { return ok_; }
  uint32_t recent() const { return recent_; }
  // Our TSval at `now`.
  uint32_t Now(TimeNs now) const {
    return offset_ + static_cast<uint32_t>(now / kMillisecond);
  }
  // PAWS (5.3 R1): the segment's TSval is older than TS.Recent, which is
  // not more than 24 days idle (5.5). An RST is never rejected.
  bool Rejects(TimeNs now, const TcpHeader& h) const;
  // 5.3 R3 / 4.3: a segment not older than TS.Recent that covers
  // Last.ACK.sent sets TS.Recent.
  void Update(TimeNs now, const TcpHeader& h, Seq last_ack_sent);

 private:
  bool ok_ = false;
  uint32_t recent_ = 0;
  TimeNs recent_age_ = 0;
  uint32_t offset_;
};

}  // namespace tcpemu
