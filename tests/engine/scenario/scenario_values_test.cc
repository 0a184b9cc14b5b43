#include "engine/scenario/scenario_values.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(ScenarioValuesTest, Durations) {
  EXPECT_EQ(ParseScenarioDuration("40ms"), 40 * kMillisecond);
  EXPECT_EQ(ParseScenarioDuration("1.5s"), 1500 * kMillisecond);
  EXPECT_EQ(ParseScenarioDuration("100us"), 100 * kMicrosecond);
  EXPECT_EQ(ParseScenarioDuration("2m"), 120 * kSecond);
  EXPECT_EQ(ParseScenarioDuration("0"), 0);
  EXPECT_EQ(ParseScenarioDuration("5"), std::nullopt);  // no unit
  EXPECT_EQ(ParseScenarioDuration("-1s"), std::nullopt);
  EXPECT_EQ(ParseScenarioDuration("1 s"), std::nullopt);
  EXPECT_EQ(ParseScenarioDuration("1parsec"), std::nullopt);
}

TEST(ScenarioValuesTest, Rates) {
  EXPECT_EQ(ParseScenarioRate("10mbit"), 10'000'000u);
  EXPECT_EQ(ParseScenarioRate("1Gbit"), 1'000'000'000u);
  EXPECT_EQ(ParseScenarioRate("12.5mbps"), 12'500'000u);
  EXPECT_EQ(ParseScenarioRate("800"), 800u);
  EXPECT_EQ(ParseScenarioRate("10 Mbps"), std::nullopt);
  EXPECT_EQ(ParseScenarioRate("fast"), std::nullopt);
}

TEST(ScenarioValuesTest, Sizes) {
  EXPECT_EQ(ParseScenarioSize("64KiB"), 65536u);
  EXPECT_EQ(ParseScenarioSize("1MB"), 1'000'000u);
  EXPECT_EQ(ParseScenarioSize("1.5MiB"), 1572864u);
  EXPECT_EQ(ParseScenarioSize("1500"), 1500u);
  EXPECT_EQ(ParseScenarioSize("1500B"), 1500u);
  EXPECT_EQ(ParseScenarioSize("3 apples"), std::nullopt);
}

TEST(ScenarioValuesTest, Probabilities) {
  EXPECT_DOUBLE_EQ(*ParseScenarioProbability("0.1%"), 0.001);
  EXPECT_DOUBLE_EQ(*ParseScenarioProbability("0.001"), 0.001);
  EXPECT_DOUBLE_EQ(*ParseScenarioProbability("1e-3"), 0.001);
  EXPECT_EQ(ParseScenarioProbability("101%"), std::nullopt);
  EXPECT_EQ(ParseScenarioProbability("1.5"), std::nullopt);
  EXPECT_EQ(ParseScenarioProbability("nan"), std::nullopt);
}

}  // namespace
}  // namespace tcpemu
