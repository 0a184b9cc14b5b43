// Tests for a Path whose wire changes over time: Mahimahi delivery traces,
// schedules of steps and ramps, a link going down, queue samples, and the
// same seed giving the same packets at the same times.
#include <cmath>
#include <memory>
#include <vector>

#include "engine/link/path.h"
#include "gtest/gtest.h"
#include "tests/engine/link/link_test_util.h"

namespace tcpemu {
namespace {

using link_test::DataPacket;
using link_test::RecordingSink;

struct Arrival {
  TimeNs time;
  uint32_t seq;
  size_t size;
  bool operator==(const Arrival&) const = default;
};

// Offers a packet of `size` bytes every `gap` ns until `until`, polling at
// every deadline in between, and returns what arrived.
std::vector<Arrival> Drive(Path& path, TimeNs gap, TimeNs until,
                           size_t (*size_of)(uint32_t)) {
  std::vector<Arrival> out;
  TimeNs next_send = 0;
  uint32_t seq = 0;
  while (true) {
    const TimeNs t = std::min(path.NextDeadline(), next_send);
    if (t > until) break;
    if (t == next_send) {
      path.Send(t, DataPacket(seq, size_of(seq) - 40));
      ++seq;
      next_send += gap;
    } else {
      path.Poll(t, [&](TimeNs arrival, Packet&& p) {
        out.push_back({arrival, PeekTcp(p).seq.value(), p.size()});
      });
    }
  }
  return out;
}

// A cellular-like trace: the number of 1500-byte opportunities per ms
// swings between 0 and 4 (0 to 48 Mbit/s) over a 1.3 s period, with a
// 150 ms outage.
std::shared_ptr<const DeliveryTrace> SwingingTrace() {
  auto t = std::make_shared<DeliveryTrace>();
  t->name = "swing";
  for (uint32_t ms = 1; ms <= 1300; ++ms) {
    if (ms > 600 && ms <= 750) continue;
    const double phase = 2 * M_PI * ms / 1300.0;
    const int n = static_cast<int>(std::lround(2 + 2 * std::sin(phase)));
    for (int i = 0; i < n; ++i) t->opportunities_ms.push_back(ms);
  }
  if (t->opportunities_ms.back() != 1300) t->opportunities_ms.push_back(1300);
  return t;
}

// Bytes the trace can deliver in [from, to) ns.
uint64_t TraceBytes(const DeliveryTrace& t, TimeNs from, TimeNs to) {
  const TimeNs period =
      static_cast<TimeNs>(t.opportunities_ms.back()) * kMillisecond;
  uint64_t bytes = 0;
  for (TimeNs base = 0; base < to; base += period) {
    for (uint32_t ms : t.opportunities_ms) {
      const TimeNs at = base + static_cast<TimeNs>(ms) * kMillisecond;
      if (at >= from && at < to) bytes += kTraceOpportunityBytes;
    }
  }
  return bytes;
}

size_t Mixed(uint32_t seq) { return seq % 3 == 0 ? 1500 : 700; }

TEST(PathScheduleTest, TraceDeliversItsRatePerHundredMilliseconds) {
  PathSpec spec;
  spec.trace = SwingingTrace();
  spec.queue_limit_packets = 0;
  spec.queue_limit_bytes = 2'000'000;  // never overflows below
  Path path(spec, 7, 1, Endpoint::kClient, nullptr);
  // Offered: 60 Mbit/s of mixed sizes, more than the trace's peak.
  const TimeNs until = 3 * kSecond;
  std::vector<Arrival> got = Drive(path, 130 * kMicrosecond, until, Mixed);
  // Backlogged throughout: more is offered than the trace carries.
  EXPECT_GT(path.counters().dropped_queue, 0u);
  int windows = 0;
  for (TimeNs w = 0; w + 100 * kMillisecond <= until; w += 100 * kMillisecond) {
    uint64_t delivered = 0;
    for (const Arrival& a : got) {
      if (a.time >= w && a.time < w + 100 * kMillisecond) delivered += a.size;
    }
    const uint64_t expected =
        TraceBytes(*spec.trace, w, w + 100 * kMillisecond);
    // The queue never empties, so every opportunity is used; bytes are
    // counted whole when a packet's last byte leaves, hence a packet's
    // worth of slack at each end of a window.
    EXPECT_NEAR(static_cast<double>(delivered), static_cast<double>(expected),
                std::max(0.05 * static_cast<double>(expected), 3000.0))
        << "window at " << w / kMillisecond << " ms";
    ++windows;
  }
  EXPECT_EQ(windows, 30);
  // The outage (600-750 ms of each period) delivers nothing.
  for (const Arrival& a : got) {
    const TimeNs in_period = a.time % (1300 * kMillisecond);
    EXPECT_FALSE(in_period > 600 * kMillisecond &&
                 in_period <= 750 * kMillisecond)
        << a.time;
  }
}

TEST(PathScheduleTest, SameSeedSameArrivals) {
  PathSpec spec;
  spec.trace = SwingingTrace();
  spec.delay = 20 * kMillisecond;
  spec.jitter.jitter = 2 * kMillisecond;
  spec.loss.model = LossSpec::Model::kRandom;
  spec.loss.p = 0.02;
  spec.queue_limit_packets = 200;
  Path a(spec, 42, 1, Endpoint::kClient, nullptr);
  Path b(spec, 42, 1, Endpoint::kClient, nullptr);
  Path c(spec, 43, 1, Endpoint::kClient, nullptr);
  const std::vector<Arrival> ra = Drive(a, 200 * kMicrosecond, kSecond, Mixed);
  const std::vector<Arrival> rb = Drive(b, 200 * kMicrosecond, kSecond, Mixed);
  const std::vector<Arrival> rc = Drive(c, 200 * kMicrosecond, kSecond, Mixed);
  EXPECT_GT(ra.size(), 1000u);
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
}

size_t Full(uint32_t) { return 1500; }

TEST(PathScheduleTest, ScheduleStepsRampsAndOutages) {
  auto schedule = std::make_shared<LinkSchedule>();
  // 12 Mbit/s (1 packet per ms), 24 from 100 ms, a ramp from 24 down to 6
  // over 200-300 ms, down from 300 to 400 ms.
  schedule->points = {
      {.at = 0, .rate_bps = 12'000'000},
      {.at = 100 * kMillisecond, .rate_bps = 24'000'000},
      {.at = 200 * kMillisecond},
      {.at = 300 * kMillisecond, .ramp = true, .rate_bps = 6'000'000},
      {.at = 300 * kMillisecond, .down = true},
      {.at = 400 * kMillisecond, .down = false},
  };
  schedule->ramp_step = 20 * kMillisecond;
  PathSpec spec;
  spec.schedule = schedule;
  spec.queue_limit_packets = 0;
  RecordingSink sink;
  Path path(spec, 1, 3, Endpoint::kServer, &sink);
  std::vector<Arrival> got =
      Drive(path, 50 * kMicrosecond, 500 * kMillisecond, Full);
  auto delivered = [&](TimeNs from, TimeNs to) {
    int n = 0;
    for (const Arrival& a : got) n += a.time > from && a.time <= to;
    return n;
  };
  EXPECT_EQ(delivered(0, 100 * kMillisecond), 100);
  EXPECT_EQ(delivered(100 * kMillisecond, 200 * kMillisecond), 200);
  // The ramp: 24 -> 6 Mbit/s in 20 ms steps (about 15 Mbit/s on average).
  const int ramp = delivered(200 * kMillisecond, 300 * kMillisecond);
  EXPECT_GT(ramp, 100);
  EXPECT_LT(ramp, 200);
  // Only the packet on the wire when it went down.
  EXPECT_LE(delivered(300 * kMillisecond, 400 * kMillisecond), 1);
  // Back up at 6 Mbit/s: a packet every 2 ms, the queue full of waiting ones.
  EXPECT_EQ(delivered(400 * kMillisecond, 500 * kMillisecond), 50);
  EXPECT_GT(path.queued_packets(), 1000u);

  std::vector<Event> changes;
  for (const Event& e : sink.events) {
    if (e.kind == EventKind::kLinkChanged) changes.push_back(e);
  }
  // 0, 100, 200, four ramp steps (220..280), the ramp's end at 300, down,
  // up.
  ASSERT_EQ(changes.size(), 10u);
  EXPECT_EQ(changes[0].time, 0);
  EXPECT_EQ(changes[0].a, 12'000'000);
  EXPECT_EQ(changes[1].a, 24'000'000);
  EXPECT_EQ(changes[3].time, 220 * kMillisecond);
  EXPECT_EQ(changes[3].a, 24'000'000 - 18'000'000 / 5);
  EXPECT_EQ(changes[7].time, 300 * kMillisecond);
  EXPECT_EQ(changes[7].a, 6'000'000);
  EXPECT_EQ(changes[8].time, 300 * kMillisecond);
  EXPECT_EQ(changes[8].b, -1);  // down
  EXPECT_EQ(changes[9].b, 0);
  EXPECT_EQ(changes[9].link_id, 3u);
  EXPECT_EQ(changes[9].endpoint, Endpoint::kServer);
  EXPECT_EQ(path.counters().link_changes, 10u);
  EXPECT_EQ(path.spec().rate_bps, 6'000'000u);
}

TEST(PathScheduleTest, QueueSamplesReportBacklogAndSojourn) {
  PathSpec spec;
  spec.rate_bps = 12'000'000;  // 1 ms per 1500-byte packet
  spec.queue_limit_packets = 0;
  spec.queue_sample_interval = 10 * kMillisecond;
  RecordingSink sink;
  Path path(spec, 1, 1, Endpoint::kClient, &sink);
  // Two packets per ms: the queue grows by one packet per ms.
  Drive(path, 500 * kMicrosecond, 100 * kMillisecond, Full);
  std::vector<Event> samples;
  for (const Event& e : sink.events) {
    if (e.kind == EventKind::kQueueSample) samples.push_back(e);
  }
  ASSERT_GE(samples.size(), 9u);
  ASSERT_LE(samples.size(), 11u);
  for (size_t i = 1; i < samples.size(); ++i) {
    EXPECT_GE(samples[i].time - samples[i - 1].time, 10 * kMillisecond);
    EXPECT_GT(samples[i].b, samples[i - 1].b);  // sojourn grows
    EXPECT_GT(samples[i].a, samples[i - 1].a);  // and so does the backlog
  }
  // A drop-tail queue at a fixed rate knows a packet's sojourn when it
  // arrives, and samples it then: the one arriving at t waits t (t packets
  // of 1 ms are ahead of it).
  EXPECT_NEAR(static_cast<double>(samples.back().b),
              static_cast<double>(samples.back().time), 2e6);
  EXPECT_GT(path.counters().dequeued, 0u);
  // Packets waited 0 to 100 ms, 50 ms on average.
  const PathCounters& c = path.counters();
  ASSERT_GT(c.dequeued, 0u);
  EXPECT_NEAR(static_cast<double>(c.sojourn_ns_total) /
                  static_cast<double>(c.dequeued) / 1e6,
              50.0, 5.0);
}

}  // namespace
}  // namespace tcpemu
