// Property test: transfers across randomly drawn impairments and TCP
// configurations (a fixed list of seeds) always deliver every byte intact and
// close both endpoints without error.
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/rng.h"
#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

PathSpec RandomPath(Rng& r) {
  PathSpec p;
  p.delay = r.UniformInt(0, 50) * kMillisecond;
  if (r.Bernoulli(0.3)) p.jitter.jitter = r.UniformInt(1, 10) * kMillisecond;
  if (r.Bernoulli(0.5)) p.rate_bps = r.UniformInt(1, 100) * 1'000'000;
  if (r.Bernoulli(0.5)) {
    p.loss.model = LossSpec::Model::kRandom;
    p.loss.p = r.Uniform01() * 0.1;
  } else if (r.Bernoulli(0.3)) {
    p.loss.model = LossSpec::Model::kGilbertElliott;
    p.loss.p = 0.01;
    p.loss.r = 0.3;
    p.loss.h = r.Uniform01() * 0.5;
    p.loss.k = 1;
  }
  if (r.Bernoulli(0.2)) p.duplicate = r.Uniform01() * 0.05;
  if (r.Bernoulli(0.2)) p.corrupt = r.Uniform01() * 0.05;
  if (r.Bernoulli(0.2)) p.reorder = r.Uniform01() * 0.2;
  return p;
}

TcpConfig RandomConfig(Rng& r, uint32_t mtu) {
  TcpConfig c;
  c.mtu = mtu;
  const uint32_t buffers[] = {100, 1000, 4096, 16384, 65536, 262144};
  c.send_buffer = buffers[r.UniformInt(0, 5)];
  c.recv_buffer = buffers[r.UniformInt(0, 5)];
  c.nodelay = r.Bernoulli(0.3);
  c.cork = !c.nodelay && r.Bernoulli(0.2);
  c.delayed_ack = r.Bernoulli(0.8);
  c.window_scaling = r.Bernoulli(0.8);
  c.msl = kSecond;
  c.max_retransmissions = 30;
  c.syn_retries = 30;
  c.synack_retries = 30;
  return c;
}

TEST(RandomTransferTest, EveryByteArrivesAndBothEndsClose) {
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    Rng r(seed * 7919);
    PathSpec fwd = RandomPath(r);
    PathSpec rev = RandomPath(r);
    uint32_t mtu = static_cast<uint32_t>(r.UniformInt(576, 9000));
    fwd.mtu = rev.mtu = mtu;
    SessionSpec spec;
    spec.client = RandomConfig(r, mtu);
    spec.server = RandomConfig(r, mtu);
    if (r.Bernoulli(0.2)) {
      spec.server_reader.mode = ReaderMode::kRate;
      spec.server_reader.rate_bytes_per_sec = r.UniformInt(20'000, 1'000'000);
    }
    uint64_t bytes = r.UniformInt(1, 200'000);
    SCOPED_TRACE(absl::StrCat("seed ", seed, " bytes ", bytes));

    Network net(seed);
    auto link = net.CreateLink(fwd, rev);
    ASSERT_TRUE(link.ok()) << link.status();
    spec.link_id = *link;
    auto sid = net.OpenSession(spec);
    ASSERT_TRUE(sid.ok()) << sid.status();
    ASSERT_TRUE(net.SetSource(*sid, Endpoint::kClient, bytes, true).ok());
    EXPECT_TRUE(net.RunUntilIdle(100'000 * kSecond));
    auto info = net.GetSession(*sid);
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->destroyed);
    EXPECT_EQ(info->client.error, ErrorCode::kNone);
    EXPECT_EQ(info->server.error, ErrorCode::kNone);
    EXPECT_EQ(info->server.bytes_read, bytes);
    EXPECT_EQ(info->client.write_digest, info->server.read_digest);
  }
}

}  // namespace
}  // namespace tcpemu
