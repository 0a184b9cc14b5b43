// Tests for Shard's REALTIME clock: a network its shard could not serve in
// time is reported behind wall time (CLOCK_BEHIND, then CLOCK_CAUGHT_UP),
// and timer lateness is exported.
#include "server/shard.h"

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/metrics.h"

namespace tcpemu::server {
namespace {

// The value of an unlabelled series in the text exposition, or -1.
double Value(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double v = -1;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
  }
  return -1;
}

TEST(ShardTest, ANetworkHeldUpIsReportedBehindAndCaughtUp) {
  Metrics metrics(Metrics::Options{});
  Shard shard(0, nullptr, metrics.AddShard());
  shard.Start();
  // A REALTIME network with a transfer across a 1 ms link: it has a timer
  // or a packet due about every millisecond.
  ASSERT_TRUE(shard.Call([&] {
    if (!shard.AddNetwork(1, Clock::kRealtime, 7, Network::Limits{}).ok()) {
      return false;
    }
    Network& net = *shard.network(1)->net;
    PathSpec p;
    p.delay = kMillisecond;
    p.rate_bps = 10'000'000;
    absl::StatusOr<uint32_t> link = net.CreateLink(p, p);
    if (!link.ok()) return false;
    SessionSpec spec;
    spec.link_id = *link;
    absl::StatusOr<uint32_t> id = net.OpenSession(spec);
    return id.ok() && net.SetSource(*id, Endpoint::kClient, 1 << 20, true).ok();
  }));
  // Hold the shard for 50 ms: the network's due deadlines wait that long.
  shard.Call(
      [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); });
  // Then it catches up; on a busy (or sanitized) run that may take a while,
  // and earlier short episodes may come first: wait for the one that spans
  // the hold.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  std::string text;
  while (absl::Now() < deadline) {
    shard.Call([] {});
    text = metrics.Render();
    if (Value(text, "tcpemu_realtime_behind_seconds_total") >= 0.045) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GE(Value(text, "tcpemu_realtime_behind_total"), 1) << text;
  // Behind for at least the 50 ms the shard was held.
  EXPECT_GE(Value(text, "tcpemu_realtime_behind_seconds_total"), 0.045) << text;
  // At least one deadline was processed more than 10 ms late.
  const double all = Value(text, "tcpemu_timer_lateness_seconds_count");
  const double within_10ms =
      Value(text, "tcpemu_timer_lateness_seconds_bucket{le=\"0.01\"}");
  EXPECT_GT(all, 0) << text;
  EXPECT_LT(within_10ms, all) << text;
  shard.Call([&] { ASSERT_TRUE(shard.RemoveNetwork(1).ok()); });
  shard.Stop();
}

}  // namespace
}  // namespace tcpemu::server
