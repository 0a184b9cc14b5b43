// Tests for TcpConfig::Validate: defaults pass, each field's bounds are
// accepted, and every out-of-range field is rejected with its name and the
// allowed range in the message.
#include "engine/tcp/tcp_config.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

constexpr DurationNs kMs = kMillisecond;

TEST(TcpConfigTest, DefaultsAreValidAndLinuxLike) {
  TcpConfig c;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  EXPECT_EQ(c.mss(), 1460u);  // MTU 1500 - 40
  EXPECT_FALSE(c.nodelay);
  EXPECT_FALSE(c.cork);
  EXPECT_EQ(c.rto_initial, 1 * kSecond);  // RFC 6298 2.1
  EXPECT_EQ(c.initial_window, 10u);       // RFC 6928
  EXPECT_TRUE(c.delayed_ack);
  EXPECT_FALSE(c.keepalive);  // RFC 1122 4.2.3.6: off by default
  // RFC 1122 4.2.3.6: the idle interval MUST default to no less than 2 h.
  EXPECT_GE(c.keepalive_idle, 7200 * kSecond);
}

TEST(TcpConfigTest, MssIsMtuMinus40) {
  TcpConfig c;
  c.mtu = 9000;
  EXPECT_EQ(c.mss(), 8960u);
  c.mtu = 68;
  EXPECT_EQ(c.mss(), 28u);
}

struct FieldCase {
  std::string field;
  std::function<void(TcpConfig&)> set;
  std::string range;  // as it appears in the message
};

// Each case puts one field out of range.
std::vector<FieldCase> OutOfRange() {
  return {
      {"send_buffer", [](TcpConfig& c) { c.send_buffer = 0; },
       "[1, 268435456]"},
      {"send_buffer",
       [](TcpConfig& c) { c.send_buffer = 256 * 1024 * 1024 + 1; },
       "[1, 268435456]"},
      {"recv_buffer", [](TcpConfig& c) { c.recv_buffer = 0; },
       "[1, 268435456]"},
      {"window_scale", [](TcpConfig& c) { c.window_scale = -2; }, "[-1, 14]"},
      {"window_scale", [](TcpConfig& c) { c.window_scale = 15; }, "[-1, 14]"},
      {"recv_buffer",
       [](TcpConfig& c) { c.recv_buffer = 256 * 1024 * 1024 + 1; },
       "[1, 268435456]"},
      {"mtu", [](TcpConfig& c) { c.mtu = 67; }, "[68, 65535]"},
      {"mtu", [](TcpConfig& c) { c.mtu = 65536; }, "[68, 65535]"},
      {"cork_timeout", [](TcpConfig& c) { c.cork_timeout = 0; }, "[1ms, 1m]"},
      {"cork_timeout", [](TcpConfig& c) { c.cork_timeout = 61 * kSecond; },
       "[1ms, 1m]"},
      {"rto_min", [](TcpConfig& c) { c.rto_min = kMs - 1; }, "[1ms, 1m]"},
      {"rto_min", [](TcpConfig& c) { c.rto_min = 61 * kSecond; }, "[1ms, 1m]"},
      {"rto_max", [](TcpConfig& c) { c.rto_max = 0; }, "[1ms, 1h]"},
      {"rto_max", [](TcpConfig& c) { c.rto_max = 3601 * kSecond; },
       "[1ms, 1h]"},
      {"rto_initial", [](TcpConfig& c) { c.rto_initial = 0; }, "[1ms, 1h]"},
      {"rto_initial", [](TcpConfig& c) { c.rto_initial = 3601 * kSecond; },
       "[1ms, 1h]"},
      {"max_retransmissions", [](TcpConfig& c) { c.max_retransmissions = 0; },
       "[1, 255]"},
      {"max_retransmissions", [](TcpConfig& c) { c.max_retransmissions = 256; },
       "[1, 255]"},
      {"syn_retries", [](TcpConfig& c) { c.syn_retries = 256; }, "[0, 255]"},
      {"synack_retries", [](TcpConfig& c) { c.synack_retries = 256; },
       "[0, 255]"},
      {"ecn_syn_retries", [](TcpConfig& c) { c.ecn_syn_retries = 256; },
       "[0, 255]"},
      {"delayed_ack_timeout",
       [](TcpConfig& c) { c.delayed_ack_timeout = kMs - 1; }, "[1ms, "},
      {"delayed_ack_timeout",
       [](TcpConfig& c) { c.delayed_ack_timeout = 501 * kMs; }, "[1ms, "},
      {"msl", [](TcpConfig& c) { c.msl = -1; }, "[0, 10m]"},
      {"msl", [](TcpConfig& c) { c.msl = 601 * kSecond; }, "[0, 10m]"},
      {"keepalive_idle", [](TcpConfig& c) { c.keepalive_idle = kSecond - 1; },
       "[1s, 24h]"},
      {"keepalive_idle",
       [](TcpConfig& c) { c.keepalive_idle = 86401 * kSecond; }, "[1s, 24h]"},
      {"keepalive_interval",
       [](TcpConfig& c) { c.keepalive_interval = kSecond - 1; }, "[1s, 24h]"},
      {"keepalive_interval",
       [](TcpConfig& c) { c.keepalive_interval = 86401 * kSecond; },
       "[1s, 24h]"},
      {"keepalive_probes", [](TcpConfig& c) { c.keepalive_probes = 0; },
       "[1, 255]"},
      {"keepalive_probes", [](TcpConfig& c) { c.keepalive_probes = 256; },
       "[1, 255]"},
      {"initial_window", [](TcpConfig& c) { c.initial_window = 0; },
       "[1, 1000]"},
      {"initial_window", [](TcpConfig& c) { c.initial_window = 1001; },
       "[1, 1000]"},
      {"persist_min", [](TcpConfig& c) { c.persist_min = kMs - 1; },
       "[1ms, 1m]"},
      {"persist_min", [](TcpConfig& c) { c.persist_min = 61 * kSecond; },
       "[1ms, 1m]"},
      {"persist_max", [](TcpConfig& c) { c.persist_max = 0; }, "[1ms, 1h]"},
      {"persist_max", [](TcpConfig& c) { c.persist_max = 3601 * kSecond; },
       "[1ms, 1h]"},
  };
}

TEST(TcpConfigTest, EveryOutOfRangeFieldIsNamedWithItsRange) {
  for (const FieldCase& fc : OutOfRange()) {
    TcpConfig c;
    fc.set(c);
    absl::Status s = c.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << fc.field;
    EXPECT_THAT(std::string(s.message()), HasSubstr(fc.field + " "))
        << fc.field;
    EXPECT_THAT(std::string(s.message()), HasSubstr("out of range " + fc.range))
        << fc.field;
  }
}

TEST(TcpConfigTest, MessageShowsTheRejectedValue) {
  TcpConfig c;
  c.mtu = 67;
  EXPECT_EQ(c.Validate().message(), "mtu 67 out of range [68, 65535]");
  c = TcpConfig();
  c.rto_min = 0;
  EXPECT_EQ(c.Validate().message(), "rto_min 0 out of range [1ms, 1m]");
  c = TcpConfig();
  c.keepalive_interval = 500 * kMs;
  EXPECT_EQ(c.Validate().message(),
            "keepalive_interval 500ms out of range [1s, 24h]");
}

TEST(TcpConfigTest, BoundsAreInclusive) {
  std::vector<std::function<void(TcpConfig&)>> edges = {
      [](TcpConfig& c) { c.send_buffer = 1; },
      [](TcpConfig& c) { c.send_buffer = 256 * 1024 * 1024; },
      [](TcpConfig& c) { c.recv_buffer = 1; },
      [](TcpConfig& c) { c.recv_buffer = 256 * 1024 * 1024; },
      [](TcpConfig& c) { c.mtu = 68; },
      [](TcpConfig& c) { c.mtu = 65535; },
      [](TcpConfig& c) { c.cork_timeout = kMs; },
      [](TcpConfig& c) { c.cork_timeout = 60 * kSecond; },
      [](TcpConfig& c) { c.rto_min = kMs; },
      [](TcpConfig& c) { c.rto_max = 3600 * kSecond; },
      [](TcpConfig& c) { c.rto_initial = kMs; },
      [](TcpConfig& c) { c.rto_initial = 3600 * kSecond; },
      [](TcpConfig& c) { c.max_retransmissions = 1; },
      [](TcpConfig& c) { c.max_retransmissions = 255; },
      [](TcpConfig& c) { c.syn_retries = 0; },
      [](TcpConfig& c) { c.synack_retries = 0; },
      [](TcpConfig& c) { c.ecn_syn_retries = 0; },
      [](TcpConfig& c) { c.ecn_syn_retries = 255; },
      [](TcpConfig& c) { c.window_scale = -1; },
      [](TcpConfig& c) { c.window_scale = 0; },
      [](TcpConfig& c) { c.window_scale = 14; },
      [](TcpConfig& c) { c.delayed_ack_timeout = kMs; },
      [](TcpConfig& c) { c.msl = 0; },
      [](TcpConfig& c) { c.msl = 600 * kSecond; },
      [](TcpConfig& c) { c.keepalive_idle = kSecond; },
      [](TcpConfig& c) { c.keepalive_interval = 86400 * kSecond; },
      [](TcpConfig& c) { c.keepalive_probes = 255; },
      [](TcpConfig& c) { c.initial_window = 1; },
      [](TcpConfig& c) { c.initial_window = 1000; },
      [](TcpConfig& c) { c.persist_min = kMs; },
      [](TcpConfig& c) { c.persist_max = 3600 * kSecond; },
  };
  for (size_t i = 0; i < edges.size(); ++i) {
    TcpConfig c;
    edges[i](c);
    EXPECT_TRUE(c.Validate().ok()) << "edge " << i << ": " << c.Validate();
  }
}

TEST(TcpConfigTest, OrderingConstraints) {
  TcpConfig c;
  c.rto_min = 2 * kSecond;
  c.rto_max = 1 * kSecond;
  absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("rto_min"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("rto_max"));

  c = TcpConfig();
  c.persist_min = 10 * kSecond;
  c.persist_max = 5 * kSecond;
  s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("persist_min"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("persist_max"));

  c = TcpConfig();
  c.rto_min = c.rto_max = 5 * kSecond;
  EXPECT_TRUE(c.Validate().ok());
}

// RFC 9293 3.8.6.3 (MUST-40) and RFC 1122 4.2.3.2: the ACK delay "MUST be
// less than 0.5 seconds", so 500 ms itself is out of range.
TEST(TcpConfigTest, DelayedAckTimeoutBelowHalfSecond) {
  TcpConfig c;
  c.delayed_ack_timeout = 499 * kMs;
  EXPECT_TRUE(c.Validate().ok());
  c.delayed_ack_timeout = 500 * kMs;
  absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("delayed_ack_timeout"));
}

}  // namespace
}  // namespace tcpemu
