// The Internet checksum (RFC 1071, with the incremental properties of
// RFC 1071 section 2) and the IPv4 TCP pseudo-header (RFC 9293 3.1).
#include "engine/wire/checksum.h"

#include <bit>
#include <cstring>

namespace tcpemu {
namespace {

// One's-complement addition in 64 bits: the carry out of bit 63 is added back
// in. Because 2^64 = 1 (mod 2^16 - 1), folding the 64-bit result to 16 bits
// later gives the same value as summing the 16-bit words one by one.
inline uint64_t AddCarry(uint64_t sum, uint64_t v) {
  sum += v;
  return sum + (sum < v ? 1 : 0);
}

inline uint64_t LoadNative64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Folds a 64-bit one's-complement sum to 16 bits (without complementing).
inline uint16_t Fold(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Sums an even-aligned run of bytes as big-endian 16-bit words and returns the
// 16-bit folded sum. Words are loaded in native order eight bytes at a time;
// RFC 1071 2(B) (byte-order independence) lets us fix the order once at the
// end by swapping the two bytes of the folded result.
uint16_t SumBigEndianWords(const uint8_t* p, size_t n) {
  // Four independent accumulators let the adds of one 32-byte step run in
  // parallel instead of forming one carry chain.
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  while (n >= 32) {
    s0 = AddCarry(s0, LoadNative64(p));
    s1 = AddCarry(s1, LoadNative64(p + 8));
    s2 = AddCarry(s2, LoadNative64(p + 16));
    s3 = AddCarry(s3, LoadNative64(p + 24));
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    s0 = AddCarry(s0, LoadNative64(p));
    p += 8;
    n -= 8;
  }
  uint64_t sum = AddCarry(AddCarry(s0, s1), AddCarry(s2, s3));
  // The tail (0..7 bytes) is zero-padded to a full native word so that every
  // byte keeps its position inside the 16-bit word it belongs to.
  if (n > 0) {
    uint8_t tail[8] = {};
    std::memcpy(tail, p, n);
    sum = AddCarry(sum, LoadNative64(tail));
  }
  uint16_t folded = Fold(sum);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>((folded >> 8) | (folded << 8));
  }
  return folded;
}

}  // namespace

void ChecksumAccumulator::Add(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  if (odd_) {
    // The previous range ended half-way through a word: this byte is its low
    // half.
    sum_ = AddCarry(sum_, p[0]);
    ++p;
    --n;
    odd_ = false;
  }
  // SumBigEndianWords pads an odd last byte with a zero low half, which is
  // exactly the high half of a word whose low half is still to come.
  sum_ = AddCarry(sum_, SumBigEndianWords(p, n));
  if (n % 2 == 1) odd_ = true;
}

void ChecksumAccumulator::AddU16(uint16_t v) {
  if (!odd_) {
    sum_ = AddCarry(sum_, v);
    return;
  }
  const uint8_t b[2] = {static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v & 0xff)};
  Add(b);
}

void ChecksumAccumulator::AddU32(uint32_t v) {
  AddU16(static_cast<uint16_t>(v >> 16));
  AddU16(static_cast<uint16_t>(v & 0xffff));
}

uint16_t ChecksumAccumulator::Finish() const {
  return static_cast<uint16_t>(~Fold(sum_));
}

uint16_t ChecksumAccumulator::Sum() const { return Fold(sum_); }

uint16_t InternetChecksum(absl::Span<const uint8_t> bytes) {
  ChecksumAccumulator acc;
  acc.Add(bytes);
  return acc.Finish();
}

void AddPseudoHeader(ChecksumAccumulator& acc, uint32_t src, uint32_t dst,
                     uint8_t protocol, uint16_t length) {
  acc.AddU32(src);
  acc.AddU32(dst);
  acc.AddU16(protocol);  // a zero byte, then the protocol
  acc.AddU16(length);
}

}  // namespace tcpemu
