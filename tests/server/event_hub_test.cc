// Tests for server/event_hub: filters, ordering, drop-oldest with exact loss
// counts, replay racing a live producer, Cancel, the subscriber limit, history
// caps and bounded memory under a reader that never reads.
#include "server/event_hub.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

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
  EXPECT_EQ(sub->Next(100, Soon(), &got), 0u);
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
  EXPECT_EQ(sub->Next(200, Soon(), &got), 0u);
  EXPECT_EQ(got.size(), 200u);
  EXPECT_EQ(sub->Next(200, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 300));
  EXPECT_EQ(sub->queued(), 0u);
}

TEST(EventHubTest, NextReturnsEmptyAtTheDeadline) {
  EventHub hub({});
  auto sub = MustSubscribe(hub, {});
  std::vector<NetworkEvent> got;
  const absl::Time start = absl::Now();
  EXPECT_EQ(sub->Next(10, start + absl::Milliseconds(30), &got), 0u);
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
  sub->Next(4, Later(), &got, absl::Milliseconds(40));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(39));
  EXPECT_EQ(Times(got), Range(0, 1));

  // The deadline cuts a linger short.
  hub.Publish(0, 1, Ev(1, 1));
  start = absl::Now();
  sub->Next(4, start + absl::Milliseconds(30), &got, absl::Seconds(60));
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
  sub->Next(4, Later(), &got, absl::Seconds(60));
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
  sub->Next(10, Soon(), &got);
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
  EXPECT_EQ(sub->Next(100, Soon(), &got), 12u);
  EXPECT_EQ(Times(got), Range(12, 20));
  EXPECT_EQ(sub->events_lost_total(), 12u);
  EXPECT_EQ(hub.events_dropped_total(), 12u);

  // The count is reported once; nothing lost since then.
  got.clear();
  hub.Publish(0, 1, Ev(1, 20));
  EXPECT_EQ(sub->Next(100, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(20, 21));
}

TEST(EventHubTest, LossIsReportedWithTheEventsThatFollowedIt) {
  EventHub hub({.queue_capacity = 4});
  auto sub = MustSubscribe(hub, {});
  for (int i = 0; i < 6; ++i) hub.Publish(0, 1, Ev(1, i));  // 0, 1 lost
  std::vector<NetworkEvent> got;
  EXPECT_EQ(sub->Next(1, Soon(), &got), 2u);
  EXPECT_EQ(Times(got), Range(2, 3));
  for (int i = 6; i < 8; ++i) hub.Publish(0, 1, Ev(1, i));  // 3 lost
  got.clear();
  EXPECT_EQ(sub->Next(10, Soon(), &got), 1u);
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
  EXPECT_EQ(other->Next(10, Soon(), &got), 0u);
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
  EXPECT_EQ(sub->Next(1000, Soon(), &got), 0u);
  EXPECT_EQ(Times(got), Range(0, 31));

  // Without replay only live events arrive.
  auto live = MustSubscribe(hub, f, /*replay=*/false);
  hub.Publish(0, 1, Ev(3, 31));
  got.clear();
  live->Next(1000, Soon(), &got);
  EXPECT_EQ(Times(got), Range(31, 32));
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
  sub->Next(100, Soon(), &got);
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
  EXPECT_EQ(sub->Next(100, Soon(), &got), 40u);
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
    while (sub->queued() > 0) lost += sub->Next(4096, Soon(), &got);
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
    lost += sub->Next(1024, Later(), &got);
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
    sub->Next(10, absl::InfiniteFuture(), &got);
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
  sub->Next(10, absl::InfiniteFuture(), &got);
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
  EXPECT_EQ(sub->Next(100, Soon(), &got), 0u);
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
  EXPECT_EQ(sub->queue_allocated(), kCapacity);
  EXPECT_EQ(sub->events_lost_total(), kEvents - kCapacity);
  EXPECT_EQ(hub.events_dropped_total(), kEvents - kCapacity);
  const EventHub::HistoryStats stats = hub.history_stats();
  EXPECT_EQ(stats.sessions, 4u);
  EXPECT_EQ(stats.events, 4u * 256);
  // Ten million events went through; storage stays what 4 x 256 need.
  EXPECT_EQ(stats.allocated_bytes, 4u * 256 * sizeof(SessionHistory::Retained));

  std::vector<NetworkEvent> got;
  EXPECT_EQ(sub->Next(kCapacity, Soon(), &got), kEvents - kCapacity);
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
// events at the defaults (the queue is allocated as it fills, and no
// further). The batch in flight adds at most max_batch events.
TEST(EventHubTest, ANeverReadingSubscriberHoldsAtMostTenMiBAtTheDefaults) {
  EventHub hub{EventHub::Options{}};
  auto sub = MustSubscribe(hub, {});
  for (int64_t i = 0; i < 200'000; ++i) hub.Publish(0, 1, Ev(1, i));
  EXPECT_EQ(sub->queued(), sub->queue_capacity());
  const size_t bytes = sub->queue_allocated() * sizeof(NetworkEvent);
  EXPECT_LE(bytes, size_t{10} << 20) << sub->queue_allocated() << " slots of "
                                     << sizeof(NetworkEvent) << " bytes";
}

}  // namespace
}  // namespace tcpemu::server
