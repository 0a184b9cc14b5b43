// Scheduler: time and insertion order, lazy rescheduling, bounded runs.
#include "engine/sim/scheduler.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

// Records what it is given; an id whose deadline moved (`moved`) makes its
// older entries stale.
class Recorder : public EntryHandler {
 public:
  void Dispatch(const ScheduledEntry& e) override {
    if (!IsLive(e)) return;
    seen.emplace_back(e.time, e.id);
    if (chain > 0 && e.id == 99) {
      --chain;
      sched->Push(e.time + 5, 0, 99, 0);
    }
  }
  bool IsLive(const ScheduledEntry& e) const override {
    auto it = moved.find(e.id);
    return it == moved.end() || it->second == e.time;
  }
  std::vector<std::pair<TimeNs, uint32_t>> seen;
  absl::flat_hash_map<uint32_t, TimeNs> moved;
  Scheduler* sched = nullptr;
  int chain = 0;
};

TEST(SchedulerTest, DispatchesInTimeThenInsertionOrder) {
  Recorder r;
  Scheduler s(&r);
  s.Push(30, 0, 1, 0);
  s.Push(10, 0, 2, 0);
  s.Push(10, 0, 3, 0);
  s.Push(20, 0, 4, 0);
  s.RunUntil(25);
  EXPECT_EQ(s.now(), 25);
  using V = std::vector<std::pair<TimeNs, uint32_t>>;
  EXPECT_EQ(r.seen, (V{{10, 2}, {10, 3}, {20, 4}}));
  s.RunUntil(5);  // earlier than now(): nothing
  EXPECT_EQ(s.now(), 25);
  s.RunUntil(30);
  EXPECT_EQ(r.seen.back(), (std::pair<TimeNs, uint32_t>{30, 1}));
}

TEST(SchedulerTest, NextDeadlineSkipsStaleEntries) {
  Recorder r;
  Scheduler s(&r);
  s.Push(10, 0, 7, 0);
  s.Push(40, 0, 7, 0);
  r.moved[7] = 40;  // the entry at 10 is stale now
  EXPECT_EQ(s.NextDeadline(), 40);
  EXPECT_EQ(s.queued(), 1u);
  r.moved[7] = 0;
  EXPECT_EQ(s.NextDeadline(), kNever);
  EXPECT_EQ(s.queued(), 0u);
}

TEST(SchedulerTest, RunUntilIdleFollowsEntriesPushedWhileRunning) {
  Recorder r;
  Scheduler s(&r);
  r.sched = &s;
  r.chain = 3;
  s.Push(100, 0, 99, 0);
  EXPECT_TRUE(s.RunUntilIdle(1000));
  EXPECT_EQ(r.seen.size(), 4u);
  EXPECT_EQ(s.now(), 115);
  s.Push(2000, 0, 1, 0);
  EXPECT_FALSE(s.RunUntilIdle(1500));
  EXPECT_EQ(s.now(), 1500);
}

TEST(SchedulerTest, BoundedRunsGiveTheOrderOfOneRun) {
  Recorder a, b;
  Scheduler one(&a), steps(&b);
  for (Scheduler* s : {&one, &steps}) {
    for (uint32_t i = 0; i < 20; ++i) s->Push((i * 37) % 11, 0, i, 0);
  }
  one.RunUntil(8);
  int calls = 0;
  while (!steps.RunUntilBounded(8, 3)) ++calls;
  EXPECT_GT(calls, 2);
  EXPECT_EQ(a.seen, b.seen);
  EXPECT_EQ(steps.now(), 8);
  // No entries allowed: entries due at 9 remain, now() stays.
  EXPECT_FALSE(steps.RunUntilBounded(9, 0));
  EXPECT_EQ(steps.now(), 8);
}

}  // namespace
}  // namespace tcpemu
