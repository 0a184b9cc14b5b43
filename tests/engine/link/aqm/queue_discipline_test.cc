#include "engine/link/queue_discipline.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine/link/aqm/codel.h"
#include "engine/link/aqm/drop_tail.h"
#include "engine/link/aqm/fq_codel.h"
#include "engine/link/aqm/red.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

AqmSpec Of(AqmSpec::Kind kind) {
  AqmSpec s;
  s.kind = kind;
  return s;
}

TEST(ValidateAqmSpecTest, DefaultsOfEveryKindAreValid) {
  for (AqmSpec::Kind k : {AqmSpec::Kind::kDropTail, AqmSpec::Kind::kRed,
                          AqmSpec::Kind::kCodel, AqmSpec::Kind::kFqCodel}) {
    EXPECT_TRUE(ValidateAqmSpec(Of(k)).ok()) << static_cast<int>(k);
  }
}

TEST(ValidateAqmSpecTest, UnknownKind) {
  const absl::Status s = ValidateAqmSpec(Of(static_cast<AqmSpec::Kind>(9)));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("aqm.kind 9 out of range"));
}

struct BadCase {
  AqmSpec::Kind kind;
  std::function<void(AqmSpec&)> edit;
  std::string message;
};

TEST(ValidateAqmSpecTest, EachBadFieldIsNamedWithItsRange) {
  using K = AqmSpec::Kind;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<BadCase> cases = {
      {K::kRed, [](AqmSpec& s) { s.red_max_p = 1.5; },
       "aqm.red_max_p 1.5 out of range (0, 1]"},
      {K::kRed, [](AqmSpec& s) { s.red_max_p = 0; },
       "aqm.red_max_p 0 out of range (0, 1]"},
      {K::kRed, [nan](AqmSpec& s) { s.red_max_p = nan; },
       "aqm.red_max_p nan out of range (0, 1]"},
      {K::kRed, [](AqmSpec& s) { s.red_weight = 0; },
       "aqm.red_weight 0 out of range (0, 1]"},
      {K::kRed, [](AqmSpec& s) { s.red_weight = 2; },
       "aqm.red_weight 2 out of range (0, 1]"},
      {K::kRed,
       [](AqmSpec& s) {
         s.red_min_threshold = 90'000;
         s.red_max_threshold = 90'000;
       },
       "aqm.red_min_threshold 90000 out of range [0, red_max_threshold "
       "90000) bytes"},
      {K::kRed, [](AqmSpec& s) { s.red_max_threshold = 0; },
       "aqm.red_max_threshold 0 out of range [1, 1099511627776] bytes"},
      {K::kRed, [](AqmSpec& s) { s.red_max_threshold = uint64_t{1} << 41; },
       "aqm.red_max_threshold 2199023255552 out of range"},
      {K::kRed, [](AqmSpec& s) { s.red_avpkt = 0; },
       "aqm.red_avpkt 0 out of range [20, 65535] bytes"},
      {K::kRed, [](AqmSpec& s) { s.red_avpkt = 70'000; },
       "aqm.red_avpkt 70000 out of range [20, 65535] bytes"},
      {K::kCodel, [](AqmSpec& s) { s.codel_target = 0; },
       "aqm.codel_target 0 ns out of range (0, 10000000000] ns"},
      {K::kCodel, [](AqmSpec& s) { s.codel_target = -5; },
       "aqm.codel_target -5 ns out of range"},
      {K::kCodel, [](AqmSpec& s) { s.codel_interval = kMaxCodelTime + 1; },
       "aqm.codel_interval 10000000001 ns out of range (0, 10000000000] ns"},
      {K::kFqCodel, [](AqmSpec& s) { s.codel_interval = 0; },
       "aqm.codel_interval 0 ns out of range"},
      {K::kFqCodel, [](AqmSpec& s) { s.fq_flows = 0; },
       "aqm.fq_flows 0 out of range [1, 65536]"},
      {K::kFqCodel, [](AqmSpec& s) { s.fq_flows = kMaxFqFlows + 1; },
       "aqm.fq_flows 65537 out of range [1, 65536]"},
      {K::kFqCodel, [](AqmSpec& s) { s.fq_quantum = 63; },
       "aqm.fq_quantum 63 out of range [64, 65535] bytes"},
      {K::kFqCodel, [](AqmSpec& s) { s.fq_quantum = 65536; },
       "aqm.fq_quantum 65536 out of range [64, 65535] bytes"},
  };
  for (const BadCase& c : cases) {
    AqmSpec spec = Of(c.kind);
    c.edit(spec);
    const absl::Status s = ValidateAqmSpec(spec);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
  }
}

TEST(ValidateAqmSpecTest, BoundsAreInclusiveWhereTheRangeSaysSo) {
  AqmSpec red = Of(AqmSpec::Kind::kRed);
  red.red_max_p = 1;
  red.red_weight = 1;
  red.red_min_threshold = 0;
  red.red_max_threshold = 1;
  red.red_avpkt = 65535;
  EXPECT_TRUE(ValidateAqmSpec(red).ok());
  AqmSpec fq = Of(AqmSpec::Kind::kFqCodel);
  fq.codel_target = kMaxCodelTime;
  fq.codel_interval = 1;
  fq.fq_flows = kMaxFqFlows;
  fq.fq_quantum = 64;
  EXPECT_TRUE(ValidateAqmSpec(fq).ok());
}

TEST(ValidateAqmSpecTest, OnlyTheChosenDisciplinesFieldsAreChecked) {
  AqmSpec spec = Of(AqmSpec::Kind::kCodel);
  spec.red_max_p = 7;
  spec.fq_flows = 0;
  EXPECT_TRUE(ValidateAqmSpec(spec).ok());
  spec.kind = AqmSpec::Kind::kDropTail;
  spec.codel_target = 0;
  EXPECT_TRUE(ValidateAqmSpec(spec).ok());
}

TEST(MakeQueueDisciplineTest, BuildsEachKind) {
  const QueueLimits limits{.packets = 10, .bytes = 0};
  EXPECT_NE(
      dynamic_cast<DropTailQueue*>(
          MakeQueueDiscipline(Of(AqmSpec::Kind::kDropTail), limits, 1).get()),
      nullptr);
  EXPECT_NE(dynamic_cast<RedQueue*>(
                MakeQueueDiscipline(Of(AqmSpec::Kind::kRed), limits, 1).get()),
            nullptr);
  EXPECT_NE(
      dynamic_cast<CodelQueue*>(
          MakeQueueDiscipline(Of(AqmSpec::Kind::kCodel), limits, 1).get()),
      nullptr);
  EXPECT_NE(
      dynamic_cast<FqCodelQueue*>(
          MakeQueueDiscipline(Of(AqmSpec::Kind::kFqCodel), limits, 1).get()),
      nullptr);
}

TEST(MakeQueueDisciplineTest, EveryKindObeysTheHardPacketLimit) {
  for (AqmSpec::Kind k : {AqmSpec::Kind::kDropTail, AqmSpec::Kind::kRed,
                          AqmSpec::Kind::kCodel, AqmSpec::Kind::kFqCodel}) {
    std::unique_ptr<QueueDiscipline> q =
        MakeQueueDiscipline(Of(k), {.packets = 5, .bytes = 0}, 1);
    int dropped = 0;
    auto count = [&dropped](TimeNs, const QueuedPacket&, QueueAction a) {
      dropped += a == QueueAction::kDrop;
    };
    Ipv4Header ip;
    ip.src = 0x0a000001;
    ip.dst = 0x0a000002;
    TcpHeader tcp;
    tcp.src_port = 1;
    tcp.dst_port = 2;
    for (int i = 0; i < 8; ++i) {
      absl::StatusOr<Packet> p = BuildTcpPacket(ip, tcp, Payload());
      ASSERT_TRUE(p.ok());
      const Admission a = q->Admit(i, *p, true);
      if (a != Admission::kAccept) continue;
      QueuedPacket qp;
      qp.packet = *std::move(p);
      qp.enqueued = i;
      q->Push(i, std::move(qp), count);
    }
    EXPECT_LE(q->packets(), 5u) << static_cast<int>(k);
    EXPECT_GE(q->packets(), 3u) << static_cast<int>(k);
  }
}

}  // namespace
}  // namespace tcpemu
