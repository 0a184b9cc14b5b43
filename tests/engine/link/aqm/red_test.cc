#include "engine/link/aqm/red.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/engine/link/aqm/aqm_test_util.h"

namespace tcpemu {
namespace {

using aqm_test::MakePacket;
using aqm_test::Queued;

constexpr DurationNs kMs = kMillisecond;

void Ignore(TimeNs, const QueuedPacket&, QueueAction) {}

AqmSpec Red(bool gentle = true, bool ecn = false) {
  return {.kind = AqmSpec::Kind::kRed,
          .ecn = ecn,
          .red_min_threshold = 30'000,
          .red_max_threshold = 90'000,
          .red_max_p = 0.02,
          .red_weight = 0.002,
          .red_gentle = gentle};
}

// Holds `bytes` bytes in the queue (1000-byte packets) with the wire busy.
void Fill(RedQueue& q, uint64_t bytes) {
  for (uint64_t b = 0; b < bytes; b += 1000) {
    q.Push(0, Queued(MakePacket(1000, 9), 0), Ignore);
  }
}

// `n` arrivals at a queue held at its level (none is queued, so the average
// converges to the level).
std::vector<Admission> AdmitMany(RedQueue& q, int n, Ecn ecn = Ecn::kNotEct) {
  const Packet proto = MakePacket(1000, 1, ecn);
  std::vector<Admission> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    Packet p = proto;
    out.push_back(q.Admit(1, p, true));
    if (out.back() == Admission::kMarked) {
      EXPECT_EQ(PacketEcn(p), Ecn::kCe);
    }
  }
  return out;
}

// The mean number of arrivals from one drop to the next under Floyd and
// Jacobson's p_a = p_b / (1 - count * p_b): the sum over n of the
// probability that the first n arrivals survive.
double MeanGap(double pb) {
  double survive = 1, sum = 0;
  for (int count = 0; survive > 1e-12; ++count) {
    sum += survive;
    const double left = 1 - count * pb;
    const double pa = left <= pb ? 1 : pb / left;
    survive *= 1 - pa;
  }
  return sum;
}

TEST(RedTest, DropProbabilityFollowsTheThresholds) {
  RedQueue q(Red(), {}, 1);
  EXPECT_EQ(q.DropProbability(0), 0);
  EXPECT_EQ(q.DropProbability(29'999), 0);
  EXPECT_DOUBLE_EQ(q.DropProbability(60'000), 0.01);
  EXPECT_DOUBLE_EQ(q.DropProbability(89'999.999), 0.02 * 59'999.999 / 60'000);
  // Gentle: from max_p at max_threshold to 1 at twice it.
  EXPECT_DOUBLE_EQ(q.DropProbability(90'000), 0.02);
  EXPECT_DOUBLE_EQ(q.DropProbability(135'000), 0.02 + 0.98 * 0.5);
  EXPECT_EQ(q.DropProbability(180'000), 1);
  RedQueue harsh(Red(/*gentle=*/false), {}, 1);
  EXPECT_EQ(harsh.DropProbability(90'000), 1);
}

TEST(RedTest, DropFractionRisesBetweenThresholdsAsTheSpacingPredicts) {
  double last = 0;
  for (uint64_t level : {45'000, 60'000, 75'000, 120'000}) {
    RedQueue q(Red(), {}, 7);
    Fill(q, level);
    AdmitMany(q, 10'000);  // the average converges to the level
    ASSERT_NEAR(q.average(), static_cast<double>(level), level * 1e-6);
    const double pb = q.DropProbability(q.average());
    const std::vector<Admission> v = AdmitMany(q, 200'000);
    int drops = 0, gap = 0, longest = 0;
    for (Admission a : v) {
      ASSERT_NE(a, Admission::kOverLimit);
      ++gap;
      if (a == Admission::kEarlyDrop) {
        ++drops;
        longest = std::max(longest, gap);
        gap = 0;
      }
    }
    const double fraction = drops / 200'000.0;
    // Uniform spacing over 1 .. 1/p_b arrivals: about 2 p_b, not p_b.
    EXPECT_NEAR(fraction, 1 / MeanGap(pb), 0.05 / MeanGap(pb))
        << "level " << level << " p_b " << pb;
    EXPECT_LE(longest, static_cast<int>(std::ceil(1 / pb)) + 1);
    RecordProperty(
        absl::StrCat("drop_fraction_at_", level),
        absl::StrCat(fraction, " p_b ", pb, " predicted ", 1 / MeanGap(pb)));
    EXPECT_GT(fraction, last);
    last = fraction;
  }
}

TEST(RedTest, EveryArrivalIsDroppedAboveTheLastThreshold) {
  for (bool gentle : {false, true}) {
    RedQueue q(Red(gentle), {}, 3);
    Fill(q, gentle ? 200'000 : 100'000);
    AdmitMany(q, 10'000);
    for (Admission a : AdmitMany(q, 1000)) {
      EXPECT_EQ(a, Admission::kEarlyDrop);
    }
  }
}

TEST(RedTest, WithEcnMarksEctPacketsInsteadOfDroppingThem) {
  for (uint64_t level : {60'000, 200'000}) {
    for (bool gentle : {false, true}) {
      RedQueue q(Red(gentle, /*ecn=*/true), {}, 5);
      Fill(q, level);
      AdmitMany(q, 10'000, Ecn::kEct0);
      const std::vector<Admission> ect = AdmitMany(q, 20'000, Ecn::kEct0);
      EXPECT_EQ(std::count(ect.begin(), ect.end(), Admission::kEarlyDrop), 0);
      EXPECT_GT(std::count(ect.begin(), ect.end(), Admission::kMarked), 100);
      const std::vector<Admission> plain = AdmitMany(q, 20'000);
      EXPECT_EQ(std::count(plain.begin(), plain.end(), Admission::kMarked), 0);
      EXPECT_GT(std::count(plain.begin(), plain.end(), Admission::kEarlyDrop),
                100);
    }
  }
}

TEST(RedTest, HardLimitsStillApply) {
  RedQueue q(Red(), {.packets = 0, .bytes = 10'000}, 1);
  Fill(q, 10'000);
  Packet p = MakePacket(1000, 1);
  // The average is still near 0: RED would accept, the byte limit refuses.
  EXPECT_EQ(q.Admit(1, p, true), Admission::kOverLimit);
  // An idle wire and an empty queue take any packet.
  RedQueue empty(Red(), {.packets = 1, .bytes = 100}, 1);
  EXPECT_EQ(empty.Admit(1, p, false), Admission::kAccept);
}

TEST(RedTest, IdleTimeDecaysTheAverageAtTheMeasuredRate) {
  AqmSpec spec = Red();
  spec.red_weight = 0.1;
  spec.red_avpkt = 1000;
  RedQueue q(spec, {}, 1);
  for (int i = 0; i < 10; ++i) {
    Packet p = MakePacket(1000, 1);
    ASSERT_EQ(q.Admit(0, p, i > 0), Admission::kAccept);
    q.Push(0, Queued(std::move(p), 0), Ignore);
  }
  // The wire sends one packet per ms: 1000 ns per byte.
  QueuedPacket out;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Pop(i * kMs, &out, Ignore));
  EXPECT_DOUBLE_EQ(q.ns_per_byte(), 1000);
  const double avg = q.average();
  ASSERT_GT(avg, 1000);
  // The last packet is on the wire until 10 ms: an arrival then sees an
  // EWMA step with an empty queue, no idle decay.
  Packet p = MakePacket(1000, 1);
  ASSERT_EQ(q.Admit(9 * kMs + kMs / 2, p, true), Admission::kAccept);
  EXPECT_DOUBLE_EQ(q.average(), avg * 0.9);
  // 10 ms idle from 10 ms: as if 10 avpkt packets had left.
  ASSERT_EQ(q.Admit(20 * kMs, p, false), Admission::kAccept);
  EXPECT_NEAR(q.average(), avg * 0.9 * std::pow(0.9, 10), 1e-9 * avg);
}

TEST(RedTest, OnALinkTheAverageSettlesBetweenTheThresholds) {
  // 1.2x overload of a 10 Mbit/s link: RED holds the queue where the drop
  // rate (about 1 in 6) is met, instead of letting it grow.
  RedQueue q(Red(), {}, 11);
  const aqm_test::Outcome o =
      aqm_test::RunLink(q, aqm_test::Periodic(1, 1500, 0, kMs, 30'000), 800);
  const double dropped = o.Count(Admission::kEarlyDrop) / 30'000.0;
  EXPECT_NEAR(dropped, 1.0 / 6, 0.02);
  DurationNs worst = 0;
  for (const auto& s : o.sent) {
    if (s.at > 15'000 * kMs) worst = std::max(worst, s.sojourn);
  }
  // Twice max_threshold (gentle) at 800 ns per byte is 144 ms.
  EXPECT_LT(worst, 144 * kMs);
  EXPECT_GT(q.ns_per_byte(), 799);
  EXPECT_LT(q.ns_per_byte(), 801);
}

TEST(RedTest, SameSeedSameDecisions) {
  std::vector<Admission> runs[3];
  const uint64_t seeds[3] = {42, 42, 43};
  for (int i = 0; i < 3; ++i) {
    RedQueue q(Red(), {}, seeds[i]);
    Fill(q, 60'000);
    runs[i] = AdmitMany(q, 20'000);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
}

}  // namespace
}  // namespace tcpemu
