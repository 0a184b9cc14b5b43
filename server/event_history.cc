// PackedEvents: records are [varint length][varint ref][varint seq][words],
// oldest first. `ref` 0 marks a whole event: `seq` is its own and the words
// are against zero. Otherwise the record's event differs from the one `ref`
// records later (the next of the same endpoint) in the words given, and `seq`
// is how much smaller its seq is. Words: a byte with a bit per group of 8
// words that has a change, a byte per such group with a bit per changed
// word, then each changed word's XOR as a varint, or 0 if it becomes zero.
#include "server/event_history.h"

#include <algorithm>
#include <array>
#include <cassert>

#include "google/protobuf/io/coded_stream.h"

namespace tcpemu::server {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;

constexpr size_t kGroups = 8;
// Length (2) + ref (5) + seq (10) + group byte + group masks + every word.
constexpr size_t kMaxRecord = 2 + 5 + 10 + 1 + kGroups + 64 * 5;
// Dropped bytes at the front are reclaimed once they are at least this many
// and half the vector.
constexpr size_t kCompactAt = 256;

size_t Chain(const Event& e) { return static_cast<uint8_t>(e.endpoint) & 1u; }

// Writes the words of `to` that differ from `from`, as described above.
uint8_t* WriteWords(const uint32_t* from, const uint32_t* to, size_t n,
                    uint8_t* p) {
  std::array<uint8_t, kGroups> masks{};
  uint8_t groups = 0;
  for (size_t i = 0; i < n; ++i) {
    if (from[i] != to[i]) masks[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  for (size_t g = 0; g < kGroups; ++g) {
    if (masks[g] != 0) groups |= static_cast<uint8_t>(1u << g);
  }
  *p++ = groups;
  for (size_t g = 0; g < kGroups; ++g) {
    if (masks[g] != 0) *p++ = masks[g];
  }
  for (size_t g = 0; g < kGroups; ++g) {
    for (uint8_t m = masks[g]; m != 0; m &= static_cast<uint8_t>(m - 1)) {
      const size_t i = g * 8 + static_cast<size_t>(__builtin_ctz(m));
      // A word that becomes zero costs one byte (a changed word's XOR is
      // never zero).
      p = CodedOutputStream::WriteVarint32ToArray(
          to[i] == 0 ? 0 : from[i] ^ to[i], p);
    }
  }
  return p;
}

// Applies the XORs written by WriteWords to `words` in place.
bool ReadWords(CodedInputStream* in, uint32_t* words, size_t n) {
  std::array<uint8_t, kGroups> masks{};
  uint8_t groups = 0;
  if (!in->ReadRaw(&groups, 1)) return false;
  for (size_t g = 0; g < kGroups; ++g) {
    if ((groups >> g) & 1u) {
      if (!in->ReadRaw(&masks[g], 1)) return false;
    }
  }
  for (size_t g = 0; g < kGroups; ++g) {
    for (uint8_t m = masks[g]; m != 0; m &= static_cast<uint8_t>(m - 1)) {
      const size_t i = g * 8 + static_cast<size_t>(__builtin_ctz(m));
      uint32_t x = 0;
      if (i >= n || !in->ReadVarint32(&x)) return false;
      words[i] = x == 0 ? 0 : words[i] ^ x;
    }
  }
  return true;
}

// Writes one record: its length, then ref, seq and the words of `to` against
// `from`. Returns the end.
uint8_t* WriteRecord(uint32_t ref, uint64_t seq, const uint32_t* from,
                     const uint32_t* to, size_t n, uint8_t* out) {
  std::array<uint8_t, kMaxRecord> payload;
  uint8_t* p = CodedOutputStream::WriteVarint32ToArray(ref, payload.data());
  p = CodedOutputStream::WriteVarint64ToArray(seq, p);
  p = WriteWords(from, to, n, p);
  const auto len = static_cast<uint32_t>(p - payload.data());
  out = CodedOutputStream::WriteVarint32ToArray(len, out);
  std::memcpy(out, payload.data(), len);
  return out + len;
}

}  // namespace

PackedEvents::PackedEvents(size_t capacity)
    : capacity_(static_cast<uint32_t>(
          std::clamp<size_t>(capacity, 1, uint32_t{0xffffffff}))) {}

void PackedEvents::Trim() {
  EraseDropped();
  bytes_.shrink_to_fit();
}

void PackedEvents::EraseDropped() {
  if (begin_ == 0) return;
  bytes_.erase(bytes_.begin(), bytes_.begin() + begin_);
  for (Key& k : keys_) {
    if (k.at != kNone) k.at -= begin_;
  }
  begin_ = 0;
}

void PackedEvents::Release() {
  bytes_ = std::vector<uint8_t>();
  size_ = 0;
  begin_ = 0;
  appended_ = 0;
  keys_[0] = keys_[1] = Key{};
}

void PackedEvents::Append(uint64_t seq, const Event& e) {
  static constexpr Words kZero{};
  Words next;
  std::memcpy(next, &e, sizeof(Event));
  Key& key = keys_[Chain(e)];
  if (key.at != kNone) {
    // The endpoint's newest record becomes its difference from `e`.
    Words prev{};
    CodedInputStream in(bytes_.data() + key.at,
                        static_cast<int>(bytes_.size() - key.at));
    uint32_t len = 0, ref = 1;
    uint64_t prev_seq = 0;
    const bool ok = in.ReadVarint32(&len) && in.ReadVarint32(&ref) &&
                    in.ReadVarint64(&prev_seq) && ReadWords(&in, prev, kWords);
    assert(ok && ref == 0 && prev_seq < seq);
    (void)ok;
    std::array<uint8_t, kMaxRecord> record;
    const uint8_t* end = WriteRecord(appended_ - key.index, seq - prev_seq,
                                     next, prev, kWords, record.data());
    Splice(key.at, record.data(), static_cast<size_t>(end - record.data()));
  }
  std::array<uint8_t, kMaxRecord> record;
  const uint8_t* end = WriteRecord(0, seq, kZero, next, kWords, record.data());
  const size_t len = static_cast<size_t>(end - record.data());
  const size_t need = bytes_.size() + len;
  if (bytes_.capacity() < need) {
    // Grow by a quarter, not double: an idle session keeps what it has.
    bytes_.reserve(need + need / 4);
  }
  key.at = static_cast<uint32_t>(bytes_.size());
  key.index = appended_++;
  bytes_.insert(bytes_.end(), record.begin(), record.begin() + len);
  if (++size_ > capacity_) DropOldest();
}

void PackedEvents::Splice(uint32_t at, const uint8_t* record, size_t len) {
  CodedInputStream in(bytes_.data() + at, static_cast<int>(bytes_.size() - at));
  uint32_t old_len = 0;
  in.ReadVarint32(&old_len);
  const size_t old_end =
      at + static_cast<size_t>(in.CurrentPosition()) + old_len;
  const size_t old_size = old_end - at;
  if (len > old_size) {
    bytes_.insert(bytes_.begin() + static_cast<ptrdiff_t>(old_end),
                  len - old_size, 0);
  } else if (len < old_size) {
    bytes_.erase(bytes_.begin() + static_cast<ptrdiff_t>(at + len),
                 bytes_.begin() + static_cast<ptrdiff_t>(old_end));
  }
  std::memcpy(bytes_.data() + at, record, len);
  for (Key& k : keys_) {
    if (k.at != kNone && k.at > at) {
      k.at = static_cast<uint32_t>(k.at + len - old_size);
    }
  }
}

void PackedEvents::DropOldest() {
  CodedInputStream in(bytes_.data() + begin_,
                      static_cast<int>(bytes_.size() - begin_));
  uint32_t len = 0;
  const bool ok = in.ReadVarint32(&len);
  assert(ok);
  (void)ok;
  for (Key& k : keys_) {
    if (k.at == begin_) k.at = kNone;
  }
  begin_ += static_cast<uint32_t>(in.CurrentPosition()) + len;
  --size_;
  if (begin_ >= kCompactAt && begin_ * 2 >= bytes_.size()) EraseDropped();
}

void PackedEvents::Decode(std::vector<Retained>* out) const {
  out->clear();
  if (size_ == 0) return;
  // Where each record's payload starts, and its length, oldest first.
  std::vector<std::pair<uint32_t, uint32_t>> records;
  records.reserve(size_);
  for (size_t at = begin_; at < bytes_.size();) {
    CodedInputStream in(bytes_.data() + at,
                        static_cast<int>(bytes_.size() - at));
    uint32_t len = 0;
    in.ReadVarint32(&len);
    const size_t payload = at + static_cast<size_t>(in.CurrentPosition());
    records.emplace_back(static_cast<uint32_t>(payload), len);
    at = payload + len;
  }
  assert(records.size() == size_);
  out->resize(records.size());
  for (size_t k = records.size(); k-- > 0;) {
    const auto [at, len] = records[k];
    CodedInputStream in(bytes_.data() + at, static_cast<int>(len));
    uint32_t ref = 0;
    uint64_t seq = 0;
    in.ReadVarint32(&ref);
    in.ReadVarint64(&seq);
    Words words{};
    if (ref != 0) {
      assert(k + ref < records.size());
      const Retained& later = (*out)[k + ref];
      std::memcpy(words, &later.event, sizeof(Event));
      seq = later.seq - seq;
    }
    ReadWords(&in, words, kWords);
    (*out)[k].seq = seq;
    std::memcpy(&(*out)[k].event, words, sizeof(Event));
  }
}

SessionHistory::SessionHistory(size_t capacity) : packed_(capacity) {}

void SessionHistory::Append(uint64_t seq, const Event& e) {
  if (whole_ == nullptr) {
    // New, or busy again: back to whole events.
    whole_ = std::make_unique<RingBuffer<Retained>>();
    std::vector<Retained> events;
    packed_.Decode(&events);
    packed_.Release();
    for (Retained& r : events) whole_->push_back(std::move(r));
  }
  if (whole_->size() == capacity()) whole_->pop_front();
  whole_->push_back(Retained{seq, e});
  newest_seq_ = seq;
}

void SessionHistory::Pack() {
  if (whole_ == nullptr) return;
  for (size_t i = 0; i < whole_->size(); ++i) {
    packed_.Append((*whole_)[i].seq, (*whole_)[i].event);
  }
  packed_.Trim();
  whole_.reset();
}

void HistoryStore::Append(uint64_t key, uint64_t seq, const Event& e) {
  if (per_session_ == 0) return;
  SessionHistory& h = sessions_.try_emplace(key, per_session_).first->second;
  h.Append(seq, e);
  if (!h.queued_) {
    h.queued_ = true;
    queue_.emplace_back(key, seq);
  }
  PackQuiet(seq);
}

void HistoryStore::PackQuiet(uint64_t now) {
  for (int step = 0; step < 2 && !queue_.empty(); ++step) {
    const auto [key, queued_at] = queue_.front();
    if (now - queued_at < quiet_after_) return;
    queue_.pop_front();
    auto it = sessions_.find(key);
    if (it == sessions_.end() || !it->second.queued_) continue;
    SessionHistory& h = it->second;
    if (now - h.newest_seq() >= quiet_after_) {
      h.queued_ = false;
      h.Pack();
    } else {
      queue_.emplace_back(key, h.newest_seq());
    }
  }
}

}  // namespace tcpemu::server
