// toxiproxy JSON <-> tcpemu.v1 proxies and toxics; see toxiproxy_json.h.
#include "server/toxiproxy/toxiproxy_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/convert.h"
#include "server/toxics.h"

namespace tcpemu::server::toxiproxy {
namespace {

constexpr absl::string_view kBadBody = "bad request body: ";
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerMicro = 1'000;
constexpr uint64_t kBitsPerKilobyte = 8 * 1000;  // toxiproxy's KB is 1000 B
constexpr uint64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr uint64_t kMaxUint32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMaxUint64 = std::numeric_limits<uint64_t>::max();

absl::Status BadBody(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(kBadBody, detail));
}

// A JSON value as it reads in an error message, cut like Quoted does.
std::string Shown(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 64) text = absl::StrCat(text.substr(0, 64), "...");
  return text;
}

int64_t Nanos(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}

void SetNanos(int64_t unit_nanos, uint64_t count,
              google::protobuf::Duration* out) {
  const int64_t per_second = 1'000'000'000 / unit_nanos;
  const int64_t n = static_cast<int64_t>(count);
  out->set_seconds(n / per_second);
  out->set_nanos(static_cast<int32_t>((n % per_second) * unit_nanos));
}

// One integer attribute of a toxic: a JSON number with a whole value in
// [0, max]; absent or null reads as 0, as toxiproxy's Go structs do.
absl::StatusOr<uint64_t> Whole(const Json& attributes, absl::string_view type,
                               const char* name, absl::string_view unit,
                               uint64_t max) {
  auto it = attributes.find(name);
  if (it == attributes.end() || it->is_null()) return 0;
  const Json& v = *it;
  bool ok = false;
  uint64_t value = 0;
  if (v.is_number_unsigned()) {
    value = v.get<uint64_t>();
    ok = true;
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    value = static_cast<uint64_t>(i);
    ok = i >= 0;
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^64 as a double: anything below it converts exactly when whole.
    if (std::isfinite(d) && d >= 0 && d < 18446744073709551616.0 &&
        std::floor(d) == d) {
      value = static_cast<uint64_t>(d);
      ok = true;
    }
  }
  if (!ok || value > max) {
    return BadBody(absl::StrCat("attribute \"", name, "\" of a ", type,
                                " toxic: want a whole number of ", unit,
                                " in [0, ", max, "], got ", Shown(v)));
  }
  return value;
}

// Sets the kind of `toxic` from its type and attributes.
absl::Status SetKind(absl::string_view type, const Json& attributes,
                     v1::Toxic* toxic) {
  if (type == "latency") {
    auto latency = Whole(attributes, type, "latency", "milliseconds",
                         kMaxInt64 / kNanosPerMilli);
    if (!latency.ok()) return latency.status();
    auto jitter = Whole(attributes, type, "jitter", "milliseconds",
                        kMaxInt64 / kNanosPerMilli);
    if (!jitter.ok()) return jitter.status();
    v1::LatencyToxic* k = toxic->mutable_latency();
    SetNanos(kNanosPerMilli, *latency, k->mutable_latency());
    SetNanos(kNanosPerMilli, *jitter, k->mutable_jitter());
  } else if (type == "bandwidth") {
    auto rate =
        Whole(attributes, type, "rate", "KB/s", kMaxUint64 / kBitsPerKilobyte);
    if (!rate.ok()) return rate.status();
    toxic->mutable_bandwidth()->set_rate_bps(*rate * kBitsPerKilobyte);
  } else if (type == "slow_close") {
    auto delay = Whole(attributes, type, "delay", "milliseconds",
                       kMaxInt64 / kNanosPerMilli);
    if (!delay.ok()) return delay.status();
    SetNanos(kNanosPerMilli, *delay,
             toxic->mutable_slow_close()->mutable_delay());
  } else if (type == "timeout" || type == "reset_peer") {
    auto timeout = Whole(attributes, type, "timeout", "milliseconds",
                         kMaxInt64 / kNanosPerMilli);
    if (!timeout.ok()) return timeout.status();
    google::protobuf::Duration* d =
        type == "timeout" ? toxic->mutable_timeout()->mutable_timeout()
                          : toxic->mutable_reset_peer()->mutable_timeout();
    SetNanos(kNanosPerMilli, *timeout, d);
  } else if (type == "limit_data") {
    auto bytes = Whole(attributes, type, "bytes", "bytes", kMaxUint64);
    if (!bytes.ok()) return bytes.status();
    toxic->mutable_limit_data()->set_bytes(*bytes);
  } else if (type == "slicer") {
    auto average = Whole(attributes, type, "average_size", "bytes", kMaxUint32);
    if (!average.ok()) return average.status();
    auto variation =
        Whole(attributes, type, "size_variation", "bytes", kMaxUint32);
    if (!variation.ok()) return variation.status();
    auto delay = Whole(attributes, type, "delay", "microseconds",
                       kMaxInt64 / kNanosPerMicro);
    if (!delay.ok()) return delay.status();
    v1::SlicerToxic* k = toxic->mutable_slicer();
    k->set_average_size(static_cast<uint32_t>(*average));
    k->set_size_variation(static_cast<uint32_t>(*variation));
    SetNanos(kNanosPerMicro, *delay, k->mutable_delay());
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid toxic type: ", Quoted(type),
        " (tcpemu has latency, bandwidth, slow_close, timeout, reset_peer, "
        "limit_data, slicer)"));
  }
  return absl::OkStatus();
}

// The attributes of a toxic, as toxiproxy shows them.
Json AttributesToJson(const v1::Toxic& toxic) {
  Json a = Json::object();
  switch (toxic.kind_case()) {
    case v1::Toxic::kLatency:
      a["latency"] = Nanos(toxic.latency().latency()) / kNanosPerMilli;
      a["jitter"] = Nanos(toxic.latency().jitter()) / kNanosPerMilli;
      break;
    case v1::Toxic::kBandwidth:
      a["rate"] = toxic.bandwidth().rate_bps() / kBitsPerKilobyte;
      break;
    case v1::Toxic::kSlowClose:
      a["delay"] = Nanos(toxic.slow_close().delay()) / kNanosPerMilli;
      break;
    case v1::Toxic::kTimeout:
      a["timeout"] = Nanos(toxic.timeout().timeout()) / kNanosPerMilli;
      break;
    case v1::Toxic::kResetPeer:
      a["timeout"] = Nanos(toxic.reset_peer().timeout()) / kNanosPerMilli;
      break;
    case v1::Toxic::kLimitData:
      a["bytes"] = toxic.limit_data().bytes();
      break;
    case v1::Toxic::kSlicer:
      a["average_size"] = toxic.slicer().average_size();
      a["size_variation"] = toxic.slicer().size_variation();
      a["delay"] = Nanos(toxic.slicer().delay()) / kNanosPerMicro;
      break;
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return a;
}

// A string field of a body: absent or null is nullopt.
absl::Status OptionalString(const Json& body, const char* key,
                            absl::string_view where,
                            std::optional<std::string>* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return BadBody(absl::StrCat(where, "field \"", key,
                                "\": want a string, got ", Shown(*it)));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::StatusOr<ProxyFields> ProxyFieldsAt(const Json& body,
                                          absl::string_view where) {
  if (!body.is_object()) {
    return BadBody(
        absl::StrCat(where, "want a JSON object, got ", body.type_name()));
  }
  ProxyFields f;
  for (auto [key, out] :
       {std::pair{"name", &f.name}, std::pair{"listen", &f.listen},
        std::pair{"upstream", &f.upstream}}) {
    absl::Status s = OptionalString(body, key, where, out);
    if (!s.ok()) return s;
  }
  auto it = body.find("enabled");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return BadBody(absl::StrCat(
          where, "field \"enabled\": want true or false, got ", Shown(*it)));
    }
    f.enabled = it->get<bool>();
  }
  return f;
}

// The toxicity of a body, if it has one.
absl::Status Toxicity(const Json& body, v1::Toxic* toxic) {
  auto it = body.find("toxicity");
  if (it == body.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) {
    return BadBody(
        absl::StrCat("field \"toxicity\": want a number, got ", Shown(*it)));
  }
  toxic->set_toxicity(it->get<double>());
  return absl::OkStatus();
}

// The attributes object of a body: absent or null is empty.
absl::StatusOr<Json> Attributes(const Json& body) {
  auto it = body.find("attributes");
  if (it == body.end() || it->is_null()) return Json::object();
  if (!it->is_object()) {
    return BadBody(
        absl::StrCat("field \"attributes\": want an object, got ", Shown(*it)));
  }
  return *it;
}

}  // namespace

std::string ListenOf(const v1::Proxy& proxy) {
  if (proxy.enabled() && !proxy.listen_address().empty()) {
    return proxy.listen_address();
  }
  return proxy.listen();
}

Json ProxyToJson(const v1::Proxy& proxy) {
  Json j = Json::object();
  j["name"] = proxy.name();
  j["listen"] = ListenOf(proxy);
  j["upstream"] = proxy.upstream();
  j["enabled"] = proxy.enabled();
  j["toxics"] = ToxicsToJson(proxy.toxics());
  return j;
}

absl::string_view ToxicType(const v1::Toxic& toxic) {
  return ToxicTypeName(toxic);
}

absl::string_view StreamName(v1::ToxicStream stream) {
  return stream == v1::TOXIC_STREAM_UPSTREAM ? "upstream" : "downstream";
}

Json ToxicToJson(const v1::Toxic& toxic) {
  Json j = Json::object();
  j["name"] = toxic.name();
  j["type"] = std::string(ToxicType(toxic));
  j["stream"] = std::string(StreamName(toxic.stream()));
  j["toxicity"] = toxic.has_toxicity() ? toxic.toxicity() : 1.0;
  j["attributes"] = AttributesToJson(toxic);
  return j;
}

Json ToxicsToJson(const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics) {
  Json out = Json::array();
  for (const bool upstream : {true, false}) {
    for (const v1::Toxic& t : toxics) {
      if ((t.stream() == v1::TOXIC_STREAM_UPSTREAM) == upstream) {
        out.push_back(ToxicToJson(t));
      }
    }
  }
  return out;
}

absl::StatusOr<Json> ParseBody(absl::string_view body) {
  // nlohmann/json reports where a text is wrong only by its exception.
  try {
    return Json::parse(body.begin(), body.end());
  } catch (const Json::parse_error& e) {
    return BadBody(e.what());
  }
}

absl::StatusOr<ProxyFields> ProxyFieldsFromJson(const Json& body) {
  return ProxyFieldsAt(body, "");
}

absl::StatusOr<std::vector<ProxyFields>> PopulateFromJson(const Json& body) {
  if (!body.is_array()) {
    return BadBody(
        absl::StrCat("want a JSON array of proxies, got ", body.type_name()));
  }
  std::vector<ProxyFields> out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    auto f = ProxyFieldsAt(body[i], absl::StrCat("proxy ", i + 1, ": "));
    if (!f.ok()) return f.status();
    out.push_back(*std::move(f));
  }
  // Every entry is checked before any proxy is made, as toxiproxy does.
  for (size_t i = 0; i < out.size(); ++i) {
    for (auto [field, value] : {std::pair{"name", &out[i].name},
                                std::pair{"upstream", &out[i].upstream}}) {
      if (!value->has_value() || (*value)->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "missing required field: ", field, " at proxy ", i + 1));
      }
    }
    if (!out[i].enabled.has_value()) out[i].enabled = true;
  }
  return out;
}

absl::StatusOr<v1::Toxic> ToxicFromJson(const Json& body) {
  if (!body.is_object()) {
    return BadBody(absl::StrCat("want a JSON object, got ", body.type_name()));
  }
  std::optional<std::string> name, type, stream;
  for (auto [key, out] : {std::pair{"name", &name}, std::pair{"type", &type},
                          std::pair{"stream", &stream}}) {
    absl::Status s = OptionalString(body, key, "", out);
    if (!s.ok()) return s;
  }
  v1::Toxic toxic;
  const std::string direction =
      absl::AsciiStrToLower(stream.value_or("downstream"));
  if (direction == "downstream") {
    toxic.set_stream(v1::TOXIC_STREAM_DOWNSTREAM);
  } else if (direction == "upstream") {
    toxic.set_stream(v1::TOXIC_STREAM_UPSTREAM);
  } else {
    return absl::InvalidArgumentError(
        "stream was invalid, can be either upstream or downstream");
  }
  absl::Status s = Toxicity(body, &toxic);
  if (!s.ok()) return s;
  absl::StatusOr<Json> attributes = Attributes(body);
  if (!attributes.ok()) return attributes.status();
  s = SetKind(type.value_or(""), *attributes, &toxic);
  if (!s.ok()) return s;
  toxic.set_name(name.has_value() && !name->empty()
                     ? *name
                     : absl::StrCat(ToxicType(toxic), "_", direction));
  return toxic;
}

absl::Status UpdateToxicFromJson(const Json& body, v1::Toxic* toxic) {
  if (!body.is_object()) {
    return BadBody(absl::StrCat("want a JSON object, got ", body.type_name()));
  }
  absl::StatusOr<Json> attributes = Attributes(body);
  if (!attributes.ok()) return attributes.status();
  // The attributes the body names replace the toxic's; the others stay.
  Json merged = AttributesToJson(*toxic);
  for (const auto& item : attributes->items()) {
    merged[item.key()] = item.value();
  }
  v1::Toxic updated = *toxic;
  absl::Status s = SetKind(ToxicType(*toxic), merged, &updated);
  if (!s.ok()) return s;
  s = Toxicity(body, &updated);
  if (!s.ok()) return s;
  *toxic = std::move(updated);
  return absl::OkStatus();
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

Json ErrorToJson(const absl::Status& status) {
  Json j = Json::object();
  // gRPC's own errors (UNIMPLEMENTED, UNAVAILABLE, ...) may have no text.
  j["error"] = status.message().empty()
                   ? absl::StatusCodeToString(status.code())
                   : std::string(status.message());
  j["status"] = HttpStatus(status.code());
  return j;
}

}  // namespace tcpemu::server::toxiproxy
