// Tests for engine/cli/units: accepted forms of each flag value, rounding,
// and errors that name the flag and the allowed form or range.
#include "engine/cli/units.h"

#include <string>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

template <typename T>
T Ok(const absl::StatusOr<T>& v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : T{};
}

template <typename T>
std::string Error(const absl::StatusOr<T>& v) {
  EXPECT_FALSE(v.ok());
  if (v.ok()) return "";
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(v.status().message());
}

TEST(ParseDurationFlagTest, Accepted) {
  EXPECT_EQ(Ok(ParseDurationFlag("--delay", "25ms")), 25 * kMillisecond);
  EXPECT_EQ(Ok(ParseDurationFlag("--delay", "1.5s")), 1500 * kMillisecond);
  EXPECT_EQ(Ok(ParseDurationFlag("--delay", "100us")), 100 * kMicrosecond);
  EXPECT_EQ(Ok(ParseDurationFlag("--delay", "0")), 0);
  EXPECT_EQ(Ok(ParseDurationFlag("--delay", "250ns")), 250);
  EXPECT_EQ(Ok(ParseDurationFlag("--time-limit", "2m")), 120 * kSecond);
  EXPECT_EQ(Ok(ParseDurationFlag("--time-limit", "1h30m")), 5400 * kSecond);
}

TEST(ParseDurationFlagTest, Rejected) {
  EXPECT_EQ(Error(ParseDurationFlag("--delay", "25")),
            "--delay: \"25\" is not valid; expected a non-negative duration "
            "with a unit, e.g. 25ms, 1.5s, 100us or 0");
  EXPECT_NE(Error(ParseDurationFlag("--delay", "-5ms")).find("negative"),
            std::string::npos);
  EXPECT_NE(Error(ParseDurationFlag("--jitter", "")).find("--jitter"),
            std::string::npos);
  Error(ParseDurationFlag("--delay", "fast"));
  Error(ParseDurationFlag("--delay", "5 ms"));
  Error(ParseDurationFlag("--delay", "inf"));
  Error(ParseDurationFlag("--delay", "10000000h"));
}

TEST(ParseRateFlagTest, Accepted) {
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "20Mbit")), 20'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "1Gbit")), 1'000'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "100kbit")), 100'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "1.5Mbit")), 1'500'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "800bit")), 800u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "123456")), 123'456u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "10Kbps")), 10'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "50Mbps")), 50'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "10Gbps")), 10'000'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "10mbit")), 10'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "0.1Gbit")), 100'000'000u);
  EXPECT_EQ(Ok(ParseRateFlag("--rate", "0")), 0u);
}

TEST(ParseRateFlagTest, Rejected) {
  const std::string msg = Error(ParseRateFlag("--rate", "20MB"));
  EXPECT_NE(msg.find("--rate: \"20MB\" is not valid"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("20Mbit"), std::string::npos) << msg;
  Error(ParseRateFlag("--rate", ""));
  Error(ParseRateFlag("--rate", "Mbit"));
  Error(ParseRateFlag("--rate", "-1Mbit"));
  Error(ParseRateFlag("--rate", "1.2.3Mbit"));
  Error(ParseRateFlag("--rate", "1e6"));
  Error(ParseRateFlag("--rate", "nan"));
  Error(ParseRateFlag("--rate", "20 Mbit"));
  EXPECT_NE(Error(ParseRateFlag("--rate", "99999999999Tbit")).find("too large"),
            std::string::npos);
}

TEST(ParseSizeFlagTest, Accepted) {
  EXPECT_EQ(Ok(ParseSizeFlag("--queue", "65536")), 65536u);
  EXPECT_EQ(Ok(ParseSizeFlag("--queue", "64KiB")), 65536u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "1MiB")), 1u << 20);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "1GiB")), 1u << 30);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "10kB")), 10'000u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "10KB")), 10'000u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "10MB")), 10'000'000u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "2GB")), 2'000'000'000u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "1.5MiB")), 1'572'864u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "100B")), 100u);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "2TiB")), uint64_t{2} << 40);
  EXPECT_EQ(Ok(ParseSizeFlag("--bytes", "0")), 0u);
}

TEST(ParseSizeFlagTest, Rejected) {
  const std::string msg = Error(ParseSizeFlag("--send-buffer", "64kib"));
  EXPECT_NE(msg.find("--send-buffer: \"64kib\" is not valid"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("64KiB"), std::string::npos) << msg;
  Error(ParseSizeFlag("--bytes", "10Mbit"));
  Error(ParseSizeFlag("--bytes", "10Mb"));
  Error(ParseSizeFlag("--bytes", "KiB"));
  Error(ParseSizeFlag("--bytes", "-1"));
  Error(ParseSizeFlag("--bytes", " 10"));
}

TEST(ParseProbabilityFlagTest, Accepted) {
  EXPECT_DOUBLE_EQ(Ok(ParseProbabilityFlag("--loss", "0.01")), 0.01);
  EXPECT_DOUBLE_EQ(Ok(ParseProbabilityFlag("--loss", "0")), 0.0);
  EXPECT_DOUBLE_EQ(Ok(ParseProbabilityFlag("--loss", "1")), 1.0);
  EXPECT_DOUBLE_EQ(Ok(ParseProbabilityFlag("--loss", "1e-4")), 1e-4);
  EXPECT_DOUBLE_EQ(Ok(ParseProbabilityFlag("--loss", ".5")), 0.5);
}

TEST(ParseProbabilityFlagTest, Rejected) {
  EXPECT_EQ(Error(ParseProbabilityFlag("--loss", "1.5")),
            "--loss: 1.5 out of range [0, 1]");
  EXPECT_EQ(Error(ParseProbabilityFlag("--corrupt", "-0.1")),
            "--corrupt: -0.1 out of range [0, 1]");
  EXPECT_EQ(Error(ParseProbabilityFlag("--loss", "1%")),
            "--loss: \"1%\" is not valid; expected a probability in [0, 1], "
            "e.g. 0.01");
  Error(ParseProbabilityFlag("--loss", ""));
  Error(ParseProbabilityFlag("--loss", "nan"));
  Error(ParseProbabilityFlag("--loss", "inf"));
  Error(ParseProbabilityFlag("--loss", "half"));
}

TEST(ParseGeLossFlagTest, Accepted) {
  const GeLossParams ge = Ok(ParseGeLossFlag("--ge-loss", "0.01,0.3,0.1,1"));
  EXPECT_DOUBLE_EQ(ge.p, 0.01);
  EXPECT_DOUBLE_EQ(ge.r, 0.3);
  EXPECT_DOUBLE_EQ(ge.h, 0.1);
  EXPECT_DOUBLE_EQ(ge.k, 1.0);
  const GeLossParams spaced =
      Ok(ParseGeLossFlag("--ge-loss", "0.5, 0.5, 0, 0.99"));
  EXPECT_DOUBLE_EQ(spaced.k, 0.99);
}

TEST(ParseGeLossFlagTest, Rejected) {
  EXPECT_EQ(Error(ParseGeLossFlag("--ge-loss", "0.1,0.2,0.3")),
            "--ge-loss: \"0.1,0.2,0.3\" is not valid; expected four "
            "probabilities p,r,h,k in [0, 1], e.g. 0.01,0.3,0,1");
  Error(ParseGeLossFlag("--ge-loss", "0.1,0.2,0.3,0.4,0.5"));
  Error(ParseGeLossFlag("--ge-loss", ""));
  Error(ParseGeLossFlag("--ge-loss", "0.1,,0.3,0.4"));
  EXPECT_EQ(Error(ParseGeLossFlag("--ge-loss", "0.1,1.5,0.3,0.4")),
            "--ge-loss (r in p,r,h,k): 1.5 out of range [0, 1]");
}

}  // namespace
}  // namespace tcpemu
