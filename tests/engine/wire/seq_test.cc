// Tests for Seq: comparisons and arithmetic across the 2^32 wrap (RFC 9293
// 3.4).
#include "engine/wire/seq.h"

#include <sstream>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(SeqTest, OrdinaryComparisons) {
  Seq a(100), b(200);
  EXPECT_LT(a, b);
  EXPECT_LE(a, b);
  EXPECT_GT(b, a);
  EXPECT_GE(b, a);
  EXPECT_LE(a, a);
  EXPECT_GE(a, a);
  EXPECT_EQ(a, Seq(100));
  EXPECT_NE(a, b);
  EXPECT_EQ(b - a, 100);
  EXPECT_EQ(a - b, -100);
}

TEST(SeqTest, ComparisonsHoldAcrossWrap) {
  Seq before(0xfffffff0u);
  Seq after(0x10u);
  EXPECT_LT(before, after);
  EXPECT_GT(after, before);
  EXPECT_EQ(after - before, 0x20);
  EXPECT_EQ(before - after, -0x20);
  EXPECT_EQ(SeqMax(before, after), after);
  EXPECT_EQ(SeqMin(before, after), before);
}

TEST(SeqTest, AdditionWraps) {
  Seq s(0xffffffffu);
  EXPECT_EQ((s + 1).value(), 0u);
  EXPECT_EQ((s + 0x11).value(), 0x10u);
  EXPECT_EQ((Seq(5) - 10).value(), 0xfffffffbu);
  Seq t(0xfffffffeu);
  t += 4;
  EXPECT_EQ(t.value(), 2u);
  t -= 4;
  EXPECT_EQ(t.value(), 0xfffffffeu);
  // Adding a negative count moves backwards.
  EXPECT_EQ((Seq(3) + (-5)).value(), 0xfffffffeu);
}

TEST(SeqTest, HalfSpaceBoundary) {
  Seq zero(0);
  // Up to 2^31 - 1 ahead is "after"; exactly 2^31 ahead reads as behind
  // because the signed distance is -2^31.
  EXPECT_GT(zero + 0x7fffffff, zero);
  EXPECT_LT(zero + 0x80000000ll, zero);
}

TEST(SeqTest, InRange) {
  Seq lo(0xfffffff0u), hi(0x10u);
  EXPECT_TRUE(SeqInRange(lo, lo, hi));
  EXPECT_TRUE(SeqInRange(Seq(0), lo, hi));
  EXPECT_TRUE(SeqInRange(Seq(0xfu), lo, hi));
  EXPECT_FALSE(SeqInRange(hi, lo, hi));
  EXPECT_FALSE(SeqInRange(Seq(0xffffffefu), lo, hi));
  EXPECT_FALSE(SeqInRange(lo, lo, lo));  // empty range
}

TEST(SeqTest, Streams) {
  std::ostringstream os;
  os << Seq(4294967295u);
  EXPECT_EQ(os.str(), "4294967295");
}

}  // namespace
}  // namespace tcpemu
