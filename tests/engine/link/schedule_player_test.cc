#include "engine/link/schedule_player.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

std::shared_ptr<const LinkSchedule> Make(std::vector<SchedulePoint> points,
                                         DurationNs repeat = 0) {
  auto s = std::make_shared<LinkSchedule>();
  s->points = std::move(points);
  s->repeat = repeat;
  return s;
}

TEST(SchedulePlayerTest, StepsApplyTheirFieldsAtTheirTimes) {
  SchedulePoint a{.at = 10 * kMillisecond, .rate_bps = 5'000'000};
  SchedulePoint b{.at = 30 * kMillisecond, .delay = 7 * kMillisecond};
  SchedulePoint c{.at = 30 * kMillisecond, .down = true};
  ScheduledValues initial{.rate_bps = 1'000'000, .delay = kMillisecond};
  SchedulePlayer p(Make({a, b, c}), 100 * kMillisecond, initial);
  EXPECT_EQ(p.next_change(), 110 * kMillisecond);
  EXPECT_EQ(p.Step().rate_bps, 5'000'000u);
  EXPECT_EQ(p.values().delay, kMillisecond);  // untouched
  EXPECT_EQ(p.next_change(), 130 * kMillisecond);
  EXPECT_EQ(p.Step().delay, 7 * kMillisecond);
  EXPECT_EQ(p.next_change(), 130 * kMillisecond);
  EXPECT_TRUE(p.Step().down);
  EXPECT_EQ(p.values().rate_bps, 5'000'000u);
  EXPECT_EQ(p.next_change(), kNever);
}

TEST(SchedulePlayerTest, RampsMoveLinearlyInRampSteps) {
  SchedulePoint flat{.at = 0, .rate_bps = 10'000'000, .loss = 0};
  SchedulePoint ramp{.at = 100 * kMillisecond,
                     .ramp = true,
                     .rate_bps = 20'000'000,
                     .loss = 0.1};
  SchedulePlayer p(Make({flat, ramp}), 0, {});
  EXPECT_EQ(p.next_change(), 0);
  p.Step();
  std::vector<uint64_t> rates;
  std::vector<TimeNs> times;
  while (p.next_change() != kNever) {
    times.push_back(p.next_change());
    rates.push_back(p.Step().rate_bps);
  }
  ASSERT_EQ(rates.size(), 10u);  // 10, 20, ..., 90 ms, then 100 ms
  for (size_t i = 0; i < rates.size(); ++i) {
    EXPECT_EQ(times[i], static_cast<TimeNs>(i + 1) * 10 * kMillisecond);
    EXPECT_EQ(rates[i], 10'000'000u + (i + 1) * 1'000'000u);
  }
  EXPECT_DOUBLE_EQ(p.values().loss, 0.1);
}

TEST(SchedulePlayerTest, RepeatingSchedulesCycle) {
  SchedulePoint up{.at = 0, .rate_bps = 1'000'000};
  SchedulePoint down{.at = 40 * kMillisecond, .rate_bps = 2'000'000};
  SchedulePlayer p(Make({up, down}, 100 * kMillisecond), 5, {});
  std::vector<TimeNs> times;
  std::vector<uint64_t> rates;
  for (int i = 0; i < 6; ++i) {
    times.push_back(p.next_change());
    rates.push_back(p.Step().rate_bps);
  }
  EXPECT_EQ(times, (std::vector<TimeNs>{
                       5, 40 * kMillisecond + 5, 100 * kMillisecond + 5,
                       140 * kMillisecond + 5, 200 * kMillisecond + 5,
                       240 * kMillisecond + 5}));
  EXPECT_EQ(rates, (std::vector<uint64_t>{1'000'000, 2'000'000, 1'000'000,
                                          2'000'000, 1'000'000, 2'000'000}));
}

}  // namespace
}  // namespace tcpemu
