// Tests for the event enum names in engine/trace/event.cc: every enumerator
// has a non-empty name, names are distinct within an enum, and values past the
// last enumerator read "unknown".
#include "engine/base/event.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

// Checks values 0..last have distinct non-empty names and last+1 is unknown.
template <typename Enum>
void ExpectNamed(Enum last) {
  const int n = static_cast<int>(last) + 1;
  std::set<std::string> names;
  for (int i = 0; i < n; ++i) {
    const std::string name(ToString(static_cast<Enum>(i)));
    EXPECT_FALSE(name.empty()) << "value " << i;
    EXPECT_NE(name, "unknown") << "value " << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
  }
  EXPECT_EQ(ToString(static_cast<Enum>(n)), "unknown");
}

TEST(EventNamesTest, EveryEnumeratorHasADistinctName) {
  ExpectNamed(EventKind::kQueueSample);
  ExpectNamed(SendReason::kTailLossProbe);
  ExpectNamed(Disposition::kPaws);
  ExpectNamed(DropReason::kAqm);
  ExpectNamed(MangleKind::kCeMark);
  ExpectNamed(TimerKind::kPacing);
  ExpectNamed(TcpState::kTimeWait);
  ExpectNamed(CcPhase::kProbeRtt);
  ExpectNamed(Endpoint::kServer);
  ExpectNamed(ErrorCode::kAborted);
}

TEST(EventNamesTest, NamesMatchTheDesign) {
  EXPECT_EQ(ToString(EventKind::kSegmentSent), "segment_sent");
  EXPECT_EQ(ToString(EventKind::kCwndChanged), "cwnd_changed");
  EXPECT_EQ(ToString(SendReason::kFullMss), "full_mss");
  EXPECT_EQ(ToString(SendReason::kNagleRelease), "nagle_release");
  EXPECT_EQ(ToString(SendReason::kRetransmitRto), "retransmit_rto");
  EXPECT_EQ(ToString(SendReason::kRetransmitFast), "retransmit_fast");
  EXPECT_EQ(ToString(SendReason::kWindowProbe), "window_probe");
  EXPECT_EQ(ToString(Disposition::kInOrder), "in_order");
  EXPECT_EQ(ToString(Disposition::kBadChecksum), "bad_checksum");
  EXPECT_EQ(ToString(Disposition::kOutsideWindow), "outside_window");
  EXPECT_EQ(ToString(TimerKind::kTimeWait), "time_wait");
  EXPECT_EQ(ToString(DropReason::kQueue), "queue");
  EXPECT_EQ(ToString(MangleKind::kCorrupt), "corrupt");
  EXPECT_EQ(ToString(TcpState::kSynSent), "SYN_SENT");
  EXPECT_EQ(ToString(TcpState::kSynReceived), "SYN_RECEIVED");
  EXPECT_EQ(ToString(TcpState::kEstablished), "ESTABLISHED");
  EXPECT_EQ(ToString(TcpState::kFinWait1), "FIN_WAIT_1");
  EXPECT_EQ(ToString(TcpState::kTimeWait), "TIME_WAIT");
  EXPECT_EQ(ToString(Endpoint::kClient), "client");
  EXPECT_EQ(ToString(Endpoint::kServer), "server");
  EXPECT_EQ(ToString(ErrorCode::kTimedOut), "timed_out");
}

}  // namespace
}  // namespace tcpemu
