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
// Ref (5) + seq (10) + group byte + group masks + every word (5 each).
constexpr size_t kMaxRecord = 5 + 10 + 1 + kGroups + 64 * 5;

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

}  // namespace

void PackedEvents::Assign(size_t n,
                          absl::FunctionRef<const Retained&(size_t)> event) {
  static constexpr uint32_t kZero[kWords] = {};
  // ref[i]: how many events later the next one of the same endpoint is (0:
  // none, so event i is stored whole).
  std::vector<uint32_t> ref(n, 0);
  size_t next[2] = {n, n};
  for (size_t i = n; i-- > 0;) {
    const size_t chain = Chain(event(i).event);
    if (next[chain] != n) ref[i] = static_cast<uint32_t>(next[chain] - i);
    next[chain] = i;
  }
  std::vector<uint8_t> out;
  out.reserve(n * 64);
  std::array<uint8_t, kMaxRecord> payload;
  uint32_t words[kWords];
  uint32_t from[kWords];
  for (size_t i = 0; i < n; ++i) {
    const Retained& r = event(i);
    std::memcpy(words, &r.event, sizeof(Event));
    uint64_t seq = r.seq;
    const uint32_t* base = kZero;
    if (ref[i] != 0) {
      // `r` may not outlive this call.
      const Retained& later = event(i + ref[i]);
      assert(later.seq > seq);
      std::memcpy(from, &later.event, sizeof(Event));
      seq = later.seq - seq;
      base = from;
    }
    uint8_t* p =
        CodedOutputStream::WriteVarint32ToArray(ref[i], payload.data());
    p = CodedOutputStream::WriteVarint64ToArray(seq, p);
    p = WriteWords(base, words, kWords, p);
    const auto len = static_cast<uint32_t>(p - payload.data());
    uint8_t head[5];
    const auto head_len = static_cast<size_t>(
        CodedOutputStream::WriteVarint32ToArray(len, head) - head);
    out.insert(out.end(), head, head + head_len);
    out.insert(out.end(), payload.data(), payload.data() + len);
  }
  bytes_.assign(out.begin(), out.end());  // exactly sized
  size_ = static_cast<uint32_t>(n);
}

void PackedEvents::Release() {
  bytes_ = std::vector<uint8_t>();
  size_ = 0;
}

void PackedEvents::Decode(std::vector<Retained>* out) const {
  out->clear();
  if (size_ == 0) return;
  // Where each record's payload starts, and its length, oldest first.
  std::vector<std::pair<uint32_t, uint32_t>> records;
  records.reserve(size_);
  for (size_t at = 0; at < bytes_.size();) {
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
    uint32_t words[kWords] = {};
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

SessionHistory::SessionHistory(size_t capacity)
    : capacity_(static_cast<uint32_t>(
          std::clamp<size_t>(capacity, 1, uint32_t{0xffffffff}))) {}

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
  const RingBuffer<Retained>& whole = *whole_;
  packed_.Assign(whole.size(),
                 [&whole](size_t i) -> const Retained& { return whole[i]; });
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
