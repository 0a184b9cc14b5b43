// Shared pieces of the fuzz targets: a check that aborts with a message (so
// libFuzzer records the input as a crash), a reader that decodes the fuzz
// input into numbers, and the byte pattern peers send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                  \
      std::abort();                                                         \
    }                                                                       \
  } while (0)

#define FUZZ_CHECK_MSG(cond, ...)                                           \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                   #cond);                                                  \
      std::fprintf(stderr, __VA_ARGS__);                                    \
      std::fprintf(stderr, "\n");                                           \
      std::abort();                                                         \
    }                                                                       \
  } while (0)

namespace tcpemu::fuzz {

// Reads little-endian numbers from the fuzz input; past the end it yields
// zeros, so every input decodes to some sequence of operations.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ >= end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  uint8_t U8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t U16() {
    uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  uint32_t U32() {
    uint32_t lo = U16();
    return lo | (static_cast<uint32_t>(U16()) << 16);
  }
  bool Bit() { return (U8() & 1) != 0; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The byte a peer sends at sequence number (or stream offset) `s`: a 32-bit
// mix, so a byte delivered at the wrong place (a shift, a hole, a duplicate)
// is caught with probability 255/256 per byte rather than only for shifts
// that are not a multiple of some period.
inline uint8_t PatternByte(uint32_t s, uint32_t salt = 0) {
  uint32_t x = s ^ salt;
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return static_cast<uint8_t>(x);
}

}  // namespace tcpemu::fuzz
