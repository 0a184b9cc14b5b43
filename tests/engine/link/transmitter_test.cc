// Tests for the transmitter: exact serialization times without drift, idle
// gaps, rate changes, Mahimahi delivery traces and a stopped wire.
#include "engine/link/transmitter.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

// A rate wire fed as the eager bottleneck feeds it: a packet offered at
// `now` starts when the wire is free and returns its departure.
class Serializer {
 public:
  Serializer(uint64_t rate_bps, int, int) { tx_.SetRate(rate_bps); }
  void Configure(uint64_t rate_bps, int, int) { tx_.SetRate(rate_bps); }
  TimeNs Enqueue(TimeNs now, size_t bytes) {
    return tx_.Transmit(tx_.NextStart(now), bytes);
  }

 private:
  Transmitter tx_;
};

TEST(SerializerTest, UnlimitedRateNeverWaits) {
  Serializer s(0, 1, 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.Enqueue(100, 1500), 100);
}

TEST(SerializerTest, BackToBackPacketsAtExactTimes) {
  Serializer s(1'000'000'000, 0, 0);  // 1 Gbit/s: 1500 B take 12 us
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(s.Enqueue(1000, 1500), 1000 + i * 12'000);
  }
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
  EXPECT_EQ(s.Enqueue(6'000'000, 10), 6'010'000);
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

std::shared_ptr<const DeliveryTrace> Trace(std::vector<uint32_t> ms) {
  auto t = std::make_shared<DeliveryTrace>();
  t->opportunities_ms = std::move(ms);
  t->name = "test";
  return t;
}

TEST(TransmitterTest, TracePacketsLeaveAtTheirOpportunity) {
  Transmitter tx;
  tx.SetTrace(Trace({1, 3, 3, 10}), 0);
  // Ready at 0: the first opportunity is at 1 ms.
  EXPECT_EQ(tx.NextStart(0), 1 * kMillisecond);
  EXPECT_EQ(tx.Transmit(tx.NextStart(0), 1500), 1 * kMillisecond);
  // Two opportunities share 3 ms; then 10 ms; then the trace repeats with
  // period 10 ms: 11, 13, 13, 20.
  std::vector<TimeNs> got;
  for (int i = 0; i < 7; ++i) {
    got.push_back(tx.Transmit(tx.NextStart(0), 1500));
  }
  EXPECT_EQ(got, (std::vector<TimeNs>{3 * kMillisecond, 3 * kMillisecond,
                                      10 * kMillisecond, 11 * kMillisecond,
                                      13 * kMillisecond, 13 * kMillisecond,
                                      20 * kMillisecond}));
}

TEST(TransmitterTest, TraceOpportunitiesCarryBytesNotPackets) {
  Transmitter tx;
  tx.SetTrace(Trace({1, 2, 3, 4}), 0);
  // Three 500-byte packets share the first opportunity.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(tx.Transmit(tx.NextStart(0), 500), 1 * kMillisecond);
  }
  // A 1000-byte packet: 1000 bytes of the 2 ms opportunity; a 1000-byte
  // one after it spills into the 3 ms one.
  EXPECT_EQ(tx.Transmit(tx.NextStart(0), 1000), 2 * kMillisecond);
  EXPECT_EQ(tx.NextStart(0), 2 * kMillisecond);
  EXPECT_EQ(tx.Transmit(tx.NextStart(0), 1000), 3 * kMillisecond);
}

TEST(TransmitterTest, UnusedTraceOpportunitiesAreLost) {
  Transmitter tx;
  tx.SetTrace(Trace({1, 2, 3, 4, 5}), 0);
  EXPECT_EQ(tx.Transmit(tx.NextStart(0), 100), 1 * kMillisecond);
  // Nothing waited at 1 ms after that packet or at 2 and 3 ms: a packet
  // ready at 3.5 ms takes the 4 ms opportunity, a whole one.
  EXPECT_EQ(tx.NextStart(3'500'000), 4 * kMillisecond);
  EXPECT_EQ(tx.Transmit(4 * kMillisecond, 1500), 4 * kMillisecond);
  // A trace starting later is shifted by its start.
  tx.SetTrace(Trace({1, 2}), 100 * kMillisecond);
  EXPECT_EQ(tx.NextStart(0), 101 * kMillisecond);
}

TEST(TransmitterTest, AStoppedWireTakesNothing) {
  Transmitter tx;
  tx.SetRate(8'000'000);
  tx.SetStopped(true);
  EXPECT_EQ(tx.NextStart(0), kNever);
  tx.SetStopped(false);
  EXPECT_EQ(tx.NextStart(5), 5);
}

}  // namespace
}  // namespace tcpemu
