// tcpemu.v1.EventBatch wire bytes written straight from the engine's event
// records, with no protobuf message in between: the bytes are exactly what
// ToProto (event_convert.h) followed by SerializeToString gives, so clients
// cannot tell the two apart (tests/server/event_wire_test.cc checks this for
// every event kind).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "server/event_hub.h"

namespace tcpemu::server {

// An upper bound on one encoded tcpemu.v1.Event, field tag and length prefix
// of its EventBatch entry included.
inline constexpr size_t kMaxEncodedEventBytes = 1024;

// A growable byte buffer that keeps its storage between batches (no
// allocation in steady state and no zero-filling, unlike std::string::resize).
class WireBuffer {
 public:
  WireBuffer() = default;
  WireBuffer(const WireBuffer&) = delete;
  WireBuffer& operator=(const WireBuffer&) = delete;

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void clear() { size_ = 0; }

  // Makes room for `n` more bytes and returns where they go; Commit(end)
  // then marks the bytes up to `end` as written.
  char* Reserve(size_t n);
  void Commit(const char* end) { size_ = static_cast<size_t>(end - data()); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Writes the encoding of one tcpemu.v1.Event (no tag, no length prefix) at
// `p`, which has room for kMaxEncodedEventBytes; returns the end.
char* EncodeEvent(const NetworkEvent& event, char* p);

// Writes one event as a tcpemu.v1.EventBatch `events` entry (field tag,
// length, then the Event) at `p`, which has room for kMaxEncodedEventBytes;
// returns the end.
char* EncodeEventEntry(const NetworkEvent& event, char* p);

// An upper bound on the EventBatch `events_lost` field.
inline constexpr size_t kMaxEventsLostBytes = 11;
// Writes the EventBatch `events_lost` field (nothing for 0) at `p`, which has
// room for kMaxEventsLostBytes; returns the end.
char* EncodeEventsLost(uint64_t events_lost, char* p);

// Appends the encoding of a tcpemu.v1.EventBatch holding `events` and
// `events_lost` to *out.
void AppendEventBatch(std::span<const NetworkEvent> events,
                      uint64_t events_lost, WireBuffer* out);

// The same for events a subscription handed over as runs of wire bytes
// (EventHub encodes them): their bytes back to back, then `events_lost`.
size_t EventBatchBytes(std::span<const EventRun> runs, uint64_t events_lost);
// Writes that many bytes at `p`; returns the end.
char* CopyEventBatch(std::span<const EventRun> runs, uint64_t events_lost,
                     char* p);

}  // namespace tcpemu::server
