// Tests for RingBuffer: FIFO order across wrap-around and growth, and no
// growth in a steady state.
#include "engine/base/ring_buffer.h"

#include <deque>
#include <memory>
#include <random>

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

TEST(RingBufferTest, PartitionPointAcrossWrap) {
  RingBuffer<int> r;
  for (int i = 0; i < 12; ++i) r.push_back(i);
  for (int i = 0; i < 10; ++i) r.pop_front();    // head near the end
  for (int i = 12; i < 30; ++i) r.push_back(i);  // wraps, then grows
  ASSERT_EQ(r.size(), 20u);
  for (int v = 8; v <= 32; ++v) {
    const size_t want = v <= 10   ? 0
                        : v >= 30 ? 20
                                  : static_cast<size_t>(v - 10);
    EXPECT_EQ(r.PartitionPoint([v](int x) { return x < v; }), want) << v;
  }
}

TEST(RingBufferTest, ReleaseGivesTheStorageBack) {
  RingBuffer<int> r;
  for (int i = 0; i < 100; ++i) r.push_back(i);
  EXPECT_GE(r.capacity(), 100u);
  r.Release();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.capacity(), 0u);
  r.push_back(7);
  EXPECT_EQ(r.front(), 7);
}

TEST(RingBufferTest, InsertMatchesDequeAnywhereAcrossWrapAndGrowth) {
  // Inserts at every position, with the head anywhere in the storage and
  // the storage full, against std::deque.
  std::mt19937 rng(5);
  RingBuffer<int> r;
  std::deque<int> want;
  int next = 0;
  for (int step = 0; step < 3000; ++step) {
    const unsigned op = rng() % 4;
    if (op == 0 && !want.empty()) {
      r.pop_front();
      want.pop_front();
    } else if (op == 1) {
      r.push_back(next);
      want.push_back(next++);
    } else {
      const size_t i = rng() % (want.size() + 1);
      r.Insert(i, next);
      want.insert(want.begin() + static_cast<std::ptrdiff_t>(i), next++);
    }
    ASSERT_EQ(r.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(r[i], want[i]) << "step " << step << " index " << i;
    }
  }
}

}  // namespace
}  // namespace tcpemu
