// Counter-based pattern bytes: word i of the stream is a SplitMix64 finalizer
// of (key + i), which is cheap and has no period a transfer could hit.
#include "engine/sim/pattern.h"

#include <cstring>

namespace tcpemu {
namespace {

inline uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

void FillPattern(uint64_t key, uint64_t offset, uint8_t* dst, size_t n) {
  while (n > 0 && (offset % 8) != 0) {
    uint64_t w = Mix(key + offset / 8);
    *dst++ = static_cast<uint8_t>(w >> (8 * (offset % 8)));
    ++offset;
    --n;
  }
  uint64_t word = offset / 8;
  while (n >= 8) {
    uint64_t w = Mix(key + word++);
    // Little-endian byte order of w, independent of the host's.
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(w >> (8 * i));
    std::memcpy(dst, b, 8);
    dst += 8;
    n -= 8;
  }
  offset = word * 8;
  while (n > 0) {
    uint64_t w = Mix(key + offset / 8);
    *dst++ = static_cast<uint8_t>(w >> (8 * (offset % 8)));
    ++offset;
    --n;
  }
}

}  // namespace tcpemu
