#include "server/proxy_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

SockAddr V4(const char* ip, uint16_t port) {
  SockAddr a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  inet_pton(AF_INET, ip, &in->sin_addr);
  a.len = sizeof(sockaddr_in);
  return a;
}

SockAddr V6(const char* ip, uint16_t port) {
  SockAddr a;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &in6->sin6_addr);
  a.len = sizeof(sockaddr_in6);
  return a;
}

TEST(ParseHostPortTest, Ipv4Ipv6AndNames) {
  auto a = ParseHostPort("127.0.0.1:6379", "listen", false);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
  auto b = ParseHostPort("[::1]:80", "listen", false);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->host, "::1");
  auto c = ParseHostPort("localhost:0", "listen", true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 0);
}

TEST(ParseHostPortTest, ErrorsNameTheFieldAndTheForm) {
  for (const char* bad : {"", "127.0.0.1", "::1:80", "[::1]80", ":80",
                          "h:65536", "h:-1", "h:x"}) {
    auto r = ParseHostPort(bad, "upstream", false);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("upstream"), std::string::npos)
        << r.status();
  }
  EXPECT_FALSE(ParseHostPort("h:0", "upstream", false).ok());
}

TEST(ResolveTest, NumericAndLocalhost) {
  auto r = Resolve({"127.0.0.1", 80}, "listen");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(ToString((*r)[0]), "127.0.0.1:80");
  auto l = Resolve({"localhost", 81}, "listen");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ((*l)[0].family(), AF_INET);  // IPv4 first
  EXPECT_EQ((*l)[0].port(), 81);
  auto bad = Resolve({"no-such-host.invalid", 80}, "upstream");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("upstream"), std::string::npos);
}

TEST(AllowListTest, DefaultIsLoopbackOnly) {
  auto l = AllowList::Parse(kDefaultProxyAllow, "--f");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->Allows(V4("127.0.0.1", 6379)));
  EXPECT_TRUE(l->Allows(V4("127.255.1.2", 1)));
  EXPECT_TRUE(l->Allows(V6("::1", 80)));
  EXPECT_FALSE(l->Allows(V4("10.0.0.1", 80)));
  EXPECT_FALSE(l->Allows(V4("0.0.0.0", 80)));
  EXPECT_FALSE(l->Allows(V6("::", 80)));
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
  EXPECT_TRUE(l->Allows(V6("::ffff:127.0.0.1", 80)));
  EXPECT_FALSE(l->Allows(V6("::ffff:10.0.0.1", 80)));
}

TEST(AllowListTest, PortsRangesAndPrefixes) {
  auto l = AllowList::Parse(
      "10.0.0.0/8:6379, 192.168.1.7, [2001:db8::/32]:80-90, 0.0.0.0/0:5432",
      "--f");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE(l->Allows(V4("10.1.2.3", 6379)));
  EXPECT_FALSE(l->Allows(V4("10.1.2.3", 6380)));
  EXPECT_TRUE(l->Allows(V4("192.168.1.7", 1)));
  EXPECT_FALSE(l->Allows(V4("192.168.1.8", 1)));
  EXPECT_TRUE(l->Allows(V6("2001:db8::1", 85)));
  EXPECT_FALSE(l->Allows(V6("2001:db8::1", 91)));
  EXPECT_FALSE(l->Allows(V6("2001:db9::1", 85)));
  EXPECT_TRUE(l->Allows(V4("8.8.8.8", 5432)));
  EXPECT_FALSE(l->Allows(V4("8.8.8.8", 5433)));
}

TEST(AllowListTest, BadEntriesNameTheFlag) {
  for (const char* bad :
       {"10.0.0.0/33", "nonsense", "10.0.0.0/8:70000", "10.0.0.0/8:9-1",
        "[::1/129]", "[::1/128", "::1/128:80x"}) {
    auto l = AllowList::Parse(bad, "--proxy_upstream_allow");
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_NE(l.status().message().find("--proxy_upstream_allow"),
              std::string::npos)
        << l.status();
  }
  auto empty = AllowList::Parse("", "--f");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->Allows(V4("127.0.0.1", 1)));
}

}  // namespace
}  // namespace tcpemu::server
