// Conversions between the tcpemu.v1 messages and the engine's types, with
// validation at the edge: every error names the request field and its
// allowed range.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/link/fault.h"
#include "engine/link/path.h"
#include "engine/link/path_spec.h"
#include "engine/sim/network.h"
#include "engine/tcp/tcp_config.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

// Messages of RESOURCE_EXHAUSTED errors: the limit, its value and its flag.
std::string LinkLimitMessage(uint32_t max_links);
std::string SessionLimitMessage(uint32_t max_sessions);
std::string BufferLimitMessage(absl::string_view field, uint32_t value,
                               uint32_t max_buffer);

// `text` in quotes for an error message, cut to its first 64 bytes (a
// request's strings may be megabytes long).
std::string Quoted(absl::string_view text);

// `field` prefixes error messages, e.g. "client".
absl::StatusOr<TcpConfig> FromProto(const v1::TcpConfig& p,
                                    const std::string& field,
                                    uint32_t max_buffer);
// A link direction's spec, converted and validated (once: Network takes the
// ValidPathSpec as it is).
absl::StatusOr<ValidPathSpec> FromProto(const v1::PathSpec& p,
                                        const std::string& field);
// The two steps apart, for a caller that completes the spec in between.
absl::StatusOr<PathSpec> PathSpecFromProto(const v1::PathSpec& p,
                                           const std::string& field);
absl::StatusOr<ValidPathSpec> ValidatePath(const PathSpec& s,
                                           const std::string& field);
absl::StatusOr<ReaderSpec> FromProto(const v1::Reader& p,
                                     const std::string& field);
absl::StatusOr<Endpoint> EndpointFromProto(v1::Endpoint e,
                                           const std::string& field);

void ToProto(const PathSpec& s, v1::PathSpec* out);
void ToProto(const PathCounters& c, const Path& path, v1::PathCounters* out);
void ToProto(const ConnectionCounters& c, v1::EndpointCounters* out);
v1::ErrorCode ToProto(ErrorCode e);

// Durations: negative values are an INVALID_ARGUMENT naming `field`.
absl::StatusOr<DurationNs> DurationFromProto(
    const google::protobuf::Duration& d, const std::string& field);
void DurationToProto(DurationNs ns, google::protobuf::Duration* out);

}  // namespace tcpemu::server
