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
      tail_ = Chunk::Allocate(std::clamp<size_t>(std::min(left, capacity_),
                                                 kChunkSize, kMaxChunkSize));
      tail_used_ = 0;
    }
    size_t take = std::min<size_t>(left, tail_->capacity() - tail_used_);
    fill(tail_->data() + tail_used_, take);
    Piece* last = pieces_.empty() ? nullptr : &pieces_.back();
    if (last != nullptr && last->slice.chunk.get() == tail_.get() &&
        last->slice.offset + last->slice.length == tail_used_) {
      last->slice.length += static_cast<uint32_t>(take);
    } else {
      pieces_.push_back(
          {Slice{tail_, tail_used_, static_cast<uint32_t>(take)}, end_});
    }
    end_ += take;
    tail_used_ += static_cast<uint32_t>(take);
    left -= take;
  }
  return accepted;
}

Payload SendBuffer::Peek(size_t offset, size_t len) const {
  Payload out;
  uint64_t from = head_ + offset;
  const uint64_t to = std::min<uint64_t>(from + len, end_);
  for (size_t i = pieces_.PartitionPoint(
           [from](const Piece& p) { return p.start + p.slice.length <= from; });
       i < pieces_.size() && from < to; ++i) {
    const Piece& p = pieces_[i];
    const uint64_t skip = from - p.start;
    const uint64_t take = std::min<uint64_t>(p.slice.length - skip, to - from);
    out.Append(Slice{p.slice.chunk,
                     static_cast<uint32_t>(p.slice.offset + skip),
                     static_cast<uint32_t>(take)});
    from += take;
  }
  return out;
}

void SendBuffer::Consume(size_t n) {
  head_ = std::min<uint64_t>(head_ + n, end_);
  while (!pieces_.empty() &&
         pieces_.front().start + pieces_.front().slice.length <= head_) {
    pieces_.take_front();  // releases its chunk
  }
  if (!pieces_.empty() && pieces_.front().start < head_) {
    Piece& p = pieces_.front();
    const uint32_t cut = static_cast<uint32_t>(head_ - p.start);
    p.slice.offset += cut;
    p.slice.length -= cut;
    p.start = head_;
  }
  if (pieces_.empty()) {
    // Nothing left to send or retransmit: give the memory back.
    pieces_.Release();
    tail_ = ChunkRef();
    tail_used_ = 0;
  }
}

}  // namespace tcpemu
