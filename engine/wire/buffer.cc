// Refcounted payload memory; see buffer.h.
#include "engine/wire/buffer.h"

#include <algorithm>
#include <new>

namespace tcpemu {
namespace {
thread_local int64_t live_chunk_bytes = 0;
}  // namespace

ChunkRef Chunk::Allocate(size_t capacity) {
  void* mem = ::operator new(sizeof(Chunk) + capacity);
  live_chunk_bytes += static_cast<int64_t>(capacity);
  return ChunkRef(new (mem) Chunk(capacity));
}

int64_t Chunk::LiveBytes() { return live_chunk_bytes; }

void Chunk::Unref() {
  if (--refs_ == 0) {
    live_chunk_bytes -= static_cast<int64_t>(capacity_);
    this->~Chunk();
    ::operator delete(this);
  }
}

Payload Payload::Copy(absl::Span<const uint8_t> bytes) {
  Payload p;
  if (bytes.empty()) return p;
  ChunkRef c = Chunk::Allocate(bytes.size());
  std::memcpy(c->data(), bytes.data(), bytes.size());
  p.Append(Slice{std::move(c), 0, static_cast<uint32_t>(bytes.size())});
  return p;
}

void Payload::Append(Slice s) {
  if (s.length == 0) return;
  size_ += s.length;
  if (slices_.size() > begin_) {
    Slice& last = slices_.back();
    if (last.chunk.get() == s.chunk.get() &&
        last.offset + last.length == s.offset) {
      last.length += s.length;
      return;
    }
  }
  slices_.push_back(std::move(s));
}

void Payload::Append(const Payload& p) {
  for (const Slice& s : p.slices()) Append(s);
}

Payload Payload::Sub(size_t offset, size_t length) const {
  Payload out;
  for (const Slice& s : slices()) {
    if (length == 0) break;
    if (offset >= s.length) {
      offset -= s.length;
      continue;
    }
    size_t take = std::min<size_t>(s.length - offset, length);
    out.Append(Slice{s.chunk, static_cast<uint32_t>(s.offset + offset),
                     static_cast<uint32_t>(take)});
    length -= take;
    offset = 0;
  }
  return out;
}

void Payload::RemovePrefix(size_t n) {
  n = std::min(n, size_);
  size_ -= n;
  size_t i = begin_;
  while (n > 0) {
    Slice& s = slices_[i];
    if (n >= s.length) {
      n -= s.length;
      s = Slice();  // releases the chunk now
      ++i;
    } else {
      s.offset += static_cast<uint32_t>(n);
      s.length -= static_cast<uint32_t>(n);
      n = 0;
    }
  }
  if (i == slices_.size()) {
    slices_.clear();
    begin_ = 0;
  } else if (i > 8 && 2 * i >= slices_.size()) {
    slices_.erase(slices_.begin(),
                  slices_.begin() + static_cast<std::ptrdiff_t>(i));
    begin_ = 0;
  } else {
    begin_ = static_cast<uint32_t>(i);
  }
}

size_t Payload::CopyTo(absl::Span<uint8_t> out) const {
  size_t done = 0;
  for (const Slice& s : slices()) {
    if (done == out.size()) break;
    size_t take = std::min<size_t>(s.length, out.size() - done);
    std::memcpy(out.data() + done, s.data(), take);
    done += take;
  }
  return done;
}

void Payload::FlipBit(size_t bit) {
  size_t byte = bit / 8;
  for (size_t i = begin_; i < slices_.size(); ++i) {
    Slice& s = slices_[i];
    if (byte >= s.length) {
      byte -= s.length;
      continue;
    }
    ChunkRef copy = Chunk::Allocate(s.length);
    std::memcpy(copy->data(), s.data(), s.length);
    copy->data()[byte] ^= static_cast<uint8_t>(1u << (bit % 8));
    s = Slice{std::move(copy), 0, s.length};
    return;
  }
}

bool Payload::operator==(const Payload& o) const {
  if (size_ != o.size_) return false;
  size_t ai = begin_, aoff = 0, bi = o.begin_, boff = 0, left = size_;
  while (left > 0) {
    const Slice& a = slices_[ai];
    const Slice& b = o.slices_[bi];
    size_t n = std::min<size_t>(a.length - aoff, b.length - boff);
    if (std::memcmp(a.data() + aoff, b.data() + boff, n) != 0) return false;
    aoff += n;
    boff += n;
    left -= n;
    if (aoff == a.length) ++ai, aoff = 0;
    if (boff == b.length) ++bi, boff = 0;
  }
  return true;
}

}  // namespace tcpemu
