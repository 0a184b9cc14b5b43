// The bottleneck's two modes: eager (drop-tail in front of a fixed rate,
// departures computed on arrival) and queued (the wire takes packets when it
// is free). Where both apply they must give the same departures.
#include "engine/link/bottleneck.h"

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/link/link_test_util.h"

namespace tcpemu {
namespace {

using link_test::DataPacket;

struct Departed {
  TimeNs start;
  TimeNs departure;
  size_t size;
  bool operator==(const Departed&) const = default;
};

class Harness {
 public:
  explicit Harness(const PathSpec& spec) { b_.Configure(spec, 1, 0, sink_); }
  // Offers a packet at `now`; false if the queue refused it.
  bool Offer(TimeNs now, size_t payload) {
    b_.Run(now, sink_, ignore_);
    QueuedPacket q;
    q.packet = DataPacket(1, payload);
    q.enqueued = now;
    if (b_.Admit(now, q.packet) != Admission::kAccept) return false;
    b_.Push(now, std::move(q), sink_, ignore_);
    b_.Run(now, sink_, ignore_);
    return true;
  }
  void RunUntil(TimeNs t) { b_.Run(t, sink_, ignore_); }
  Bottleneck& b() { return b_; }
  std::vector<Departed> departed;

 private:
  std::function<void(TimeNs, TimeNs, QueuedPacket&&)> sink_ =
      [this](TimeNs start, TimeNs departure, QueuedPacket&& q) {
        departed.push_back({start, departure, q.packet.size()});
      };
  std::function<void(TimeNs, const QueuedPacket&, QueueAction)> ignore_ =
      [](TimeNs, const QueuedPacket&, QueueAction) {};
  Bottleneck b_;
};

PathSpec Rate(uint64_t rate_bps, uint32_t limit_packets, uint64_t limit_bytes) {
  PathSpec spec;
  spec.rate_bps = rate_bps;
  spec.queue_limit_packets = limit_packets;
  spec.queue_limit_bytes = limit_bytes;
  return spec;
}

PathSpec Queued(PathSpec spec) {
  // A schedule that changes nothing puts the bottleneck in queued mode.
  auto s = std::make_shared<LinkSchedule>();
  s->points.push_back({.at = 0});
  spec.schedule = std::move(s);
  return spec;
}

TEST(BottleneckTest, PacketLimitCountsOnlyWaitingPackets) {
  for (bool queued : {false, true}) {
    PathSpec spec = Rate(8'000'000, /*limit_packets=*/2, 0);
    Harness h(queued ? Queued(spec) : spec);
    EXPECT_EQ(h.b().eager(), !queued);
    // The first goes straight to the wire; two may wait; the fourth is
    // refused (1040-byte packets take 1.04 ms).
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.Offer(0, 1000)) << i;
    EXPECT_EQ(h.b().queued_packets(), 2u);
    EXPECT_FALSE(h.Offer(0, 1000));
    EXPECT_FALSE(h.Offer(1'039'999, 1000));
    // At 1.04 ms the second starts serializing and frees a place.
    EXPECT_TRUE(h.Offer(1'040'000, 1000));
    EXPECT_EQ(h.b().queued_packets(), 2u);
  }
}

TEST(BottleneckTest, ByteLimit) {
  for (bool queued : {false, true}) {
    PathSpec spec = Rate(8'000'000, 0, /*limit_bytes=*/2500);
    Harness h(queued ? Queued(spec) : spec);
    // An idle wire takes any size, even beyond the byte limit.
    EXPECT_TRUE(h.Offer(0, 2960));
    EXPECT_TRUE(h.Offer(0, 960));   // 1000 bytes wait
    EXPECT_TRUE(h.Offer(0, 1460));  // 2500
    EXPECT_FALSE(h.Offer(0, 1));
    EXPECT_EQ(h.b().queued_bytes(), 2500u);
  }
}

TEST(BottleneckTest, QueuedModeDepartsAsEagerModeDoes) {
  const PathSpec spec = Rate(7'000'001, 50, 0);
  Harness eager(spec), queued(Queued(spec));
  TimeNs t = 0;
  for (int i = 0; i < 2000; ++i) {
    t += (i * 7919) % 1'300'000;  // bursts and gaps
    const size_t payload = 60 + (i * 37) % 1400;
    ASSERT_EQ(eager.Offer(t, payload), queued.Offer(t, payload)) << i;
  }
  eager.RunUntil(kNever - 1);
  queued.RunUntil(kNever - 1);
  EXPECT_GT(eager.departed.size(), 1000u);
  EXPECT_EQ(eager.departed, queued.departed);
}

TEST(BottleneckTest, QueuedPacketsTakeANewRateAndWaitWhileStopped) {
  Harness h(Queued(Rate(8'000'000, 0, 0)));                  // 1 byte per us
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.Offer(0, 960));  // 1000 bytes
  h.b().SetRate(16'000'000);
  h.RunUntil(kNever - 1);
  ASSERT_EQ(h.departed.size(), 3u);
  // The first was on the wire at the old rate; the others go at the new.
  EXPECT_EQ(h.departed[0].departure, 1'000'000);
  EXPECT_EQ(h.departed[1].departure, 1'500'000);
  EXPECT_EQ(h.departed[2].departure, 2'000'000);

  h.b().SetStopped(true, 3'000'000);
  ASSERT_TRUE(h.Offer(3'000'000, 960));
  EXPECT_EQ(h.b().NextStart(), kNever);
  h.RunUntil(10'000'000);
  EXPECT_EQ(h.departed.size(), 3u);
  h.b().SetStopped(false, 10'000'000);
  // It waited through the stop: it starts when the wire does.
  EXPECT_EQ(h.b().NextStart(), 10'000'000);
  h.RunUntil(10'000'000);
  ASSERT_EQ(h.departed.size(), 4u);
}

TEST(BottleneckTest, SwitchingModesKeepsWaitingPacketsInOrder) {
  const PathSpec spec = Rate(8'000'000, 0, 0);
  Harness h(Queued(spec));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(h.Offer(0, 960 + i));
  // Back to eager: the waiting packets get their departures at once.
  const auto sink = [&](TimeNs s, TimeNs d, QueuedPacket&& q) {
    h.departed.push_back({s, d, q.packet.size()});
  };
  h.b().Configure(spec, 1, 0, sink);
  EXPECT_TRUE(h.b().eager());
  ASSERT_EQ(h.departed.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h.departed[i].size, 1000u + i);
  EXPECT_EQ(h.departed[3].departure,
            1'000'000 + 1'001'000 + 1'002'000 + 1'003'000);
}

}  // namespace
}  // namespace tcpemu
