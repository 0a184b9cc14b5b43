// The send buffer (RFC 9293 3.9.1 SEND): bytes the application handed over and
// the peer has not yet acknowledged. A write that does not fit is accepted
// partially. Memory is held only while the buffer holds bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "engine/wire/buffer.h"

namespace tcpemu {

class SendBuffer {
 public:
  explicit SendBuffer(uint32_t capacity) : capacity_(capacity) {}

  size_t size() const { return data_.size(); }
  size_t capacity() const { return capacity_; }
  size_t free_space() const {
    return data_.size() >= capacity_ ? 0 : capacity_ - data_.size();
  }

  // Copies as much of `bytes` as fits; returns the count accepted.
  size_t Write(absl::Span<const uint8_t> bytes);
  // Accepts up to `n` bytes produced by `fill(dst, len)` straight into the
  // buffer's memory; returns the count accepted.
  size_t WriteFill(size_t n, absl::FunctionRef<void(uint8_t*, size_t)> fill);
  // The bytes [offset, offset + len) counted from the oldest unacked byte.
  Payload Peek(size_t offset, size_t len) const {
    return data_.Sub(offset, len);
  }
  // Releases the first `n` bytes (acknowledged by the peer).
  void Consume(size_t n);

 private:
  // Chunk size for new data: large enough to amortize allocation, small
  // enough that an idle connection with a few bytes queued stays light.
  static constexpr size_t kChunkSize = 16 * 1024;

  size_t capacity_;
  Payload data_;
  ChunkRef tail_;           // chunk that new writes append to
  uint32_t tail_used_ = 0;  // bytes of tail_ already written
};

}  // namespace tcpemu
