// SessionDemux: lookups by direction, tuple and ports; ephemeral ports.
#include "engine/sim/demux.h"

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(SessionDemuxTest, FindsTheReceiverOfEachDirection) {
  SessionDemux d;
  // Session 5: its server (10.0.0.2:80) receives forward packets from the
  // client 10.0.0.1:50000.
  d.Add(Direction::kForward, FourTuple{0x0a000002, 80, 0x0a000001, 50000}, 5,
        false);
  d.Add(Direction::kReverse, FourTuple{0x0a000001, 50000, 0x0a000002, 80}, 5,
        false);
  EXPECT_EQ(d.Find(Direction::kForward, 80, 50000, 0x0a000001), 5u);
  EXPECT_EQ(d.Find(Direction::kReverse, 50000, 80, 0x0a000002), 5u);
  // Wrong direction, port or sender: no one.
  EXPECT_EQ(d.Find(Direction::kReverse, 80, 50000, 0x0a000001), 0u);
  EXPECT_EQ(d.Find(Direction::kForward, 81, 50000, 0x0a000001), 0u);
  EXPECT_EQ(d.Find(Direction::kForward, 80, 50000, 0x0a000009), 0u);
  EXPECT_EQ(d.FindByPorts(80, 50000), 0u);  // not indexed by ports

  d.Remove(Direction::kForward, FourTuple{0x0a000002, 80, 0x0a000001, 50000},
           false);
  EXPECT_EQ(d.Find(Direction::kForward, 80, 50000, 0x0a000001), 0u);
  EXPECT_EQ(d.Sessions(Direction::kReverse), std::vector<uint32_t>{5});
  EXPECT_TRUE(d.Sessions(Direction::kForward).empty());
}

TEST(SessionDemuxTest, PortIndexFollowsAddAndRemove) {
  SessionDemux d;
  const FourTuple t{0xc0a80002, 8080, 0xc0a80001, 40000};
  d.Add(Direction::kReverse, t, 9, true);
  EXPECT_EQ(d.FindByPorts(8080, 40000), 9u);
  EXPECT_TRUE(d.HasPorts(8080, 40000));
  EXPECT_FALSE(d.HasPorts(40000, 8080));
  // A second session on the same key does not replace the first.
  d.Add(Direction::kReverse, t, 10, true);
  EXPECT_EQ(d.Find(Direction::kReverse, 8080, 40000, 0xc0a80001), 9u);
  d.Remove(Direction::kReverse, t, true);
  EXPECT_FALSE(d.HasPorts(8080, 40000));
  EXPECT_EQ(d.Find(Direction::kReverse, 8080, 40000, 0xc0a80001), 0u);
}

TEST(SessionDemuxTest, EphemeralPortsGoInTurnAndSkipTakenOnes) {
  SessionDemux d;
  EXPECT_EQ(d.NextFreePort([](uint16_t) { return false; }),
            SessionDemux::kFirstEphemeralPort);
  EXPECT_EQ(d.NextFreePort([](uint16_t p) { return p == 49153; }), 49154);
  EXPECT_EQ(d.NextFreePort([](uint16_t) { return true; }), std::nullopt);
  // Wraps from 65535 back to the first ephemeral port.
  std::optional<uint16_t> last;
  for (int i = 0; i < 65536 - 49152; ++i) {
    last = d.NextFreePort([](uint16_t) { return false; });
  }
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(d.NextFreePort([](uint16_t) { return false; }),
            *last == 65535 ? 49152 : *last + 1);
}

}  // namespace
}  // namespace tcpemu
