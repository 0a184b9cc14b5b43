// Wrap-safe 32-bit TCP sequence numbers (RFC 9293 3.4): comparisons are made
// on the signed difference, so they hold across the 2^32 wrap.
#pragma once

#include <cstdint>
#include <ostream>

namespace tcpemu {

class Seq {
 public:
  constexpr Seq() = default;
  constexpr explicit Seq(uint32_t v) : v_(v) {}

  constexpr uint32_t value() const { return v_; }

  constexpr Seq operator+(int64_t n) const {
    return Seq(static_cast<uint32_t>(v_ + static_cast<uint32_t>(n)));
  }
  constexpr Seq operator-(int64_t n) const {
    return Seq(static_cast<uint32_t>(v_ - static_cast<uint32_t>(n)));
  }
  constexpr Seq& operator+=(int64_t n) { return *this = *this + n; }
  constexpr Seq& operator-=(int64_t n) { return *this = *this - n; }
  // Signed distance from `o` to this; meaningful while |distance| < 2^31.
  constexpr int32_t operator-(Seq o) const {
    return static_cast<int32_t>(v_ - o.v_);
  }

  constexpr bool operator==(const Seq&) const = default;
  constexpr bool operator<(Seq o) const { return (*this - o) < 0; }
  constexpr bool operator<=(Seq o) const { return (*this - o) <= 0; }
  constexpr bool operator>(Seq o) const { return (*this - o) > 0; }
  constexpr bool operator>=(Seq o) const { return (*this - o) >= 0; }

 private:
  uint32_t v_ = 0;
};

constexpr Seq SeqMax(Seq a, Seq b) { return a < b ? b : a; }
constexpr Seq SeqMin(Seq a, Seq b) { return a < b ? a : b; }

// True when lo <= s < hi, in sequence space.
constexpr bool SeqInRange(Seq s, Seq lo, Seq hi) { return lo <= s && s < hi; }

inline std::ostream& operator<<(std::ostream& os, Seq s) {
  return os << s.value();
}

}  // namespace tcpemu
