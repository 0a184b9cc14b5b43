// Tests for engine/cli/sim_options: tcpemu-sim's flags, their defaults, the
// link and session specs they build, and errors that name the flag.
#include "engine/cli/sim_options.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

absl::StatusOr<SimOptions> Parse(std::vector<std::string_view> args) {
  return ParseSimOptions(absl::MakeConstSpan(args));
}

SimOptions Ok(std::vector<std::string_view> args) {
  absl::StatusOr<SimOptions> o = Parse(args);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : SimOptions();
}

std::string Error(std::vector<std::string_view> args) {
  absl::StatusOr<SimOptions> o = Parse(args);
  EXPECT_FALSE(o.ok());
  if (o.ok()) return "";
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(o.status().message());
}

TEST(SimOptionsTest, Defaults) {
  SimOptions o = Ok({});
  EXPECT_EQ(o.bytes, 10u * 1024 * 1024);
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.time_limit, 600 * kSecond);
  EXPECT_TRUE(o.digest);
  EXPECT_FALSE(o.json);
  EXPECT_FALSE(o.help);
  EXPECT_TRUE(o.events_path.empty());
  EXPECT_EQ(o.reader_rate, 0u);
  EXPECT_EQ(o.path.delay, 0);
  EXPECT_EQ(o.path.rate_bps, 0u);
  EXPECT_EQ(o.path.loss.model, LossSpec::Model::kNone);
  EXPECT_EQ(o.path.queue_limit_packets, PathSpec().queue_limit_packets);
  EXPECT_EQ(o.tcp.mtu, 1500u);
  EXPECT_TRUE(o.tcp.delayed_ack);
}

TEST(SimOptionsTest, EveryFlag) {
  SimOptions o = Ok({"--bytes",
                     "64KiB",
                     "--delay",
                     "25ms",
                     "--jitter",
                     "2ms",
                     "--rate",
                     "20Mbit",
                     "--queue",
                     "32KiB",
                     "--loss",
                     "0.01",
                     "--reorder",
                     "0.02",
                     "--duplicate",
                     "0.03",
                     "--corrupt",
                     "0.04",
                     "--mtu",
                     "9000",
                     "--nodelay",
                     "--cork",
                     "--send-buffer",
                     "1MiB",
                     "--recv-buffer",
                     "512KiB",
                     "--reader-rate",
                     "100kB",
                     "--cc",
                     "newreno",
                     "--no-delayed-ack",
                     "--rto-min",
                     "50ms",
                     "--initial-window",
                     "4",
                     "--msl",
                     "1s",
                     "--seed",
                     "18446744073709551615",
                     "--time-limit",
                     "1.5s",
                     "--events",
                     "out.jsonl",
                     "--json",
                     "--no-digest"});
  EXPECT_EQ(o.bytes, 65536u);
  EXPECT_EQ(o.path.delay, 25 * kMillisecond);
  EXPECT_EQ(o.path.jitter.jitter, 2 * kMillisecond);
  EXPECT_EQ(o.path.rate_bps, 20'000'000u);
  EXPECT_EQ(o.path.queue_limit_bytes, 32768u);
  EXPECT_EQ(o.path.queue_limit_packets, 0u);
  EXPECT_EQ(o.path.loss.model, LossSpec::Model::kRandom);
  EXPECT_DOUBLE_EQ(o.path.loss.p, 0.01);
  EXPECT_DOUBLE_EQ(o.path.reorder, 0.02);
  EXPECT_DOUBLE_EQ(o.path.duplicate, 0.03);
  EXPECT_DOUBLE_EQ(o.path.corrupt, 0.04);
  EXPECT_EQ(o.path.mtu, 9000u);
  EXPECT_EQ(o.tcp.mtu, 9000u);
  EXPECT_EQ(o.tcp.mss(), 8960u);
  EXPECT_TRUE(o.tcp.nodelay);
  EXPECT_TRUE(o.tcp.cork);
  EXPECT_EQ(o.tcp.send_buffer, 1024u * 1024);
  EXPECT_EQ(o.tcp.recv_buffer, 512u * 1024);
  EXPECT_EQ(o.reader_rate, 100'000u);
  EXPECT_EQ(o.tcp.cc, CcAlgorithm::kNewReno);
  EXPECT_FALSE(o.tcp.delayed_ack);
  EXPECT_EQ(o.tcp.rto_min, 50 * kMillisecond);
  EXPECT_EQ(o.tcp.initial_window, 4u);
  EXPECT_EQ(o.tcp.msl, kSecond);
  EXPECT_EQ(o.seed, 18446744073709551615u);
  EXPECT_EQ(o.time_limit, 1500 * kMillisecond);
  EXPECT_EQ(o.events_path, "out.jsonl");
  EXPECT_TRUE(o.json);
  EXPECT_FALSE(o.digest);
}

TEST(SimOptionsTest, EqualsFormAndLaterFlagWins) {
  SimOptions o = Ok({"--delay=10ms", "--delay", "30ms", "--no-delayed-ack",
                     "--delayed-ack", "--seed=7"});
  EXPECT_EQ(o.path.delay, 30 * kMillisecond);
  EXPECT_TRUE(o.tcp.delayed_ack);
  EXPECT_EQ(o.seed, 7u);
}

TEST(SimOptionsTest, QueueInPackets) {
  SimOptions o = Ok({"--queue", "100p"});
  EXPECT_EQ(o.path.queue_limit_packets, 100u);
  EXPECT_EQ(o.path.queue_limit_bytes, 0u);
  o = Ok({"--queue", "0p"});
  EXPECT_EQ(o.path.queue_limit_packets, 0u);
  EXPECT_EQ(o.path.queue_limit_bytes, 0u);
}

TEST(SimOptionsTest, LossModels) {
  EXPECT_EQ(Ok({"--loss", "0"}).path.loss.model, LossSpec::Model::kNone);
  SimOptions o = Ok({"--ge-loss", "0.01,0.3,0.1,0.9"});
  EXPECT_EQ(o.path.loss.model, LossSpec::Model::kGilbertElliott);
  EXPECT_DOUBLE_EQ(o.path.loss.p, 0.01);
  EXPECT_DOUBLE_EQ(o.path.loss.r, 0.3);
  EXPECT_DOUBLE_EQ(o.path.loss.h, 0.1);
  EXPECT_DOUBLE_EQ(o.path.loss.k, 0.9);
  EXPECT_EQ(Error({"--loss", "0.1", "--ge-loss", "0.01,0.3,0,1"}),
            "--loss and --ge-loss: choose one loss model, not both");
}

TEST(SimOptionsTest, ResultIsAValidLinkAndSession) {
  SimOptions o = Ok({"--mtu", "68", "--delay", "1h", "--rate", "1000Tbit",
                     "--initial-window", "1000", "--rto-min", "60s"});
  EXPECT_TRUE(ValidatePathSpec(o.path).ok());
  EXPECT_TRUE(o.tcp.Validate().ok());
}

TEST(SimOptionsTest, MakeSessionSpec) {
  SimOptions o = Ok({"--reader-rate", "64KiB", "--no-digest", "--nodelay"});
  SessionSpec spec = MakeSessionSpec(o, 3);
  EXPECT_EQ(spec.link_id, 3u);
  EXPECT_TRUE(spec.client.nodelay);
  EXPECT_TRUE(spec.server.nodelay);
  EXPECT_EQ(spec.server_reader.mode, ReaderMode::kRate);
  EXPECT_EQ(spec.server_reader.rate_bytes_per_sec, 65536u);
  EXPECT_EQ(spec.client_reader.mode, ReaderMode::kAuto);
  EXPECT_FALSE(spec.digest);

  spec = MakeSessionSpec(Ok({}), 1);
  EXPECT_EQ(spec.server_reader.mode, ReaderMode::kAuto);
  EXPECT_TRUE(spec.digest);
}

TEST(SimOptionsTest, Help) {
  EXPECT_TRUE(Ok({"--help"}).help);
  EXPECT_TRUE(Ok({"-h"}).help);
  EXPECT_NE(SimUsage().find("--ge-loss"), std::string::npos);
}

TEST(SimOptionsTest, ErrorsNameTheFlagAndRange) {
  EXPECT_EQ(Error({"--loss", "1.5"}), "--loss: 1.5 out of range [0, 1]");
  EXPECT_EQ(Error({"--mtu", "40"}), "--mtu: 40 out of range [68, 65535]");
  EXPECT_EQ(Error({"--mtu", "65536"}), "--mtu: 65536 out of range [68, 65535]");
  EXPECT_EQ(Error({"--initial-window", "0"}),
            "--initial-window: 0 out of range [1, 1000] segments");
  EXPECT_EQ(Error({"--rto-min", "0"}), "--rto-min: 0 out of range [1ms, 60s]");
  EXPECT_EQ(Error({"--msl", "11m"}), "--msl: 11m out of range [0, 600s]");
  EXPECT_EQ(Error({"--send-buffer", "1GiB"}),
            "--send-buffer: 1GiB out of range [1, 256MiB]");
  EXPECT_EQ(Error({"--recv-buffer", "0"}),
            "--recv-buffer: 0 out of range [1, 256MiB]");
  EXPECT_EQ(Error({"--bytes", "0"}), "--bytes: 0 out of range [1, 2^63)");
  EXPECT_EQ(Error({"--delay", "2h"}), "--delay: 2h out of range [0, 1h]");
  EXPECT_EQ(Error({"--time-limit", "0"}),
            "--time-limit: 0 out of range (0, 292 years]");
  EXPECT_EQ(Error({"--cc", "vegas"}),
            "--cc: \"vegas\" is not supported; allowed: newreno, cubic, bbr");
  EXPECT_NE(Error({"--seed", "-1"}).find("--seed: \"-1\" is not valid"),
            std::string::npos);
  EXPECT_NE(Error({"--queue", "1.5p"}).find("--queue: \"1.5p\" is not valid"),
            std::string::npos);
  EXPECT_NE(Error({"--rate", "fast"}).find("--rate: \"fast\""),
            std::string::npos);
  EXPECT_NE(Error({"--ge-loss", "0.1,0.2"}).find("--ge-loss"),
            std::string::npos);
}

TEST(SimOptionsTest, MalformedCommandLines) {
  EXPECT_EQ(Error({"--frobnicate"}), "unknown flag --frobnicate (see --help)");
  EXPECT_EQ(Error({"--delay"}), "--delay: missing value");
  EXPECT_EQ(Error({"--nodelay=yes"}), "--nodelay: takes no value");
  EXPECT_EQ(Error({"transfer"}),
            "unexpected argument \"transfer\"; flags start with --");
  EXPECT_EQ(Error({"--events="}),
            "--events: expected a file name (\"-\" for stdout)");
}

TEST(SimOptionsTest, ArgcArgv) {
  const char* argv[] = {"tcpemu-sim", "--bytes", "1MiB", "--json"};
  absl::StatusOr<SimOptions> o = ParseSimOptions(4, argv);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->bytes, 1024u * 1024);
  EXPECT_TRUE(o->json);
}

}  // namespace
}  // namespace tcpemu
