// Pattern bytes: 64-bit word i of a stream is T[i mod 8192] ^ (key + i * K),
// where T is a fixed table of SplitMix64 output. The table makes the bytes
// look random, the linear term makes the stream aperiodic and keyed, and the
// loop vectorizes, so generating data never dominates a benchmark.
#include "engine/sim/pattern.h"

#include <array>
#include <bit>
#include <cstring>

namespace tcpemu {
namespace {

constexpr size_t kTableWords = 8192;
constexpr uint64_t kStep = 0x9e3779b97f4a7c15ULL;

uint64_t Mix(uint64_t z) {
  z += kStep;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const std::array<uint64_t, kTableWords>& Table() {
  static const std::array<uint64_t, kTableWords> table = [] {
    std::array<uint64_t, kTableWords> t;
    for (size_t i = 0; i < kTableWords; ++i) t[i] = Mix(i);
    return t;
  }();
  return table;
}

inline uint64_t Word(const std::array<uint64_t, kTableWords>& t, uint64_t key,
                     uint64_t i) {
  return t[i % kTableWords] ^ (key + i * kStep);
}

// Stores w little-endian, whatever the host byte order.
inline void StoreLe(uint8_t* dst, uint64_t w) {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(dst, &w, 8);
  } else {
    for (int b = 0; b < 8; ++b) dst[b] = static_cast<uint8_t>(w >> (8 * b));
  }
}

}  // namespace

void FillPattern(uint64_t key, uint64_t offset, uint8_t* dst, size_t n) {
  const auto& t = Table();
  while (n > 0 && (offset % 8) != 0) {
    *dst++ =
        static_cast<uint8_t>(Word(t, key, offset / 8) >> (8 * (offset % 8)));
    ++offset;
    --n;
  }
  uint64_t i = offset / 8;
  while (n >= 8) {
    StoreLe(dst, Word(t, key, i++));
    dst += 8;
    n -= 8;
  }
  offset = i * 8;
  while (n > 0) {
    *dst++ =
        static_cast<uint8_t>(Word(t, key, offset / 8) >> (8 * (offset % 8)));
    ++offset;
    --n;
  }
}

}  // namespace tcpemu
