// Tests for DeliveryQueue: arrival order with send-order ties across the FIFO
// and heap parts, the order limit, and byte accounting.
#include "engine/link/delivery_queue.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "engine/base/rng.h"
#include "gtest/gtest.h"
#include "tests/engine/link/link_test_util.h"

namespace tcpemu {
namespace {

using link_test::DataPacket;

TEST(DeliveryQueueTest, EmptyHasNoDeadline) {
  DeliveryQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.NextArrival(), kNever);
  TimeNs t = -1;
  Packet p;
  EXPECT_FALSE(q.PopBefore(kNever, ~0ull, &t, &p));
  EXPECT_EQ(t, -1);
}

TEST(DeliveryQueueTest, MatchesASortedReference) {
  DeliveryQueue q;
  Rng rng(1);
  std::vector<std::tuple<TimeNs, uint64_t, uint32_t>> expected;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    // Mostly increasing, with some going backwards and many ties.
    const TimeNs t = static_cast<TimeNs>(i / 3) * 10 +
                     rng.UniformInt(0, 1) * rng.UniformInt(-40, 5);
    const uint32_t seq = static_cast<uint32_t>(i);
    Packet p = DataPacket(seq, i % 50);
    bytes += p.size();
    q.Push(t, i, std::move(p));
    expected.emplace_back(t, i, seq);
  }
  EXPECT_EQ(q.size(), 2000u);
  EXPECT_EQ(q.bytes(), bytes);
  std::sort(expected.begin(), expected.end());
  TimeNs t;
  Packet p;
  for (const auto& [et, order, seq] : expected) {
    ASSERT_EQ(q.NextArrival(), et);
    ASSERT_TRUE(q.PopBefore(kNever, ~0ull, &t, &p));
    ASSERT_EQ(t, et);
    ASSERT_EQ(PeekTcp(p).seq, Seq(seq)) << "order " << order;
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(DeliveryQueueTest, PopBeforeHonoursTimeAndOrderLimit) {
  DeliveryQueue q;
  q.Push(10, 0, DataPacket(0));
  q.Push(20, 1, DataPacket(1));
  q.Push(20, 2, DataPacket(2));
  q.Push(5, 3, DataPacket(3));  // overtakes: goes to the heap
  TimeNs t;
  Packet p;
  EXPECT_FALSE(q.PopBefore(4, 100, &t, &p));
  ASSERT_TRUE(q.PopBefore(20, 2, &t, &p));
  EXPECT_EQ(t, 5);
  ASSERT_TRUE(q.PopBefore(20, 2, &t, &p));
  EXPECT_EQ(t, 10);
  ASSERT_TRUE(q.PopBefore(20, 2, &t, &p));
  EXPECT_EQ(PeekTcp(p).seq, Seq(1));
  // Order 2 at time 20 is not before (20, 2).
  EXPECT_FALSE(q.PopBefore(20, 2, &t, &p));
  ASSERT_TRUE(q.PopBefore(21, 2, &t, &p));
  EXPECT_EQ(PeekTcp(p).seq, Seq(2));
}

TEST(DeliveryQueueTest, PoppedPacketsReleaseTheirChunks) {
  const int64_t before = Chunk::LiveBytes();
  {
    DeliveryQueue q;
    for (int i = 0; i < 100; ++i) {
      q.Push(i % 2 ? i : 1000 - i, static_cast<uint64_t>(i),
             DataPacket(i, 1000));
    }
    TimeNs t;
    Packet p;
    while (q.PopBefore(kNever, ~0ull, &t, &p)) {
    }
    p = Packet();
    EXPECT_EQ(Chunk::LiveBytes(), before);
  }
}

}  // namespace
}  // namespace tcpemu
