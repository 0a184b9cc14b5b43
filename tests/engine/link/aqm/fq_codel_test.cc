#include "engine/link/aqm/fq_codel.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/link/aqm/codel.h"
#include "gtest/gtest.h"
#include "tests/engine/link/aqm/aqm_test_util.h"

namespace tcpemu {
namespace {

using aqm_test::MakePacket;
using aqm_test::Merge;
using aqm_test::Outcome;
using aqm_test::Periodic;
using aqm_test::Queued;
using aqm_test::RunLink;

constexpr DurationNs kMs = kMillisecond;
constexpr DurationNs kNsPerByte = 800;  // 10 Mbit/s
constexpr DurationNs kService = 1500 * kNsPerByte;

const AqmSpec kSpec{.kind = AqmSpec::Kind::kFqCodel};

struct Recorded {
  mutable std::vector<aqm_test::Decision> decisions;
  void operator()(TimeNs when, const QueuedPacket& p, QueueAction a) const {
    decisions.push_back({when, PeekTcp(p.packet).src_port, p.packet.size(),
                         PacketEcn(p.packet), a, p.enqueued});
  }
};

void Ignore(TimeNs, const QueuedPacket&, QueueAction) {}

uint16_t PopPort(FqCodelQueue& q, TimeNs now) {
  QueuedPacket out;
  if (!q.Pop(now, &out, Ignore)) return 0;
  return PeekTcp(out.packet).src_port;
}

TEST(FqCodelTest, ASparseFlowSkipsTheBulkFlowsQueue) {
  // A bulk flow at 1.2x the link rate and a sparse flow of small packets.
  auto traffic = [] {
    return Merge({Periodic(1, 1500, 0, kMs, 20'000),
                  Periodic(2, 100, kMs / 2, 50 * kMs, 400)});
  };
  FqCodelQueue fq(kSpec, {}, 1);
  ASSERT_NE(fq.FlowOf(MakePacket(100, 1)), fq.FlowOf(MakePacket(100, 2)));
  const Outcome o = RunLink(fq, traffic(), kNsPerByte);
  CodelQueue codel({.kind = AqmSpec::Kind::kCodel}, {});
  const Outcome shared = RunLink(codel, traffic(), kNsPerByte);

  DurationNs sparse_worst = 0, bulk_worst = 0, shared_sparse_worst = 0;
  int sparse_sent = 0;
  for (const auto& s : o.sent) {
    if (s.port == 2) {
      ++sparse_sent;
      sparse_worst = std::max(sparse_worst, s.sojourn);
    } else if (s.at > 10'000 * kMs) {
      bulk_worst = std::max(bulk_worst, s.sojourn);
    }
  }
  for (const auto& s : shared.sent) {
    if (s.port == 2) {
      shared_sparse_worst = std::max(shared_sparse_worst, s.sojourn);
    }
  }
  // The sparse flow waits at most for the bulk packet on the wire and,
  // when it arrives while its emptied queue is still on the old list, for
  // one more bulk packet.
  EXPECT_EQ(sparse_sent, 400);
  EXPECT_LE(sparse_worst, 2 * kService);
  // The bulk flow's queue is under CoDel's control (bounded; see
  // codel_test), and it alone is dropped.
  int bulk_drops = 0;
  for (const auto& d : o.decisions) {
    EXPECT_EQ(d.port, 1);
    ++bulk_drops;
  }
  EXPECT_GT(bulk_drops, 1000);
  EXPECT_LT(bulk_worst, 2 * kSpec.codel_interval);
  // Under one CoDel queue the sparse flow waits behind the bulk flow.
  EXPECT_GT(shared_sparse_worst, 20 * kMs);
  RecordProperty("sparse_worst_us", static_cast<int>(sparse_worst / 1000));
  RecordProperty("shared_sparse_worst_us",
                 static_cast<int>(shared_sparse_worst / 1000));
}

// Bytes sent per port in [from, to).
std::map<uint16_t, uint64_t> BytesByPort(const Outcome& o, TimeNs from,
                                         TimeNs to) {
  std::map<uint16_t, uint64_t> bytes;
  for (const auto& s : o.sent) {
    if (s.at >= from && s.at < to) bytes[s.port] += s.size;
  }
  return bytes;
}

TEST(FqCodelTest, NarrowsTheShareGapOfRenoFlowsOfDifferentRtts) {
  // Reno-like senders with 10 ms and 100 ms RTTs. In one CoDel queue the
  // short-RTT flow takes 3.5 times the bytes of the long one. FQ-CoDel
  // serves them in turn whenever both wait, but a 100 ms Reno flow held to
  // a 5 ms standing queue leaves its turn empty part of the time, and the
  // short flow takes that too (the scheduler is work-conserving): about
  // 1.8 times.
  const std::vector<aqm_test::RenoFlow> flows = {{.port = 1, .rtt = 10 * kMs},
                                                 {.port = 2, .rtt = 100 * kMs}};
  FqCodelQueue fq(kSpec, {}, 1);
  const Outcome o = aqm_test::RunRenos(fq, flows, kNsPerByte, 40'000 * kMs);
  CodelQueue codel({.kind = AqmSpec::Kind::kCodel}, {});
  const Outcome shared =
      aqm_test::RunRenos(codel, flows, kNsPerByte, 40'000 * kMs);
  auto fq_bytes = BytesByPort(o, 10'000 * kMs, 40'000 * kMs);
  auto shared_bytes = BytesByPort(shared, 10'000 * kMs, 40'000 * kMs);
  const double fq_ratio = static_cast<double>(fq_bytes[1]) / fq_bytes[2];
  const double shared_ratio =
      static_cast<double>(shared_bytes[1]) / shared_bytes[2];
  RecordProperty("fq_ratio", absl::StrCat(fq_ratio));
  RecordProperty("shared_ratio", absl::StrCat(shared_ratio));
  EXPECT_GT(shared_ratio, 3);
  EXPECT_LT(fq_ratio * 1.5, shared_ratio);
  EXPECT_GT(fq_ratio, 1);
  // And the link stays busy: 30 s at 10 Mbit/s is 37.5 MB.
  EXPECT_GT(fq_bytes[1] + fq_bytes[2], 37'500'000 * 8 / 10);
}

TEST(FqCodelTest, DeficitRoundRobinSharesBytesFairly) {
  // Two backlogged flows, 1500-byte and 300-byte packets, with CoDel out
  // of the way (a 1 s target on a queue of a few ms).
  AqmSpec spec = kSpec;
  spec.codel_target = kSecond;
  spec.codel_interval = kSecond;
  FqCodelQueue q(spec, {}, 1);
  for (int i = 0; i < 2000; ++i) {
    q.Push(0, Queued(MakePacket(1500, 1), 0), Ignore);
  }
  for (int i = 0; i < 10'000; ++i) {
    q.Push(0, Queued(MakePacket(300, 2), 0), Ignore);
  }
  uint64_t sent[3] = {0, 0, 0};
  TimeNs now = 0;
  QueuedPacket out;
  while (sent[1] + sent[2] < 3'000'000) {
    ASSERT_TRUE(q.Pop(now, &out, Ignore));
    sent[PeekTcp(out.packet).src_port] += out.packet.size();
    now += static_cast<DurationNs>(out.packet.size());
    // At every point, the byte counts differ by at most a quantum and a
    // packet.
    ASSERT_LE(std::max(sent[1], sent[2]) - std::min(sent[1], sent[2]),
              spec.fq_quantum + 1500u);
  }
  EXPECT_NEAR(static_cast<double>(sent[1]) / static_cast<double>(sent[2]), 1,
              0.002);
}

TEST(FqCodelTest, NewFlowsGoFirstAndAFlowThatUsedItsQuantumGoesToOld) {
  FqCodelQueue q(kSpec, {}, 1);
  for (int i = 0; i < 3; ++i) q.Push(0, Queued(MakePacket(1500, 1), 0), Ignore);
  EXPECT_EQ(q.new_flow_count(), 1u);
  EXPECT_EQ(PopPort(q, 0), 1);  // deficit 1514 - 1500 = 14 left
  q.Push(0, Queued(MakePacket(1500, 2), 0), Ignore);
  EXPECT_EQ(q.new_flow_count(), 2u);
  EXPECT_EQ(PopPort(q, 0), 1);  // still credit: deficit -1486
  // Flow 1 has used its quantum: it moves to the old flows, and the new
  // flow 2 goes before it.
  EXPECT_EQ(PopPort(q, 0), 2);
  EXPECT_EQ(q.old_flow_count(), 1u);
  EXPECT_EQ(PopPort(q, 0), 1);
  EXPECT_TRUE(q.empty());
  // Empty flows leave the lists: a new flow that empties via the old list.
  EXPECT_EQ(PopPort(q, 0), 0);
  EXPECT_EQ(q.new_flow_count(), 0u);
  EXPECT_EQ(q.old_flow_count(), 0u);
}

TEST(FqCodelTest, AnEmptiedNewFlowGoesToTheOldFlows) {
  FqCodelQueue q(kSpec, {}, 1);
  q.Push(0, Queued(MakePacket(1500, 1), 0), Ignore);
  for (int i = 0; i < 2; ++i) q.Push(0, Queued(MakePacket(100, 2), 0), Ignore);
  EXPECT_EQ(PopPort(q, 0), 1);
  // Flow 1 is empty: on the next turn it goes to the old flows, and flow 2
  // is served.
  EXPECT_EQ(PopPort(q, 0), 2);
  EXPECT_EQ(q.new_flow_count(), 1u);
  EXPECT_EQ(q.old_flow_count(), 1u);
  // A packet of flow 1 now joins its old-list entry, not the new flows.
  q.Push(0, Queued(MakePacket(1500, 1), 0), Ignore);
  EXPECT_EQ(q.new_flow_count(), 1u);
  EXPECT_EQ(PopPort(q, 0), 2);
  EXPECT_EQ(PopPort(q, 0), 1);
}

TEST(FqCodelTest, OverflowDropsFromTheHeadOfTheFattestFlow) {
  FqCodelQueue q(kSpec, {.packets = 20, .bytes = 0}, 1);
  Recorded r;
  for (int i = 0; i < 15; ++i) {
    q.Push(i, Queued(MakePacket(1500, 1), i), r);
  }
  for (int i = 0; i < 5; ++i) {
    Packet p = MakePacket(100, 2);
    ASSERT_EQ(q.Admit(100, p, true), Admission::kAccept);
    q.Push(100, Queued(std::move(p), 100), r);
  }
  EXPECT_TRUE(r.decisions.empty());
  Packet p = MakePacket(100, 2);
  ASSERT_EQ(q.Admit(200, p, true), Admission::kAccept);
  q.Push(200, Queued(std::move(p), 200), r);
  // One batch from the head of flow 1: half of its 22500 bytes, that is
  // 8 packets.
  ASSERT_EQ(r.decisions.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(r.decisions[i].port, 1);
    EXPECT_EQ(r.decisions[i].enqueued, i);  // from the head
    EXPECT_EQ(r.decisions[i].action, QueueAction::kDrop);
    EXPECT_EQ(r.decisions[i].at, 200);
  }
  EXPECT_EQ(q.packets(), 13u);
  EXPECT_EQ(q.flow_packets(q.FlowOf(MakePacket(100, 2))), 6u);

  // The byte limit: the fattest flow by bytes, not by packets.
  FqCodelQueue b(kSpec, {.packets = 0, .bytes = 10'000}, 1);
  Recorded rb;
  for (int i = 0; i < 4; ++i) {
    b.Push(i, Queued(MakePacket(1500, 1), i), rb);
  }
  for (int i = 0; i < 40; ++i) {
    b.Push(i, Queued(MakePacket(100, 2), i), rb);
  }
  EXPECT_TRUE(rb.decisions.empty());  // 6000 + 4000 bytes
  b.Push(50, Queued(MakePacket(1000, 3), 50), rb);
  // Flow 1 holds 6000 of the bytes: half of them go.
  ASSERT_EQ(rb.decisions.size(), 2u);
  EXPECT_EQ(rb.decisions[0].port, 1);
  EXPECT_EQ(rb.decisions[1].port, 1);
  EXPECT_EQ(b.bytes(), 8000u);
  // A packet that cannot fit alone is refused at arrival.
  Packet huge = MakePacket(1500, 4);
  FqCodelQueue tiny(kSpec, {.packets = 0, .bytes = 1000}, 1);
  EXPECT_EQ(tiny.Admit(0, huge, true), Admission::kOverLimit);
  EXPECT_EQ(tiny.Admit(0, huge, false), Admission::kAccept);
}

TEST(FqCodelTest, OverflowOfEmptyPacketsStillEnforcesThePacketLimit) {
  FqCodelQueue q(kSpec, {.packets = 3, .bytes = 0}, 1);
  int drops = 0;
  auto count = [&drops](TimeNs, const QueuedPacket&, QueueAction) { ++drops; };
  for (int i = 0; i < 10; ++i) q.Push(i, QueuedPacket{}, count);
  EXPECT_LE(q.packets(), 3u);
  EXPECT_EQ(q.packets() + drops, 10u);
}

TEST(FqCodelTest, WithEcnMarksEctFlowsAndDropsTheOthers) {
  AqmSpec spec = kSpec;
  spec.ecn = true;
  FqCodelQueue q(spec, {}, 3);
  const Outcome o =
      RunLink(q,
              Merge({Periodic(1, 1500, 0, 2 * kMs, 10'000, Ecn::kEct0),
                     Periodic(2, 1500, kMs, 2 * kMs, 10'000)}),
              kNsPerByte);
  int marks = 0, drops = 0;
  for (const auto& d : o.decisions) {
    if (d.action == QueueAction::kMark) {
      EXPECT_EQ(d.port, 1);
      ++marks;
    } else {
      EXPECT_EQ(d.port, 2);
      ++drops;
    }
  }
  EXPECT_GT(marks, 100);
  EXPECT_GT(drops, 100);
  int ect_sent = 0;
  for (const auto& s : o.sent) ect_sent += s.port == 1;
  EXPECT_EQ(ect_sent, 10'000);
}

TEST(FqCodelTest, TheHashIsDeterministicPerturbedBySeedAndSpreads) {
  FqCodelQueue a(kSpec, {}, 1), b(kSpec, {}, 1), c(kSpec, {}, 2);
  std::set<uint32_t> buckets;
  int moved = 0;
  for (uint16_t port = 1; port <= 1000; ++port) {
    const Packet p = MakePacket(40, port);
    EXPECT_EQ(a.FlowOf(p), b.FlowOf(p));
    EXPECT_LT(a.FlowOf(p), kSpec.fq_flows);
    moved += a.FlowOf(p) != c.FlowOf(p);
    buckets.insert(a.FlowOf(p));
  }
  EXPECT_GT(moved, 900);
  // 1000 flows into 1024 buckets: about 1024 * (1 - e^-0.98) = 640.
  EXPECT_GT(buckets.size(), 580u);
  // Addresses count too.
  EXPECT_NE(a.FlowOf(MakePacket(40, 7, Ecn::kNotEct, 1)),
            a.FlowOf(MakePacket(40, 7, Ecn::kNotEct, 2)));
}

TEST(FqCodelTest, DrainTakesEverythingWithoutDecisions) {
  FqCodelQueue q(kSpec, {}, 1);
  for (int i = 0; i < 30; ++i) {
    q.Push(i, Queued(MakePacket(1500, static_cast<uint16_t>(1 + i % 3)), i),
           Ignore);
  }
  QueuedPacket out;
  int n = 0;
  TimeNs last[4] = {-1, -1, -1, -1};
  while (q.Drain(&out)) {
    const uint16_t port = PeekTcp(out.packet).src_port;
    EXPECT_GT(out.enqueued, last[port]);  // each flow in FIFO order
    last[port] = out.enqueued;
    ++n;
  }
  EXPECT_EQ(n, 30);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(FqCodelTest, SameSeedSameDecisions) {
  std::vector<std::pair<TimeNs, uint16_t>> runs[2];
  for (auto& r : runs) {
    FqCodelQueue q(kSpec, {.packets = 200, .bytes = 0}, 9);
    const Outcome o = RunLink(q,
                              Merge({Periodic(1, 1500, 0, kMs, 5000),
                                     Periodic(2, 600, 0, kMs / 2, 10'000)}),
                              kNsPerByte);
    for (const auto& d : o.decisions) r.push_back({d.at, d.port});
  }
  EXPECT_FALSE(runs[0].empty());
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace tcpemu
