// Tests for server/event_hub: filters, ordering, drop-oldest with exact loss
// counts, replay racing a live producer, Cancel, the subscriber limit, history
// caps, bounded memory under a reader that never reads, staged batches and
// their encoding shared between subscribers.
#include "server/event_hub.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/event_convert.h"
#include "server/event_wire.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {
namespace {

// The bytes of an EventBatch holding `runs` and `lost`.
std::string BatchBytes(const std::vector<EventRun>& runs, uint64_t lost) {
  std::string bytes(EventBatchBytes(runs, lost), '\0');
  char* end = CopyEventBatch(runs, lost, bytes.data());
  EXPECT_EQ(end, bytes.data() + bytes.size());
  return bytes;
}

// Subscription::Next with the wire bytes it hands over parsed back into the
// fields these tests look at (network, session, kind, endpoint, time).
uint64_t NextEvents(Subscription& sub, size_t max, absl::Time deadline,
                    std::vector<NetworkEvent>* out,
                    absl::Duration linger = absl::ZeroDuration()) {
  std::vector<EventRun> runs;
  const uint64_t lost = sub.Next(max, deadline, &runs, linger);
  size_t count = 0;
  for (const EventRun& r : runs) count += r.count();
  EXPECT_LE(count, max);
  tcpemu::v1::EventBatch batch;
  EXPECT_TRUE(batch.ParseFromString(BatchBytes(runs, lost)));
  EXPECT_EQ(batch.events_lost(), lost);
  EXPECT_EQ(static_cast<size_t>(batch.events_size()), count);
  for (const tcpemu::v1::Event& ev : batch.events()) {
    NetworkEvent ne;
    ne.network_id = ev.network_id();
    ne.event.session_id = ev.session_id();
    ne.event.time = ev.time_ns();
    ne.event.kind = FromProto(ev.kind()).value_or(EventKind::kSegmentSent);
    ne.event.endpoint = FromProto(ev.endpoint()).value_or(Endpoint::kClient);
    out->push_back(ne);
  }
  return lost;
}

// The event's time field carries a per-stream index so order can be checked.
Event Ev(uint32_t session_id, int64_t index,
         EventKind kind = EventKind::kSegmentSent,
         Endpoint endpoint = Endpoint::kClient) {
  Event e;
  e.time = index;
  e.kind = kind;
  e.endpoint = endpoint;
  e.session_id = session_id;
  return e;
}

absl::Time Soon() { return absl::Now() + absl::Milliseconds(20); }
absl::Time Later() { return absl::Now() + absl::Seconds(10); }

std::vector<int64_t> Times(const std::vector<NetworkEvent>& events) {
  std::vector<int64_t> out;
  for (const NetworkEvent& ne : events) out.push_back(ne.event.time);
  return out;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

std::shared_ptr<Subscription> MustSubscribe(EventHub& hub,
                                            const EventFilter& filter,
                                            bool replay = false) {
  auto sub = hub.Subscribe(filter, replay);
  EXPECT_TRUE(sub.ok()) << sub.status();
  return sub.ok() ? *sub : nullptr;
}

TEST(EventFilterTest, EmptyFilterMatchesEverything) {
  EventFilter f;
  EXPECT_TRUE(f.Matches({7, Ev(3, 0)}));
  EXPECT_TRUE(
      f.Matches({0, Ev(0, 0, EventKind::kSegmentDropped, Endpoint::kServer)}));
}

TEST(EventFilterTest, EachConditionMustHold) {
  EventFilter f;
  f.network_id = 2;
  f.session_ids = {5, 6};
  f.kinds_mask = EventFilter::KindBit(EventKind::kSegmentSent) |
                 EventFilter::KindBit(EventKind::kStateChanged);
  f.endpoint = Endpoint::kServer;
  const Event good = Ev(5, 0, EventKind::kStateChanged, Endpoint::kServer);
  EXPECT_TRUE(f.Matches({2, good}));
  EXPECT_FALSE(f.Matches({3, good})) << "other network";
  EXPECT_FALSE(
      f.Matches({2, Ev(7, 0, EventKind::kStateChanged, Endpoint::kServer)}))
      << "other session";
  EXPECT_FALSE(
      f.Matches({2, Ev(0, 0, EventKind::kSegmentSent, Endpoint::kServer)}))
      << "link event of no session";
  EXPECT_FALSE(
      f.Matches({2, Ev(6, 0, EventKind::kRttSample, Endpoint::kServer)}))
      << "other kind";
  EXPECT_FALSE(
      f.Matches({2, Ev(6, 0, EventKind::kSegmentSent, Endpoint::kClient)}))
      << "other endpoint";
}

TEST(EventHubTest, DeliversMatchingEventsInPublishOrder) {
  EventHub hub({});
  EventFilter f;
  f.network_id = 1;
  f.session_ids = {5};
  auto sub = MustSubscribe(hub, f);
  for (int i = 0; i < 10; ++i) {
    hub.Publish(0, 1, Ev(5, i));
    hub.Publish(0, 1, Ev(6, 100 + i));  // other session
    hub.Publish(0, 2, Ev(5, 200 + i));  // other network
  }
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 10));
  for (const NetworkEvent& ne : got) {
    EXPECT_EQ(ne.network_id, 1u);
    EXPECT_EQ(ne.event.session_id, 5u);
  }
}

TEST(EventHubTest, NextHonoursMaxAndAppends) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 300; ++i) hub.Publish(0, 1, Ev(1, i));
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 200, Soon(), &got), 0u);
  EXPECT_EQ(got.size(), 200u);
  EXPECT_EQ(NextEvents(*sub, 200, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 300));
  EXPECT_EQ(sub->queued(), 0u);
}

TEST(EventHubTest, NextReturnsEmptyAtTheDeadline) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  std::vector<NetworkEvent> got;
  const absl::Time start = absl::Now();
  EXPECT_EQ(NextEvents(*sub, 10, start + absl::Milliseconds(30), &got), 0u);
  EXPECT_TRUE(got.empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(29));
}

TEST(EventHubTest, LingerWaitsForAFullBatchOrItsEnd) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  std::vector<NetworkEvent> got;

  // One event and nothing more: returned when the linger runs out.
  hub.Publish(0, 1, Ev(1, 0));
  absl::Time start = absl::Now();
  NextEvents(*sub, 4, Later(), &got, absl::Milliseconds(40));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(39));
  EXPECT_EQ(Times(got), Range(0, 1));

  // The deadline cuts a linger short.
  hub.Publish(0, 1, Ev(1, 1));
  start = absl::Now();
  NextEvents(*sub, 4, start + absl::Milliseconds(30), &got, absl::Seconds(60));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(Times(got), Range(0, 2));

  // A full batch ends the linger at once.
  std::thread producer([&] {
    for (int i = 2; i < 6; ++i) {
      absl::SleepFor(absl::Milliseconds(5));
      hub.Publish(0, 1, Ev(1, i));
    }
  });
  start = absl::Now();
  NextEvents(*sub, 4, Later(), &got, absl::Seconds(60));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  producer.join();
  EXPECT_EQ(Times(got), Range(0, 6));
}

TEST(EventHubTest, DeliversFromEveryShard) {
  EventHub hub({.shards = 3});
  auto sub = MustSubscribe(hub, {});
  hub.Publish(0, 10, Ev(1, 0));
  hub.Publish(2, 12, Ev(3, 1));
  hub.Publish(1, 11, Ev(2, 2));
  std::vector<NetworkEvent> got;
  NextEvents(*sub, 10, Soon(), &got);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].network_id, 10u);
  EXPECT_EQ(got[1].network_id, 12u);
  EXPECT_EQ(got[2].network_id, 11u);
}

TEST(EventHubTest, FullQueueDropsOldestAndReportsExactCount) {
  EventHub hub({.queue_capacity = 8});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 20; ++i) hub.Publish(0, 1, Ev(1, i));
  EXPECT_EQ(sub->queued(), 8u);
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 12u);
  EXPECT_EQ(Times(got), Range(12, 20));
  EXPECT_EQ(sub->events_lost_total(), 12u);
  EXPECT_EQ(hub.events_dropped_total(), 12u);

  // The count is reported once; nothing lost since then.
  got.clear();
  hub.Publish(0, 1, Ev(1, 20));
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(20, 21));
}

TEST(EventHubTest, LossIsReportedWithTheEventsThatFollowedIt) {
  EventHub hub({.queue_capacity = 4});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 6; ++i) hub.Publish(0, 1, Ev(1, i));  // 0, 1 lost
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 1, Soon(), &got), 2u);
  EXPECT_EQ(Times(got), Range(2, 3));
  for (int i = 6; i < 8; ++i) hub.Publish(0, 1, Ev(1, i));  // 3 lost
  got.clear();
  EXPECT_EQ(NextEvents(*sub, 10, Soon(), &got), 1u);
  EXPECT_EQ(Times(got), Range(4, 8));
}

TEST(EventHubTest, SlowSubscriberDoesNotAffectOthers) {
  EventHub hub({.queue_capacity = 4});
  auto slow = MustSubscribe(hub, {});
  EventFilter only_two;
  only_two.session_ids = {2};
  auto other = MustSubscribe(hub, only_two);
  for (int i = 0; i < 10; ++i) hub.Publish(0, 1, Ev(1, i));
  hub.Publish(0, 1, Ev(2, 99));
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*other, 10, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), std::vector<int64_t>{99});
  EXPECT_EQ(slow->events_lost_total(), 7u);
  EXPECT_EQ(hub.events_dropped_total(), 7u);
}

TEST(EventHubTest, ReplayQueuesHistoryInPublishOrderThenLive) {
  EventHub hub({.shards = 2});
  for (int i = 0; i < 30; ++i) {
    hub.Publish(0, 1, Ev(1 + i % 3, i));  // three sessions interleaved
    hub.Publish(1, 2, Ev(9, 1000 + i));   // another network and shard
    hub.Publish(0, 1, Ev(0, 5000 + i));   // link event: not retained
  }
  EventFilter f;
  f.network_id = 1;
  auto sub = MustSubscribe(hub, f, /*replay=*/true);
  hub.Publish(0, 1, Ev(2, 30));
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 1000, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 31));

  // Without replay only live events arrive.
  auto live = MustSubscribe(hub, f, /*replay=*/false);
  hub.Publish(0, 1, Ev(3, 31));
  got.clear();
  NextEvents(*live, 1000, Soon(), &got);
  EXPECT_EQ(Times(got), Range(31, 32));
}

TEST(EventHubTest, ReplayGivesBackPackedHistoriesOfQuietSessions) {
  EventHub hub({});
  std::vector<Event> quiet;
  for (int i = 0; i < 300; ++i) {
    Event e =
        Ev(1 + i % 20, i,
           i % 3 == 0 ? EventKind::kStateChanged : EventKind::kSegmentSent,
           i % 2 == 0 ? Endpoint::kServer : Endpoint::kClient);
    e.seg.seq = 1000 + 1448 * static_cast<uint32_t>(i);
    e.tcb.cwnd = 14480 + static_cast<uint32_t>(i);
    quiet.push_back(e);
    hub.Publish(0, 1, e);
  }
  // Session 99 keeps the shard busy long enough for the others to be packed.
  for (int i = 0; i < 5000; ++i) hub.Publish(0, 1, Ev(99, 10000 + i));
  const EventHub::HistoryStats stats = hub.history_stats();
  EXPECT_EQ(stats.events, 300u + 256u);
  // Whole, the 20 quiet sessions would hold 20 rings of 16 events.
  EXPECT_LT(stats.allocated_bytes,
            256 * sizeof(SessionHistory::Retained) + 300 * 64);

  EventFilter f;
  for (uint32_t s = 1; s <= 20; ++s) f.session_ids.insert(s);
  auto sub = MustSubscribe(hub, f, /*replay=*/true);
  const Event wake = Ev(1, 300);
  hub.Publish(0, 1, wake);  // a quiet session wakes up: unpacked
  std::vector<EventRun> runs;
  EXPECT_EQ(sub->Next(1000, Soon(), &runs), 0u);
  // Byte for byte the encoding of the events as they were published.
  std::vector<NetworkEvent> all;
  for (const Event& e : quiet) all.push_back({1, e});
  all.push_back({1, wake});
  WireBuffer want;
  AppendEventBatch(all, 0, &want);
  EXPECT_EQ(BatchBytes(runs, 0), std::string(want.data(), want.size()));
  EXPECT_EQ(hub.history_size(1, 1), 16u);
}

TEST(EventHubTest, ReplayAppliesTheWholeFilter) {
  EventHub hub({});
  for (int i = 0; i < 20; ++i) {
    hub.Publish(0, 1,
                Ev(1 + i % 2, i,
                   i % 4 < 2 ? EventKind::kSegmentSent : EventKind::kAppWrite,
                   i % 3 == 0 ? Endpoint::kServer : Endpoint::kClient));
  }
  EventFilter f;
  f.network_id = 1;
  f.session_ids = {2};
  f.kinds_mask = EventFilter::KindBit(EventKind::kSegmentSent);
  f.endpoint = Endpoint::kClient;
  auto sub = MustSubscribe(hub, f, /*replay=*/true);
  std::vector<NetworkEvent> got;
  NextEvents(*sub, 100, Soon(), &got);
  std::vector<int64_t> want;
  for (int i = 0; i < 20; ++i) {
    if (i % 2 == 1 && i % 4 < 2 && i % 3 != 0) want.push_back(i);
  }
  EXPECT_EQ(Times(got), want);
}

TEST(EventHubTest, ReplayLargerThanTheQueueKeepsTheNewestAndCountsTheRest) {
  EventHub hub({.queue_capacity = 10, .history_per_session = 100});
  for (int i = 0; i < 50; ++i) hub.Publish(0, 1, Ev(1, i));
  auto sub = MustSubscribe(hub, {}, /*replay=*/true);
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 40u);
  EXPECT_EQ(Times(got), Range(40, 50));
  EXPECT_EQ(hub.events_dropped_total(), 40u);
}

// Producers keep publishing while subscribers replay: each must see one
// unbroken run of every network's indices, from wherever its retained history
// starts to the last event, with nothing lost or repeated at the seam.
TEST(EventHubTest, ReplayRacingProducersLosesAndRepeatsNothing) {
  constexpr int kShards = 2;
  constexpr int64_t kPerShard = 200'000;
  EventHub hub({.shards = kShards,
                .queue_capacity = 2 * kPerShard,
                .history_per_session = 256});
  std::atomic<int64_t> progress[kShards] = {};
  std::vector<std::thread> producers;
  for (int s = 0; s < kShards; ++s) {
    producers.emplace_back([&, s] {
      for (int64_t i = 0; i < kPerShard; ++i) {
        hub.Publish(s, /*network_id=*/s + 1, Ev(/*session_id=*/s + 1, i));
        progress[s].store(i, std::memory_order_relaxed);
      }
    });
  }
  // Subscribe while both producers are well into their runs.
  for (int s = 0; s < kShards; ++s) {
    while (progress[s].load() < kPerShard / 8) std::this_thread::yield();
  }

  std::vector<std::shared_ptr<Subscription>> subs;
  for (int k = 0; k < 4; ++k) {
    subs.push_back(MustSubscribe(hub, {}, /*replay=*/true));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  for (std::thread& t : producers) t.join();

  for (auto& sub : subs) {
    std::vector<NetworkEvent> got;
    uint64_t lost = 0;
    while (sub->queued() > 0) lost += NextEvents(*sub, 4096, Soon(), &got);
    EXPECT_EQ(lost, 0u);
    std::vector<std::vector<int64_t>> per_network(kShards);
    for (const NetworkEvent& ne : got) {
      per_network[ne.network_id - 1].push_back(ne.event.time);
    }
    for (int s = 0; s < kShards; ++s) {
      const std::vector<int64_t>& seen = per_network[s];
      ASSERT_FALSE(seen.empty());
      EXPECT_EQ(seen.back(), kPerShard - 1);
      EXPECT_EQ(seen, Range(seen.front(), kPerShard)) << "network " << s + 1;
    }
  }
}

TEST(EventHubTest, ConcurrentConsumerSeesEveryEventInOrder) {
  constexpr int64_t kEvents = 500'000;
  EventHub hub({.queue_capacity = kEvents});
  auto sub = MustSubscribe(hub, {});
  std::thread producer([&] {
    for (int64_t i = 0; i < kEvents; ++i) hub.Publish(0, 1, Ev(1, i));
  });
  std::vector<NetworkEvent> got;
  uint64_t lost = 0;
  while (static_cast<int64_t>(got.size()) < kEvents) {
    lost += NextEvents(*sub, 1024, Later(), &got);
  }
  producer.join();
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(Times(got), Range(0, kEvents));
}

TEST(EventHubTest, CancelWakesABlockedNext) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  std::atomic<bool> returned{false};
  std::thread reader([&] {
    std::vector<NetworkEvent> got;
    NextEvents(*sub, 10, absl::InfiniteFuture(), &got);
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(returned.load());
  sub->Cancel();
  reader.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(sub->cancelled());

  // Later calls do not wait.
  std::vector<NetworkEvent> got;
  const absl::Time start = absl::Now();
  NextEvents(*sub, 10, absl::InfiniteFuture(), &got);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(EventHubTest, UnsubscribeStopsDeliveryAndCancels) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  EXPECT_EQ(hub.subscriber_count(), 1u);
  hub.Unsubscribe(sub);
  EXPECT_EQ(hub.subscriber_count(), 0u);
  EXPECT_TRUE(sub->cancelled());
  hub.Publish(0, 1, Ev(1, 0));
  EXPECT_EQ(sub->queued(), 0u);
  hub.Unsubscribe(sub);  // a second time is harmless
  hub.Unsubscribe(nullptr);
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(EventHubTest, SubscribersBeyondTheLimitAreResourceExhausted) {
  EventHub hub({.max_subscribers = 2});
  auto a = MustSubscribe(hub, {});
  auto b = MustSubscribe(hub, {});
  auto c = hub.Subscribe({}, false);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("max_subscribers is 2"),
            absl::string_view::npos)
      << c.status();
  EXPECT_EQ(hub.subscriber_count(), 2u);
  hub.Unsubscribe(a);
  EXPECT_TRUE(hub.Subscribe({}, false).ok());
}

TEST(EventHubTest, HistoryIsCappedPerSessionAndSkipsLinkEvents) {
  EventHub hub({.history_per_session = 16});
  for (int i = 0; i < 100; ++i) hub.Publish(0, 1, Ev(1, i));
  for (int i = 0; i < 3; ++i) hub.Publish(0, 1, Ev(2, i));
  hub.Publish(0, 1, Ev(0, 0));
  EXPECT_EQ(hub.history_size(1, 1), 16u);
  EXPECT_EQ(hub.history_size(1, 2), 3u);
  EXPECT_EQ(hub.history_size(1, 0), 0u);
  const EventHub::HistoryStats stats = hub.history_stats();
  EXPECT_EQ(stats.sessions, 2u);
  EXPECT_EQ(stats.events, 19u);
  // Busy sessions keep whole events, in rings of at most 16 slots here
  // (event_history_test checks how quiet ones are packed).
  EXPECT_GT(stats.allocated_bytes, 0u);
  EXPECT_LE(stats.allocated_bytes, 2 * 16 * sizeof(SessionHistory::Retained));

  EventFilter f;
  f.session_ids = {1};
  auto sub = MustSubscribe(hub, f, /*replay=*/true);
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(84, 100));
}

TEST(EventHubTest, ForgetSessionAndNetworkDropHistory) {
  EventHub hub({.shards = 2});
  hub.Publish(0, 1, Ev(1, 0));
  hub.Publish(0, 1, Ev(2, 0));
  hub.Publish(0, 3, Ev(5, 0));
  hub.Publish(1, 2, Ev(4, 0));
  hub.ForgetSession(0, 1, 1);
  EXPECT_EQ(hub.history_size(1, 1), 0u);
  EXPECT_EQ(hub.history_size(1, 2), 1u);
  hub.ForgetNetwork(0, 1);
  EXPECT_EQ(hub.history_size(1, 2), 0u);
  EXPECT_EQ(hub.history_size(3, 5), 1u);
  EXPECT_EQ(hub.history_size(2, 4), 1u);
  EXPECT_EQ(hub.history_stats().sessions, 2u);

  auto sub = MustSubscribe(hub, {}, /*replay=*/true);
  EXPECT_EQ(sub->queued(), 2u);
}

TEST(EventHubTest, NoHistoryWhenDisabled) {
  EventHub hub({.history_per_session = 0});
  hub.Publish(0, 1, Ev(1, 0));
  EXPECT_EQ(hub.history_stats().sessions, 0u);
  auto sub = MustSubscribe(hub, {}, /*replay=*/true);
  EXPECT_EQ(sub->queued(), 0u);
}

TEST(EventHubTest, ReaderThatNeverReadsStaysAtCapacity) {
  constexpr size_t kCapacity = 1024;
  constexpr uint64_t kEvents = 10'000'000;
  EventHub hub({.queue_capacity = kCapacity, .history_per_session = 256});
  auto sub = MustSubscribe(hub, {});
  for (uint64_t i = 0; i < kEvents; ++i) {
    hub.Publish(0, 1, Ev(1 + i % 4, static_cast<int64_t>(i)));
  }
  EXPECT_EQ(sub->queued(), kCapacity);
  EXPECT_LE(sub->queued_bytes(), sub->queue_byte_capacity());
  EXPECT_EQ(sub->events_lost_total(), kEvents - kCapacity);
  EXPECT_EQ(hub.events_dropped_total(), kEvents - kCapacity);
  const EventHub::HistoryStats stats = hub.history_stats();
  EXPECT_EQ(stats.sessions, 4u);
  EXPECT_EQ(stats.events, 4u * 256);
  // Ten million events went through; storage stays what 4 x 256 need.
  EXPECT_EQ(stats.allocated_bytes, 4u * 256 * sizeof(SessionHistory::Retained));

  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, kCapacity, Soon(), &got), kEvents - kCapacity);
  EXPECT_EQ(Times(got), Range(kEvents - kCapacity, kEvents));
}

TEST(EventHubTest, DestroyingTheHubCancelsSubscriptions) {
  std::shared_ptr<Subscription> sub;
  {
    EventHub hub({});
    sub = MustSubscribe(hub, {});
  }
  EXPECT_TRUE(sub->cancelled());
}

}  // namespace
}  // namespace tcpemu::server

namespace tcpemu::server {
namespace {

// docs/limits.md: a stream that never reads holds at most 10 MiB of queued
// events at the defaults: the queued wire bytes, plus what is left of the
// partly dropped oldest batch (at most one staged batch). The batch in
// flight adds at most max_batch events.
TEST(EventHubTest, ANeverReadingSubscriberHoldsAtMostTenMiBAtTheDefaults) {
  EventHub hub{EventHub::Options{}};
  auto sub = MustSubscribe(hub, {});
  for (int64_t i = 0; i < 200'000; ++i) hub.Stage(0, 1, Ev(1, i));
  hub.Flush(0);
  EXPECT_EQ(sub->queued(), sub->queue_capacity());
  EXPECT_LE(sub->queued_bytes(), sub->queue_byte_capacity());
  EXPECT_LE(sub->queue_byte_capacity() +
                EventHub::kStageEvents * kMaxEncodedEventBytes,
            size_t{10} << 20);
}

TEST(EventHubTest, StagedEventsWaitForFlush) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 10; ++i) hub.Stage(0, 1, Ev(1, i));
  EXPECT_EQ(sub->queued(), 0u);
  EXPECT_EQ(hub.history_size(1, 1), 0u);
  hub.Flush(0);
  EXPECT_EQ(hub.history_size(1, 1), 10u);
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 10));
  hub.Flush(0);  // nothing staged: nothing happens
  EXPECT_EQ(sub->queued(), 0u);
}

TEST(EventHubTest, StageFlushesByItselfEveryBatch) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  const auto batch = static_cast<int64_t>(EventHub::kStageEvents);
  for (int64_t i = 0; i < batch; ++i) hub.Stage(0, 1, Ev(1, i));
  EXPECT_EQ(sub->queued(), EventHub::kStageEvents);
  hub.Stage(0, 1, Ev(1, batch));
  EXPECT_EQ(sub->queued(), EventHub::kStageEvents);
  hub.Flush(0);
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 1000, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, batch + 1));
}

// Stream and replay: what a subscriber hands over is byte for byte what the
// wire encoder gives for the same events, and subscribers that want every
// event share one encoding while a filtered one gets only its own.
TEST(EventHubTest, SubscribersThatWantEverythingShareOneEncoding) {
  EventHub hub({});
  auto a = MustSubscribe(hub, {});
  auto b = MustSubscribe(hub, {});
  EventFilter only_two;
  only_two.session_ids = {2};
  auto two = MustSubscribe(hub, only_two);
  std::vector<NetworkEvent> all;
  std::vector<NetworkEvent> of_two;
  for (int i = 0; i < 40; ++i) {
    const NetworkEvent ne{1, Ev(1 + i % 3, i)};
    all.push_back(ne);
    if (ne.event.session_id == 2) of_two.push_back(ne);
    hub.Stage(0, ne.network_id, ne.event);
  }
  hub.Flush(0);
  std::vector<EventRun> ra, rb, rt;
  EXPECT_EQ(a->Next(100, Soon(), &ra), 0u);
  EXPECT_EQ(b->Next(100, Soon(), &rb), 0u);
  EXPECT_EQ(two->Next(100, Soon(), &rt), 0u);
  ASSERT_EQ(ra.size(), 1u);
  ASSERT_EQ(rb.size(), 1u);
  ASSERT_EQ(rt.size(), 1u);
  EXPECT_EQ(ra[0].chunk.get(), rb[0].chunk.get());
  EXPECT_NE(ra[0].chunk.get(), rt[0].chunk.get());
  EXPECT_EQ(rt[0].chunk->count(), of_two.size());

  WireBuffer want;
  AppendEventBatch(all, 7, &want);
  EXPECT_EQ(BatchBytes(ra, 7), std::string(want.data(), want.size()));
  EXPECT_EQ(BatchBytes(rb, 7), std::string(want.data(), want.size()));
  want.clear();
  AppendEventBatch(of_two, 0, &want);
  EXPECT_EQ(BatchBytes(rt, 0), std::string(want.data(), want.size()));

  // A replay of the same events encodes them the same way.
  auto replayed = MustSubscribe(hub, only_two, /*replay=*/true);
  std::vector<EventRun> rr;
  EXPECT_EQ(replayed->Next(100, Soon(), &rr), 0u);
  EXPECT_EQ(BatchBytes(rr, 0), std::string(want.data(), want.size()));
}

// A batch larger than max is split, and the rest stays queued in order.
TEST(EventHubTest, NextSplitsARunAtMax) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 100; ++i) hub.Stage(0, 1, Ev(1, i));
  hub.Flush(0);
  std::vector<EventRun> runs;
  sub->Next(30, Soon(), &runs);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].count(), 30u);
  EXPECT_EQ(sub->queued(), 70u);
  std::vector<NetworkEvent> got;
  NextEvents(*sub, 100, Soon(), &got);
  EXPECT_EQ(Times(got), Range(30, 100));
  EXPECT_EQ(sub->queued_bytes(), 0u);
}

// Events large on the wire hit the queue's byte limit before its event
// limit: the oldest go, counted exactly, and the bytes stay bounded.
TEST(EventHubTest, QueueDropsOldestBeyondItsByteLimit) {
  EventHub hub({.queue_capacity = 4});
  auto sub = MustSubscribe(hub, {});
  Event big = Ev(1, 0);
  big.seg.seq = 0xfffffff0;
  big.seg.ack = 0xffffff00;
  big.seg.len = 0xffff;
  big.seg.window = 0xffff;
  big.seg.opt_timestamp = 1;
  big.seg.ts_val = 0xffffffff;
  big.seg.ts_ecr = 0xffffffff;
  big.seg.opt_sack_blocks = 4;
  for (int k = 0; k < 4; ++k) {
    big.seg.sack_left[k] = 0xfffff000u + k;
    big.seg.sack_right[k] = 0xfffff800u + k;
  }
  big.tcb.state = TcpState::kEstablished;
  big.tcb.iss = big.tcb.irs = big.tcb.snd_una = big.tcb.snd_nxt = 0xffffffff;
  big.tcb.cwnd = big.tcb.ssthresh = big.tcb.rcv_nxt = 0xffffffff;
  big.tcb.srtt = big.tcb.rttvar = big.tcb.rto = int64_t{1} << 40;
  big.tcb.snd_wnd = big.tcb.rcv_wnd = big.tcb.bytes_in_flight = 0xffffffff;
  big.tcb.ts_recent = big.tcb.sacked_bytes = big.tcb.lost_bytes = 0xffffffff;
  big.tcb.retrans_bytes = big.tcb.pipe = 0xffffffff;
  big.tcb.pacing_rate = big.tcb.bandwidth_estimate = uint64_t{1} << 60;
  char buf[kMaxEncodedEventBytes];
  const auto size = static_cast<size_t>(EncodeEventEntry({1, big}, buf) - buf);
  ASSERT_GT(size, 256u);
  const size_t fit = sub->queue_byte_capacity() / size;
  ASSERT_LT(fit, 4u);
  for (int i = 0; i < 4; ++i) {
    big.time = i;
    hub.Publish(0, 1, big);
  }
  EXPECT_EQ(sub->queued(), fit);
  EXPECT_LE(sub->queued_bytes(), sub->queue_byte_capacity());
  std::vector<NetworkEvent> got;
  EXPECT_EQ(NextEvents(*sub, 100, Soon(), &got), 4 - fit);
  EXPECT_EQ(Times(got), Range(4 - static_cast<int64_t>(fit), 4));
  EXPECT_EQ(hub.events_dropped_total(), 4 - fit);
}

TEST(EventHubTest, ForgetFlushesStagedEventsFirst) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  hub.Stage(0, 1, Ev(1, 0));
  hub.Stage(0, 1, Ev(2, 1));
  hub.ForgetSession(0, 1, 1);
  EXPECT_EQ(sub->queued(), 2u);
  EXPECT_EQ(hub.history_size(1, 1), 0u) << "not re-created by a later flush";
  EXPECT_EQ(hub.history_size(1, 2), 1u);
  hub.Stage(0, 1, Ev(2, 2));
  hub.ForgetNetwork(0, 1);
  EXPECT_EQ(sub->queued(), 3u);
  EXPECT_EQ(hub.history_stats().sessions, 0u);
}

}  // namespace
}  // namespace tcpemu::server
