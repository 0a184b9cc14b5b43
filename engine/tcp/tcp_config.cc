// Range checks for TcpConfig; messages name the field and the allowed range.
#include "engine/tcp/tcp_config.h"

#include "absl/strings/str_cat.h"

namespace tcpemu {

std::string_view ToString(CcAlgorithm cc) {
  switch (cc) {
    case CcAlgorithm::kNewReno:
      return "newreno";
    case CcAlgorithm::kCubic:
      return "cubic";
    case CcAlgorithm::kBbr:
      return "bbr";
  }
  return "unknown";
}
namespace {

absl::Status Range(absl::string_view field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", v, " out of range [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

absl::Status DurationRange(absl::string_view field, DurationNs v, DurationNs lo,
                           DurationNs hi) {
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", absl::FormatDuration(FromNs(v)),
                     " out of range [", absl::FormatDuration(FromNs(lo)), ", ",
                     absl::FormatDuration(FromNs(hi)), "]"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ToString(StackFlavor f) {
  return f == StackFlavor::kFreeBsd ? "freebsd" : "linux";
}

absl::Status TcpConfig::Validate() const {
  constexpr int64_t kMaxBuffer = 256 * 1024 * 1024;
  absl::Status s;
  s.Update(Range("send_buffer", send_buffer, 1, kMaxBuffer));
  s.Update(Range("recv_buffer", recv_buffer, 1, kMaxBuffer));
  s.Update(Range("mtu", mtu, 68, 65535));
  s.Update(Range("window_scale", window_scale, -1, 14));
  s.Update(
      DurationRange("cork_timeout", cork_timeout, kMillisecond, 60 * kSecond));
  s.Update(DurationRange("rto_min", rto_min, kMillisecond, 60 * kSecond));
  s.Update(DurationRange("rto_max", rto_max, kMillisecond, 3600 * kSecond));
  s.Update(
      DurationRange("rto_initial", rto_initial, kMillisecond, 3600 * kSecond));
  if (s.ok() && rto_min > rto_max) {
    s = absl::InvalidArgumentError("rto_min must not exceed rto_max");
  }
  s.Update(Range("max_retransmissions", max_retransmissions, 1, 255));
  s.Update(Range("syn_retries", syn_retries, 0, 255));
  s.Update(Range("synack_retries", synack_retries, 0, 255));
  s.Update(Range("ecn_syn_retries", ecn_syn_retries, 0, 255));
  s.Update(DurationRange("delayed_ack_timeout", delayed_ack_timeout,
                         kMillisecond, 499 * kMillisecond));
  s.Update(DurationRange("msl", msl, 0, 600 * kSecond));
  s.Update(DurationRange("keepalive_idle", keepalive_idle, kSecond,
                         86400 * kSecond));
  s.Update(DurationRange("keepalive_interval", keepalive_interval, kSecond,
                         86400 * kSecond));
  s.Update(Range("keepalive_probes", keepalive_probes, 1, 255));
  s.Update(Range("initial_window", initial_window, 1, 1000));
  s.Update(
      DurationRange("persist_min", persist_min, kMillisecond, 60 * kSecond));
  s.Update(
      DurationRange("persist_max", persist_max, kMillisecond, 3600 * kSecond));
  s.Update(DurationRange("invalid_ack_interval", invalid_ack_interval, 0,
                         60 * kSecond));
  if (s.ok() && persist_min > persist_max) {
    s = absl::InvalidArgumentError("persist_min must not exceed persist_max");
  }
  return s;
}

}  // namespace tcpemu
