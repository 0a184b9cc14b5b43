// The send buffer (RFC 9293 3.9.1 SEND): bytes the application handed over and
// the peer has not yet acknowledged. A write that does not fit is accepted
// partially. Memory is held only while the buffer holds bytes.
//
// The bytes are kept as slices indexed by their offset in the stream, so a
// segment anywhere in a large window is found by binary search and an
// acknowledgement releases slices from the front: no per-segment cost grows
// with the amount buffered.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "engine/base/ring_buffer.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

class SendBuffer {
 public:
  explicit SendBuffer(uint32_t capacity) : capacity_(capacity) {}

  size_t size() const { return static_cast<size_t>(end_ - head_); }
  size_t capacity() const { return capacity_; }
  void set_capacity(uint32_t capacity) { capacity_ = capacity; }
  size_t free_space() const {
    return size() >= capacity_ ? 0 : capacity_ - size();
  }

  // Copies as much of `bytes` as fits; returns the count accepted.
  size_t Write(absl::Span<const uint8_t> bytes);
  // Accepts up to `n` bytes produced by `fill(dst, len)` straight into the
  // buffer's memory; returns the count accepted.
  size_t WriteFill(size_t n, absl::FunctionRef<void(uint8_t*, size_t)> fill);
  // The bytes [offset, offset + len) counted from the oldest unacked byte.
  Payload Peek(size_t offset, size_t len) const;
  // Releases the first `n` bytes (acknowledged by the peer).
  void Consume(size_t n);

 private:
  // Chunk size for new data: large enough to amortize allocation, small
  // enough that an idle connection with a few bytes queued stays light.
  static constexpr size_t kChunkSize = 16 * 1024;
  // Largest chunk: a large write is split into chunks this big, which the
  // allocator reuses as they are acknowledged (a chunk as large as the
  // buffer would be mapped fresh, and its pages faulted in, every time).
  static constexpr size_t kMaxChunkSize = 1024 * 1024;

  // A slice and the stream offset of its first byte.
  struct Piece {
    Slice slice;
    uint64_t start;
  };

  size_t capacity_;
  RingBuffer<Piece> pieces_;
  uint64_t head_ = 0;       // stream offset of the oldest unacknowledged byte
  uint64_t end_ = 0;        // stream offset past the newest byte
  ChunkRef tail_;           // chunk that new writes append to
  uint32_t tail_used_ = 0;  // bytes of tail_ already written
};

}  // namespace tcpemu
