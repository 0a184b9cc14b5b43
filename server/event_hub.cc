// EventHub: per-shard partitions (history + subscriber list under one mutex)
// and per-subscriber bounded queues, so a shard's Publish takes two short
// uncontended locks per matching subscriber and never waits for a reader.
#include "server/event_hub.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tcpemu::server {
namespace {

// Next copies at most this many events per lock hold, so a reader draining a
// large batch delays a producer by about a microsecond at a time, not by the
// whole batch.
constexpr size_t kNextChunk = 128;

// Grows *out geometrically so repeated chunks do not reallocate each time.
void ReserveMore(std::vector<NetworkEvent>* out, size_t n) {
  const size_t need = out->size() + n;
  if (out->capacity() < need) {
    out->reserve(std::max(need, out->capacity() * 2));
  }
}

EventHub::Options Normalize(EventHub::Options o) {
  o.shards = std::max<size_t>(1, o.shards);
  o.queue_capacity = std::max<size_t>(1, o.queue_capacity);
  return o;
}

}  // namespace

// ------------------------------------------------------------ Subscription

Subscription::Subscription(EventFilter filter, size_t capacity)
    : filter_(std::move(filter)), capacity_(capacity), ring_(capacity) {}

bool Subscription::Push(uint32_t network_id, const Event& e) {
  absl::MutexLock lock(&mu_);
  bool dropped = false;
  NetworkEvent& slot = ring_.Append(&dropped);
  slot.network_id = network_id;
  slot.event = e;
  if (dropped) {
    ++lost_pending_;
    ++lost_total_;
  }
  WakeReaderLocked();
  return dropped;
}

void Subscription::PushReplay(const std::vector<internal::ReplayItem>& items,
                              size_t first) {
  absl::MutexLock lock(&mu_);
  lost_pending_ += first;
  lost_total_ += first;
  for (size_t i = first; i < items.size(); ++i) {
    bool dropped = false;
    NetworkEvent& slot = ring_.Append(&dropped);
    slot.network_id = items[i].network_id;
    slot.event = items[i].event;
    if (dropped) {
      ++lost_pending_;
      ++lost_total_;
    }
  }
  WakeReaderLocked();
}

uint64_t Subscription::Next(size_t max, absl::Time deadline,
                            std::vector<NetworkEvent>* out,
                            absl::Duration linger) {
  ReserveMore(out, std::min(max, kNextChunk));
  uint64_t lost = 0;
  size_t taken = 0;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    // A full queue always reaches the threshold, so losses wake the reader.
    const size_t batch = std::clamp<size_t>(max, 1, capacity_);
    if (!WaitLocked(1, deadline) && linger > absl::ZeroDuration()) {
      WaitLocked(batch, std::min(deadline, absl::Now() + linger));
    }
    lost = std::exchange(lost_pending_, 0);
    taken = ring_.PopInto(std::min(max, kNextChunk), out);
    more = !ring_.empty();
  }
  while (more && taken < max) {
    const size_t chunk = std::min(max - taken, kNextChunk);
    ReserveMore(out, chunk);
    absl::MutexLock lock(&mu_);
    // Events lost meanwhile were older than everything still queued: stop
    // here so the next call reports them right before the events they
    // preceded.
    if (lost_pending_ != 0) break;
    taken += ring_.PopInto(chunk, out);
    more = !ring_.empty();
  }
  return lost;
}

bool Subscription::WaitLocked(size_t want, absl::Time deadline) {
  while (ring_.size() < want && lost_pending_ == 0 &&
         !cancelled_.load(std::memory_order_relaxed)) {
    wake_at_ = want;
    const bool timed_out = cv_.WaitWithDeadline(&mu_, deadline);
    wake_at_ = 0;
    if (timed_out) return true;
  }
  return false;
}

void Subscription::WakeReaderLocked() {
  if (wake_at_ != 0 && ring_.size() >= wake_at_) {
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
  return ring_.size();
}

size_t Subscription::queue_allocated() const {
  absl::MutexLock lock(&mu_);
  return ring_.allocated();
}

uint64_t Subscription::events_lost_total() const {
  absl::MutexLock lock(&mu_);
  return lost_total_;
}

// ------------------------------------------------------------ EventHub

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
  std::vector<internal::ReplayItem> found;
  auto scan = [&](uint64_t key, const History& h) {
    const auto network_id = static_cast<uint32_t>(key >> 32);
    const auto session_id = static_cast<uint32_t>(key);
    if (f.network_id != 0 && network_id != f.network_id) return;
    if (!f.session_ids.empty() && !f.session_ids.contains(session_id)) return;
    h.ForEach([&](uint64_t seq, const Event& e) {
      if (f.Matches(network_id, e)) found.push_back({seq, network_id, e});
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
  if (found.empty()) return;
  // Each session's ring is in order already; merging sessions needs the sort.
  auto by_seq = [](const internal::ReplayItem& a,
                   const internal::ReplayItem& b) { return a.seq < b.seq; };
  if (!std::is_sorted(found.begin(), found.end(), by_seq)) {
    std::sort(found.begin(), found.end(), by_seq);
  }
  // Only the newest queue_capacity events could survive in the queue.
  const size_t first = found.size() > options_.queue_capacity
                           ? found.size() - options_.queue_capacity
                           : 0;
  sub->PushReplay(found, first);
  if (first != 0) p.dropped.fetch_add(first, std::memory_order_relaxed);
}

void EventHub::Publish(size_t shard, uint32_t network_id, const Event& e) {
  assert(shard < partitions_.size());
  Partition& p = *partitions_[shard];
  absl::MutexLock lock(&p.mu);
  const uint64_t seq = p.next_seq++;
  if (e.session_id != 0) {
    p.history.Append(SessionKey(network_id, e.session_id), seq, e);
  }
  uint64_t dropped = 0;
  for (Subscription* sub : p.subscribers) {
    if (sub->filter_.Matches(network_id, e) && sub->Push(network_id, e)) {
      ++dropped;
    }
  }
  if (dropped != 0) p.dropped.fetch_add(dropped, std::memory_order_relaxed);
}

void EventHub::ForgetSession(size_t shard, uint32_t network_id,
                             uint32_t session_id) {
  assert(shard < partitions_.size());
  Partition& p = *partitions_[shard];
  absl::MutexLock lock(&p.mu);
  p.history.Erase(SessionKey(network_id, session_id));
}

void EventHub::ForgetNetwork(size_t shard, uint32_t network_id) {
  assert(shard < partitions_.size());
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
