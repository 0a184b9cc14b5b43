// Tests for the transmitter: exact serialization times without drift, idle
// gaps, and the drop-tail queue limits in packets and bytes.
#include "engine/link/serializer.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(SerializerTest, UnlimitedRateNeverWaits) {
  Serializer s(0, 1, 1);
  for (int i = 0; i < 10; ++i) {
    s.Advance(100);
    EXPECT_TRUE(s.Admits(100, 1500));
    EXPECT_EQ(s.Enqueue(100, 1500), 100);
  }
  EXPECT_EQ(s.waiting_packets(), 0u);
}

TEST(SerializerTest, BackToBackPacketsAtExactTimes) {
  Serializer s(1'000'000'000, 0, 0);  // 1 Gbit/s: 1500 B take 12 us
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(s.Enqueue(1000, 1500), 1000 + i * 12'000);
  }
  EXPECT_EQ(s.waiting_packets(), 4u);  // the first is on the wire
  EXPECT_EQ(s.waiting_bytes(), 4u * 1500);
}

TEST(SerializerTest, NoDriftWithFractionalNanoseconds) {
  // 7 Mbit/s, 100-byte packets: 114285.714... ns each. Departure n must be
  // floor(n * 800 bits * 1e9 / 7e6) exactly, however long the busy period.
  const uint64_t rate = 7'000'000;
  Serializer s(rate, 0, 0);
  for (uint64_t n = 1; n <= 10'000; ++n) {
    const TimeNs expected =
        static_cast<TimeNs>(n * 800 * 1'000'000'000ull / rate);
    ASSERT_EQ(s.Enqueue(0, 100), expected) << n;
  }
}

TEST(SerializerTest, MixedSizesSumExactly) {
  const uint64_t rate = 3'000'000'001;  // deliberately awkward
  Serializer s(rate, 0, 0);
  uint64_t bits = 0;
  for (int i = 0; i < 1000; ++i) {
    const size_t bytes = 40 + (i * 37) % 1460;
    bits += bytes * 8;
    ASSERT_EQ(s.Enqueue(0, bytes),
              static_cast<TimeNs>(bits * 1'000'000'000ull / rate));
  }
}

TEST(SerializerTest, IdleGapStartsANewBusyPeriod) {
  Serializer s(8'000'000, 0, 0);  // 1 byte per us
  EXPECT_EQ(s.Enqueue(0, 1000), 1'000'000);
  // Sent while busy: queued behind.
  EXPECT_EQ(s.Enqueue(500'000, 1000), 2'000'000);
  // Sent after the wire went idle: starts at once.
  EXPECT_EQ(s.Enqueue(5'000'000, 1000), 6'000'000);
  // Sent exactly when the wire frees up: no wait.
  s.Advance(6'000'000);
  EXPECT_EQ(s.Enqueue(6'000'000, 10), 6'010'000);
  EXPECT_EQ(s.waiting_packets(), 0u);
}

TEST(SerializerTest, PacketLimitCountsOnlyWaitingPackets) {
  Serializer s(8'000'000, /*limit_packets=*/2, 0);
  // The first goes straight to the wire; two may wait; the fourth is refused.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.Admits(0, 1000)) << i;
    s.Enqueue(0, 1000);
  }
  EXPECT_EQ(s.waiting_packets(), 2u);
  EXPECT_FALSE(s.Admits(0, 1000));
  // At t = 1 ms the second packet starts serializing and frees a place.
  s.Advance(999'999);
  EXPECT_FALSE(s.Admits(999'999, 1000));
  s.Advance(1'000'000);
  EXPECT_EQ(s.waiting_packets(), 1u);
  EXPECT_TRUE(s.Admits(1'000'000, 1000));
}

TEST(SerializerTest, ByteLimit) {
  Serializer s(8'000'000, 0, /*limit_bytes=*/2500);
  // An idle wire takes any size, even beyond the byte limit.
  EXPECT_TRUE(s.Admits(0, 3000));
  s.Enqueue(0, 1000);
  EXPECT_TRUE(s.Admits(0, 2500));
  EXPECT_FALSE(s.Admits(0, 2501));
  s.Enqueue(0, 1500);
  EXPECT_TRUE(s.Admits(0, 1000));
  EXPECT_FALSE(s.Admits(0, 1001));
  EXPECT_EQ(s.waiting_bytes(), 1500u);
}

TEST(SerializerTest, ReconfigureKeepsScheduleAndAppliesNewRate) {
  Serializer s(8'000'000, 0, 0);
  EXPECT_EQ(s.Enqueue(0, 1000), 1'000'000);
  s.Configure(16'000'000, 0, 0);
  EXPECT_EQ(s.Enqueue(0, 1000), 1'500'000);
  s.Configure(0, 0, 0);
  // Unlimited now, but still behind what is already on the wire.
  EXPECT_EQ(s.Enqueue(0, 1000), 1'500'000);
}

}  // namespace
}  // namespace tcpemu
