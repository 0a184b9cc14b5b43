// The impairments of one direction of an emulated link, named after Linux
// netem's parameters (tc-netem(8)): delay, jitter, rate, drop-tail queue
// limits, loss models, duplicate, reorder, corrupt, plus the path MTU.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "engine/base/time.h"
#include "engine/link/aqm_spec.h"
#include "engine/link/link_schedule.h"

namespace tcpemu {

// Random variation added to the propagation delay of each packet.
struct JitterSpec {
  // Spread: the half-width of a uniform distribution, or the standard
  // deviation of a normal one (clamped to +-4 sigma). 0 = no jitter.
  DurationNs jitter = 0;
  enum class Distribution {
    kUniform,
    kNormal
  } distribution = Distribution::kUniform;
  // netem's correlation: each draw is rho * previous + (1 - rho) * fresh.
  // Like netem, a high correlation also narrows the spread.
  double correlation = 0;
  // Never deliver packets out of send order: a packet's arrival is held back
  // to the previous packet's arrival, as on a single FIFO wire.
  bool keep_order = false;
};

struct LossSpec {
  enum class Model { kNone, kRandom, kGilbertElliott } model = Model::kNone;
  // kRandom: the loss probability of each packet.
  // kGilbertElliott: P(good -> bad) per packet.
  double p = 0;
  // Gilbert-Elliott, with netem's `loss gemodel p r 1-h 1-k` names:
  // r = P(bad -> good), 1-h = loss probability in the bad state, 1-k = loss
  // probability in the good state. The defaults give the simple Gilbert
  // model (every packet lost in the bad state, none in the good one).
  double r = 1;
  double h = 0;
  double k = 1;
};

struct PathSpec {
  // Propagation delay added after serialization.
  DurationNs delay = 0;
  JitterSpec jitter;
  // Serialization rate of the IP packet bytes (no link-layer overhead), in
  // bits per second. 0 = unlimited (no serialization time, no queueing).
  uint64_t rate_bps = 0;
  // Drop-tail limits on the packets waiting for serialization (not counting
  // the packet being serialized). 0 = unlimited. They bind only when
  // rate_bps > 0, since otherwise nothing ever waits.
  uint32_t queue_limit_packets = 1000;
  uint64_t queue_limit_bytes = 0;
  LossSpec loss;
  // Probability that a packet is sent twice.
  double duplicate = 0;
  // netem reorder: once at least reorder_gap - 1 packets have been delayed
  // normally since the last reordered one, each packet skips the propagation
  // delay with probability `reorder`. reorder_gap 0 means 1 (as tc sets it),
  // so `reorder` alone reorders that fraction of all packets and
  // reorder = 1, reorder_gap = N reorders every Nth packet.
  double reorder = 0;
  uint32_t reorder_gap = 0;
  // Probability that one uniformly chosen bit of a packet is flipped.
  double corrupt = 0;
  // Largest IP packet the path carries; larger ones are dropped (no
  // fragmentation: the engine always sets DF).
  uint32_t mtu = 1500;
  // The bottleneck queue's management (drop-tail by default); its hard
  // limits are queue_limit_packets and queue_limit_bytes.
  AqmSpec aqm;
  // A schedule that changes rate, delay, jitter and loss over time, from
  // the moment the spec is applied (null: the values above stay).
  std::shared_ptr<const LinkSchedule> schedule;
  // A Mahimahi delivery trace that replaces rate_bps as the wire (null: the
  // wire serializes at rate_bps).
  std::shared_ptr<const DeliveryTrace> trace;
  // Emit a kQueueSample event at most this often (0 = never).
  DurationNs queue_sample_interval = 0;
};

// Limits enforced by ValidatePathSpec.
inline constexpr DurationNs kMaxPathDelay = 3600 * kSecond;
inline constexpr uint64_t kMaxRateBps = 1'000'000'000'000'000;  // 1 Pbit/s
inline constexpr uint32_t kMinMtu = 68;  // RFC 791: every host must pass 68
inline constexpr uint32_t kMaxMtu = 65535;

// OK, or InvalidArgument naming the first bad field and its allowed range,
// e.g. "loss.p 1.5 out of range [0, 1]".
absl::Status ValidatePathSpec(const PathSpec& spec);

}  // namespace tcpemu
