// The windowed max/min filter (Nichols' algorithm): a new best replaces the
// estimate at once, a best that ages out of the window gives way to the
// second and third choices taken later in the window, the estimate is always
// a sample inside the window and never above the true windowed maximum, and
// the min filter mirrors the max.
#include "engine/tcp/windowed_filter.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using MaxFilter = WindowedMaxFilter<uint64_t, uint64_t>;
using MinFilter = WindowedMinFilter<int64_t, int64_t>;

TEST(WindowedFilterTest, EmptyUntilTheFirstSample) {
  MaxFilter f(10);
  EXPECT_TRUE(f.empty());
  EXPECT_EQ(f.Get(), 0u);
  EXPECT_EQ(f.Update(0, 7), 7u);
  EXPECT_FALSE(f.empty());
  EXPECT_EQ(f.window(), 10u);
}

TEST(WindowedFilterTest, NewMaxReplacesTheEstimateAtOnce) {
  MaxFilter f(10);
  f.Update(0, 100);
  EXPECT_EQ(f.Update(1, 50), 100u);
  EXPECT_EQ(f.Update(2, 150), 150u);
  EXPECT_EQ(f.Update(3, 150), 150u);  // equal counts as new
}

TEST(WindowedFilterTest, MaxExpiresAfterTheWindow) {
  MaxFilter f(10);
  f.Update(0, 100);
  // Lower samples every unit: the max holds for the whole window...
  for (uint64_t t = 1; t <= 10; ++t) {
    EXPECT_EQ(f.Update(t, 50), 100u) << "t=" << t;
  }
  // ...and is gone once its age exceeds the window.
  EXPECT_EQ(f.Update(11, 50), 50u);
}

TEST(WindowedFilterTest, SecondChoiceTakesOverWhenTheBestAgesOut) {
  MaxFilter f(8);
  f.Update(0, 100);
  f.Update(3, 80);  // second choice (past a quarter of the window)
  f.Update(5, 60);  // third (past half)
  EXPECT_EQ(f.Update(8, 10), 100u);
  // At 9 the 100 from time 0 is out: 80 (time 3) is the max now.
  EXPECT_EQ(f.Update(9, 10), 80u);
  // At 12 the 80 is out too: 60 (time 5).
  EXPECT_EQ(f.Update(12, 10), 60u);
  // 60 ages out at 14; what is left is from after it.
  EXPECT_EQ(f.Update(14, 10), 10u);
}

TEST(WindowedFilterTest, WholeWindowWithoutSamplesResets) {
  MaxFilter f(10);
  f.Update(0, 100);
  f.Update(1, 90);
  EXPECT_EQ(f.Update(50, 5), 5u);
}

TEST(WindowedFilterTest, MinFilterMirrorsTheMax) {
  MinFilter f(100);
  f.Update(0, 40);
  EXPECT_EQ(f.Update(10, 50), 40);
  EXPECT_EQ(f.Update(20, 30), 30);
  EXPECT_EQ(f.Update(120, 45), 30);  // age 100: still in
  EXPECT_EQ(f.Update(121, 45), 45);  // 30 out; nothing lower since
  EXPECT_EQ(f.Update(130, 44), 44);
}

// Against a brute-force windowed max on a drifting, noisy sequence: the
// estimate is the value of a sample still in the window, never above the
// true max, and equal to it whenever the newest sample is the max.
TEST(WindowedFilterTest, EstimateIsAlwaysAnInWindowSampleAtMostTheTrueMax) {
  constexpr uint64_t kWindow = 10;
  MaxFilter f(kWindow);
  std::deque<std::pair<uint64_t, uint64_t>> window;  // (time, value)
  uint64_t x = 12345;
  int equal = 0;
  for (uint64_t t = 0; t < 2000; ++t) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    // A slow wave plus noise, so maxima both rise and fall.
    const uint64_t value =
        1000 + (t % 97 < 48 ? t % 97 : 97 - t % 97) * 10 + (x >> 58);
    const uint64_t got = f.Update(t, value);
    window.emplace_back(t, value);
    while (t - window.front().first > kWindow) window.pop_front();
    uint64_t truth = 0;
    bool present = false;
    for (const auto& [time, v] : window) {
      truth = std::max(truth, v);
      present = present || v == got;
    }
    ASSERT_LE(got, truth) << "t=" << t;
    ASSERT_TRUE(present) << "t=" << t << " estimate " << got;
    if (value == truth) {
      ASSERT_EQ(got, truth) << "t=" << t;
    }
    equal += got == truth;
  }
  // On this noisy wave the estimate is the exact windowed max most of the
  // time (it may be a lower in-window sample after the max ages out).
  EXPECT_GT(equal, 1500);
}

}  // namespace
}  // namespace tcpemu
