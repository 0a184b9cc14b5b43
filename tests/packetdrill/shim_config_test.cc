// --so_flags and sysctl settings onto the shim's configuration.
#include "tests/packetdrill/shim_config.h"

#include "gtest/gtest.h"

namespace tcpemu::packetdrill {
namespace {

TEST(ShimConfigTest, ProfilesSetEachStacksDefaults) {
  absl::StatusOr<ShimConfig> linux = ParseShimFlags("profile=linux");
  ASSERT_TRUE(linux.ok()) << linux.status();
  EXPECT_EQ(linux->tcp.flavor, StackFlavor::kLinux);
  EXPECT_EQ(linux->tcp.rto_min, 200 * kMillisecond);
  EXPECT_EQ(linux->tcp.window_scale, 8);  // tcp_rmem's 15 MiB maximum
  EXPECT_TRUE(linux->doubles_sockbuf);

  absl::StatusOr<ShimConfig> bsd = ParseShimFlags("mtu=9000,profile=freebsd");
  ASSERT_TRUE(bsd.ok()) << bsd.status();
  EXPECT_EQ(bsd->tcp.flavor, StackFlavor::kFreeBsd);
  EXPECT_EQ(bsd->tcp.rto_min, 30 * kMillisecond);
  EXPECT_EQ(bsd->tcp.window_scale, 6);  // kern.ipc.maxsockbuf 2 MiB
  EXPECT_EQ(bsd->tcp.recv_buffer, 65536u);
  EXPECT_EQ(bsd->tcp.mtu, 9000u);  // applied after the profile
  EXPECT_FALSE(bsd->doubles_sockbuf);
}

TEST(ShimConfigTest, BadFlagsNameTheKeyAndRange) {
  absl::StatusOr<ShimConfig> c = ParseShimFlags("profile=solaris");
  EXPECT_NE(c.status().message().find("profile=solaris"), std::string::npos);
  c = ParseShimFlags("mtu=20");
  EXPECT_NE(c.status().message().find("[68, 65535]"), std::string::npos);
  c = ParseShimFlags("window_scale=15");
  EXPECT_NE(c.status().message().find("window_scale"), std::string::npos);
  c = ParseShimFlags("local_ip=300.1.1.1");
  EXPECT_NE(c.status().message().find("local_ip"), std::string::npos);
  c = ParseShimFlags("colour=blue");
  EXPECT_NE(c.status().message().find("unknown so_flags key 'colour'"),
            std::string::npos);
}

TEST(ShimConfigTest, FreeBsdSysctlsMapOntoTheEngine) {
  absl::StatusOr<ShimConfig> c = ParseShimFlags("profile=freebsd");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ApplySysctls("net.inet.tcp.rfc1323=0\n"
                           "net.inet.tcp.sack.enable=0\n"
                           "net.inet.tcp.ecn.enable=1\n"
                           "net.inet.tcp.ecn.maxretries=3\n"
                           "net.inet.tcp.recvspace=131072\n"
                           "kern.ipc.maxsockbuf=262144\n"
                           "net.inet.tcp.rexmit_initial=3000\n"
                           "net.inet.tcp.insecure_rst=1\n"
                           "net.inet.tcp.insecure_syn=1\n"
                           "net.inet.tcp.drop_synfin=1\n"
                           "net.inet.tcp.hostcache.purgenow=1\n",
                           *c)
                  .ok());
  EXPECT_FALSE(c->tcp.timestamps);
  EXPECT_FALSE(c->tcp.window_scaling);
  EXPECT_FALSE(c->tcp.sack);
  EXPECT_TRUE(c->tcp.ecn);
  EXPECT_EQ(c->tcp.ecn_syn_retries, 3u);
  EXPECT_EQ(c->tcp.recv_buffer, 131072u);
  EXPECT_EQ(c->tcp.window_scale, 3);  // 65535 << 3 >= 256 KiB
  EXPECT_EQ(c->tcp.rto_initial, 3 * kSecond);
  EXPECT_FALSE(c->tcp.rfc5961_rst);
  EXPECT_FALSE(c->tcp.rfc5961_syn);
  EXPECT_TRUE(c->drop_syn_fin);
  // Later lines win; a value out of range names the sysctl.
  EXPECT_TRUE(ApplySysctls("net.inet.tcp.insecure_rst=0\n", *c).ok());
  EXPECT_TRUE(c->tcp.rfc5961_rst);
  absl::Status bad = ApplySysctls("net.inet.tcp.delacktime=900\n", *c);
  EXPECT_NE(bad.message().find("net.inet.tcp.delacktime"), std::string::npos);
}

}  // namespace
}  // namespace tcpemu::packetdrill
