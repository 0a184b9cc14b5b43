// Window scaling (RFC 7323) lets one connection fill a long fat path:
// 100 Mbit/s with a 200 ms RTT holds 2.5 MB in flight, forty times what an
// unscaled 64 KiB window allows. With no random loss the goodput after slow
// start must reach 90 % of the rate (at most 97.3 %: 1460 of every 1500
// bytes are payload).
#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/trace/trace_hash.h"
#include "gtest/gtest.h"
#include "tests/support/trace_digests.h"

namespace tcpemu {
namespace {

TraceDigests& Digests() {
  static TraceDigests digests(TCPEMU_TRACE_DIGESTS);
  return digests;
}

double GoodputBps(bool window_scaling) {
  TraceHasher hasher;
  Network net(3, &hasher);
  PathSpec data;
  data.delay = 100 * kMillisecond;
  data.rate_bps = 100'000'000;
  data.queue_limit_packets = 0;
  // About one BDP of queue: slow start overshoots it once, then the window
  // settles with the path full.
  data.queue_limit_bytes = 4 << 20;
  PathSpec acks;
  acks.delay = 100 * kMillisecond;
  auto link = net.CreateLink(data, acks);
  EXPECT_TRUE(link.ok());
  SessionSpec spec;
  spec.link_id = *link;
  spec.digest = false;
  for (TcpConfig* c : {&spec.client, &spec.server}) {
    c->send_buffer = 8 << 20;
    c->recv_buffer = 8 << 20;
    c->window_scaling = window_scaling;
  }
  auto sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok());
  EXPECT_TRUE(
      net.SetSource(*sid, Endpoint::kClient, uint64_t{1} << 40, false).ok());
  net.RunUntil(10 * kSecond);  // past slow start
  const uint64_t before = net.GetSession(*sid)->server.bytes_read;
  net.RunUntil(40 * kSecond);
  const uint64_t after = net.GetSession(*sid)->server.bytes_read;
  Digests().Check(absl::StrCat("window_scale/", window_scaling ? "on" : "off"),
                  hasher.HexDigest());
  return double(after - before) * 8 / 30;
}

TEST(WindowScaleTest, FillsAHundredMegabitTwoHundredMillisecondPath) {
  const double scaled = GoodputBps(true);
  EXPECT_GE(scaled, 0.9 * 100e6) << scaled / 1e6 << " Mbit/s";
  // Unscaled, the 64 KiB window caps it near 65535 * 8 / 0.2 s = 2.6 Mbit/s.
  const double unscaled = GoodputBps(false);
  EXPECT_LT(unscaled, 3e6) << unscaled / 1e6 << " Mbit/s";
  std::printf("window scaling: %.2f Mbit/s scaled, %.2f Mbit/s unscaled\n",
              scaled / 1e6, unscaled / 1e6);
}

}  // namespace
}  // namespace tcpemu
