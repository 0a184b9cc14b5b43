// Tests for RingBuffer: FIFO order across wrap-around and growth, and no
// growth in a steady state.
#include "engine/link/ring_buffer.h"

#include <memory>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(RingBufferTest, FifoAcrossWrapAndGrowth) {
  RingBuffer<int> r;
  EXPECT_TRUE(r.empty());
  int next_in = 0, next_out = 0;
  // Interleave pushes and pops so that the head wraps at every capacity.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < round % 7 + 2; ++i) r.push_back(next_in++);
    for (int i = 0; i < round % 5 + 1 && !r.empty(); ++i) {
      ASSERT_EQ(r.front(), next_out);
      ASSERT_EQ(r.take_front(), next_out++);
    }
    ASSERT_EQ(r.size(), static_cast<size_t>(next_in - next_out));
    if (!r.empty()) {
      EXPECT_EQ(r.back(), next_in - 1);
      EXPECT_EQ(r[0], next_out);
      EXPECT_EQ(r[r.size() - 1], next_in - 1);
    }
  }
  while (!r.empty()) ASSERT_EQ(r.take_front(), next_out++);
  EXPECT_EQ(next_in, next_out);
}

TEST(RingBufferTest, SteadyStateDoesNotGrow) {
  RingBuffer<int> r;
  for (int i = 0; i < 100; ++i) r.push_back(int{i});
  const size_t cap = r.capacity();
  EXPECT_GE(cap, 100u);
  for (int i = 0; i < 100'000; ++i) {
    r.pop_front();
    r.push_back(int{i});
  }
  EXPECT_EQ(r.capacity(), cap);
  EXPECT_EQ(r.size(), 100u);
}

TEST(RingBufferTest, TakeFrontReleasesMoveOnlyValues) {
  auto shared = std::make_shared<int>(5);
  RingBuffer<std::shared_ptr<int>> r;
  r.push_back(std::shared_ptr<int>(shared));
  EXPECT_EQ(shared.use_count(), 2);
  { std::shared_ptr<int> out = r.take_front(); }
  EXPECT_EQ(shared.use_count(), 1);
  r.push_back(std::shared_ptr<int>(shared));
  r.clear();
  EXPECT_EQ(shared.use_count(), 1);
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace tcpemu
