#include "engine/link/aqm/codel_state.h"

#include <cmath>
#include <functional>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/link/aqm/aqm_test_util.h"

namespace tcpemu {
namespace {

using aqm_test::MakePacket;

constexpr DurationNs kMs = kMillisecond;

// A queue that never runs dry: its head has waited sojourn(now), and
// `backlog` bytes stay behind it.
struct FakeQueue {
  std::function<DurationNs(TimeNs)> sojourn;
  uint64_t backlog = 100'000;
  Ecn ecn = Ecn::kNotEct;
  TimeNs now = 0;
  int taken = 0;
};

struct Step {
  bool got = false;
  std::vector<QueueAction> actions;
  Ecn out_ecn = Ecn::kNotEct;
};

Step DequeueAt(CodelState& s, const CodelParams& params, FakeQueue& q,
               TimeNs now) {
  q.now = now;
  Step step;
  QueuedPacket out;
  step.got = s.Dequeue(
      now, params,
      [&q](QueuedPacket* p) {
        ++q.taken;
        p->packet = MakePacket(1000, 1, q.ecn);
        p->enqueued = q.now - q.sojourn(q.now);
        return true;
      },
      [&q] { return q.backlog; }, &out,
      [&step](TimeNs, const QueuedPacket&, QueueAction a) {
        step.actions.push_back(a);
      });
  if (step.got) step.out_ecn = PacketEcn(out.packet);
  return step;
}

// Dequeues every millisecond over [from, to) and returns when each drop
// happened.
std::vector<TimeNs> DropsBetween(CodelState& s, const CodelParams& params,
                                 FakeQueue& q, TimeNs from, TimeNs to) {
  std::vector<TimeNs> drops;
  for (TimeNs t = from; t < to; t += kMs) {
    const Step step = DequeueAt(s, params, q, t);
    EXPECT_TRUE(step.got);
    for (QueueAction a : step.actions) {
      EXPECT_EQ(a, QueueAction::kDrop);
      drops.push_back(t);
    }
  }
  return drops;
}

TEST(CodelStateTest, FirstDropOnlyAfterAnIntervalAboveTarget) {
  CodelState s;
  const CodelParams params;  // 5 ms target, 100 ms interval
  FakeQueue q{
      .sojourn = [](TimeNs t) { return t < 50 * kMs ? 4 * kMs : 6 * kMs; }};
  const std::vector<TimeNs> drops = DropsBetween(s, params, q, 0, 200 * kMs);
  ASSERT_FALSE(drops.empty());
  // Above target from 50 ms: the first drop is at 150 ms, not before.
  EXPECT_EQ(drops.front(), 150 * kMs);
  EXPECT_TRUE(s.dropping());
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.drop_next(), 250 * kMs);
}

TEST(CodelStateTest, DropIntervalShrinksAsOneOverSqrtCount) {
  CodelState s;
  const CodelParams params;
  FakeQueue q{.sojourn = [](TimeNs) { return 6 * kMs; }};
  const std::vector<TimeNs> drops = DropsBetween(s, params, q, 0, 3000 * kMs);
  ASSERT_GT(drops.size(), 20u);
  // Drop k+1 is due interval/sqrt(k) after drop k was due (drop_next
  // advances from itself, not from the dequeue that dropped), and happens
  // at the first dequeue (every 1 ms) at or after it.
  double due = static_cast<double>(drops[0]);
  EXPECT_EQ(drops[0], 100 * kMs);
  for (size_t k = 1; k < drops.size(); ++k) {
    due += 100e6 / std::sqrt(static_cast<double>(k));
    EXPECT_GE(static_cast<double>(drops[k]), due - 10) << "drop " << k;
    EXPECT_LT(static_cast<double>(drops[k]), due + 1e6) << "drop " << k;
  }
  // And the gaps shrink: the last is about interval/sqrt(count).
  const double last_gap =
      static_cast<double>(drops.back() - drops[drops.size() - 2]);
  EXPECT_NEAR(last_gap, 100e6 / std::sqrt(drops.size() - 1.0), 1e6);
  EXPECT_EQ(s.count(), drops.size());
}

TEST(CodelStateTest, ReenteringSoonResumesTheCount) {
  CodelState s;
  const CodelParams params;
  // Above target, then below from 1 s to 1.1 s, then above again.
  FakeQueue q{.sojourn = [](TimeNs t) {
    return t >= 1000 * kMs && t < 1100 * kMs ? 1 * kMs : 6 * kMs;
  }};
  DropsBetween(s, params, q, 0, 1000 * kMs);
  const uint32_t count = s.count();
  ASSERT_GT(count, 5u);
  DequeueAt(s, params, q, 1000 * kMs);
  EXPECT_FALSE(s.dropping());
  // Back above target at 1.1 s: the first drop of the new episode is at
  // 1.2 s, with count = count - lastcount (lastcount was 1).
  const std::vector<TimeNs> drops =
      DropsBetween(s, params, q, 1001 * kMs, 1201 * kMs);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0], 1200 * kMs);
  EXPECT_EQ(s.count(), count - 1);
  EXPECT_EQ(s.lastcount(), count - 1);
  EXPECT_EQ(s.drop_next(),
            CodelState::ControlLaw(1200 * kMs, 100 * kMs, count - 1));
}

TEST(CodelStateTest, ReenteringLateStartsTheCountAgain) {
  CodelState s;
  const CodelParams params;
  FakeQueue q{.sojourn = [](TimeNs t) {
    return t >= 1000 * kMs && t < 3000 * kMs ? 1 * kMs : 6 * kMs;
  }};
  DropsBetween(s, params, q, 0, 1000 * kMs);
  ASSERT_GT(s.count(), 5u);
  // 16 intervals after the last drop_next: the count restarts at 1.
  const std::vector<TimeNs> drops =
      DropsBetween(s, params, q, 1000 * kMs, 3101 * kMs);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0], 3100 * kMs);
  EXPECT_EQ(s.count(), 1u);
}

TEST(CodelStateTest, NoDropWhileTheQueueHoldsAtMostOneMtu) {
  CodelState s;
  const CodelParams params;
  FakeQueue q{.sojourn = [](TimeNs) { return 50 * kMs; }, .backlog = 1500};
  EXPECT_TRUE(DropsBetween(s, params, q, 0, 2000 * kMs).empty());
  EXPECT_FALSE(s.above_target());
  q.backlog = 1501;
  EXPECT_FALSE(DropsBetween(s, params, q, 2000 * kMs, 2200 * kMs).empty());
}

TEST(CodelStateTest, EcnCapablePacketsAreMarkedAndLeave) {
  CodelState s;
  const CodelParams params{.ecn = true};
  FakeQueue q{.sojourn = [](TimeNs) { return 6 * kMs; }, .ecn = Ecn::kEct0};
  int marks = 0;
  for (TimeNs t = 0; t < 1000 * kMs; t += kMs) {
    const int before = q.taken;
    const Step step = DequeueAt(s, params, q, t);
    ASSERT_TRUE(step.got);
    EXPECT_EQ(q.taken - before, 1);  // nothing dropped on the way
    for (QueueAction a : step.actions) {
      ASSERT_EQ(a, QueueAction::kMark);
      EXPECT_EQ(step.out_ecn, Ecn::kCe);
      ++marks;
    }
    if (step.actions.empty()) {
      EXPECT_EQ(step.out_ecn, Ecn::kEct0);
    }
  }
  // Marks follow the same control law as drops would.
  EXPECT_GT(marks, 5);
  EXPECT_EQ(s.count(), static_cast<uint32_t>(marks));

  // Packets that are not ECN-capable are still dropped.
  q.ecn = Ecn::kNotEct;
  const Step step = DequeueAt(s, params, q, 2000 * kMs);
  ASSERT_FALSE(step.actions.empty());
  for (QueueAction a : step.actions) EXPECT_EQ(a, QueueAction::kDrop);
}

TEST(CodelStateTest, AnEmptyQueueEndsTheDroppingState) {
  CodelState s;
  const CodelParams params;
  FakeQueue q{.sojourn = [](TimeNs) { return 6 * kMs; }};
  DropsBetween(s, params, q, 0, 300 * kMs);
  ASSERT_TRUE(s.dropping());
  QueuedPacket out;
  EXPECT_FALSE(s.Dequeue(
      300 * kMs, params, [](QueuedPacket*) { return false; },
      [] { return uint64_t{0}; }, &out,
      [](TimeNs, const QueuedPacket&, QueueAction) { FAIL(); }));
  EXPECT_FALSE(s.dropping());
  EXPECT_FALSE(s.above_target());
}

}  // namespace
}  // namespace tcpemu
