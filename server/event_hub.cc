// EventHub: per-shard partitions (history + subscriber list under one mutex)
// and per-subscriber bounded queues of encoded events. A shard's Flush takes
// its partition's lock and each matching subscriber's lock once per batch,
// encodes the batch once, and never waits for a reader.
#include "server/event_hub.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/event_wire.h"

namespace tcpemu::server {
namespace {

EventHub::Options Normalize(EventHub::Options o) {
  o.shards = std::max<size_t>(1, o.shards);
  o.queue_capacity = std::max<size_t>(1, o.queue_capacity);
  return o;
}

// Copies the wire bytes of `picks` (indices into `from`, ascending) into a
// new buffer of their own.
std::shared_ptr<const internal::EncodedEvents> CopyPicked(
    const internal::EncodedEvents& from, const std::vector<uint32_t>& picks) {
  size_t bytes = 0;
  for (uint32_t i : picks) bytes += from.ends[i] - from.begin(i);
  auto out = std::make_shared<internal::EncodedEvents>();
  out->bytes = std::make_unique_for_overwrite<char[]>(bytes);
  out->ends.reserve(picks.size());
  uint32_t at = 0;
  for (uint32_t i : picks) {
    const uint32_t begin = from.begin(i);
    const uint32_t n = from.ends[i] - begin;
    std::memcpy(out->bytes.get() + at, from.bytes.get() + begin, n);
    at += n;
    out->ends.push_back(at);
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------ Subscription

Subscription::Subscription(EventFilter filter, size_t capacity)
    : filter_(std::move(filter)),
      capacity_(capacity),
      byte_capacity_(std::max(capacity * EventHub::kQueueBytesPerEvent,
                              kMaxEncodedEventBytes)) {}

uint64_t Subscription::Push(EventRun run, uint64_t lost) {
  if (run.count() == 0 && lost == 0) return 0;
  absl::MutexLock lock(&mu_);
  if (run.count() != 0) {
    queued_ += run.count();
    queued_bytes_ += run.size_bytes();
    runs_.push_back(std::move(run));
  }
  lost += TrimLocked();
  lost_pending_ += lost;
  lost_total_ += lost;
  WakeReaderLocked();
  return lost;
}

uint64_t Subscription::TrimLocked() {
  uint64_t dropped = 0;
  while (queued_ > capacity_ || queued_bytes_ > byte_capacity_) {
    EventRun& oldest = runs_.front();
    // Whole excess events at once while the count is over; one at a time
    // while only the bytes are.
    const size_t k =
        queued_ > capacity_ ? std::min(queued_ - capacity_, oldest.count()) : 1;
    const uint32_t first = oldest.first + static_cast<uint32_t>(k);
    queued_bytes_ -=
        oldest.chunk->begin(first) - oldest.chunk->begin(oldest.first);
    queued_ -= k;
    dropped += k;
    oldest.first = first;
    if (oldest.count() == 0) runs_.pop_front();
  }
  return dropped;
}

uint64_t Subscription::Next(size_t max, absl::Time deadline,
                            std::vector<EventRun>* out, absl::Duration linger) {
  absl::MutexLock lock(&mu_);
  // A full queue always reaches the threshold, so losses wake the reader.
  const size_t batch = std::clamp<size_t>(max, 1, capacity_);
  if (!WaitLocked(1, deadline) && linger > absl::ZeroDuration()) {
    WaitLocked(batch, std::min(deadline, absl::Now() + linger));
  }
  const uint64_t lost = std::exchange(lost_pending_, 0);
  // Handing over a run moves a reference, not its bytes, so the whole batch
  // goes in one lock hold.
  size_t taken = 0;
  while (taken < max && !runs_.empty()) {
    EventRun& oldest = runs_.front();
    const size_t k = std::min(max - taken, oldest.count());
    const uint32_t first = oldest.first;
    const uint32_t last = first + static_cast<uint32_t>(k);
    queued_bytes_ -= oldest.chunk->begin(last) - oldest.chunk->begin(first);
    queued_ -= k;
    taken += k;
    if (last == oldest.last) {
      out->push_back(std::move(oldest));
      runs_.pop_front();
    } else {
      out->push_back({oldest.chunk, first, last});
      oldest.first = last;
    }
  }
  return lost;
}

bool Subscription::WaitLocked(size_t want, absl::Time deadline) {
  while (queued_ < want && lost_pending_ == 0 &&
         !cancelled_.load(std::memory_order_relaxed)) {
    wake_at_ = want;
    const bool timed_out = cv_.WaitWithDeadline(&mu_, deadline);
    wake_at_ = 0;
    if (timed_out) return true;
  }
  return false;
}

void Subscription::WakeReaderLocked() {
  if (wake_at_ != 0 && (queued_ >= wake_at_ || lost_pending_ != 0)) {
    wake_at_ = 0;
    cv_.Signal();
  }
}

void Subscription::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_.store(true, std::memory_order_release);
  cv_.SignalAll();
}

size_t Subscription::queued() const {
  absl::MutexLock lock(&mu_);
  return queued_;
}

size_t Subscription::queued_bytes() const {
  absl::MutexLock lock(&mu_);
  return queued_bytes_;
}

uint64_t Subscription::events_lost_total() const {
  absl::MutexLock lock(&mu_);
  return lost_total_;
}

// ------------------------------------------------------------ EventHub

struct EventHub::FlushScratch {
  WireBuffer wire;                           // the batch's encoding
  std::vector<uint8_t> wanted;               // per event: anyone matches it
  std::vector<uint32_t> slot;                // per event: its index in `wire`
  std::vector<std::vector<uint32_t>> picks;  // per subscriber: its events
};

EventHub::Partition::Partition(size_t history_per_session)
    : history(history_per_session), scratch(std::make_unique<FlushScratch>()) {
  staged.reserve(kStageEvents);
}

EventHub::Partition::~Partition() = default;

EventHub::EventHub(const Options& options) : options_(Normalize(options)) {
  partitions_.reserve(options_.shards);
  for (size_t i = 0; i < options_.shards; ++i) {
    partitions_.push_back(
        std::make_unique<Partition>(options_.history_per_session));
  }
}

EventHub::~EventHub() {
  absl::MutexLock lock(&subs_mu_);
  for (auto& [ptr, sub] : registered_) sub->Cancel();
}

absl::StatusOr<std::shared_ptr<Subscription>> EventHub::Subscribe(
    const EventFilter& filter, bool replay) {
  absl::MutexLock lock(&subs_mu_);
  if (registered_.size() >= options_.max_subscribers) {
    return absl::ResourceExhaustedError(
        absl::StrCat("subscriber limit reached: --max_subscribers is ",
                     options_.max_subscribers,
                     " (concurrent WatchEvents streams); close another "
                     "stream first"));
  }
  std::shared_ptr<Subscription> sub(
      new Subscription(filter, options_.queue_capacity));
  // Replaying and registering under the same partition lock is what keeps
  // history and live events from overlapping or leaving a gap.
  for (auto& p : partitions_) {
    absl::MutexLock plock(&p->mu);
    if (replay) ReplayLocked(*p, sub.get());
    p->subscribers.push_back(sub.get());
  }
  registered_.emplace(sub.get(), sub);
  return sub;
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  if (sub == nullptr) return;
  std::shared_ptr<Subscription> owned;
  {
    absl::MutexLock lock(&subs_mu_);
    auto it = registered_.find(sub.get());
    if (it != registered_.end()) {
      for (auto& p : partitions_) {
        absl::MutexLock plock(&p->mu);
        auto& list = p->subscribers;
        list.erase(std::remove(list.begin(), list.end(), sub.get()),
                   list.end());
      }
      owned = std::move(it->second);
      registered_.erase(it);
    }
  }
  sub->Cancel();
}

void EventHub::ReplayLocked(Partition& p, Subscription* sub) const {
  const EventFilter& f = sub->filter_;
  // Only the newest queue_capacity matching events could survive in the
  // queue: keep those (a min-heap on seq) and count the rest as lost, so a
  // replay over a million sessions holds one queue's worth of events.
  auto newer = [](const internal::ReplayItem& a,
                  const internal::ReplayItem& b) { return a.seq > b.seq; };
  std::vector<internal::ReplayItem> found;
  uint64_t matched = 0;
  auto scan = [&](uint64_t key, const History& h) {
    const auto network_id = static_cast<uint32_t>(key >> 32);
    const auto session_id = static_cast<uint32_t>(key);
    if (f.network_id != 0 && network_id != f.network_id) return;
    if (!f.session_ids.empty() && !f.session_ids.contains(session_id)) return;
    h.ForEach([&](uint64_t seq, const Event& e) {
      if (!f.Matches(network_id, e)) return;
      ++matched;
      if (found.size() == options_.queue_capacity) {
        if (seq < found.front().seq) return;
        std::pop_heap(found.begin(), found.end(), newer);
        found.back() = {seq, network_id, e};
      } else {
        found.push_back({seq, network_id, e});
      }
      std::push_heap(found.begin(), found.end(), newer);
    });
  };
  if (f.network_id != 0 && !f.session_ids.empty()) {
    for (uint32_t session_id : f.session_ids) {
      const uint64_t key = SessionKey(f.network_id, session_id);
      if (const History* h = p.history.Find(key)) scan(key, *h);
    }
  } else {
    p.history.ForEach(scan);
  }
  if (matched == 0) return;
  std::sort_heap(found.begin(), found.end(), newer);  // newest first
  std::reverse(found.begin(), found.end());
  // A replay is for this subscriber alone: encoded into buffers of its own,
  // of kStageEvents events each like live ones, so a queue that later drops
  // part of one pins no more than a live batch.
  WireBuffer wire;
  uint64_t dropped = 0;
  uint64_t lost = matched - found.size();
  for (size_t from = 0; from < found.size(); from += kStageEvents) {
    const size_t to = std::min(found.size(), from + kStageEvents);
    auto encoded = std::make_shared<internal::EncodedEvents>();
    encoded->ends.reserve(to - from);
    wire.clear();
    for (size_t i = from; i < to; ++i) {
      char* at = wire.Reserve(kMaxEncodedEventBytes);
      wire.Commit(EncodeEventEntry({found[i].network_id, found[i].event}, at));
      encoded->ends.push_back(static_cast<uint32_t>(wire.size()));
    }
    encoded->bytes = std::make_unique_for_overwrite<char[]>(wire.size());
    std::memcpy(encoded->bytes.get(), wire.data(), wire.size());
    const auto count = static_cast<uint32_t>(encoded->count());
    dropped += sub->Push({std::move(encoded), 0, count}, lost);
    lost = 0;
  }
  if (lost != 0) dropped += sub->Push({}, lost);
  if (dropped != 0) p.dropped.fetch_add(dropped, std::memory_order_relaxed);
}

void EventHub::Publish(size_t shard, uint32_t network_id, const Event& e) {
  Stage(shard, network_id, e);
  Flush(shard);
}

void EventHub::Stage(size_t shard, uint32_t network_id, const Event& e) {
  assert(shard < partitions_.size());
  Partition& p = *partitions_[shard];
  p.staged.push_back({network_id, e});
  if (p.staged.size() >= kStageEvents) Flush(shard);
}

void EventHub::Flush(size_t shard) {
  assert(shard < partitions_.size());
  Partition& p = *partitions_[shard];
  if (p.staged.empty()) return;
  {
    absl::MutexLock lock(&p.mu);
    for (const NetworkEvent& ne : p.staged) {
      RetainLocked(p, p.next_seq++, ne.network_id, ne.event);
    }
    if (!p.subscribers.empty()) DeliverLocked(p, p.staged);
  }
  p.staged.clear();
}

void EventHub::RetainLocked(Partition& p, uint64_t seq, uint32_t network_id,
                            const Event& e) {
  if (e.session_id != 0) {
    p.history.Append(SessionKey(network_id, e.session_id), seq, e);
  }
}

void EventHub::DeliverLocked(Partition& p,
                             const std::vector<NetworkEvent>& events) {
  FlushScratch& s = *p.scratch;
  const size_t n = events.size();
  const size_t subs = p.subscribers.size();
  // Which events each subscriber wants; an empty pick list with
  // MatchesEverything() means all of them.
  s.wanted.assign(n, 0);
  if (s.picks.size() < subs) s.picks.resize(subs);
  bool everything = false;
  for (size_t k = 0; k < subs; ++k) {
    const EventFilter& f = p.subscribers[k]->filter_;
    std::vector<uint32_t>& picks = s.picks[k];
    picks.clear();
    if (f.MatchesEverything()) {
      everything = true;
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      if (f.Matches(events[i])) {
        picks.push_back(static_cast<uint32_t>(i));
        s.wanted[i] = 1;
      }
    }
  }
  // Encode every wanted event once.
  auto shared = std::make_shared<internal::EncodedEvents>();
  std::vector<uint32_t>& ends = shared->ends;
  ends.reserve(n);
  s.wire.clear();
  s.slot.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!everything && s.wanted[i] == 0) continue;
    s.slot[i] = static_cast<uint32_t>(ends.size());
    char* at = s.wire.Reserve(kMaxEncodedEventBytes);
    s.wire.Commit(EncodeEventEntry(events[i], at));
    ends.push_back(static_cast<uint32_t>(s.wire.size()));
  }
  if (ends.empty()) return;
  shared->bytes = std::make_unique_for_overwrite<char[]>(s.wire.size());
  std::memcpy(shared->bytes.get(), s.wire.data(), s.wire.size());
  const auto count = static_cast<uint32_t>(shared->count());
  // Subscribers that want every encoded event share the buffer; the others
  // get their events copied into one of their own, so a queue never pins
  // bytes of events it does not hold.
  uint64_t dropped = 0;
  for (size_t k = 0; k < subs; ++k) {
    Subscription* sub = p.subscribers[k];
    std::vector<uint32_t>& picks = s.picks[k];
    if (sub->filter_.MatchesEverything() || picks.size() == count) {
      dropped += sub->Push({shared, 0, count});
    } else if (!picks.empty()) {
      for (uint32_t& i : picks) i = s.slot[i];
      auto own = CopyPicked(*shared, picks);
      const auto mine = static_cast<uint32_t>(picks.size());
      dropped += sub->Push({std::move(own), 0, mine});
    }
  }
  if (dropped != 0) p.dropped.fetch_add(dropped, std::memory_order_relaxed);
}

void EventHub::ForgetSession(size_t shard, uint32_t network_id,
                             uint32_t session_id) {
  assert(shard < partitions_.size());
  Flush(shard);
  Partition& p = *partitions_[shard];
  absl::MutexLock lock(&p.mu);
  p.history.Erase(SessionKey(network_id, session_id));
}

void EventHub::ForgetNetwork(size_t shard, uint32_t network_id) {
  assert(shard < partitions_.size());
  Flush(shard);
  Partition& p = *partitions_[shard];
  absl::MutexLock lock(&p.mu);
  p.history.EraseIf([network_id](uint64_t key) {
    return static_cast<uint32_t>(key >> 32) == network_id;
  });
}

size_t EventHub::subscriber_count() const {
  absl::MutexLock lock(&subs_mu_);
  return registered_.size();
}

uint64_t EventHub::events_dropped_total() const {
  uint64_t total = 0;
  for (const auto& p : partitions_) {
    total += p->dropped.load(std::memory_order_relaxed);
  }
  return total;
}

EventHub::HistoryStats EventHub::history_stats() const {
  HistoryStats stats;
  for (const auto& p : partitions_) {
    absl::MutexLock lock(&p->mu);
    stats.sessions += p->history.size();
    p->history.ForEach([&](uint64_t, const History& h) {
      stats.events += h.size();
      stats.allocated_bytes += h.allocated_bytes();
    });
  }
  return stats;
}

size_t EventHub::history_size(uint32_t network_id, uint32_t session_id) const {
  const uint64_t key = SessionKey(network_id, session_id);
  for (const auto& p : partitions_) {
    absl::MutexLock lock(&p->mu);
    if (const History* h = p->history.Find(key)) return h->size();
  }
  return 0;
}

}  // namespace tcpemu::server
