// Toxics: a proxy's connection-level faults in toxiproxy's vocabulary,
// validated from tcpemu.v1.Toxic (see proto/tcpemu/v1/tcpemu.proto).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/time.h"
#include "engine/sim/network.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

enum class ToxicKind : uint8_t {
  kLatency,
  kBandwidth,
  kSlowClose,
  kTimeout,
  kResetPeer,
  kLimitData,
  kSlicer,
};

struct ToxicSpec {
  std::string name;
  ToxicKind kind = ToxicKind::kLatency;
  // The link direction the stream flows in: DOWNSTREAM (upstream host ->
  // application) is kReverse, UPSTREAM kForward.
  Direction direction = Direction::kReverse;
  double toxicity = 1;
  DurationNs latency = 0;       // kLatency
  DurationNs jitter = 0;        // kLatency
  DurationNs delay = 0;         // kSlowClose, kSlicer (kept, not acted on)
  DurationNs timeout = 0;       // kTimeout, kResetPeer
  uint64_t rate_bps = 0;        // kBandwidth
  uint64_t bytes = 0;           // kLimitData
  uint32_t average_size = 0;    // kSlicer
  uint32_t size_variation = 0;  // kSlicer
  v1::Toxic proto;              // as given, with its name filled in
};

inline constexpr size_t kMaxToxics = 32;
// The smallest slicer segment: the engine's minimum MTU (68) less 40;
// smaller average sizes (toxiproxy's default is 0) slice at this size.
inline constexpr uint32_t kMinSliceBytes = 28;

// "latency", "bandwidth", ... (toxiproxy's type names); "" without a kind.
absl::string_view ToxicTypeName(const v1::Toxic& toxic);

// A proxy's or a toxic's name: 1 to 64 of [A-Za-z0-9._:-] (":" for names
// such as "redis:6379").
bool ValidName(absl::string_view name);

// Validates every toxic (names unique, defaults applied); errors name the
// field as "toxics[i].field".
absl::StatusOr<std::vector<ToxicSpec>> ParseToxics(
    const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics);

// Whether two specs act the same (a toxic updated under its own name with
// the same attributes keeps its per-connection state).
bool SameEffect(const ToxicSpec& a, const ToxicSpec& b);

}  // namespace tcpemu::server
