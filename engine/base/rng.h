// Seeded pseudo-random numbers. Every random choice in a network (ISN secret,
// link loss, jitter, ...) draws from an Rng derived from the network's seed, so
// the same seed and inputs give the same trace.
#pragma once

#include <cstdint>
#include <random>

namespace tcpemu {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // A child generator for an independent stream (e.g. one per link
  // direction), derived deterministically from this one's seed and `stream`.
  static Rng Derive(uint64_t seed, uint64_t stream) {
    std::seed_seq seq{
        static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
    Rng r(0);
    r.engine_.seed(seq);
    return r;
  }

  uint64_t Next() { return engine_(); }
  // Uniform in [0, 1) with 53 bits of precision.
  double Uniform01() {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  }
  // True with probability p (p <= 0 never, p >= 1 always).
  bool Bernoulli(double p) { return p > 0 && (p >= 1 || Uniform01() < p); }
  // Uniform integer in [lo, hi].
  int64_t UniformInt(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo +
           static_cast<int64_t>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  // Standard normal deviate (mean 0, stddev 1).
  double Normal() { return normal_(engine_); }

 private:
  std::mt19937_64 engine_;
  std::normal_distribution<double> normal_{0.0, 1.0};
};

}  // namespace tcpemu
