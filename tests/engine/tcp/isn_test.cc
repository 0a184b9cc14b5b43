// Tests for IsnGenerator (RFC 6528): ISN = M + F(4-tuple, secret), with M a
// clock ticking every 4 microseconds and F a keyed hash of the connection.
#include "engine/tcp/isn.h"

#include <array>
#include <cstdint>
#include <set>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

std::array<uint8_t, 16> Secret(uint8_t seed) {
  std::array<uint8_t, 16> s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(seed + i);
  return s;
}

constexpr uint32_t kA = 0x0a000001, kB = 0x0a000002;

TEST(IsnTest, SameTupleSecretAndTimeGiveSameIsn) {
  IsnGenerator g1(Secret(1));
  IsnGenerator g2(Secret(1));
  EXPECT_EQ(g1.Generate(12345, kA, 40000, kB, 80),
            g1.Generate(12345, kA, 40000, kB, 80));
  EXPECT_EQ(g1.Generate(12345, kA, 40000, kB, 80),
            g2.Generate(12345, kA, 40000, kB, 80));
}

TEST(IsnTest, EachTupleFieldChangesIsn) {
  IsnGenerator g(Secret(1));
  Seq base = g.Generate(0, kA, 40000, kB, 80);
  EXPECT_NE(g.Generate(0, kA + 1, 40000, kB, 80), base);
  EXPECT_NE(g.Generate(0, kA, 40001, kB, 80), base);
  EXPECT_NE(g.Generate(0, kA, 40000, kB + 1, 80), base);
  EXPECT_NE(g.Generate(0, kA, 40000, kB, 81), base);
  // The two directions of one connection are different tuples.
  EXPECT_NE(g.Generate(0, kB, 80, kA, 40000), base);
}

TEST(IsnTest, SecretChangesIsn) {
  EXPECT_NE(IsnGenerator(Secret(1)).Generate(0, kA, 40000, kB, 80),
            IsnGenerator(Secret(2)).Generate(0, kA, 40000, kB, 80));
}

TEST(IsnTest, PortsSpreadOverTheSequenceSpace) {
  IsnGenerator g(Secret(9));
  std::set<uint32_t> seen;
  uint32_t high = 0;
  for (uint16_t port = 1000; port < 1256; ++port) {
    uint32_t v = g.Generate(0, kA, port, kB, 80).value();
    seen.insert(v);
    if (v >= 0x80000000u) ++high;
  }
  EXPECT_EQ(seen.size(), 256u);  // no collisions among 256 ports
  // A keyed hash puts about half of them in the upper half.
  EXPECT_GT(high, 80u);
  EXPECT_LT(high, 176u);
}

TEST(IsnTest, AdvancesOncePerFourMicroseconds) {
  IsnGenerator g(Secret(3));
  Seq at0 = g.Generate(0, kA, 40000, kB, 80);
  EXPECT_EQ(g.Generate(3999, kA, 40000, kB, 80), at0);
  EXPECT_EQ(g.Generate(4 * kMicrosecond, kA, 40000, kB, 80), at0 + 1);
  EXPECT_EQ(g.Generate(4 * kSecond, kA, 40000, kB, 80), at0 + 1'000'000);
  EXPECT_EQ(g.Generate(4 * kSecond + 7999, kA, 40000, kB, 80), at0 + 1'000'001);
}

TEST(IsnTest, ClockWrapsModulo2To32) {
  IsnGenerator g(Secret(4));
  Seq at0 = g.Generate(0, kA, 40000, kB, 80);
  // 2^32 ticks of 4 us (about 4.77 hours) bring M back to where it was.
  TimeNs wrap = (int64_t{1} << 32) * 4 * kMicrosecond;
  EXPECT_EQ(g.Generate(wrap, kA, 40000, kB, 80), at0);
  EXPECT_EQ(g.Generate(wrap - 4 * kMicrosecond, kA, 40000, kB, 80), at0 - 1);
}

}  // namespace
}  // namespace tcpemu
