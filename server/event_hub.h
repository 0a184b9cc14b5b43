// Event fan-out from shard threads to WatchEvents streams: per-shard partitions
// hold each session's recent history and the subscribers; every subscriber has
// a bounded queue that drops its oldest events when the reader falls behind.
// A shard stages its events and publishes them a batch at a time; each batch
// is encoded to tcpemu.v1 wire bytes once, and subscribers queue shared,
// reference-counted runs of those bytes rather than copies of the records.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/base/event.h"
#include "server/event_history.h"

namespace tcpemu::server {

// An engine event tagged with the network that produced it.
struct NetworkEvent {
  uint32_t network_id = 0;
  Event event;
};

// Which events a subscriber wants. Every condition must hold; an empty or zero
// condition matches everything.
struct EventFilter {
  uint32_t network_id = 0;                    // 0 = any network
  absl::flat_hash_set<uint32_t> session_ids;  // empty = any session
  uint32_t kinds_mask = 0;           // bit (1u << int(EventKind)); 0 = any kind
  std::optional<Endpoint> endpoint;  // nullopt = both endpoints

  static constexpr uint32_t KindBit(EventKind k) {
    return 1u << static_cast<unsigned>(k);
  }

  bool Matches(uint32_t event_network_id, const Event& e) const {
    if (network_id != 0 && event_network_id != network_id) return false;
    if (kinds_mask != 0 && (kinds_mask & KindBit(e.kind)) == 0) return false;
    if (endpoint.has_value() && e.endpoint != *endpoint) return false;
    if (!session_ids.empty() && !session_ids.contains(e.session_id)) {
      return false;
    }
    return true;
  }
  bool Matches(const NetworkEvent& ne) const {
    return Matches(ne.network_id, ne.event);
  }
  // True when no condition is set, so every event matches.
  bool MatchesEverything() const {
    return network_id == 0 && session_ids.empty() && kinds_mask == 0 &&
           !endpoint.has_value();
  }
};

namespace internal {

// FIFO of at most `capacity` elements that overwrites its oldest element when
// full. Storage grows by doubling up to the capacity, so memory follows the
// most the ring ever held rather than its limit. Not thread-safe.
template <typename T>
class BoundedRing {
 public:
  explicit BoundedRing(size_t capacity) : capacity_(capacity) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  // Slots currently allocated (<= capacity()).
  size_t allocated() const { return slots_.size(); }

  // Returns the slot for a new newest element, which the caller overwrites.
  // Sets *dropped when the oldest element had to make room. Requires
  // capacity() > 0.
  T& Append(bool* dropped) {
    *dropped = false;
    if (size_ == slots_.size()) {
      if (slots_.size() < capacity_) {
        Grow();
      } else {
        // Full at capacity: the oldest slot becomes the newest.
        T& slot = slots_[head_];
        head_ = Next(head_);
        *dropped = true;
        return slot;
      }
    }
    size_t tail = head_ + size_;
    if (tail >= slots_.size()) tail -= slots_.size();
    ++size_;
    return slots_[tail];
  }

  // Removes up to `n` oldest elements, appending them to *out. Returns how
  // many were moved.
  size_t PopInto(size_t n, std::vector<T>* out) {
    n = std::min(n, size_);
    for (size_t i = 0; i < n; ++i) {
      out->push_back(std::move(slots_[head_]));
      head_ = Next(head_);
    }
    size_ -= n;
    if (size_ == 0) head_ = 0;
    return n;
  }

  // Calls f(element) from oldest to newest.
  template <typename F>
  void ForEach(F&& f) const {
    size_t i = head_;
    for (size_t k = 0; k < size_; ++k) {
      f(slots_[i]);
      i = Next(i);
    }
  }

 private:
  size_t Next(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }

  // Called when every allocated slot is in use; unrolls the ring into the
  // front of a larger vector.
  void Grow() {
    const size_t grown =
        std::min(capacity_, std::max<size_t>(8, slots_.size() * 2));
    std::vector<T> bigger(grown);
    for (size_t k = 0; k < size_; ++k) {
      bigger[k] = std::move(slots_[head_]);
      head_ = Next(head_);
    }
    slots_ = std::move(bigger);
    head_ = 0;
  }

  size_t capacity_;
  std::vector<T> slots_;
  size_t head_ = 0;  // index of the oldest element
  size_t size_ = 0;
};

// One retained event found by a replay, in the order the partition published
// it.
struct ReplayItem {
  uint64_t seq = 0;
  uint32_t network_id = 0;
  Event event;
};

// Events encoded back to back, each as a tcpemu.v1.EventBatch `events` entry
// (field tag, length, tcpemu.v1.Event), so any run of consecutive ones is a
// valid part of an EventBatch. Immutable once built; shared by every queue
// that holds any of them.
struct EncodedEvents {
  std::unique_ptr<char[]> bytes;
  std::vector<uint32_t> ends;  // event i is bytes [begin(i), ends[i])

  size_t count() const { return ends.size(); }
  size_t size_bytes() const { return ends.empty() ? 0 : ends.back(); }
  uint32_t begin(size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
};

}  // namespace internal

// Consecutive events of one encoded batch, as a subscription hands them over:
// their wire bytes are data()[0, size_bytes()).
struct EventRun {
  std::shared_ptr<const internal::EncodedEvents> chunk;
  uint32_t first = 0;  // events [first, last) of the chunk
  uint32_t last = 0;

  size_t count() const { return last - first; }
  const char* data() const { return chunk->bytes.get() + chunk->begin(first); }
  size_t size_bytes() const { return chunk->begin(last) - chunk->begin(first); }
};

class EventHub;

// The consumer side of one subscriber, used by one stream thread. Producers
// (shard threads) append under a short per-subscription lock.
class Subscription {
 public:
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Waits until at least one event is queued, events were lost, the deadline
  // passes or Cancel() is called; then moves up to `max` of the oldest queued
  // events, as runs of their wire bytes, to the end of *out. Returns how many
  // events were lost (dropped as the oldest) since the previous call; those
  // came right before the first event this call returns. After Cancel() it
  // does not wait, but still hands over what is queued. One thread at a time
  // may call Next.
  //
  // With a positive `linger`, once the first event is there Next waits up to
  // that much longer (never past the deadline) for `max` events, so a busy
  // stream wakes once per full batch instead of once per event.
  uint64_t Next(size_t max, absl::Time deadline, std::vector<EventRun>* out,
                absl::Duration linger = absl::ZeroDuration())
      ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes a waiting Next; later Next calls return at once. Unsubscribe
  // cancels too.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  const EventFilter& filter() const { return filter_; }
  // Events waiting for Next and the queue's fixed limit.
  size_t queued() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t queue_capacity() const { return capacity_; }
  // Wire bytes of the queued events, and the most the queue holds: it drops
  // its oldest events beyond either limit. Besides these bytes, the queue
  // keeps alive only the already dropped part of its oldest batch.
  size_t queued_bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t queue_byte_capacity() const { return byte_capacity_; }
  // Events this subscriber lost, all time.
  uint64_t events_lost_total() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class EventHub;

  Subscription(EventFilter filter, size_t capacity);

  // Queues a run of events, dropping the oldest beyond the limits; `lost`
  // more events (that came before the run and never made it to the queue)
  // count as lost too. Returns how many were dropped, `lost` included.
  uint64_t Push(EventRun run, uint64_t lost = 0) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until `want` events are queued, events were lost, Cancel() or the
  // deadline; returns true on the deadline.
  bool WaitLocked(size_t want, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Signals a waiting reader whose threshold the queue has reached.
  void WakeReaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the oldest events until both limits hold; returns how many.
  uint64_t TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const EventFilter filter_;
  const size_t capacity_;
  const size_t byte_capacity_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<EventRun> runs_ ABSL_GUARDED_BY(mu_);  // oldest first
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;          // events in runs_
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;    // their wire bytes
  uint64_t lost_pending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t lost_total_ ABSL_GUARDED_BY(mu_) = 0;
  // Queue length at which a producer wakes the waiting reader; 0 when the
  // reader is not waiting (or already woken), so producers signal once.
  size_t wake_at_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> cancelled_{false};
};

// Routes events from shard threads to subscribers and keeps a bounded history
// per session for replay. Thread-safe: Publish/Forget* for shard i are called
// by shard i only; everything else from any thread.
class EventHub {
 public:
  struct Options {
    size_t shards = 1;
    // Per subscriber, events: 36864 of 256 bytes is 9 MiB, under the
    // 10 MiB a stream that never reads may hold (docs/limits.md). A queue
    // also holds at most kQueueBytesPerEvent wire bytes per event of its
    // capacity (events average about half that).
    size_t queue_capacity = 36864;
    size_t history_per_session = 256;  // events; 0 keeps no history
    size_t max_subscribers = 64;
  };

  // Retained history, summed over every partition.
  struct HistoryStats {
    size_t sessions = 0;
    size_t events = 0;
    size_t allocated_bytes = 0;  // heap bytes holding them
  };

  explicit EventHub(const Options& options);
  // Cancels every subscription still registered.
  ~EventHub();

  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Registers a subscriber. RESOURCE_EXHAUSTED beyond max_subscribers. With
  // `replay`, the retained history of matching sessions is queued first, in
  // publish order per shard, and live events follow with nothing lost or
  // duplicated in between (beyond what does not fit the queue, which counts as
  // lost).
  absl::StatusOr<std::shared_ptr<Subscription>> Subscribe(
      const EventFilter& filter, bool replay);
  // Stops delivery to `sub` and cancels it. Unknown or already removed
  // subscriptions are ignored.
  void Unsubscribe(const std::shared_ptr<Subscription>& sub);

  // The most wire bytes per event of queue_capacity a subscriber's queue
  // holds.
  static constexpr size_t kQueueBytesPerEvent = 256;
  // Stage flushes by itself once this many events wait.
  static constexpr size_t kStageEvents = 256;

  // Called by shard `shard` (0..shards-1) only; all events of one network come
  // from one shard. Events with session_id 0 are delivered but not retained.
  // Publish is Stage followed by Flush.
  void Publish(size_t shard, uint32_t network_id, const Event& e);
  // Queues an event for the shard's next Flush (and flushes when
  // kStageEvents wait). Nothing staged is retained or delivered before that
  // Flush, so a shard that stages calls Flush at the end of every pass,
  // before it sleeps.
  void Stage(size_t shard, uint32_t network_id, const Event& e);
  // Publishes what the shard staged, in order: retains each event, encodes
  // the ones any subscriber wants once, and hands every matching subscriber
  // its run of them, taking the partition's lock and each subscriber's once.
  void Flush(size_t shard);

  // Drop retained history: of one session (after DeleteSession) or of every
  // session of a network (after DeleteNetwork). Called by the owning shard,
  // after the last event it publishes for them (events it staged are
  // flushed first).
  void ForgetSession(size_t shard, uint32_t network_id, uint32_t session_id);
  void ForgetNetwork(size_t shard, uint32_t network_id);

  size_t shards() const { return partitions_.size(); }
  size_t subscriber_count() const;
  // Events lost by slow subscribers, all time.
  uint64_t events_dropped_total() const;
  HistoryStats history_stats() const;
  // Events retained for one session (0 if none).
  size_t history_size(uint32_t network_id, uint32_t session_id) const;

 private:
  // A session's retained events, each with the partition's publish counter,
  // which orders events of different sessions for replay.
  using History = SessionHistory;

  static uint64_t SessionKey(uint32_t network_id, uint32_t session_id) {
    return (static_cast<uint64_t>(network_id) << 32) | session_id;
  }

  // Reused buffers of a partition's Flush (event_hub.cc).
  struct FlushScratch;

  // One per shard, on its own cache lines: only that shard's Flush and
  // (rarely) Subscribe/Unsubscribe contend for it.
  struct alignas(64) Partition {
    explicit Partition(size_t history_per_session);
    ~Partition();

    mutable absl::Mutex mu;
    uint64_t next_seq ABSL_GUARDED_BY(mu) = 0;
    HistoryStore history ABSL_GUARDED_BY(mu);
    std::vector<Subscription*> subscribers ABSL_GUARDED_BY(mu);
    std::unique_ptr<FlushScratch> scratch ABSL_GUARDED_BY(mu);
    std::atomic<uint64_t> dropped{0};
    // Events staged by the owning shard, touched by its thread only.
    std::vector<NetworkEvent> staged;
  };

  // Appends one published event to its session's history.
  void RetainLocked(Partition& p, uint64_t seq, uint32_t network_id,
                    const Event& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Hands the subscribers their matching runs of `events`.
  void DeliverLocked(Partition& p, const std::vector<NetworkEvent>& events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);
  // Queues the partition's retained history that `sub` matches.
  void ReplayLocked(Partition& p, Subscription* sub) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu);

  const Options options_;
  std::vector<std::unique_ptr<Partition>> partitions_;

  // Serializes Subscribe/Unsubscribe; owns the registered subscriptions
  // (partitions keep raw pointers, removed before the owner lets go).
  mutable absl::Mutex subs_mu_;
  absl::flat_hash_map<Subscription*, std::shared_ptr<Subscription>> registered_
      ABSL_GUARDED_BY(subs_mu_);
};

}  // namespace tcpemu::server
