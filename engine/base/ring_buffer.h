// A growable FIFO ring on one contiguous array. Unlike std::deque it never
// allocates once it has reached its working size, which keeps per-packet
// paths free of heap traffic, and an empty one holds no memory at all.
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

  // Inserts `v` before the i-th element (i <= size()), moving the elements
  // on the shorter side of it by one, as std::deque does.
  void Insert(size_t i, T v) {
    if (size_ == slots_.size()) Grow();
    if (i < size_ / 2) {
      head_ = (head_ - 1) & mask();
      for (size_t k = 0; k < i; ++k) (*this)[k] = std::move((*this)[k + 1]);
    } else {
      for (size_t k = size_; k > i; --k) {
        (*this)[k] = std::move((*this)[k - 1]);
      }
    }
    ++size_;
    (*this)[i] = std::move(v);
  }

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
  // Removes every element and gives the storage back.
  void Release() {
    slots_ = std::vector<T>();
    head_ = size_ = 0;
  }

  // The first index i in [0, size()) for which pred((*this)[i]) is false,
  // given that pred is true for a prefix and false after it (as
  // std::partition_point); size() if it holds for all.
  template <typename Pred>
  size_t PartitionPoint(Pred pred) const {
    size_t lo = 0, hi = size_;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (pred((*this)[mid])) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
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
