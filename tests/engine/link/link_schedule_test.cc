#include "engine/link/link_schedule.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

TEST(MahimahiTraceTest, ParsesOneOpportunityPerLine) {
  absl::StatusOr<DeliveryTrace> t =
      ParseMahimahiTrace("0\n1\n1\n\n5\r\n12\n", "cell");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunities_ms, (std::vector<uint32_t>{0, 1, 1, 5, 12}));
  EXPECT_EQ(t->name, "cell");
}

TEST(MahimahiTraceTest, ErrorsNameTheLine) {
  absl::StatusOr<DeliveryTrace> t = ParseMahimahiTrace("1\n2\nx9\n", "bad");
  EXPECT_THAT(t.status().message(), HasSubstr("line 3"));
  t = ParseMahimahiTrace("1\n5\n4\n", "bad");
  EXPECT_THAT(t.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(t.status().message(), HasSubstr("before"));
  t = ParseMahimahiTrace("\n\n", "empty");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  t = ParseMahimahiTrace("0\n0\n", "zero");
  EXPECT_THAT(t.status().message(), HasSubstr("> 0 ms"));
  t = ParseMahimahiTrace("-1\n", "negative");
  EXPECT_THAT(t.status().message(), HasSubstr("line 1"));
}

TEST(LinkScheduleTest, ValidationNamesTheField) {
  LinkSchedule s;
  EXPECT_THAT(ValidateLinkSchedule(s).message(), HasSubstr("schedule.points"));
  s.points.push_back({.at = 10 * kMillisecond});
  s.points.push_back({.at = 5 * kMillisecond});
  EXPECT_THAT(ValidateLinkSchedule(s).message(),
              HasSubstr("schedule.points[1].at"));
  s.points[1].at = 20 * kMillisecond;
  s.points[1].loss = 2;
  EXPECT_THAT(ValidateLinkSchedule(s).message(),
              HasSubstr("schedule.points[1].loss 2 out of range [0, 1]"));
  s.points[1].loss = 0.5;
  s.repeat = 20 * kMillisecond;
  EXPECT_THAT(ValidateLinkSchedule(s).message(), HasSubstr("schedule.repeat"));
  s.repeat = 0;
  s.ramp_step = 10;
  EXPECT_THAT(ValidateLinkSchedule(s).message(),
              HasSubstr("schedule.ramp_step"));
  s.ramp_step = kMillisecond;
  EXPECT_TRUE(ValidateLinkSchedule(s).ok());
}

}  // namespace
}  // namespace tcpemu
