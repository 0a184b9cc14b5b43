// toxiproxy v2's JSON shapes (proxies, toxics, errors) to and from the
// tcpemu.v1 proxy messages. Attribute units are toxiproxy's: milliseconds,
// KB/s (1000 bytes), bytes, and microseconds for the slicer's delay.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server::toxiproxy {

// Objects keep their keys in insertion order, so replies read like
// toxiproxy's (name, listen, upstream, enabled, toxics).
using Json = nlohmann::ordered_json;

// Where a proxy listens as toxiproxy shows it: the bound address while
// enabled (listen port 0 resolved), the address as given otherwise.
std::string ListenOf(const v1::Proxy& proxy);

// {name, listen, upstream, enabled, toxics: [...]}.
Json ProxyToJson(const v1::Proxy& proxy);

// {name, type, stream, toxicity, attributes: {...}}.
Json ToxicToJson(const v1::Toxic& toxic);

// A proxy's toxics in toxiproxy's order: the upstream ones, then the
// downstream ones, each in the order they were added.
Json ToxicsToJson(const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics);

// "latency", "bandwidth", ...; empty for a toxic without a kind.
absl::string_view ToxicType(const v1::Toxic& toxic);
// "upstream" or "downstream" (UNSPECIFIED is downstream).
absl::string_view StreamName(v1::ToxicStream stream);

// A request body as JSON; InvalidArgument "bad request body: ..." otherwise.
absl::StatusOr<Json> ParseBody(absl::string_view body);

// The proxy fields of a request body (create, update, populate); a field
// that is absent or null is nullopt. Other keys (toxics, ...) are ignored, as
// toxiproxy does.
struct ProxyFields {
  std::optional<std::string> name;
  std::optional<std::string> listen;
  std::optional<std::string> upstream;
  std::optional<bool> enabled;
};
absl::StatusOr<ProxyFields> ProxyFieldsFromJson(const Json& body);

// The body of POST /populate and of a --proxies file: an array of proxies,
// each with a name and an upstream ("missing required field: name at proxy
// 2" otherwise).
absl::StatusOr<std::vector<ProxyFields>> PopulateFromJson(const Json& body);

// A new toxic from the body of POST /proxies/{proxy}/toxics: stream
// "downstream" unless given, name "<type>_<stream>" unless given, toxicity
// left unset (1) unless given, every attribute of the type 0 unless given.
// InvalidArgument for an invalid stream, an unknown type or a bad attribute.
absl::StatusOr<v1::Toxic> ToxicFromJson(const Json& body);

// Applies the body of POST/PATCH /proxies/{proxy}/toxics/{toxic}: the
// attributes it has and its toxicity replace those of `toxic`; its name,
// type and stream are kept.
absl::Status UpdateToxicFromJson(const Json& body, v1::Toxic* toxic);

// The HTTP status of an error, after gRPC's HTTP mapping (INVALID_ARGUMENT
// 400, NOT_FOUND 404, ALREADY_EXISTS 409, RESOURCE_EXHAUSTED 429, ...).
int HttpStatus(absl::StatusCode code);

// toxiproxy's error shape: {"error": message, "status": HttpStatus(code)}.
Json ErrorToJson(const absl::Status& status);

}  // namespace tcpemu::server::toxiproxy
