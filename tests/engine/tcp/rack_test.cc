// RACK-TLP (RFC 8985) end to end: losses found by time, a lost
// retransmission repaired without a timeout, and a tail loss repaired by a
// probe, over the transfers of recovery_transfer.h.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/tcp/recovery_transfer.h"

namespace tcpemu::recovery_test {
namespace {

TEST(SackRecoveryTest, RackFindsALostRetransmissionWithoutATimeout) {
  // As above, with RACK (RFC 8985): the resent segment 10 is lost again,
  // and segments sent after it arrive; RACK deems it lost once they are
  // SACKed and a reordering window has passed, and resends it again.
  const Outcome o = Transfer(/*sack=*/true, {}, /*twice=*/10, /*rack=*/true);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 2u);
  EXPECT_GE(o.client.rack_losses, 2u);
}

TEST(SackRecoveryTest, RackRepairsThreeDropsInOneRecoveryToo) {
  const Outcome o =
      Transfer(/*sack=*/true, {10, 20, 30}, std::nullopt, /*rack=*/true);
  ASSERT_GE(o.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(o.intact);
  EXPECT_EQ(o.client.timeouts, 0u);
  EXPECT_EQ(o.client.fast_recoveries, 1u);
  EXPECT_EQ(o.client.retransmits_fast, 3u);
  EXPECT_EQ(o.client.rack_losses, 3u);
}

TEST(SackRecoveryTest, ATailLossIsRepairedByAProbeInsteadOfATimeout) {
  // The last segment of the transfer is lost: no later segment can reveal
  // it, so without RACK-TLP only the retransmission timer repairs it.
  const Outcome plain = Transfer(/*sack=*/true, {}, std::nullopt,
                                 /*rack=*/false, /*drop_last=*/true);
  ASSERT_GE(plain.done_at, 0);
  EXPECT_EQ(plain.client.timeouts, 1u);
  EXPECT_EQ(plain.client.tail_loss_probes, 0u);
  const Outcome tlp = Transfer(/*sack=*/true, {}, std::nullopt,
                               /*rack=*/true, /*drop_last=*/true);
  ASSERT_GE(tlp.done_at, 0) << "transfer did not finish";
  EXPECT_TRUE(tlp.intact);
  EXPECT_EQ(tlp.client.timeouts, 0u);
  EXPECT_EQ(tlp.client.tail_loss_probes, 1u);
  ASSERT_FALSE(tlp.retransmissions.empty());
  EXPECT_EQ(tlp.retransmissions.front().send_reason,
            SendReason::kTailLossProbe);
  // The probe timeout is capped at the RTO's deadline (RFC 8985 7.2): the
  // repair is no later, and the window does not collapse to one segment.
  EXPECT_LE(tlp.done_at, plain.done_at);
}

TEST(SackRecoveryTest, NoProbeOutrunsTheAckOnAPathWithoutDelay) {
  // With no delay the round trip is about 0, and so is 2 * SRTT: the probe
  // timeout's 10 ms floor keeps the probe behind the ACK already on its way,
  // which would otherwise find the peer closed and draw an RST.
  RetransmissionLog log;
  Network net(7, &log, Network::Limits());
  absl::StatusOr<uint32_t> link = net.CreateLink(PathSpec(), PathSpec());
  ASSERT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  absl::StatusOr<uint32_t> sid = net.OpenSession(spec);
  ASSERT_TRUE(sid.ok()) << sid.status();
  net.RunUntil(kMillisecond);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(net.WriteGenerated(*sid, Endpoint::kClient, 5000, true).ok());
    net.RunUntil(net.now() + kMillisecond);
  }
  ASSERT_TRUE(net.Close(*sid, Endpoint::kClient).ok());
  net.RunUntil(net.now() + kSecond);
  const SessionInfo info = *net.GetSession(*sid);
  EXPECT_EQ(info.client.counters.tail_loss_probes, 0u);
  EXPECT_TRUE(log.retransmissions.empty());
  EXPECT_EQ(info.server.bytes_read, 100000u);
}

}  // namespace
}  // namespace tcpemu::recovery_test
