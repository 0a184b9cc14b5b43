// A windowed maximum (or minimum) of a stream of samples, by Kathleen
// Nichols' algorithm (as used by Linux lib/win_minmax.c and by BBR): the best
// value seen within the last `window` units of time, kept in constant space
// and time per sample.
//
// The filter holds three estimates: the best sample, and the best samples
// after it from later parts of the window, each no older than the one before
// it. A new best sample replaces all three (nothing older can matter any
// more). When the best one ages out of the window the second takes its place,
// and so on; fresh second and third choices are taken from the second quarter
// and the second half of the window so that the three stay spread over it,
// which bounds the error when the data drift monotonically away from the best
// value. The estimate is always the value of a sample inside the window and
// never better than the true windowed best.
//
// `T` is the time (e.g. nanoseconds, or BBR's count of round trips); samples
// come with non-decreasing times. `Better(a, b)` is true when `a` is strictly
// better than `b`: std::greater for a maximum, std::less for a minimum.
#pragma once

#include <array>
#include <functional>

namespace tcpemu {

template <typename V, typename T, typename Better>
class WindowedFilter {
 public:
  explicit WindowedFilter(T window) : window_(window) {}

  // Forgets every sample but this one.
  void Reset(T time, V value) {
    estimates_.fill(Sample{value, time});
    has_sample_ = true;
  }

  // Adds the sample `value` taken at `time`; returns the windowed best.
  V Update(T time, V value) {
    const Sample sample{value, time};
    if (!has_sample_ || AtLeastAsGood(value, estimates_[0].value) ||
        time - estimates_[2].time > window_) {
      // A new best, or the whole window passed without a sample.
      Reset(time, value);
      return value;
    }
    if (AtLeastAsGood(value, estimates_[1].value)) {
      estimates_[1] = estimates_[2] = sample;
    } else if (AtLeastAsGood(value, estimates_[2].value)) {
      estimates_[2] = sample;
    }
    Age(sample);
    return estimates_[0].value;
  }

  // The windowed best; V{} before the first sample.
  V Get() const { return has_sample_ ? estimates_[0].value : V{}; }
  bool empty() const { return !has_sample_; }
  T window() const { return window_; }

 private:
  struct Sample {
    V value{};
    T time{};
  };

  static bool AtLeastAsGood(const V& a, const V& b) { return !Better()(b, a); }

  // Moves the estimates along as `sample`'s time advances.
  void Age(const Sample& sample) {
    const T age = sample.time - estimates_[0].time;
    if (age > window_) {
      // The best estimate left the window: the second becomes the best,
      // the third the second, and this sample the third. The new best may
      // be out of the window too (the third was checked to be inside).
      estimates_[0] = estimates_[1];
      estimates_[1] = estimates_[2];
      estimates_[2] = sample;
      if (sample.time - estimates_[0].time > window_) {
        estimates_[0] = estimates_[1];
        estimates_[1] = estimates_[2];
        estimates_[2] = sample;
      }
    } else if (estimates_[1].time == estimates_[0].time && age > window_ / 4) {
      // A quarter of the window without a second choice: take one from
      // the second quarter.
      estimates_[1] = estimates_[2] = sample;
    } else if (estimates_[2].time == estimates_[1].time && age > window_ / 2) {
      // Half the window without a third choice: take one from the second
      // half.
      estimates_[2] = sample;
    }
  }

  T window_;
  bool has_sample_ = false;
  std::array<Sample, 3> estimates_{};
};

template <typename V, typename T>
using WindowedMaxFilter = WindowedFilter<V, T, std::greater<V>>;
template <typename V, typename T>
using WindowedMinFilter = WindowedFilter<V, T, std::less<V>>;

}  // namespace tcpemu
