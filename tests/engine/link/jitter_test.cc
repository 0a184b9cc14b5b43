// Tests for delay jitter: bounds and spread of both distributions, netem
// correlation, and that a disabled model draws nothing.
#include "engine/link/jitter.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

JitterSpec Spec(DurationNs j, JitterSpec::Distribution d, double rho = 0) {
  JitterSpec s;
  s.jitter = j;
  s.distribution = d;
  s.correlation = rho;
  return s;
}

struct Stats {
  double mean = 0, stddev = 0, lag1 = 0;  // lag-1 autocorrelation
  DurationNs min = 0, max = 0;
};

Stats Measure(JitterModel& m, Rng& rng, int n) {
  std::vector<double> v(n);
  Stats s;
  s.min = s.max = 0;
  for (int i = 0; i < n; ++i) {
    const DurationNs x = m.Sample(rng);
    v[i] = static_cast<double>(x);
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
    s.mean += v[i];
  }
  s.mean /= n;
  double var = 0, cov = 0;
  for (int i = 0; i < n; ++i) {
    var += (v[i] - s.mean) * (v[i] - s.mean);
    if (i > 0) cov += (v[i] - s.mean) * (v[i - 1] - s.mean);
  }
  s.stddev = std::sqrt(var / n);
  s.lag1 = cov / var;
  return s;
}

TEST(JitterTest, ZeroJitterDrawsNothing) {
  JitterModel m;
  Rng rng(1), reference(1);
  EXPECT_FALSE(m.enabled());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(m.Sample(rng), 0);
  EXPECT_EQ(rng.Next(), reference.Next());
}

TEST(JitterTest, UniformStaysWithinBoundsAndCoversThem) {
  const DurationNs j = 1000;
  JitterModel m(Spec(j, JitterSpec::Distribution::kUniform));
  Rng rng(2);
  const Stats s = Measure(m, rng, 100'000);
  EXPECT_GE(s.min, -j);
  EXPECT_LE(s.max, j);
  EXPECT_LT(s.min, -0.99 * j);
  EXPECT_GT(s.max, 0.99 * j);
  EXPECT_NEAR(s.mean, 0, 10);
  EXPECT_NEAR(s.stddev, j / std::sqrt(3.0), 10);  // uniform on [-j, j]
  EXPECT_NEAR(s.lag1, 0, 0.02);
}

TEST(JitterTest, NormalHasTheGivenSpreadAndIsClamped) {
  const DurationNs j = 1000;
  JitterModel m(Spec(j, JitterSpec::Distribution::kNormal));
  Rng rng(3);
  const Stats s = Measure(m, rng, 100'000);
  EXPECT_NEAR(s.mean, 0, 15);
  EXPECT_NEAR(s.stddev, j, 15);
  EXPECT_GE(s.min, -4 * j);
  EXPECT_LE(s.max, 4 * j);
  EXPECT_GT(s.max, 3 * j);  // the tails are there
}

TEST(JitterTest, CorrelationFollowsNetem) {
  // x_n = rho x_{n-1} + (1 - rho) fresh gives lag-1 autocorrelation rho.
  for (auto d : {JitterSpec::Distribution::kUniform,
                 JitterSpec::Distribution::kNormal}) {
    JitterModel m(Spec(1'000'000, d, 0.8));
    Rng rng(4);
    const Stats s = Measure(m, rng, 100'000);
    EXPECT_NEAR(s.lag1, 0.8, 0.02);
    EXPECT_NEAR(s.mean, 0, 5'000);
  }
}

TEST(JitterTest, CorrelationOneRepeatsTheCentre) {
  JitterModel m(Spec(1000, JitterSpec::Distribution::kUniform, 1));
  Rng rng(5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(m.Sample(rng), 0);
}

TEST(JitterTest, SameSeedSameSamples) {
  JitterModel a(Spec(5000, JitterSpec::Distribution::kNormal, 0.3));
  JitterModel b(Spec(5000, JitterSpec::Distribution::kNormal, 0.3));
  Rng ra(6), rb(6);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Sample(ra), b.Sample(rb));
}

}  // namespace
}  // namespace tcpemu
