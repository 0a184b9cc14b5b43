// Toxic validation; see toxics.h.
#include "server/toxics.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace tcpemu::server {
namespace {

constexpr DurationNs kMaxToxicDuration = 3600 * kSecond;

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

absl::StatusOr<DurationNs> BoundedDuration(const google::protobuf::Duration& d,
                                           const std::string& field) {
  absl::StatusOr<DurationNs> ns = DurationFromProto(d, field);
  if (!ns.ok()) return ns.status();
  if (*ns > kMaxToxicDuration) {
    return Invalid(absl::StrCat(field, " out of range [0, 1h]"));
  }
  return ns;
}

absl::Status Fill(const v1::Toxic& t, const std::string& f, ToxicSpec& s) {
  switch (t.kind_case()) {
    case v1::Toxic::kLatency: {
      s.kind = ToxicKind::kLatency;
      absl::StatusOr<DurationNs> lat =
          BoundedDuration(t.latency().latency(), f + ".latency.latency");
      if (!lat.ok()) return lat.status();
      absl::StatusOr<DurationNs> jit =
          BoundedDuration(t.latency().jitter(), f + ".latency.jitter");
      if (!jit.ok()) return jit.status();
      if (*jit > *lat) {
        return Invalid(absl::StrCat(f, ".latency.jitter out of range [0, ", f,
                                    ".latency.latency]"));
      }
      s.latency = *lat;
      s.jitter = *jit;
      return absl::OkStatus();
    }
    case v1::Toxic::kBandwidth:
      s.kind = ToxicKind::kBandwidth;
      s.rate_bps = t.bandwidth().rate_bps();
      if (s.rate_bps != 0 && s.rate_bps < 8000) {
        return Invalid(absl::StrCat(f, ".bandwidth.rate_bps ", s.rate_bps,
                                    " out of range: 0 (nothing passes) or "
                                    "[8000, 2^64)"));
      }
      if (s.toxicity != 1 && s.rate_bps != 0) {
        return Invalid(absl::StrCat(
            f,
            ".toxicity: a bandwidth toxic sets the rate of the proxy's "
            "link, shared by its connections, so only 1 is supported"));
      }
      return absl::OkStatus();
    case v1::Toxic::kSlowClose: {
      s.kind = ToxicKind::kSlowClose;
      absl::StatusOr<DurationNs> d =
          BoundedDuration(t.slow_close().delay(), f + ".slow_close.delay");
      if (!d.ok()) return d.status();
      s.delay = *d;
      return absl::OkStatus();
    }
    case v1::Toxic::kTimeout: {
      s.kind = ToxicKind::kTimeout;
      absl::StatusOr<DurationNs> d =
          BoundedDuration(t.timeout().timeout(), f + ".timeout.timeout");
      if (!d.ok()) return d.status();
      s.timeout = *d;
      return absl::OkStatus();
    }
    case v1::Toxic::kResetPeer: {
      s.kind = ToxicKind::kResetPeer;
      absl::StatusOr<DurationNs> d =
          BoundedDuration(t.reset_peer().timeout(), f + ".reset_peer.timeout");
      if (!d.ok()) return d.status();
      s.timeout = *d;
      return absl::OkStatus();
    }
    case v1::Toxic::kLimitData:
      s.kind = ToxicKind::kLimitData;
      s.bytes = t.limit_data().bytes();
      return absl::OkStatus();
    case v1::Toxic::kSlicer: {
      s.kind = ToxicKind::kSlicer;
      s.average_size = t.slicer().average_size();
      s.size_variation = t.slicer().size_variation();
      if (s.average_size > 65495) {
        return Invalid(absl::StrCat(f, ".slicer.average_size ", s.average_size,
                                    " out of range [0, 65495] (sizes under ",
                                    kMinSliceBytes, " slice at ",
                                    kMinSliceBytes, ")"));
      }
      if (s.size_variation > std::max(s.average_size, kMinSliceBytes)) {
        return Invalid(absl::StrCat(f, ".slicer.size_variation ",
                                    s.size_variation, " out of range [0, ",
                                    std::max(s.average_size, kMinSliceBytes),
                                    "] (at most the average size)"));
      }
      absl::StatusOr<DurationNs> d =
          BoundedDuration(t.slicer().delay(), f + ".slicer.delay");
      if (!d.ok()) return d.status();
      s.delay = *d;
      return absl::OkStatus();
    }
    default:
      return Invalid(absl::StrCat(
          f,
          ": set one kind (latency, bandwidth, slow_close, timeout, "
          "reset_peer, limit_data, slicer)"));
  }
}

}  // namespace

absl::string_view ToxicTypeName(const v1::Toxic& toxic) {
  switch (toxic.kind_case()) {
    case v1::Toxic::kLatency:
      return "latency";
    case v1::Toxic::kBandwidth:
      return "bandwidth";
    case v1::Toxic::kSlowClose:
      return "slow_close";
    case v1::Toxic::kTimeout:
      return "timeout";
    case v1::Toxic::kResetPeer:
      return "reset_peer";
    case v1::Toxic::kLimitData:
      return "limit_data";
    case v1::Toxic::kSlicer:
      return "slicer";
    case v1::Toxic::KIND_NOT_SET:
      break;
  }
  return "";
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
           c == ':';
  });
}

absl::StatusOr<std::vector<ToxicSpec>> ParseToxics(
    const google::protobuf::RepeatedPtrField<v1::Toxic>& toxics) {
  if (static_cast<size_t>(toxics.size()) > kMaxToxics) {
    return Invalid(absl::StrCat("toxics: ", toxics.size(), " toxics, at most ",
                                kMaxToxics));
  }
  std::vector<ToxicSpec> out;
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < toxics.size(); ++i) {
    const v1::Toxic& t = toxics[i];
    const std::string f = absl::StrCat("toxics[", i, "]");
    ToxicSpec s;
    switch (t.stream()) {
      case v1::TOXIC_STREAM_UNSPECIFIED:
      case v1::TOXIC_STREAM_DOWNSTREAM:
        s.direction = Direction::kReverse;
        break;
      case v1::TOXIC_STREAM_UPSTREAM:
        s.direction = Direction::kForward;
        break;
      default:
        return Invalid(absl::StrCat(f, ".stream ", t.stream(),
                                    " is not DOWNSTREAM or UPSTREAM"));
    }
    s.toxicity = t.has_toxicity() ? t.toxicity() : 1.0;
    if (!(s.toxicity >= 0 && s.toxicity <= 1)) {
      return Invalid(
          absl::StrCat(f, ".toxicity ", t.toxicity(), " out of range [0, 1]"));
    }
    absl::Status st = Fill(t, f, s);
    if (!st.ok()) return st;
    s.name = t.name().empty() ? absl::StrCat(ToxicTypeName(t), "_",
                                             s.direction == Direction::kReverse
                                                 ? "downstream"
                                                 : "upstream")
                              : t.name();
    if (!ValidName(s.name)) {
      return Invalid(absl::StrCat(f, ".name ", Quoted(s.name),
                                  ": 1 to 64 of [A-Za-z0-9._:-]"));
    }
    if (!names.insert(s.name).second) {
      return absl::AlreadyExistsError(absl::StrCat(
          f, ".name ", Quoted(s.name), ": a toxic of that name exists"));
    }
    s.proto = t;
    s.proto.set_name(s.name);
    if (!t.has_toxicity()) s.proto.set_toxicity(1);
    if (t.stream() == v1::TOXIC_STREAM_UNSPECIFIED) {
      s.proto.set_stream(v1::TOXIC_STREAM_DOWNSTREAM);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool SameEffect(const ToxicSpec& a, const ToxicSpec& b) {
  return a.proto.SerializeAsString() == b.proto.SerializeAsString();
}

}  // namespace tcpemu::server
