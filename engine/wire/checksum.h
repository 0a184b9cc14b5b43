// The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293 3.1).
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace tcpemu {

// Accumulates a one's-complement sum over byte ranges that may split 16-bit
// words at odd boundaries.
class ChecksumAccumulator {
 public:
  void Add(absl::Span<const uint8_t> bytes);
  void AddU16(uint16_t v);  // a big-endian 16-bit word
  void AddU32(uint32_t v);  // two big-endian 16-bit words
  // The folded, complemented 16-bit checksum (host order).
  uint16_t Finish() const;
  // The folded sum so far, not complemented: what AddU16 of it adds to
  // another accumulator standing at an even offset, as if the bytes were
  // added there (a range that ends on an odd byte must be the last one).
  uint16_t Sum() const;

 private:
  uint64_t sum_ = 0;
  bool odd_ = false;  // an odd number of bytes has been added so far
};

// Checksum of one contiguous range.
uint16_t InternetChecksum(absl::Span<const uint8_t> bytes);

// Adds the IPv4 pseudo-header (src, dst, zero, protocol, length) to `acc`.
void AddPseudoHeader(ChecksumAccumulator& acc, uint32_t src, uint32_t dst,
                     uint8_t protocol, uint16_t length);

}  // namespace tcpemu
