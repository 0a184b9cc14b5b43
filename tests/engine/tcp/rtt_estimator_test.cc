// Tests for RttEstimator (RFC 6298): the first and later samples, clock
// granularity, clamping to [rto_min, rto_max] and exponential backoff.
#include "engine/tcp/rtt_estimator.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr DurationNs kMs = kMillisecond;

TEST(RttEstimatorTest, InitialRtoBeforeAnySample) {
  RttEstimator r(1 * kSecond, 200 * kMs, 120 * kSecond);
  EXPECT_FALSE(r.has_sample());
  EXPECT_EQ(r.rto(), 1 * kSecond);  // RFC 6298 2.1
  EXPECT_EQ(r.srtt(), 0);
  EXPECT_EQ(r.rttvar(), 0);
}

TEST(RttEstimatorTest, InitialRtoIsClamped) {
  EXPECT_EQ(RttEstimator(100 * kMs, 200 * kMs, 1 * kSecond).rto(), 200 * kMs);
  EXPECT_EQ(RttEstimator(5 * kSecond, 200 * kMs, 1 * kSecond).rto(),
            1 * kSecond);
}

TEST(RttEstimatorTest, FirstSample) {
  RttEstimator r(1 * kSecond, 1 * kMs, 120 * kSecond);
  r.Sample(100 * kMs);
  // RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 * RTTVAR).
  EXPECT_TRUE(r.has_sample());
  EXPECT_EQ(r.srtt(), 100 * kMs);
  EXPECT_EQ(r.rttvar(), 50 * kMs);
  EXPECT_EQ(r.rto(), 300 * kMs);
}

TEST(RttEstimatorTest, LaterSamplesUseAlphaEighthBetaQuarter) {
  RttEstimator r(1 * kSecond, 1 * kMs, 120 * kSecond);
  r.Sample(100 * kMs);
  r.Sample(300 * kMs);
  // RFC 6298 2.3, RTTVAR first with the old SRTT:
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 300| = 87.5 ms,
  // SRTT = 7/8 * 100 + 1/8 * 300 = 125 ms, RTO = 125 + 350 = 475 ms.
  EXPECT_EQ(r.rttvar(), 87'500'000);
  EXPECT_EQ(r.srtt(), 125 * kMs);
  EXPECT_EQ(r.rto(), 475 * kMs);
  r.Sample(125 * kMs);
  // RTTVAR = 3/4 * 87.5 = 65.625 ms; SRTT unchanged; RTO = 125 + 262.5.
  EXPECT_EQ(r.rttvar(), 65'625'000);
  EXPECT_EQ(r.srtt(), 125 * kMs);
  EXPECT_EQ(r.rto(), 387'500'000);
}

TEST(RttEstimatorTest, ConvergesOnSteadyRtt) {
  RttEstimator r(1 * kSecond, 1 * kMs, 120 * kSecond);
  r.Sample(500 * kMs);
  for (int i = 0; i < 200; ++i) r.Sample(40 * kMs);
  EXPECT_NEAR(static_cast<double>(r.srtt()), 40.0 * kMs, 1.0 * kMs);
  EXPECT_LT(r.rttvar(), 1 * kMs);
  EXPECT_NEAR(static_cast<double>(r.rto()), 40.0 * kMs, 2.0 * kMs);
}

TEST(RttEstimatorTest, GranularityFloorsTheVarianceTerm) {
  // With no variance, RTO = SRTT + G; the engine clock's G is 1 us.
  RttEstimator r(1 * kSecond, 0, 120 * kSecond);
  r.Sample(0);
  EXPECT_EQ(r.rto(), 1 * kMicrosecond);
  r.Sample(0);
  EXPECT_EQ(r.rto(), 1 * kMicrosecond);
}

TEST(RttEstimatorTest, RtoClampedToMinAndMax) {
  RttEstimator lo(1 * kSecond, 200 * kMs, 2 * kSecond);
  lo.Sample(10 * kMs);  // 30 ms computed
  EXPECT_EQ(lo.rto(), 200 * kMs);
  EXPECT_EQ(lo.srtt(), 10 * kMs);  // the estimate itself is not clamped
  RttEstimator hi(1 * kSecond, 200 * kMs, 2 * kSecond);
  hi.Sample(5 * kSecond);
  EXPECT_EQ(hi.rto(), 2 * kSecond);
}

TEST(RttEstimatorTest, NegativeSampleCountsAsZero) {
  RttEstimator r(1 * kSecond, 0, 120 * kSecond);
  r.Sample(-5 * kMs);
  EXPECT_EQ(r.srtt(), 0);
  EXPECT_EQ(r.rttvar(), 0);
}

TEST(RttEstimatorTest, BackoffDoublesUpToMax) {
  RttEstimator r(1 * kSecond, 200 * kMs, 5 * kSecond);
  r.Backoff();
  EXPECT_EQ(r.rto(), 2 * kSecond);  // RFC 6298 5.5
  r.Backoff();
  EXPECT_EQ(r.rto(), 4 * kSecond);
  r.Backoff();
  EXPECT_EQ(r.rto(), 5 * kSecond);
  r.Backoff();
  EXPECT_EQ(r.rto(), 5 * kSecond);
  EXPECT_FALSE(r.has_sample());
}

TEST(RttEstimatorTest, SampleAfterBackoffRecomputesRto) {
  RttEstimator r(1 * kSecond, 200 * kMs, 60 * kSecond);
  r.Sample(100 * kMs);
  r.Backoff();
  r.Backoff();
  EXPECT_EQ(r.rto(), 1200 * kMs);
  // The backed-off value is kept until a new measurement, which collapses it
  // (RFC 6298 5.7 note).
  r.Sample(100 * kMs);
  // RTTVAR = 3/4 * 50 = 37.5 ms, SRTT = 100 ms, RTO = 250 ms.
  EXPECT_EQ(r.rto(), 250 * kMs);
}

}  // namespace
}  // namespace tcpemu
