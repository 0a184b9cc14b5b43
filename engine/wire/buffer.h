// Refcounted payload memory. Bytes written by an application are copied once
// into a Chunk; segments, link queues and receive buffers then hold Slices of
// that chunk instead of copying. Refcounts are not atomic: a chunk is only ever
// touched by the shard that owns its network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

namespace tcpemu {

class ChunkRef;

// A fixed-capacity block of bytes with an intrusive reference count.
class Chunk {
 public:
  // Allocates a chunk that can hold `capacity` bytes.
  static ChunkRef Allocate(size_t capacity);

  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const {
    return reinterpret_cast<const uint8_t*>(this + 1);
  }
  size_t capacity() const { return capacity_; }
  uint32_t refs() const { return refs_; }

  // Total bytes of chunk memory currently allocated in this thread.
  static int64_t LiveBytes();

 private:
  friend class ChunkRef;
  explicit Chunk(size_t capacity) : capacity_(capacity) {}
  void Ref() { ++refs_; }
  void Unref();

  uint32_t refs_ = 0;
  uint32_t capacity_;
};

// Owning handle to a Chunk (like an intrusive shared pointer).
class ChunkRef {
 public:
  ChunkRef() = default;
  explicit ChunkRef(Chunk* c) : c_(c) {
    if (c_) c_->Ref();
  }
  ChunkRef(const ChunkRef& o) : c_(o.c_) {
    if (c_) c_->Ref();
  }
  ChunkRef(ChunkRef&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  ChunkRef& operator=(ChunkRef o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~ChunkRef() {
    if (c_) c_->Unref();
  }

  Chunk* get() const { return c_; }
  Chunk* operator->() const { return c_; }
  explicit operator bool() const { return c_ != nullptr; }

 private:
  Chunk* c_ = nullptr;
};

// A byte range inside a chunk.
struct Slice {
  ChunkRef chunk;
  uint32_t offset = 0;
  uint32_t length = 0;

  const uint8_t* data() const { return chunk->data() + offset; }
  absl::Span<const uint8_t> span() const { return {data(), length}; }
};

// An ordered sequence of slices: the payload of one segment, or bytes held in
// a buffer. Most segments need one or two slices, which are stored inline.
class Payload {
 public:
  Payload() = default;
  // Copies `bytes` into a new chunk.
  static Payload Copy(absl::Span<const uint8_t> bytes);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  absl::Span<const Slice> slices() const {
    return absl::MakeConstSpan(slices_).subspan(begin_);
  }

  void Append(Slice s);
  void Append(const Payload& p);
  void Clear() {
    slices_.clear();
    begin_ = 0;
    size_ = 0;
  }

  // The bytes [offset, offset + length) of this payload, sharing chunks.
  Payload Sub(size_t offset, size_t length) const;
  // Drops the first n bytes: amortized constant time per slice dropped,
  // however many slices remain.
  void RemovePrefix(size_t n);
  // Copies the first min(size(), out.size()) bytes to `out`; returns the count.
  size_t CopyTo(absl::Span<uint8_t> out) const;
  // Calls fn(absl::Span<const uint8_t>) for each contiguous piece in order.
  template <typename Fn>
  void ForEachSpan(Fn&& fn) const {
    for (const Slice& s : slices()) fn(s.span());
  }
  // Flips one bit, copying the affected slice first so that no other holder
  // of the chunk sees the change. `bit` < size() * 8.
  void FlipBit(size_t bit);

  bool operator==(const Payload& o) const;

 private:
  // Slices before begin_ were removed and released; they are erased once
  // they are the larger part, so a long payload read from the front a
  // little at a time is not moved on every read.
  absl::InlinedVector<Slice, 2> slices_;
  uint32_t begin_ = 0;
  size_t size_ = 0;
};

}  // namespace tcpemu
