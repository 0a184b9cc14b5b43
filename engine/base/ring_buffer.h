// A growable FIFO ring on one contiguous array. Unlike std::deque it never
// allocates once it has reached its working size, which keeps the per-packet
// path of a link free of heap traffic.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace tcpemu {

template <typename T>
class RingBuffer {
 public:
  RingBuffer() = default;

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

  T& front() { return slots_[head_]; }
  const T& front() const { return slots_[head_]; }
  T& back() { return slots_[(head_ + size_ - 1) & mask()]; }
  const T& back() const { return slots_[(head_ + size_ - 1) & mask()]; }
  // The i-th element from the front, i < size().
  T& operator[](size_t i) { return slots_[(head_ + i) & mask()]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & mask()]; }

  void push_back(T&& v) {
    if (size_ == slots_.size()) Grow();
    slots_[(head_ + size_) & mask()] = std::move(v);
    ++size_;
  }
  void push_back(const T& v) { push_back(T(v)); }

  // Moves the front element out and removes it.
  T take_front() {
    T v = std::move(slots_[head_]);
    pop_front();
    return v;
  }

  // Removes the front element. Its slot keeps the (possibly moved-from)
  // value until overwritten, so move out anything that must be released.
  void pop_front() {
    head_ = (head_ + 1) & mask();
    --size_;
  }

  // Removes every element but keeps the storage.
  void clear() {
    while (!empty()) take_front();
    head_ = 0;
  }

 private:
  static constexpr size_t kInitialCapacity = 16;

  size_t mask() const { return slots_.size() - 1; }

  // Doubles the (power of two) capacity, unrolling the ring to index 0.
  void Grow() {
    std::vector<T> bigger(slots_.empty() ? kInitialCapacity
                                         : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) {
      bigger[i] = std::move(slots_[(head_ + i) & mask()]);
    }
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace tcpemu
