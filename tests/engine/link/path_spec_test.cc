// Tests for PathSpec validation: every bad field is named with its range.
#include "engine/link/path_spec.h"

#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const PathSpec& spec) {
  absl::Status s = ValidatePathSpec(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  return std::string(s.message());
}

TEST(PathSpecTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidatePathSpec(PathSpec{}).ok());
}

TEST(PathSpecTest, FullyLoadedSpecIsValid) {
  PathSpec s;
  s.delay = 50 * kMillisecond;
  s.jitter = {5 * kMillisecond, JitterSpec::Distribution::kNormal, 0.25, true};
  s.rate_bps = 10'000'000;
  s.queue_limit_packets = 0;
  s.queue_limit_bytes = 100'000;
  s.loss = {LossSpec::Model::kGilbertElliott, 0.01, 0.3, 0.1, 0.99};
  s.duplicate = 1;
  s.reorder = 0.5;
  s.reorder_gap = 5;
  s.corrupt = 0;
  s.mtu = kMinMtu;
  EXPECT_TRUE(ValidatePathSpec(s).ok());
  s.mtu = kMaxMtu;
  s.rate_bps = kMaxRateBps;
  EXPECT_TRUE(ValidatePathSpec(s).ok());
}

TEST(PathSpecTest, ProbabilitiesNameFieldAndRange) {
  PathSpec s;
  s.loss.p = 1.5;
  EXPECT_EQ(ErrorOf(s), "loss.p 1.5 out of range [0, 1]");
  s = {};
  s.loss.r = -0.1;
  EXPECT_EQ(ErrorOf(s), "loss.r -0.1 out of range [0, 1]");
  s = {};
  s.loss.h = 2;
  EXPECT_EQ(ErrorOf(s), "loss.h 2 out of range [0, 1]");
  s = {};
  s.loss.k = 1.01;
  EXPECT_EQ(ErrorOf(s), "loss.k 1.01 out of range [0, 1]");
  s = {};
  s.duplicate = -1;
  EXPECT_EQ(ErrorOf(s), "duplicate -1 out of range [0, 1]");
  s = {};
  s.reorder = 3;
  EXPECT_EQ(ErrorOf(s), "reorder 3 out of range [0, 1]");
  s = {};
  s.corrupt = 1.25;
  EXPECT_EQ(ErrorOf(s), "corrupt 1.25 out of range [0, 1]");
  s = {};
  s.jitter.correlation = 1.5;
  EXPECT_EQ(ErrorOf(s), "jitter.correlation 1.5 out of range [0, 1]");
}

TEST(PathSpecTest, NanIsRejected) {
  PathSpec s;
  s.corrupt = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(ErrorOf(s), HasSubstr("corrupt"));
  s = {};
  s.loss.p = std::nan("");
  EXPECT_THAT(ErrorOf(s), HasSubstr("loss.p"));
}

TEST(PathSpecTest, MtuRange) {
  PathSpec s;
  s.mtu = 100;
  EXPECT_TRUE(ValidatePathSpec(s).ok());
  s.mtu = 67;
  EXPECT_EQ(ErrorOf(s), "mtu 67 out of range [68, 65535]");
  s.mtu = 65536;
  EXPECT_EQ(ErrorOf(s), "mtu 65536 out of range [68, 65535]");
}

TEST(PathSpecTest, DurationsAndRate) {
  PathSpec s;
  s.delay = -1;
  EXPECT_EQ(ErrorOf(s), "delay -1ns out of range [0, 3600000000000ns]");
  s = {};
  s.delay = kMaxPathDelay + 1;
  EXPECT_THAT(ErrorOf(s), HasSubstr("delay"));
  s = {};
  s.jitter.jitter = -5;
  EXPECT_THAT(ErrorOf(s), HasSubstr("jitter -5ns out of range"));
  s = {};
  s.rate_bps = kMaxRateBps + 1;
  EXPECT_EQ(ErrorOf(s),
            "rate_bps 1000000000000001 out of range [0, 1000000000000000]");
}

TEST(PathSpecTest, EnumsOutsideTheirValues) {
  PathSpec s;
  s.loss.model = static_cast<LossSpec::Model>(7);
  EXPECT_THAT(ErrorOf(s), HasSubstr("loss.model 7"));
  s = {};
  s.jitter.distribution = static_cast<JitterSpec::Distribution>(9);
  EXPECT_THAT(ErrorOf(s), HasSubstr("jitter.distribution 9"));
}

}  // namespace
}  // namespace tcpemu
