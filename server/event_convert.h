// Conversion between the engine's fixed-size event records and tcpemu.v1
// protobuf messages, done only at the subscriber edge (WatchEvents).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/base/event.h"
#include "server/event_hub.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

tcpemu::v1::TcpState ToProto(TcpState state);
tcpemu::v1::CcPhase ToProto(CcPhase phase);
tcpemu::v1::Endpoint ToProto(Endpoint endpoint);
tcpemu::v1::EventKind ToProto(EventKind kind);

// nullopt for the UNSPECIFIED value and for numbers outside the enum (proto3
// enums are open); callers that must tell the two apart check the value.
std::optional<Endpoint> FromProto(tcpemu::v1::Endpoint endpoint);
std::optional<EventKind> FromProto(tcpemu::v1::EventKind kind);

void ToProto(const TcbSnapshot& tcb, tcpemu::v1::Tcb* out);

// The fields an event's kind carries beyond the common ones (time, kind, ids,
// endpoint), as ToProto sets them; the wire encoder (event_wire.h) follows
// the same shape. Unset parts are the proto's defaults.
struct EventShape {
  std::string_view reason;
  tcpemu::v1::TcpState old_state = tcpemu::v1::TCP_STATE_UNSPECIFIED;
  tcpemu::v1::TcpState new_state = tcpemu::v1::TCP_STATE_UNSPECIFIED;
  int64_t a = 0;
  int64_t b = 0;
  bool segment = false;  // `segment` is set
  bool rel = false;      // with relative numbers from these bases
  uint32_t seq_base = 0;
  uint32_t ack_base = 0;
  bool tcb = true;  // `tcb` is set
};
EventShape ShapeOf(const Event& e);

// Writes every field of *out, so a message reused from an earlier event keeps
// nothing of it. Fields follow the JSON Lines trace: `segment` only for
// segment events (rel_seq/rel_ack only for sent and received ones, which carry
// a TCB), `tcb` for endpoint events, `reason` by kind, old/new state only for
// STATE_CHANGED, a/b only for the kinds that define them.
void ToProto(const NetworkEvent& event, tcpemu::v1::Event* out);

// Replaces the contents of *out with `events` and `events_lost`, reusing the
// Event messages it already holds (no allocation per event in steady state).
void ToProto(std::span<const NetworkEvent> events, uint64_t events_lost,
             tcpemu::v1::EventBatch* out);

// The filter a WatchEvents request asks for. INVALID_ARGUMENT naming the field
// for an unknown endpoint or an unspecified/unknown kind.
absl::StatusOr<EventFilter> EventFilterFromProto(
    const tcpemu::v1::WatchEventsRequest& request);

}  // namespace tcpemu::server
