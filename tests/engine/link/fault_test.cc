// Tests for fault rules: validation, segment matching (flags, payload,
// sequence ranges with SYN/FIN and wrap-around) and the rule table's count,
// nth, probability, duration and first-match semantics.
#include "engine/link/fault.h"

#include <algorithm>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;
using namespace tcp_flags;  // NOLINT: flag names read better bare here

TcpPeek Seg(uint32_t seq, uint8_t flags, uint32_t len) {
  TcpPeek p;
  p.seq = Seq(seq);
  p.flags = flags;
  p.payload_len = len;
  return p;
}

std::string ErrorOf(const FaultRule& r) {
  absl::Status s = ValidateFaultRule(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  return std::string(s.message());
}

TEST(FaultValidationTest, Rules) {
  EXPECT_TRUE(ValidateFaultRule(FaultRule{}).ok());
  FaultRule r;
  r.probability = 1.5;
  EXPECT_EQ(ErrorOf(r), "probability 1.5 out of range [0, 1]");
  r = {};
  r.action = FaultAction::kDelay;
  EXPECT_THAT(ErrorOf(r), HasSubstr("delay 0ns out of range [1, "));
  r.delay = 10 * kMillisecond;
  EXPECT_TRUE(ValidateFaultRule(r).ok());
  r = {};
  r.delay = -1;
  EXPECT_THAT(ErrorOf(r), HasSubstr("delay -1ns"));
  r = {};
  r.duration = -5;
  EXPECT_THAT(ErrorOf(r), HasSubstr("duration -5ns"));
  r = {};
  r.match.flags_all = kSyn | kAck;
  r.match.flags_none = kAck;
  EXPECT_THAT(ErrorOf(r), HasSubstr("match.flags_all"));
  r = {};
  r.match.has_seq_range = true;
  r.match.seq_lo = Seq(100);
  r.match.seq_hi = Seq(100);
  EXPECT_THAT(ErrorOf(r), HasSubstr("match.seq_hi 100"));
  r = {};
  r.action = static_cast<FaultAction>(42);
  EXPECT_THAT(ErrorOf(r), HasSubstr("action 42"));
}

TEST(FaultMatchTest, Flags) {
  FaultMatch m;
  m.flags_all = kSyn;
  m.flags_none = kAck;
  EXPECT_TRUE(MatchesSegment(m, Seg(0, kSyn, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0, kSyn | kAck, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0, kAck, 0)));
  m = {};
  m.flags_all = kFin | kAck;
  EXPECT_TRUE(MatchesSegment(m, Seg(0, kFin | kAck | kPsh, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0, kFin, 0)));
  EXPECT_TRUE(MatchesSegment(FaultMatch{}, Seg(0, 0, 0)));
}

TEST(FaultMatchTest, PayloadOnly) {
  FaultMatch m;
  m.payload_only = true;
  EXPECT_TRUE(MatchesSegment(m, Seg(0, kAck, 1)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0, kAck, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0, kSyn, 0)));
}

TEST(FaultMatchTest, SeqRangeOverlap) {
  FaultMatch m;
  m.has_seq_range = true;
  m.seq_lo = Seq(1000);
  m.seq_hi = Seq(2000);
  EXPECT_TRUE(MatchesSegment(m, Seg(1000, kAck, 100)));
  EXPECT_TRUE(MatchesSegment(m, Seg(1999, kAck, 100)));
  EXPECT_TRUE(MatchesSegment(m, Seg(950, kAck, 51)));   // [950, 1001)
  EXPECT_FALSE(MatchesSegment(m, Seg(950, kAck, 50)));  // [950, 1000)
  EXPECT_FALSE(MatchesSegment(m, Seg(2000, kAck, 100)));
  // Zero-length segments match by their seq alone.
  EXPECT_TRUE(MatchesSegment(m, Seg(1500, kAck, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(2000, kAck, 0)));
  EXPECT_FALSE(MatchesSegment(m, Seg(999, kAck, 0)));
  // SYN and FIN take one sequence number.
  EXPECT_FALSE(MatchesSegment(m, Seg(999, kAck, 1)));  // [999, 1000)
  EXPECT_TRUE(MatchesSegment(m, Seg(999, kSyn, 1)));   // [999, 1001)
  EXPECT_FALSE(MatchesSegment(m, Seg(990, kAck, 10)));
  EXPECT_TRUE(MatchesSegment(m, Seg(990, kFin | kAck, 10)));
  EXPECT_FALSE(MatchesSegment(m, Seg(999, kSyn, 0)));  // [999, 1000)
  EXPECT_TRUE(MatchesSegment(m, Seg(1999, kFin | kAck, 0)));
}

TEST(FaultMatchTest, SeqRangeAcrossWrap) {
  FaultMatch m;
  m.has_seq_range = true;
  m.seq_lo = Seq(0xffffff00u);
  m.seq_hi = Seq(0x100);
  EXPECT_TRUE(MatchesSegment(m, Seg(0xfffffff0u, kAck, 0x20)));
  EXPECT_TRUE(MatchesSegment(m, Seg(0x10, kAck, 10)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0x100, kAck, 10)));
  EXPECT_FALSE(MatchesSegment(m, Seg(0xfffffe00u, kAck, 0x100)));
}

FaultRule Rule(FaultAction a) {
  FaultRule r;
  r.action = a;
  if (a == FaultAction::kDelay) r.delay = kMillisecond;
  return r;
}

TEST(FaultTableTest, EveryMatchUntilCleared) {
  FaultTable t;
  Rng rng(1);
  ASSERT_EQ(*t.Add(Rule(FaultAction::kDrop), 0), 1u);
  for (int i = 0; i < 100; ++i) {
    auto hit = t.Apply(i, Seg(i, kAck, 1), rng);
    ASSERT_TRUE(hit.has_value());
    EXPECT_EQ(hit->rule_id, 1u);
    EXPECT_EQ(hit->action, FaultAction::kDrop);
  }
  t.Clear();
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.Apply(0, Seg(0, kAck, 1), rng).has_value());
}

TEST(FaultTableTest, DelayJitterStaysInItsRangeAndVaries) {
  FaultTable t;
  Rng rng(7);
  FaultRule r = Rule(FaultAction::kDelay);
  r.delay = 10 * kMillisecond;
  r.jitter = 2 * kMillisecond;
  ASSERT_TRUE(t.Add(r, 0).ok());
  DurationNs lo = r.delay, hi = r.delay;
  for (int i = 0; i < 1000; ++i) {
    auto hit = t.Apply(0, Seg(i, kAck, 1), rng);
    ASSERT_TRUE(hit.has_value());
    lo = std::min(lo, hit->delay);
    hi = std::max(hi, hit->delay);
  }
  EXPECT_GE(lo, 8 * kMillisecond);
  EXPECT_LE(hi, 12 * kMillisecond);
  EXPECT_LT(lo, 9 * kMillisecond);  // it does vary, both ways
  EXPECT_GT(hi, 11 * kMillisecond);
}

TEST(FaultTableTest, JitterLargerThanDelayIsRefused) {
  FaultRule r = Rule(FaultAction::kDelay);
  r.jitter = 2 * kMillisecond;
  absl::Status s = ValidateFaultRule(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("jitter"), std::string::npos) << s;
}

TEST(FaultTableTest, CountLimitsApplications) {
  FaultTable t;
  Rng rng(1);
  FaultRule r = Rule(FaultAction::kDuplicate);
  r.count = 3;
  ASSERT_TRUE(t.Add(r, 0).ok());
  int hits = 0;
  for (int i = 0; i < 10; ++i) hits += t.Apply(0, Seg(i, kAck, 1), rng) ? 1 : 0;
  EXPECT_EQ(hits, 3);
  EXPECT_TRUE(t.empty());  // spent rules are removed
}

TEST(FaultTableTest, NthCountsOnlyMatchingSegments) {
  FaultTable t;
  Rng rng(1);
  FaultRule r = Rule(FaultAction::kDrop);
  r.match.payload_only = true;
  r.match.nth = 3;
  ASSERT_TRUE(t.Add(r, 0).ok());
  // Pure ACKs in between do not count.
  const TcpPeek segs[] = {Seg(1, kAck, 10), Seg(2, kAck, 0),  Seg(3, kAck, 10),
                          Seg(4, kAck, 0),  Seg(5, kAck, 10), Seg(6, kAck, 10)};
  std::vector<uint32_t> hit_seqs;
  for (const TcpPeek& s : segs) {
    if (t.Apply(0, s, rng)) hit_seqs.push_back(s.seq.value());
  }
  EXPECT_EQ(hit_seqs, std::vector<uint32_t>{5});
  EXPECT_TRUE(t.empty());
}

TEST(FaultTableTest, ProbabilityIsStatistical) {
  FaultTable t;
  Rng rng(9);
  FaultRule r = Rule(FaultAction::kCorrupt);
  r.probability = 0.3;
  ASSERT_TRUE(t.Add(r, 0).ok());
  int hits = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) hits += t.Apply(0, Seg(i, kAck, 1), rng) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(hits) / n, 0.3, 0.01);
}

TEST(FaultTableTest, ProbabilityWithCount) {
  FaultTable t;
  Rng rng(9);
  FaultRule r = Rule(FaultAction::kDrop);
  r.probability = 0.5;
  r.count = 5;
  ASSERT_TRUE(t.Add(r, 0).ok());
  int hits = 0;
  for (int i = 0; i < 1000; ++i)
    hits += t.Apply(0, Seg(i, kAck, 1), rng) ? 1 : 0;
  EXPECT_EQ(hits, 5);
}

TEST(FaultTableTest, DurationExpires) {
  FaultTable t;
  Rng rng(1);
  FaultRule r = Rule(FaultAction::kReorder);
  r.duration = 100;
  ASSERT_TRUE(t.Add(r, 1000).ok());
  EXPECT_TRUE(t.Apply(1000, Seg(0, kAck, 1), rng));
  EXPECT_TRUE(t.Apply(1099, Seg(0, kAck, 1), rng));
  EXPECT_FALSE(t.Apply(1100, Seg(0, kAck, 1), rng));
  EXPECT_TRUE(t.empty());
}

TEST(FaultTableTest, FirstMatchActsOthersStillCount) {
  FaultTable t;
  Rng rng(1);
  FaultRule syn = Rule(FaultAction::kDrop);
  syn.match.flags_all = kSyn;
  syn.count = 1;
  FaultRule second = Rule(FaultAction::kDelay);
  second.match.nth = 2;  // the second segment of any kind
  const uint32_t syn_id = *t.Add(syn, 0);
  const uint32_t second_id = *t.Add(second, 0);
  EXPECT_NE(syn_id, second_id);

  auto h1 = t.Apply(0, Seg(0, kSyn, 0), rng);  // both match; the first acts
  ASSERT_TRUE(h1);
  EXPECT_EQ(h1->rule_id, syn_id);
  auto h2 = t.Apply(0, Seg(1, kAck, 0), rng);  // second's 2nd match
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->rule_id, second_id);
  EXPECT_EQ(h2->action, FaultAction::kDelay);
  EXPECT_EQ(h2->delay, kMillisecond);
  EXPECT_FALSE(t.Apply(0, Seg(2, kSyn, 0), rng));
}

TEST(FaultTableTest, RemoveAndLimit) {
  FaultTable t;
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < kMaxFaultRules; ++i) {
    auto id = t.Add(FaultRule{}, 0);
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  absl::StatusOr<uint32_t> over = t.Add(FaultRule{}, 0);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(t.Remove(ids[3]));
  EXPECT_FALSE(t.Remove(ids[3]));
  auto again = t.Add(FaultRule{}, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_GT(*again, ids.back());  // ids are not reused
  FaultRule bad;
  bad.probability = -1;
  EXPECT_EQ(t.Add(bad, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FaultTest, ActionNames) {
  EXPECT_EQ(ToString(FaultAction::kDrop), "drop");
  EXPECT_EQ(ToString(FaultAction::kReorder), "reorder");
}

}  // namespace
}  // namespace tcpemu
