// Proportional Rate Reduction (RFC 6937) during SACK loss recovery: after
// each ACK, how much the sender may send, so that the flight falls smoothly
// to ssthresh (the proportional part) and, once below it, rises back no
// faster than slow start would (the slow-start reduction bound).
#pragma once

#include <cstdint>

namespace tcpemu {

class Prr {
 public:
  // Recovery begins with `recover_fs` bytes in flight (RecoverFS).
  void Start(uint32_t recover_fs);
  // `len` bytes were sent during recovery (prr_out).
  void OnSent(uint32_t len);
  // An ACK delivered `delivered` bytes (DeliveredData) and left `pipe`
  // bytes in the network; `ssthresh` is the target (RFC 6937 3).
  void OnAck(uint32_t delivered, uint64_t pipe, uint64_t ssthresh,
             uint32_t mss);
  // What may be sent now, rounded up to whole segments of `mss`.
  uint32_t SendRoom(uint32_t mss) const;

  uint64_t delivered() const { return delivered_; }
  uint64_t out() const { return out_; }

 private:
  uint64_t delivered_ = 0;  // prr_delivered
  uint64_t out_ = 0;        // prr_out
  uint32_t recover_fs_ = 0;
  int64_t allowance_ = 0;  // sndcnt, less what was sent since
};

}  // namespace tcpemu
