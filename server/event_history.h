// Each session's most recent events, retained for WatchEvents replay. A busy
// session keeps them as whole events (appending is a copy); one that has gone
// quiet has them packed to a few dozen bytes each, since an idle session
// holds its dozen or so handshake events for as long as it lives and a daemon
// may hold a million sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "engine/base/event.h"
#include "engine/base/ring_buffer.h"

namespace tcpemu::server {

// Packed events: a session's events, oldest first, stored as bytes. The
// newest of each endpoint is whole (its nonzero 32-bit words), every other
// one the words in which it differs from the next event of the same endpoint
// (each as a varint of the XOR). An endpoint's consecutive events share most
// of their TCB and segment fields, so a record is a few dozen bytes instead
// of sizeof(Event). What comes back is byte for byte what went in.
class PackedEvents {
 public:
  struct Retained {
    uint64_t seq = 0;
    Event event;
  };

  // Packs n events, event(0) the oldest, their seqs increasing; replaces
  // what was held. What event(i) returns need only live until the next
  // call. The storage is exactly what the records take.
  void Assign(size_t n, absl::FunctionRef<const Retained&(size_t)> event);
  // Decodes every event, oldest first, into *out.
  void Decode(std::vector<Retained>* out) const;
  // Removes every event and gives the storage back.
  void Release();

  size_t size() const { return size_; }
  size_t allocated_bytes() const { return bytes_.capacity(); }

 private:
  static_assert(std::is_trivially_copyable_v<Event>);
  static_assert(sizeof(Event) % 4 == 0 && sizeof(Event) / 4 <= 64);
  static constexpr size_t kWords = sizeof(Event) / 4;

  std::vector<uint8_t> bytes_;
  uint32_t size_ = 0;
};

// One session's history: its newest `capacity` events as whole events while
// it is busy, packed (PackedEvents) once Pack() is called, unpacked again by
// the next Append. Not thread-safe.
class SessionHistory {
 public:
  using Retained = PackedEvents::Retained;

  explicit SessionHistory(size_t capacity);

  void Append(uint64_t seq, const Event& e);
  // Packs what is retained and releases the whole events.
  void Pack();

  size_t size() const {
    return whole_ != nullptr ? whole_->size() : packed_.size();
  }
  size_t capacity() const { return capacity_; }
  bool packed() const { return packed_.size() != 0; }
  // The seq of the newest event (0 when empty).
  uint64_t newest_seq() const { return newest_seq_; }
  size_t allocated_bytes() const {
    return packed_.allocated_bytes() +
           (whole_ != nullptr ? whole_->capacity() * sizeof(Retained) : 0);
  }

  // Calls f(seq, event) for every retained event, oldest first. `event` is
  // valid only during the call.
  template <typename F>
  void ForEach(F&& f) const {
    if (packed()) {
      std::vector<Retained> events;
      packed_.Decode(&events);
      for (const Retained& r : events) f(r.seq, r.event);
      return;
    }
    if (whole_ == nullptr) return;
    for (size_t i = 0; i < whole_->size(); ++i) {
      f((*whole_)[i].seq, (*whole_)[i].event);
    }
  }

 private:
  friend class HistoryStore;

  // Whole events while busy (null once packed, or before the first Append).
  std::unique_ptr<RingBuffer<Retained>> whole_;
  PackedEvents packed_;
  uint32_t capacity_;
  uint64_t newest_seq_ = 0;
  bool queued_ = false;  // HistoryStore's: waiting in its queue
};

// The histories of one partition's sessions, keyed by a caller's 64-bit
// session key, with the seq of each event increasing across the store. A
// session that gets no event while `quiet_after` others are appended is
// packed; checking takes a bounded step per Append, so a burst of new
// sessions is packed as it goes. Not thread-safe.
class HistoryStore {
 public:
  static constexpr uint64_t kQuietAfter = 4096;

  explicit HistoryStore(size_t per_session, uint64_t quiet_after = kQuietAfter)
      : per_session_(per_session), quiet_after_(quiet_after) {}

  void Append(uint64_t key, uint64_t seq, const Event& e);
  void Erase(uint64_t key) { sessions_.erase(key); }
  // Erases every session whose key satisfies pred(key).
  template <typename Pred>
  void EraseIf(Pred pred) {
    absl::erase_if(sessions_, [&](const auto& kv) { return pred(kv.first); });
  }

  const SessionHistory* Find(uint64_t key) const {
    auto it = sessions_.find(key);
    return it == sessions_.end() ? nullptr : &it->second;
  }
  // Calls f(key, history) for every session.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [key, h] : sessions_) f(key, h);
  }
  size_t size() const { return sessions_.size(); }

 private:
  // Looks at up to two sessions at the head of the queue: packs those that
  // have been quiet long enough, queues the others again.
  void PackQuiet(uint64_t now);

  size_t per_session_;
  uint64_t quiet_after_;
  absl::flat_hash_map<uint64_t, SessionHistory> sessions_;
  // Sessions holding whole events, with the seq at which they were queued;
  // keys of erased sessions are skipped when they come up.
  std::deque<std::pair<uint64_t, uint64_t>> queue_;
};

}  // namespace tcpemu::server
