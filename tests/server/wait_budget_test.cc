#include "server/wait_budget.h"

#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

TEST(WaitBudgetTest, RefusesACallPastTheCallLimitNamingTheFlag) {
  WaitBudget b(WaitLimits{2, 1000, 1000});
  EXPECT_TRUE(b.Acquire("a", 0).ok());
  EXPECT_TRUE(b.Acquire("a", 0).ok());
  absl::Status s = b.Acquire("b", 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("--max_waiting_calls is 2"), std::string::npos)
      << s;
  b.Release("a", 0);
  EXPECT_TRUE(b.Acquire("b", 0).ok());
  EXPECT_EQ(b.calls(), 2u);
}

TEST(WaitBudgetTest, BoundsWriteBytesInTotalAndPerClient) {
  WaitBudget b(WaitLimits{100, 1000, 600});
  EXPECT_TRUE(b.Acquire("a", 500).ok());
  absl::Status s = b.Acquire("a", 200);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("--max_waiting_write_bytes_per_client is 600"),
            std::string::npos)
      << s;
  EXPECT_TRUE(b.Acquire("b", 450).ok());
  s = b.Acquire("c", 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("--max_waiting_write_bytes is 1000"),
            std::string::npos)
      << s;
  // A refused call holds nothing.
  EXPECT_EQ(b.write_bytes(), 950u);
  EXPECT_EQ(b.write_bytes_of("c"), 0u);
  EXPECT_EQ(b.calls(), 2u);
  b.Release("a", 500);
  EXPECT_EQ(b.write_bytes_of("a"), 0u);
  EXPECT_TRUE(b.Acquire("c", 100).ok());
  EXPECT_EQ(b.write_bytes(), 550u);
}

TEST(WaitBudgetTest, AClientIsItsPeerWithoutThePort) {
  EXPECT_EQ(WaitBudget::ClientOf("ipv4:127.0.0.1:40000"), "ipv4:127.0.0.1");
  EXPECT_EQ(WaitBudget::ClientOf("ipv6:[::1]:40000"), "ipv6:[::1]");
  EXPECT_EQ(WaitBudget::ClientOf("ipv6:%5B::1%5D:40000"),
            "ipv6:%5B::1%5D:40000");
  EXPECT_EQ(WaitBudget::ClientOf("unix:/tmp/s"), "unix:/tmp/s");
}

}  // namespace
}  // namespace tcpemu::server
