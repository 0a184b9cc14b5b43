#include "engine/tcp/syn_cookie.h"

#include <array>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr std::array<uint8_t, 16> kSecret = {1, 2,  3,  4,  5,  6,  7,  8,
                                             9, 10, 11, 12, 13, 14, 15, 16};
const FourTuple kTuple{0x0a000002, 9000, 0x0a000001, 40000};

TEST(SynCookiesTest, RoundTripsThePeersMssRoundedDown) {
  SynCookies c(kSecret);
  const TimeNs now = 1000 * kSecond;
  for (auto [mss, expect] :
       std::array<std::pair<uint16_t, uint16_t>, 6>{{{1460, 1460},
                                                     {1459, 1440},
                                                     {0, 536},
                                                     {100, 536},
                                                     {8960, 8960},
                                                     {65535, 9000}}}) {
    Seq cookie = c.Make(now, kTuple, Seq(777), mss);
    std::optional<uint16_t> got = c.Check(now, kTuple, Seq(777), cookie);
    ASSERT_TRUE(got.has_value()) << mss;
    EXPECT_EQ(*got, expect) << mss;
  }
}

TEST(SynCookiesTest, RejectsAnotherTupleIsnSecretOrAnyFlippedBit) {
  SynCookies c(kSecret);
  const TimeNs now = 5 * kSecond;
  Seq cookie = c.Make(now, kTuple, Seq(777), 1460);
  FourTuple other = kTuple;
  other.remote_port = 40001;
  EXPECT_FALSE(c.Check(now, other, Seq(777), cookie).has_value());
  EXPECT_FALSE(c.Check(now, kTuple, Seq(778), cookie).has_value());
  std::array<uint8_t, 16> secret2 = kSecret;
  secret2[0] ^= 1;
  EXPECT_FALSE(
      SynCookies(secret2).Check(now, kTuple, Seq(777), cookie).has_value());
  for (int bit = 0; bit < 32; ++bit) {
    Seq forged(cookie.value() ^ (1u << bit));
    EXPECT_FALSE(c.Check(now, kTuple, Seq(777), forged).has_value()) << bit;
  }
}

TEST(SynCookiesTest, ValidForTwoPeriodsThenExpires) {
  SynCookies c(kSecret);
  const TimeNs made = 10 * SynCookies::kPeriod + 63 * kSecond;
  Seq cookie = c.Make(made, kTuple, Seq(1), 1460);
  // Across the period boundary: still valid.
  EXPECT_TRUE(c.Check(made + 2 * kSecond, kTuple, Seq(1), cookie).has_value());
  EXPECT_TRUE(
      c.Check(made + SynCookies::kPeriod, kTuple, Seq(1), cookie).has_value());
  // Two periods later: expired.
  EXPECT_FALSE(c.Check(made + 2 * SynCookies::kPeriod, kTuple, Seq(1), cookie)
                   .has_value());
  // 32 periods later the 5-bit counter wraps; the MAC still tells.
  EXPECT_FALSE(c.Check(made + 32 * SynCookies::kPeriod, kTuple, Seq(1), cookie)
                   .has_value());
}

}  // namespace
}  // namespace tcpemu
