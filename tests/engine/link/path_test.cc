// Tests for Path: each stage (delay, rate, queue, jitter, reorder,
// duplicate, corrupt, MTU, loss, fault rules), live updates, events,
// determinism by seed, delivery order and the allocation-free steady state.
#include "engine/link/path.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/link/link_test_util.h"

// Counts heap allocations so that the steady-state test can assert none. The
// replacement pair is malloc/free on both sides; GCC cannot see that through
// inlining and would flag every delete expression in this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace tcpemu {
namespace {

using link_test::DataPacket;
using link_test::MakePacket;
using link_test::RecordingSink;
using namespace tcp_flags;  // NOLINT: flag names read better bare here

struct Delivery {
  TimeNs arrival;
  uint32_t seq;
  size_t size;
  Packet packet;
};

// Polls at every deadline up to `until` and collects what comes out,
// checking that each packet arrives exactly at the deadline polled.
std::vector<Delivery> Drain(Path& path, TimeNs until = kNever) {
  std::vector<Delivery> out;
  for (TimeNs t = path.NextDeadline(); t != kNever && t <= until;
       t = path.NextDeadline()) {
    path.Poll(t, [&](TimeNs arrival, Packet&& p) {
      EXPECT_EQ(arrival, t);
      const uint32_t seq = PeekTcp(p).seq.value();
      const size_t size = p.size();
      out.push_back(Delivery{arrival, seq, size, std::move(p)});
    });
  }
  return out;
}

std::vector<uint32_t> Seqs(const std::vector<Delivery>& d) {
  std::vector<uint32_t> s;
  for (const Delivery& x : d) s.push_back(x.seq);
  return s;
}

PathSpec Lossless(DurationNs delay = 0) {
  PathSpec s;
  s.delay = delay;
  return s;
}

TEST(PathTest, DelayIsExact) {
  Path path(Lossless(10 * kMillisecond), 1, 7, Endpoint::kClient, nullptr);
  EXPECT_EQ(path.NextDeadline(), kNever);
  path.Send(0, DataPacket(100));
  path.Send(1000, DataPacket(200));
  path.Send(2500, DataPacket(300));
  EXPECT_EQ(path.NextDeadline(), 10 * kMillisecond);
  EXPECT_EQ(path.in_flight_packets(), 3u);

  int early = 0;
  path.Poll(10 * kMillisecond - 1, [&](TimeNs, Packet&&) { ++early; });
  EXPECT_EQ(early, 0);

  std::vector<Delivery> d = Drain(path);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].arrival, 10 * kMillisecond);
  EXPECT_EQ(d[1].arrival, 10 * kMillisecond + 1000);
  EXPECT_EQ(d[2].arrival, 10 * kMillisecond + 2500);
  EXPECT_EQ(Seqs(d), (std::vector<uint32_t>{100, 200, 300}));
  EXPECT_EQ(path.counters().packets_sent, 3u);
  EXPECT_EQ(path.counters().packets_delivered, 3u);
  EXPECT_EQ(path.counters().bytes_sent, 3u * 140);
  EXPECT_EQ(path.counters().bytes_delivered, 3u * 140);
  EXPECT_EQ(path.in_flight_packets(), 0u);
  EXPECT_EQ(path.NextDeadline(), kNever);
}

TEST(PathTest, PollDeliversEverythingDueInArrivalThenSendOrder) {
  PathSpec spec;
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  for (uint32_t i = 0; i < 50; ++i) path.Send(5, DataPacket(i));
  std::vector<uint32_t> seqs;
  std::vector<TimeNs> arrivals;
  path.Poll(1000, [&](TimeNs a, Packet&& p) {
    arrivals.push_back(a);
    seqs.push_back(PeekTcp(p).seq.value());
  });
  ASSERT_EQ(seqs.size(), 50u);
  for (uint32_t i = 0; i < 50; ++i) {
    EXPECT_EQ(seqs[i], i);
    EXPECT_EQ(arrivals[i], 5);
  }
}

TEST(PathTest, RateSerializesBackToBackPacketsExactly) {
  PathSpec spec = Lossless(kMillisecond);
  spec.rate_bps = 1'000'000'000;  // 1500 bytes = 12 us
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  for (uint32_t i = 0; i < 5; ++i) path.Send(0, DataPacket(i, 1460));
  EXPECT_EQ(path.queued_packets(), 4u);
  EXPECT_EQ(path.queued_bytes(), 4u * 1500);
  std::vector<Delivery> d = Drain(path);
  ASSERT_EQ(d.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(d[i].arrival, kMillisecond + (i + 1) * 12'000) << i;
  }
  EXPECT_EQ(path.queued_packets(), 0u);
}

TEST(PathTest, RateHasNoDriftOverAThousandPackets) {
  PathSpec spec;
  spec.rate_bps = 7'000'000;  // 100-byte packets: 114285.71 ns each
  spec.queue_limit_packets = 0;
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  for (uint32_t i = 0; i < 1000; ++i) path.Send(0, DataPacket(i, 60));
  std::vector<Delivery> d = Drain(path);
  ASSERT_EQ(d.size(), 1000u);
  for (uint64_t n = 1; n <= 1000; ++n) {
    ASSERT_EQ(d[n - 1].arrival,
              static_cast<TimeNs>(n * 800 * 1'000'000'000ull / 7'000'000));
  }
}

TEST(PathTest, QueueLimitInPacketsDropsTailWithEvents) {
  PathSpec spec = Lossless(kMillisecond);
  spec.rate_bps = 8'000'000;  // 1 byte per microsecond
  spec.queue_limit_packets = 3;
  RecordingSink sink;
  Path path(spec, 1, 42, Endpoint::kServer, &sink);
  for (uint32_t i = 0; i < 10; ++i) {
    path.Send(500, MakePacket(1000 + i * 960, kAck | kPsh, 960, 77));
  }
  // One on the wire and three waiting; the other six are dropped.
  EXPECT_EQ(path.counters().dropped_queue, 6u);
  EXPECT_EQ(path.queued_packets(), 3u);
  ASSERT_EQ(sink.events.size(), 6u);
  for (size_t i = 0; i < sink.events.size(); ++i) {
    const Event& e = sink.events[i];
    EXPECT_EQ(e.kind, EventKind::kSegmentDropped);
    EXPECT_EQ(e.drop_reason, DropReason::kQueue);
    EXPECT_EQ(e.link_id, 42u);
    EXPECT_EQ(e.endpoint, Endpoint::kServer);
    EXPECT_EQ(e.time, 500);
    EXPECT_EQ(e.seg.seq, 1000 + (4 + i) * 960);
    EXPECT_EQ(e.seg.ack, 77u);
    EXPECT_EQ(e.seg.flags, kAck | kPsh);
    EXPECT_EQ(e.seg.len, 960u);
    EXPECT_EQ(e.a, 0);
  }
  std::vector<Delivery> d = Drain(path);
  EXPECT_EQ(Seqs(d), (std::vector<uint32_t>{1000, 1960, 2920, 3880}));
  EXPECT_EQ(d[0].arrival, 500 + 1000 * kMicrosecond + kMillisecond);
}

TEST(PathTest, QueueLimitInBytes) {
  PathSpec spec;
  spec.rate_bps = 8'000'000;
  spec.queue_limit_packets = 0;
  spec.queue_limit_bytes = 2500;
  RecordingSink sink;
  Path path(spec, 1, 1, Endpoint::kClient, &sink);
  for (uint32_t i = 0; i < 5; ++i) path.Send(0, DataPacket(i, 960));  // 1000 B
  // 1000 on the wire, 2000 waiting; a third 1000 would make 3000 > 2500.
  EXPECT_EQ(path.counters().dropped_queue, 2u);
  EXPECT_EQ(path.queued_bytes(), 2000u);
  // A small packet still fits in the remaining 500 bytes.
  path.Send(0, DataPacket(9, 460));
  EXPECT_EQ(path.counters().dropped_queue, 2u);
  EXPECT_EQ(path.queued_bytes(), 2500u);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].drop_reason, DropReason::kQueue);
  // Once the first waiting packet starts serializing there is room again.
  path.Poll(1000 * kMicrosecond, [](TimeNs, Packet&&) {});
  EXPECT_EQ(path.queued_bytes(), 1500u);
  path.Send(1000 * kMicrosecond, DataPacket(10, 960));
  EXPECT_EQ(path.counters().dropped_queue, 2u);
}

std::vector<Delivery> SendEvenly(Path& path, int n, DurationNs spacing,
                                 size_t payload = 100) {
  for (int i = 0; i < n; ++i) {
    path.Send(i * spacing, DataPacket(static_cast<uint32_t>(i), payload));
  }
  return Drain(path);
}

TEST(PathTest, JitterStaysWithinBoundsAndReorders) {
  PathSpec spec = Lossless(10 * kMillisecond);
  spec.jitter.jitter = 2 * kMillisecond;
  Path path(spec, 3, 1, Endpoint::kClient, nullptr);
  const DurationNs spacing = 10 * kMicrosecond;
  std::vector<Delivery> d = SendEvenly(path, 10'000, spacing);
  ASSERT_EQ(d.size(), 10'000u);
  DurationNs lo = kNever, hi = 0;
  int out_of_order = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const DurationNs delay = d[i].arrival - d[i].seq * spacing;
    lo = std::min(lo, delay);
    hi = std::max(hi, delay);
    if (i > 0 && d[i].seq < d[i - 1].seq) ++out_of_order;
  }
  EXPECT_GE(lo, 8 * kMillisecond);
  EXPECT_LE(hi, 12 * kMillisecond);
  EXPECT_LT(lo, 8 * kMillisecond + 50 * kMicrosecond);
  EXPECT_GT(hi, 12 * kMillisecond - 50 * kMicrosecond);
  EXPECT_GT(out_of_order, 1000);
}

TEST(PathTest, KeepOrderNeverReorders) {
  for (auto dist : {JitterSpec::Distribution::kUniform,
                    JitterSpec::Distribution::kNormal}) {
    PathSpec spec = Lossless(10 * kMillisecond);
    spec.jitter.jitter = 2 * kMillisecond;
    spec.jitter.distribution = dist;
    spec.jitter.keep_order = true;
    Path path(spec, 3, 1, Endpoint::kClient, nullptr);
    const DurationNs spacing = 10 * kMicrosecond;
    std::vector<Delivery> d = SendEvenly(path, 10'000, spacing);
    ASSERT_EQ(d.size(), 10'000u);
    for (size_t i = 0; i < d.size(); ++i) {
      ASSERT_EQ(d[i].seq, i);
      if (i > 0) {
        ASSERT_GE(d[i].arrival, d[i - 1].arrival);
      }
      ASSERT_GE(d[i].arrival - static_cast<TimeNs>(i) * spacing,
                dist == JitterSpec::Distribution::kUniform ? 8 * kMillisecond
                                                           : 2 * kMillisecond);
    }
  }
}

TEST(PathTest, TotalDelayNeverNegative) {
  PathSpec spec = Lossless(kMillisecond);
  spec.jitter.jitter = 5 * kMillisecond;
  Path path(spec, 4, 1, Endpoint::kClient, nullptr);
  const DurationNs spacing = kMicrosecond;
  std::vector<Delivery> d = SendEvenly(path, 5000, spacing);
  int zero = 0;
  for (const Delivery& x : d) {
    const DurationNs delay = x.arrival - x.seq * spacing;
    ASSERT_GE(delay, 0);
    zero += delay == 0;
  }
  EXPECT_GT(zero, 1000);  // (5 - 1) / 10 of the draws clamp to 0
}

TEST(PathTest, ReorderProbability) {
  PathSpec spec = Lossless(10 * kMillisecond);
  spec.reorder = 0.25;
  RecordingSink sink;
  Path path(spec, 5, 1, Endpoint::kClient, &sink);
  const int n = 20'000;
  const DurationNs spacing = 100 * kMicrosecond;
  std::vector<Delivery> d = SendEvenly(path, n, spacing);
  ASSERT_EQ(d.size(), static_cast<size_t>(n));
  int immediate = 0;
  for (const Delivery& x : d) {
    const DurationNs delay = x.arrival - x.seq * spacing;
    ASSERT_TRUE(delay == 0 || delay == 10 * kMillisecond);
    immediate += delay == 0;
  }
  EXPECT_NEAR(static_cast<double>(immediate) / n, 0.25, 0.015);
  EXPECT_EQ(path.counters().reordered, static_cast<uint64_t>(immediate));
  ASSERT_EQ(sink.events.size(), static_cast<size_t>(immediate));
  EXPECT_EQ(sink.events[0].kind, EventKind::kSegmentMangled);
  EXPECT_EQ(sink.events[0].mangle, MangleKind::kReorder);
  // They overtook packets in flight.
  int overtakes = 0;
  for (size_t i = 1; i < d.size(); ++i) overtakes += d[i].seq < d[i - 1].seq;
  EXPECT_GT(overtakes, n / 10);
}

TEST(PathTest, ReorderGapReordersEveryNthPacket) {
  PathSpec spec = Lossless(10 * kMillisecond);
  spec.reorder = 1;
  spec.reorder_gap = 5;
  Path path(spec, 6, 1, Endpoint::kClient, nullptr);
  const DurationNs spacing = kMillisecond;
  std::vector<Delivery> d = SendEvenly(path, 100, spacing);
  for (const Delivery& x : d) {
    const bool immediate = x.arrival == x.seq * spacing;
    EXPECT_EQ(immediate, x.seq % 5 == 4) << x.seq;
  }
  EXPECT_EQ(path.counters().reordered, 20u);
}

TEST(PathTest, ReorderGapWithProbabilityWaitsForTheGap) {
  PathSpec spec = Lossless(10 * kMillisecond);
  spec.reorder = 0.5;
  spec.reorder_gap = 3;
  Path path(spec, 7, 1, Endpoint::kClient, nullptr);
  const DurationNs spacing = kMillisecond;
  std::vector<Delivery> d = SendEvenly(path, 10'000, spacing);
  std::vector<uint32_t> reordered;
  for (const Delivery& x : d) {
    if (x.arrival == x.seq * spacing) reordered.push_back(x.seq);
  }
  std::sort(reordered.begin(), reordered.end());
  ASSERT_GT(reordered.size(), 1000u);
  EXPECT_GE(reordered[0], 2u);
  for (size_t i = 1; i < reordered.size(); ++i) {
    ASSERT_GE(reordered[i] - reordered[i - 1], 3u);
  }
  // Eligible every 3rd packet, then a 1/2 chance per packet: mean gap 4.
  EXPECT_NEAR(10'000.0 / reordered.size(), 4, 0.2);
}

TEST(PathTest, DuplicateRate) {
  PathSpec spec = Lossless(kMillisecond);
  spec.duplicate = 0.1;
  RecordingSink sink;
  Path path(spec, 8, 1, Endpoint::kClient, &sink);
  const int n = 50'000;
  std::vector<Delivery> d = SendEvenly(path, n, kMicrosecond);
  const uint64_t extra = d.size() - n;
  EXPECT_NEAR(static_cast<double>(extra) / n, 0.1, 0.007);
  EXPECT_EQ(path.counters().duplicated, extra);
  EXPECT_EQ(path.counters().packets_delivered, d.size());
  EXPECT_EQ(sink.events.size(), extra);
  EXPECT_EQ(sink.events[0].mangle, MangleKind::kDuplicate);
  // A copy follows its original and is byte-identical.
  for (size_t i = 1; i < d.size(); ++i) {
    if (d[i].seq == d[i - 1].seq) {
      EXPECT_EQ(d[i].packet.payload, d[i - 1].packet.payload);
      EXPECT_EQ(d[i].packet.header_bytes(), d[i - 1].packet.header_bytes());
    }
  }
}

TEST(PathTest, CorruptionIsCaughtAndLeavesTheSenderChunkAlone) {
  PathSpec spec;
  spec.corrupt = 1;
  RecordingSink sink;
  Path path(spec, 9, 1, Endpoint::kClient, &sink);
  std::vector<Packet> originals;
  for (uint32_t i = 0; i < 2000; ++i) {
    Packet p = DataPacket(i * 100, 200);
    originals.push_back(p);  // shares the payload chunk with what is sent
    path.Send(0, std::move(p));
  }
  std::vector<Delivery> d = Drain(path);
  ASSERT_EQ(d.size(), 2000u);
  EXPECT_EQ(path.counters().corrupted, 2000u);
  int decode_errors = 0, bad_checksums = 0, header_hits = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const Event& e = sink.events[i];
    EXPECT_EQ(e.mangle, MangleKind::kCorrupt);
    EXPECT_EQ(e.seg.seq, i * 100);  // read before the flip
    header_hits += e.b < 40 * 8;
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(d[i].packet);
    if (!parsed.ok()) {
      ++decode_errors;
    } else {
      EXPECT_FALSE(parsed->checksum_ok) << "bit " << e.b;
      ++bad_checksums;
    }
  }
  EXPECT_GT(bad_checksums, 1500);
  EXPECT_GT(header_hits, 200);  // 320 of 1920 bits are header
  // The sender's payload (the same chunk) still holds the original bytes.
  for (uint32_t i = 0; i < originals.size(); ++i) {
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(originals[i]);
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->checksum_ok);
    std::vector<uint8_t> bytes(200);
    originals[i].payload.CopyTo(absl::MakeSpan(bytes));
    for (size_t k = 0; k < bytes.size(); ++k) {
      ASSERT_EQ(bytes[k], static_cast<uint8_t>(i * 100 + k));
    }
  }
}

TEST(PathTest, CorruptRate) {
  PathSpec spec;
  spec.corrupt = 0.05;
  Path path(spec, 10, 1, Endpoint::kClient, nullptr);
  const int n = 50'000;
  std::vector<Delivery> d = SendEvenly(path, n, 1, 20);
  int bad = 0;
  for (const Delivery& x : d) {
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(x.packet);
    bad += !parsed.ok() || !parsed->checksum_ok;
  }
  EXPECT_EQ(static_cast<uint64_t>(bad), path.counters().corrupted);
  EXPECT_NEAR(static_cast<double>(bad) / n, 0.05, 0.005);
}

TEST(PathTest, MtuDropsLargerPackets) {
  PathSpec spec;
  spec.mtu = 576;
  RecordingSink sink;
  Path path(spec, 1, 3, Endpoint::kClient, &sink);
  path.Send(0, DataPacket(1, 536));  // 576 bytes: fits
  path.Send(0, DataPacket(2, 537));
  EXPECT_EQ(path.counters().dropped_mtu, 1u);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].drop_reason, DropReason::kMtu);
  EXPECT_EQ(sink.events[0].seg.seq, 2u);
  EXPECT_EQ(sink.events[0].seg.len, 537u);
  EXPECT_EQ(Seqs(Drain(path)), std::vector<uint32_t>{1});
}

TEST(PathTest, RandomLossRateAndEvents) {
  PathSpec spec;
  spec.loss.model = LossSpec::Model::kRandom;
  spec.loss.p = 0.1;
  RecordingSink sink;
  Path path(spec, 11, 1, Endpoint::kClient, &sink);
  const int n = 100'000;
  std::vector<Delivery> d = SendEvenly(path, n, 1, 0);
  const uint64_t lost = path.counters().dropped_loss;
  EXPECT_NEAR(static_cast<double>(lost) / n, 0.1, 0.005);
  EXPECT_EQ(d.size() + lost, static_cast<size_t>(n));
  ASSERT_EQ(sink.events.size(), lost);
  EXPECT_EQ(sink.events[0].drop_reason, DropReason::kLoss);
}

TEST(PathTest, GilbertElliottLossThroughThePath) {
  PathSpec spec;
  spec.loss = {LossSpec::Model::kGilbertElliott, 0.02, 0.2, 0, 1};
  Path path(spec, 12, 1, Endpoint::kClient, nullptr);
  const int n = 200'000;
  std::vector<Delivery> d = SendEvenly(path, n, 1, 0);
  // Bursts: gaps in the delivered sequence.
  int bursts = 0;
  uint32_t expected = 0;
  for (const Delivery& x : d) {
    if (x.seq != expected) ++bursts;
    expected = x.seq + 1;
  }
  const double lost = n - static_cast<double>(d.size());
  EXPECT_NEAR(lost / n, 0.02 / 0.22, 0.01);
  EXPECT_NEAR(lost / bursts, 1 / 0.2, 0.3);
}

// --- Fault rules through the path ---

TEST(PathFaultTest, DropWithCountOnDataOnly) {
  RecordingSink sink;
  Path path(Lossless(), 1, 5, Endpoint::kClient, &sink);
  FaultRule r;
  r.action = FaultAction::kDrop;
  r.match.payload_only = true;
  r.count = 2;
  absl::StatusOr<uint32_t> id = path.AddFault(r, 0);
  ASSERT_TRUE(id.ok());
  path.Send(0, MakePacket(0, kSyn, 0));
  path.Send(0, DataPacket(1));
  path.Send(0, MakePacket(1, kAck, 0));
  path.Send(0, DataPacket(101));
  path.Send(0, DataPacket(201));
  EXPECT_EQ(Seqs(Drain(path)), (std::vector<uint32_t>{0, 1, 201}));
  EXPECT_EQ(path.counters().dropped_fault, 2u);
  EXPECT_EQ(path.counters().fault_hits, 2u);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].drop_reason, DropReason::kFault);
  EXPECT_EQ(sink.events[0].a, *id);
  EXPECT_EQ(sink.events[1].seg.seq, 101u);
  EXPECT_EQ(path.fault_count(), 0u);  // spent
}

TEST(PathFaultTest, DelayTheNthSegment) {
  RecordingSink sink;
  Path path(Lossless(kMillisecond), 1, 1, Endpoint::kClient, &sink);
  FaultRule r;
  r.action = FaultAction::kDelay;
  r.delay = 5 * kMillisecond;
  r.match.nth = 2;
  const uint32_t id = *path.AddFault(r, 0);
  for (uint32_t i = 0; i < 4; ++i) path.Send(i * 10, DataPacket(i));
  std::vector<Delivery> d = Drain(path);
  EXPECT_EQ(Seqs(d), (std::vector<uint32_t>{0, 2, 3, 1}));
  EXPECT_EQ(d[3].arrival, 10 + 6 * kMillisecond);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].mangle, MangleKind::kDelay);
  EXPECT_EQ(sink.events[0].a, id);
  EXPECT_EQ(sink.events[0].b, 5 * kMillisecond);
}

TEST(PathFaultTest, DelayFaultIsNotHeldBackByKeepOrder) {
  PathSpec spec = Lossless(kMillisecond);
  spec.jitter.jitter = 100;
  spec.jitter.keep_order = true;
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  FaultRule r;
  r.action = FaultAction::kDelay;
  r.delay = 5 * kMillisecond;
  r.match.nth = 1;
  ASSERT_TRUE(path.AddFault(r, 0).ok());
  for (uint32_t i = 0; i < 4; ++i) path.Send(i * 1000, DataPacket(i));
  EXPECT_EQ(Seqs(Drain(path)), (std::vector<uint32_t>{1, 2, 3, 0}));
}

TEST(PathFaultTest, DuplicateSyns) {
  RecordingSink sink;
  Path path(Lossless(), 1, 1, Endpoint::kClient, &sink);
  FaultRule r;
  r.action = FaultAction::kDuplicate;
  r.match.flags_all = kSyn;
  ASSERT_TRUE(path.AddFault(r, 0).ok());
  path.Send(0, MakePacket(10, kSyn, 0));
  path.Send(0, MakePacket(20, kSyn | kAck, 0));
  path.Send(0, MakePacket(11, kAck, 0));
  EXPECT_EQ(Seqs(Drain(path)), (std::vector<uint32_t>{10, 10, 20, 20, 11}));
  EXPECT_EQ(path.counters().duplicated, 2u);
  EXPECT_EQ(path.counters().fault_hits, 2u);
}

TEST(PathFaultTest, CorruptASeqRange) {
  Path path(Lossless(), 1, 1, Endpoint::kClient, nullptr);
  FaultRule r;
  r.action = FaultAction::kCorrupt;
  r.match.has_seq_range = true;
  r.match.seq_lo = Seq(1000);
  r.match.seq_hi = Seq(1200);
  ASSERT_TRUE(path.AddFault(r, 0).ok());
  for (uint32_t seq = 800; seq < 1400; seq += 100) {
    path.Send(0, DataPacket(seq, 100));
  }
  for (const Delivery& x : Drain(path)) {
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(x.packet);
    const bool bad = !parsed.ok() || !parsed->checksum_ok;
    EXPECT_EQ(bad, x.seq == 1000 || x.seq == 1100) << x.seq;
  }
  EXPECT_EQ(path.counters().corrupted, 2u);
}

TEST(PathFaultTest, ReorderDataButNotAcks) {
  Path path(Lossless(10 * kMillisecond), 1, 1, Endpoint::kClient, nullptr);
  FaultRule r;
  r.action = FaultAction::kReorder;
  r.match.payload_only = true;
  r.match.flags_none = kFin;
  ASSERT_TRUE(path.AddFault(r, 0).ok());
  path.Send(0, MakePacket(1, kAck, 0));
  path.Send(1, DataPacket(2));
  path.Send(2, MakePacket(3, kAck | kFin, 10));
  std::vector<Delivery> d = Drain(path);
  EXPECT_EQ(Seqs(d), (std::vector<uint32_t>{2, 1, 3}));
  EXPECT_EQ(d[0].arrival, 1);
  EXPECT_EQ(path.counters().reordered, 1u);
}

TEST(PathFaultTest, ProbabilityDurationClearAndRemove) {
  Path path(Lossless(), 1, 1, Endpoint::kClient, nullptr);
  FaultRule half;
  half.probability = 0.5;
  half.duration = 10'000;  // active for [0, 10 us)
  ASSERT_TRUE(path.AddFault(half, 0).ok());
  for (int i = 0; i < 10'000; ++i) path.Send(i, DataPacket(i, 0));
  const uint64_t dropped = path.counters().dropped_fault;
  EXPECT_NEAR(static_cast<double>(dropped) / 10'000, 0.5, 0.03);
  for (int i = 10'000; i < 11'000; ++i) path.Send(i, DataPacket(i, 0));
  EXPECT_EQ(path.counters().dropped_fault, dropped);  // expired
  EXPECT_EQ(path.fault_count(), 0u);

  const uint32_t id = *path.AddFault(FaultRule{}, 20'000);
  path.Send(20'000, DataPacket(1));
  EXPECT_EQ(path.counters().dropped_fault, dropped + 1);
  EXPECT_TRUE(path.RemoveFault(id).ok());
  EXPECT_EQ(path.RemoveFault(id).code(), absl::StatusCode::kNotFound);
  path.Send(20'000, DataPacket(2));
  EXPECT_EQ(path.counters().dropped_fault, dropped + 1);

  ASSERT_TRUE(path.AddFault(FaultRule{}, 20'000).ok());
  ASSERT_TRUE(path.AddFault(FaultRule{}, 20'000).ok());
  path.ClearFaults();
  path.Send(20'000, DataPacket(3));
  EXPECT_EQ(path.counters().dropped_fault, dropped + 1);

  FaultRule bad;
  bad.probability = 2;
  EXPECT_EQ(path.AddFault(bad, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PathFaultTest, FaultsComeBeforeTheMtuCheck) {
  PathSpec spec;
  spec.mtu = 100;
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  ASSERT_TRUE(path.AddFault(FaultRule{}, 0).ok());
  path.Send(0, DataPacket(1, 500));
  EXPECT_EQ(path.counters().dropped_fault, 1u);
  EXPECT_EQ(path.counters().dropped_mtu, 0u);
}

// --- Live updates, determinism, re-entrancy, allocation ---

TEST(PathTest, UpdateAppliesLiveAndKeepsPacketsInFlight) {
  Path path(Lossless(10 * kMillisecond), 1, 1, Endpoint::kClient, nullptr);
  path.Send(0, DataPacket(1));
  PathSpec faster = Lossless(kMillisecond);
  ASSERT_TRUE(path.Update(faster, kMillisecond).ok());
  EXPECT_EQ(path.spec().delay, kMillisecond);
  path.Send(kMillisecond, DataPacket(2));
  std::vector<Delivery> d = Drain(path);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].seq, 2u);
  EXPECT_EQ(d[0].arrival, 2 * kMillisecond);
  EXPECT_EQ(d[1].seq, 1u);
  EXPECT_EQ(d[1].arrival, 10 * kMillisecond);

  PathSpec bad = faster;
  bad.loss.p = 1.5;
  absl::Status s = path.Update(bad, kMillisecond);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(path.spec().loss.p, 0);

  PathSpec lossy = faster;
  lossy.loss.model = LossSpec::Model::kRandom;
  lossy.loss.p = 1;
  ASSERT_TRUE(path.Update(lossy, 20 * kMillisecond).ok());
  path.Send(20 * kMillisecond, DataPacket(3));
  EXPECT_EQ(path.counters().dropped_loss, 1u);
}

TEST(PathTest, InvalidConstructorSpecIsClamped) {
  PathSpec spec;
  spec.delay = -5;
  spec.duplicate = 7;
  spec.mtu = 10;
  Path path(spec, 1, 1, Endpoint::kClient, nullptr);
  EXPECT_TRUE(ValidatePathSpec(path.spec()).ok());
  EXPECT_EQ(path.spec().delay, 0);
  EXPECT_EQ(path.spec().duplicate, 1);
  EXPECT_EQ(path.spec().mtu, kMinMtu);
}

PathSpec Everything() {
  PathSpec s;
  s.delay = 5 * kMillisecond;
  s.jitter = {kMillisecond, JitterSpec::Distribution::kNormal, 0.3, false};
  s.rate_bps = 100'000'000;
  s.queue_limit_packets = 20;
  s.loss = {LossSpec::Model::kGilbertElliott, 0.01, 0.3, 0.1, 0.995};
  s.duplicate = 0.01;
  s.reorder = 0.02;
  s.corrupt = 0.01;
  return s;
}

struct Trace {
  std::vector<TimeNs> arrivals;
  std::vector<uint32_t> seqs;
  std::vector<bool> intact;
  PathCounters counters;
};

Trace RunEverything(uint64_t seed) {
  Path path(Everything(), seed, 1, Endpoint::kClient, nullptr);
  FaultRule r;
  r.action = FaultAction::kDrop;
  r.probability = 0.01;
  EXPECT_TRUE(path.AddFault(r, 0).ok());
  Trace t;
  for (uint32_t i = 0; i < 20'000; ++i) {
    const TimeNs now = i * 100 * kMicrosecond / 3;
    path.Poll(now, [&](TimeNs a, Packet&& p) {
      t.arrivals.push_back(a);
      t.seqs.push_back(PeekTcp(p).seq.value());
      absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
      t.intact.push_back(parsed.ok() && parsed->checksum_ok);
    });
    path.Send(now, DataPacket(i * 1000, 1000));
  }
  for (const Delivery& d : Drain(path)) {
    t.arrivals.push_back(d.arrival);
    t.seqs.push_back(d.seq);
    t.intact.push_back(true);  // (not checked for the tail)
  }
  t.counters = path.counters();
  return t;
}

TEST(PathTest, SameSeedSameDeliverySequence) {
  const Trace a = RunEverything(1234);
  const Trace b = RunEverything(1234);
  EXPECT_EQ(a.arrivals, b.arrivals);
  EXPECT_EQ(a.seqs, b.seqs);
  EXPECT_EQ(a.intact, b.intact);
  EXPECT_EQ(a.counters.dropped_loss, b.counters.dropped_loss);
  EXPECT_EQ(a.counters.dropped_queue, b.counters.dropped_queue);
  // Every impairment took part.
  EXPECT_GT(a.counters.dropped_loss, 0u);
  EXPECT_GT(a.counters.dropped_queue, 0u);
  EXPECT_GT(a.counters.dropped_fault, 0u);
  EXPECT_GT(a.counters.duplicated, 0u);
  EXPECT_GT(a.counters.corrupted, 0u);
  EXPECT_GT(a.counters.reordered, 0u);
  const PathCounters& c = a.counters;
  EXPECT_EQ(c.packets_sent + c.duplicated,
            c.packets_delivered + c.dropped_loss + c.dropped_queue +
                c.dropped_fault + c.dropped_mtu);

  const Trace other = RunEverything(1235);
  EXPECT_NE(a.seqs, other.seqs);
}

TEST(PathTest, PacketsSentFromDeliverWaitForTheNextPoll) {
  Path path(Lossless(), 1, 1, Endpoint::kClient, nullptr);
  path.Send(0, DataPacket(1));
  int calls = 0;
  path.Poll(0, [&](TimeNs, Packet&& p) {
    ++calls;
    path.Send(0, std::move(p));  // an echo with no delay
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(path.NextDeadline(), 0);
  EXPECT_EQ(path.in_flight_packets(), 1u);
}

TEST(PathTest, SteadyStateDoesNotAllocate) {
  for (bool jitter : {false, true}) {
    PathSpec spec = Lossless(kMillisecond);
    spec.rate_bps = 20'000'000'000;  // 0.6 us per packet: no queue drops
    if (jitter) spec.jitter.jitter = 100 * kMicrosecond;
    RecordingSink sink;
    sink.events.reserve(16);
    Path path(spec, 1, 1, Endpoint::kClient, &sink);
    const Packet proto = DataPacket(1, 1460);
    uint64_t delivered = 0;
    auto run = [&](int rounds, TimeNs start) {
      for (int i = 0; i < rounds; ++i) {
        const TimeNs now = start + i * kMicrosecond;
        path.Send(now, proto);
        path.Poll(now, [&](TimeNs, Packet&&) { ++delivered; });
      }
    };
    run(20'000, 0);  // warm up: buffers reach their working size
    const uint64_t before = g_allocations.load();
    run(100'000, 20'000 * kMicrosecond);
    EXPECT_EQ(g_allocations.load() - before, 0u) << "jitter=" << jitter;
    EXPECT_GT(delivered, 100'000u);
  }
}

}  // namespace
}  // namespace tcpemu
