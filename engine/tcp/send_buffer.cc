// Send buffer; see send_buffer.h.
#include "engine/tcp/send_buffer.h"

#include <algorithm>
#include <cstring>

namespace tcpemu {

size_t SendBuffer::Write(absl::Span<const uint8_t> bytes) {
  const uint8_t* src = bytes.data();
  return WriteFill(bytes.size(), [&src](uint8_t* dst, size_t len) {
    std::memcpy(dst, src, len);
    src += len;
  });
}

size_t SendBuffer::WriteFill(size_t n,
                             absl::FunctionRef<void(uint8_t*, size_t)> fill) {
  size_t accepted = std::min(n, free_space());
  size_t left = accepted;
  while (left > 0) {
    if (!tail_ || tail_used_ == tail_->capacity()) {
      tail_ = Chunk::Allocate(std::max(kChunkSize, std::min(left, capacity_)));
      tail_used_ = 0;
    }
    size_t take = std::min<size_t>(left, tail_->capacity() - tail_used_);
    fill(tail_->data() + tail_used_, take);
    data_.Append(Slice{tail_, tail_used_, static_cast<uint32_t>(take)});
    tail_used_ += static_cast<uint32_t>(take);
    left -= take;
  }
  return accepted;
}

void SendBuffer::Consume(size_t n) {
  data_.RemovePrefix(n);
  if (data_.empty()) {
    // Nothing left to send or retransmit: give the memory back.
    tail_ = ChunkRef();
    tail_used_ = 0;
  }
}

}  // namespace tcpemu
