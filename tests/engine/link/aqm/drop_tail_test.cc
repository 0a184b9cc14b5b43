#include "engine/link/aqm/drop_tail.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

QueuedPacket Sized(size_t n, TimeNs at) {
  QueuedPacket q;
  q.packet.header_len = 40;
  const std::vector<uint8_t> bytes(n - 40, 0x78);
  q.packet.payload = Payload::Copy(bytes);
  q.enqueued = at;
  return q;
}

void Ignore(TimeNs, const QueuedPacket&, QueueAction) {}

TEST(DropTailTest, RefusesArrivalsOverThePacketLimit) {
  DropTailQueue q({.packets = 2, .bytes = 0});
  for (int i = 0; i < 2; ++i) {
    QueuedPacket p = Sized(100, i);
    ASSERT_EQ(q.Admit(i, p.packet, true), Admission::kAccept);
    q.Push(i, std::move(p), Ignore);
  }
  QueuedPacket third = Sized(100, 2);
  EXPECT_EQ(q.Admit(2, third.packet, true), Admission::kOverLimit);
  EXPECT_EQ(q.packets(), 2u);
  EXPECT_EQ(q.bytes(), 200u);
}

TEST(DropTailTest, ByteLimitCountsTheArrival) {
  DropTailQueue q({.packets = 0, .bytes = 250});
  QueuedPacket a = Sized(100, 0), b = Sized(100, 0), c = Sized(100, 0);
  ASSERT_EQ(q.Admit(0, a.packet, true), Admission::kAccept);
  q.Push(0, std::move(a), Ignore);
  ASSERT_EQ(q.Admit(0, b.packet, true), Admission::kAccept);
  q.Push(0, std::move(b), Ignore);
  EXPECT_EQ(q.Admit(0, c.packet, true), Admission::kOverLimit);
}

TEST(DropTailTest, AnIdleWireAndEmptyQueueTakeAnyPacket) {
  DropTailQueue q({.packets = 1, .bytes = 50});
  QueuedPacket big = Sized(1500, 0);
  EXPECT_EQ(q.Admit(0, big.packet, false), Admission::kAccept);
  EXPECT_EQ(q.Admit(0, big.packet, true), Admission::kOverLimit);
}

TEST(DropTailTest, PopsInArrivalOrder) {
  DropTailQueue q({});
  for (int i = 0; i < 40; ++i) q.Push(i, Sized(100 + i, i), Ignore);
  QueuedPacket out;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(q.Pop(100, &out, Ignore));
    EXPECT_EQ(out.enqueued, i);
    EXPECT_EQ(out.packet.size(), 100u + i);
  }
  EXPECT_FALSE(q.Pop(100, &out, Ignore));
  EXPECT_EQ(q.bytes(), 0u);
}

}  // namespace
}  // namespace tcpemu
