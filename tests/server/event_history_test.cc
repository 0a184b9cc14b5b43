// PackedEvents gives back exactly the events it packed, with their sequence
// numbers, and keeps an idle session's handshake in a small fraction of the
// space of whole events; SessionHistory keeps the newest `capacity`, packs
// and unpacks without losing any; HistoryStore packs the sessions that went
// quiet and only those.
#include "server/event_history.h"

#include <cstring>
#include <random>
#include <vector>

#include "engine/sim/network.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

struct Kept {
  uint64_t seq = 0;
  Event event;
};

class Collector : public EventSink {
 public:
  void OnEvent(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

std::vector<Kept> Contents(const SessionHistory& h) {
  std::vector<Kept> out;
  h.ForEach([&](uint64_t seq, const Event& e) { out.push_back({seq, e}); });
  return out;
}

void ExpectSame(const std::vector<Kept>& got, const Kept* want, size_t n) {
  ASSERT_EQ(got.size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i].seq, want[i].seq) << "event " << i;
    EXPECT_EQ(std::memcmp(&got[i].event, &want[i].event, sizeof(Event)), 0)
        << "event " << i;
  }
}

// Packs all[from, from + n) and expects exactly those back.
void ExpectRoundTrip(const std::vector<Kept>& all, size_t from, size_t n) {
  PackedEvents h;
  h.Assign(n, [&](size_t i) -> const PackedEvents::Retained& {
    // Kept and Retained have the same members.
    static thread_local PackedEvents::Retained r;
    r = {all[from + i].seq, all[from + i].event};
    return r;
  });
  ASSERT_EQ(h.size(), n);
  std::vector<PackedEvents::Retained> events;
  h.Decode(&events);
  std::vector<Kept> got;
  for (const auto& r : events) got.push_back({r.seq, r.event});
  ExpectSame(got, all.data() + from, n);
}

// Expects `h` to hold exactly the last h.capacity() of `all`.
void ExpectNewest(const SessionHistory& h, const std::vector<Kept>& all) {
  const size_t n = std::min(all.size(), h.capacity());
  ASSERT_EQ(h.size(), n);
  ExpectSame(Contents(h), all.data() + all.size() - n, n);
}

// The events of a session on a lossy path: every kind a transfer makes.
std::vector<Event> TransferEvents(size_t bytes, double loss) {
  Collector sink;
  Network net(7, &sink);
  PathSpec p;
  p.delay = 5 * kMillisecond;
  p.rate_bps = 50'000'000;
  p.loss.model = LossSpec::Model::kRandom;
  p.loss.p = loss;
  auto link = net.CreateLink(p, p);
  EXPECT_TRUE(link.ok()) << link.status();
  SessionSpec spec;
  spec.link_id = *link;
  auto sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  if (bytes != 0) {
    EXPECT_TRUE(net.SetSource(*sid, Endpoint::kClient, bytes, true).ok());
  }
  net.RunUntilIdle(60 * kSecond);
  std::vector<Event> out;
  for (const Event& e : sink.events) {
    if (e.session_id == *sid) out.push_back(e);
  }
  return out;
}

TEST(PackedEventsTest, GivesBackEngineEventsExactly) {
  const std::vector<Event> events = TransferEvents(2 << 20, 0.01);
  ASSERT_GT(events.size(), 1000u);
  std::vector<Kept> all;
  uint64_t seq = 10;
  for (size_t i = 0; i < events.size(); ++i) {
    seq += 1 + i % 3;  // other sessions' events come in between
    all.push_back({seq, events[i]});
  }
  // Every length from 0 to 300 from several starting points, and the whole.
  for (size_t from : {size_t{0}, size_t{1}, size_t{7}, all.size() / 2}) {
    for (size_t n = 0; n <= 300 && from + n <= all.size(); ++n) {
      ExpectRoundTrip(all, from, n);
      if (HasFailure()) return;
    }
  }
  ExpectRoundTrip(all, 0, all.size());
}

TEST(PackedEventsTest, GivesBackArbitraryBytesExactly) {
  // Every byte of the record round-trips, padding included, whatever the
  // values: random words, runs of repeats, zeros, large sequence gaps.
  std::mt19937_64 rng(3);
  std::vector<Kept> all;
  uint64_t seq = 0;
  Event prev;
  for (int i = 0; i < 5000; ++i) {
    Event e = prev;
    auto* words = reinterpret_cast<uint32_t*>(&e);
    const int changes = static_cast<int>(rng() % 70);
    for (int c = 0; c < changes; ++c) {
      const uint64_t r = rng();
      words[r % (sizeof(Event) / 4)] =
          (r >> 8) % 4 == 0 ? 0 : static_cast<uint32_t>(r >> 20);
    }
    if (i % 500 == 0) std::memset(static_cast<void*>(&e), 0, sizeof(Event));
    seq += i % 11 == 0 ? (uint64_t{1} << 40) : 1;
    all.push_back({seq, e});
    prev = e;
  }
  for (size_t from = 0; from + 37 <= all.size(); from += 37) {
    ExpectRoundTrip(all, from, 37);
    if (HasFailure()) return;
  }
  ExpectRoundTrip(all, 0, all.size());
}

TEST(PackedEventsTest, IdleSessionHandshakeIsSmall) {
  const std::vector<Event> events = TransferEvents(0, 0.0);
  ASSERT_GE(events.size(), 8u);
  PackedEvents h;
  h.Assign(events.size(), [&](size_t i) -> const PackedEvents::Retained& {
    static thread_local PackedEvents::Retained r;
    r = {i + 1, events[i]};
    return r;
  });
  EXPECT_EQ(h.size(), events.size());
  // Whole events would take sizeof(Event) each (248 bytes); these share most
  // of their words with their neighbours.
  const size_t whole = events.size() * sizeof(Event);
  EXPECT_LT(h.allocated_bytes() * 4, whole)
      << events.size() << " events in " << h.allocated_bytes() << " bytes";
  std::printf("idle session: %zu events in %zu bytes (%zu whole)\n",
              events.size(), h.allocated_bytes(), whole);
}

TEST(SessionHistoryTest, PackingAndUnpackingKeepEveryEvent) {
  const std::vector<Event> events = TransferEvents(1 << 20, 0.02);
  ASSERT_GT(events.size(), 600u);
  SessionHistory h(100);
  std::vector<Kept> all;
  for (size_t i = 0; i < events.size(); ++i) {
    h.Append(i + 1, events[i]);
    all.push_back({i + 1, events[i]});
    if (i % 50 == 7) {
      h.Pack();
      EXPECT_TRUE(h.packed());
      ExpectNewest(h, all);
    }
    if (i % 50 == 8) {
      EXPECT_FALSE(h.packed());  // an Append unpacks
    }
    if (HasFailure()) return;
  }
  ExpectNewest(h, all);
  const size_t whole = h.allocated_bytes();
  h.Pack();
  ExpectNewest(h, all);
  EXPECT_LT(h.allocated_bytes() * 2, whole);
}

TEST(HistoryStoreTest, QuietSessionsArePackedAndBusyOnesAreNot) {
  const std::vector<Event> handshake = TransferEvents(0, 0.0);
  const std::vector<Event> busy = TransferEvents(1 << 20, 0.0);
  ASSERT_GT(busy.size(), 1000u);
  HistoryStore store(256, /*quiet_after=*/100);
  std::vector<Kept> quiet_all, busy_all;
  uint64_t seq = 0;
  for (const Event& e : handshake) {
    store.Append(1, ++seq, e);
    quiet_all.push_back({seq, e});
  }
  for (const Event& e : busy) {
    store.Append(2, ++seq, e);
    busy_all.push_back({seq, e});
  }
  // A session appended to once and then dropped is skipped when its turn
  // comes; one erased and appended to again is tracked afresh.
  store.Append(3, ++seq, handshake[0]);
  store.Erase(3);
  store.Append(4, ++seq, handshake[0]);
  store.Erase(4);
  store.Append(4, ++seq, handshake[1]);
  ASSERT_EQ(store.size(), 3u);
  ASSERT_NE(store.Find(1), nullptr);
  ASSERT_NE(store.Find(2), nullptr);
  EXPECT_EQ(store.Find(3), nullptr);
  EXPECT_TRUE(store.Find(1)->packed());
  EXPECT_FALSE(store.Find(2)->packed());
  EXPECT_FALSE(store.Find(4)->packed());
  ExpectNewest(*store.Find(1), quiet_all);
  ExpectNewest(*store.Find(2), busy_all);
  ASSERT_EQ(store.Find(4)->size(), 1u);
  // Session 4 goes quiet too.
  for (int i = 0; i < 300; ++i) store.Append(2, ++seq, busy[i]);
  EXPECT_TRUE(store.Find(4)->packed());
  EXPECT_FALSE(store.Find(2)->packed());

  store.EraseIf([](uint64_t key) { return key != 2; });
  EXPECT_EQ(store.size(), 1u);
  HistoryStore none(0);
  none.Append(1, 1, handshake[0]);
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace tcpemu::server
