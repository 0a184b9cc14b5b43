// Event sinks for whole traces: TraceHasher fingerprints a trace with SHA-256
// (same seed, same trace, same digest), FanoutSink feeds several sinks.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/base/event.h"
#include "engine/base/sha256.h"

namespace tcpemu {

// Hashes every field of every event, in order. Each event is serialized field
// by field, little-endian, at fixed widths (never the in-memory struct with its
// padding), so the digest is the same on every platform and compiler.
class TraceHasher : public EventSink {
 public:
  // Bytes of one serialized event.
  static constexpr size_t kRecordBytes = 196;

  void OnEvent(const Event& e) override;

  // Digest of the events seen so far; hashing may continue afterwards.
  Sha256::Digest Digest() const;
  std::string HexDigest() const;

  uint64_t event_count() const { return count_; }

  // The canonical serialization, exposed for tests and other hashers.
  static void Serialize(const Event& e, uint8_t (&out)[kRecordBytes]);

 private:
  Sha256 sha_;
  uint64_t count_ = 0;
};

// Forwards each event to every sink, in the order they were added. Does not
// own the sinks; they must outlive it.
class FanoutSink : public EventSink {
 public:
  FanoutSink() = default;
  FanoutSink(std::initializer_list<EventSink*> sinks);

  // Null sinks are ignored.
  void Add(EventSink* sink);
  size_t size() const { return sinks_.size(); }

  void OnEvent(const Event& e) override;

 private:
  std::vector<EventSink*> sinks_;
};

}  // namespace tcpemu
