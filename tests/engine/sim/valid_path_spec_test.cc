// ValidPathSpec: only valid specs get through Check.
#include "engine/sim/valid_path_spec.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(ValidPathSpecTest, CheckKeepsAValidSpec) {
  PathSpec p;
  p.delay = 5 * kMillisecond;
  p.rate_bps = 10'000'000;
  absl::StatusOr<ValidPathSpec> v = ValidPathSpec::Check(p);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->spec().delay, p.delay);
  EXPECT_EQ(v->spec().rate_bps, p.rate_bps);
}

TEST(ValidPathSpecTest, CheckRefusesAnInvalidSpecNamingTheField) {
  PathSpec p;
  p.loss.model = LossSpec::Model::kRandom;
  p.loss.p = 2;
  absl::StatusOr<ValidPathSpec> v = ValidPathSpec::Check(p);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message().rfind("loss.p", 0), 0u) << v.status();
}

TEST(ValidPathSpecTest, TheDefaultIsTheDefaultPath) {
  EXPECT_TRUE(ValidatePathSpec(ValidPathSpec().spec()).ok());
  EXPECT_EQ(ValidPathSpec().spec().delay, PathSpec().delay);
}

}  // namespace
}  // namespace tcpemu
