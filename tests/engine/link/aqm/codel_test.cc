#include "engine/link/aqm/codel.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/link/aqm/drop_tail.h"
#include "gtest/gtest.h"
#include "tests/engine/link/aqm/aqm_test_util.h"

namespace tcpemu {
namespace {

using aqm_test::Merge;
using aqm_test::Outcome;
using aqm_test::Periodic;
using aqm_test::RunLink;
using aqm_test::RunReno;

constexpr DurationNs kMs = kMillisecond;
// 10 Mbit/s: a 1500-byte packet takes 1.2 ms; one arrival per ms is 1.2x
// the service rate.
constexpr DurationNs kNsPerByte = 800;
constexpr DurationNs kService = 1500 * kNsPerByte;

DurationNs Median(std::vector<DurationNs> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Sojourn times of the packets sent in [from, to).
std::vector<DurationNs> Sojourns(const Outcome& o, TimeNs from, TimeNs to) {
  std::vector<DurationNs> out;
  for (const auto& s : o.sent) {
    if (s.at >= from && s.at < to) out.push_back(s.sojourn);
  }
  return out;
}

TEST(CodelTest, ControlsAStandingQueueThatDropTailLetsGrow) {
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel};
  CodelQueue codel(spec, {});
  const Outcome o =
      RunLink(codel, Periodic(1, 1500, 0, kMs, 20'000), kNsPerByte);
  DropTailQueue fifo({});
  const Outcome base =
      RunLink(fifo, Periodic(1, 1500, 0, kMs, 20'000), kNsPerByte);

  // Drops begin only once the sojourn has stayed above target for an
  // interval: the first dequeue that saw it above target starts the
  // interval.
  TimeNs above = -1;
  for (const auto& s : o.sent) {
    if (s.sojourn >= spec.codel_target) {
      above = s.at;
      break;
    }
  }
  ASSERT_GE(above, 0);
  ASSERT_FALSE(o.decisions.empty());
  EXPECT_GE(o.decisions.front().at, above + spec.codel_interval);
  EXPECT_LE(o.decisions.front().at, above + spec.codel_interval + kService);
  EXPECT_EQ(o.Count(QueueAction::kMark), 0);
  EXPECT_EQ(o.Count(Admission::kAccept), 20'000);

  // An unresponsive sender is not brought to target (CoDel's drop rate
  // grows only as sqrt(count)), but its queue stays bounded, in a sawtooth
  // under 2 intervals, where drop-tail's grows to seconds; dropping one
  // packet in six matches the 1.2x overload.
  const std::vector<DurationNs> late = Sojourns(o, 10'000 * kMs, 20'000 * kMs);
  EXPECT_LT(*std::max_element(late.begin(), late.end()),
            2 * spec.codel_interval);
  EXPECT_GT(Median(Sojourns(base, 10'000 * kMs, 20'000 * kMs)), 1000 * kMs);
  const double dropped = static_cast<double>(o.Count(QueueAction::kDrop));
  EXPECT_NEAR(dropped / 20'000, 1.0 / 6, 0.02);
}

TEST(CodelTest, KeepsAResponsiveSendersSojournNearTarget) {
  // A Reno-like sender over a 50 ms RTT: its queue stands at target, a
  // drop now and then, where drop-tail's grows without end.
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel};
  CodelQueue codel(spec, {});
  const Outcome o =
      RunReno(codel, 1500, Ecn::kNotEct, kNsPerByte, 50 * kMs, 30'000 * kMs);
  DropTailQueue fifo({});
  const Outcome base =
      RunReno(fifo, 1500, Ecn::kNotEct, kNsPerByte, 50 * kMs, 30'000 * kMs);
  const std::vector<DurationNs> late = Sojourns(o, 15'000 * kMs, 30'000 * kMs);
  const DurationNs worst = *std::max_element(late.begin(), late.end());
  EXPECT_LT(worst, 2 * spec.codel_target);
  EXPECT_LT(Median(late), spec.codel_target);
  EXPECT_GT(o.Count(QueueAction::kDrop), 5);
  // The link stays mostly busy (a 1.2 ms packet slot, 15 s).
  EXPECT_GT(late.size(), 15'000 * kMs / kService * 3 / 4);
  EXPECT_GT(Median(Sojourns(base, 15'000 * kMs, 30'000 * kMs)), 100 * kMs);
  RecordProperty("median_sojourn_us", static_cast<int>(Median(late) / 1000));
  RecordProperty("max_sojourn_us", static_cast<int>(worst / 1000));
}

TEST(CodelTest, AResponsiveEcnSenderIsMarkedNeverDropped) {
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel, .ecn = true};
  CodelQueue codel(spec, {});
  const Outcome o =
      RunReno(codel, 1500, Ecn::kEct0, kNsPerByte, 50 * kMs, 30'000 * kMs);
  EXPECT_EQ(o.Count(QueueAction::kDrop), 0);
  EXPECT_GT(o.Count(QueueAction::kMark), 5);
  const std::vector<DurationNs> late = Sojourns(o, 15'000 * kMs, 30'000 * kMs);
  EXPECT_LT(*std::max_element(late.begin(), late.end()), 2 * spec.codel_target);
  EXPECT_GT(late.size(), 15'000 * kMs / kService * 3 / 4);
}

TEST(CodelTest, WithEcnMarksEctPacketsAndDropsTheOthers) {
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel, .ecn = true};
  CodelQueue q(spec, {});
  const Outcome o =
      RunLink(q,
              Merge({Periodic(1, 1500, 0, 2 * kMs, 10'000, Ecn::kEct0),
                     Periodic(2, 1500, kMs, 2 * kMs, 10'000)}),
              kNsPerByte);
  int marks = 0, drops = 0;
  for (const auto& d : o.decisions) {
    if (d.action == QueueAction::kMark) {
      EXPECT_EQ(d.port, 1);
      EXPECT_EQ(d.ecn, Ecn::kCe);
      ++marks;
    } else {
      EXPECT_EQ(d.port, 2);
      ++drops;
    }
  }
  EXPECT_GT(marks, 100);
  EXPECT_GT(drops, 100);
  // Every ECT packet leaves, marked or not.
  int ect_sent = 0, ce_sent = 0;
  for (const auto& s : o.sent) {
    if (s.port != 1) continue;
    ++ect_sent;
    if (s.ecn == Ecn::kCe) ++ce_sent;
  }
  EXPECT_EQ(ect_sent, 10'000);
  EXPECT_EQ(ce_sent, marks);
}

TEST(CodelTest, HardLimitsRefuseArrivals) {
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel};
  CodelQueue q(spec, {.packets = 10, .bytes = 0});
  auto ignore = [](TimeNs, const QueuedPacket&, QueueAction) {};
  for (int i = 0; i < 10; ++i) {
    QueuedPacket p = aqm_test::Queued(aqm_test::MakePacket(100, 1), 0);
    ASSERT_EQ(q.Admit(0, p.packet, true), Admission::kAccept);
    q.Push(0, std::move(p), ignore);
  }
  Packet extra = aqm_test::MakePacket(100, 1);
  EXPECT_EQ(q.Admit(0, extra, true), Admission::kOverLimit);

  CodelQueue bytes(spec, {.packets = 0, .bytes = 3000});
  const Outcome o =
      RunLink(bytes, Periodic(1, 1500, 0, 100'000, 1000), kNsPerByte);
  EXPECT_GT(o.Count(Admission::kOverLimit), 0);
}

TEST(CodelTest, DrainTakesEverythingInOrderWithoutDecisions) {
  CodelQueue q({.kind = AqmSpec::Kind::kCodel}, {});
  auto fail = [](TimeNs, const QueuedPacket&, QueueAction) { FAIL(); };
  for (int i = 0; i < 50; ++i) {
    q.Push(i, aqm_test::Queued(aqm_test::MakePacket(1500, 1), i), fail);
  }
  QueuedPacket out;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(q.Drain(&out));
    EXPECT_EQ(out.enqueued, i);
  }
  EXPECT_FALSE(q.Drain(&out));
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(CodelTest, NoDropWhileAtMostOneMtuWaits) {
  // A standing queue of four 1500-byte packets that each waited 1 s:
  // 4500 bytes stay behind the head, more than a 1500-byte MTU but not
  // more than a 9000-byte one.
  for (uint64_t mtu : {uint64_t{1500}, uint64_t{9000}}) {
    CodelQueue q({.kind = AqmSpec::Kind::kCodel},
                 {.mtu = static_cast<uint32_t>(mtu)});
    int drops = 0;
    auto count = [&drops](TimeNs, const QueuedPacket&, QueueAction) {
      ++drops;
    };
    auto push = [&](TimeNs t) {
      q.Push(t, aqm_test::Queued(aqm_test::MakePacket(1500, 1), t - kSecond),
             count);
    };
    for (int k = 0; k < 3; ++k) push(0);
    QueuedPacket out;
    for (int i = 0; i < 300; ++i) {
      const TimeNs t = i * 10 * kMs;
      push(t);
      q.Pop(t, &out, count);
    }
    if (mtu == 9000) {
      EXPECT_EQ(drops, 0);
    } else {
      EXPECT_GT(drops, 0);
    }
  }
}

TEST(CodelTest, SameInputsSameDecisions) {
  const AqmSpec spec{.kind = AqmSpec::Kind::kCodel};
  std::vector<TimeNs> runs[2];
  for (auto& r : runs) {
    CodelQueue q(spec, {});
    const Outcome o = RunLink(q, Periodic(1, 1500, 0, kMs, 5000), kNsPerByte);
    for (const auto& d : o.decisions) r.push_back(d.at);
  }
  EXPECT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace tcpemu
