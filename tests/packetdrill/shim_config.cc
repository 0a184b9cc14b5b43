#include "tests/packetdrill/shim_config.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/wire/ipv4.h"

namespace tcpemu::packetdrill {
namespace {

// The shift a stack offers for a buffer that may grow to `max_bytes`: the
// smallest s with 65535 << s >= max_bytes (FreeBSD's rule in tcp_connect
// and syncache; Linux's tcp_select_initial_window is the same for the
// sizes used here).
int ShiftFor(int64_t max_bytes) {
  int s = 0;
  while (s < 14 && (int64_t{65535} << s) < max_bytes) ++s;
  return s;
}

absl::StatusOr<int64_t> Number(absl::string_view key, absl::string_view v,
                               int64_t lo, int64_t hi) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(v, &n) || n < lo || n > hi) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s=%s: must be an integer in [%d, %d]", key, v, lo, hi));
  }
  return n;
}

absl::StatusOr<bool> Flag(absl::string_view key, absl::string_view v) {
  absl::StatusOr<int64_t> n = Number(key, v, 0, 1);
  if (!n.ok()) return n.status();
  return *n == 1;
}

std::vector<std::pair<std::string, std::string>> Words(absl::string_view text,
                                                       absl::string_view seps) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view w :
       absl::StrSplit(text, absl::ByAnyChar(seps), absl::SkipWhitespace())) {
    w = absl::StripAsciiWhitespace(w);
    std::pair<std::string, std::string> kv =
        absl::StrSplit(w, absl::MaxSplits('=', 1));
    out.push_back(std::move(kv));
  }
  return out;
}

}  // namespace

ShimConfig ProfileDefaults(Profile p) {
  ShimConfig c;
  c.profile = p;
  TcpConfig& t = c.tcp;
  t.rto_initial = 1 * kSecond;
  t.initial_window = 10;
  t.delayed_ack_timeout = 40 * kMillisecond;
  if (p == Profile::kLinux) {
    // packetdrill's gtests/net/tcp/common/defaults.sh: tcp_rmem
    // "4096 540000 15 MiB", tcp_wmem "4096 256 KiB 4 MiB", CUBIC.
    c.doubles_sockbuf = true;
    t.recv_buffer = 540000;
    t.send_buffer = 256 * 1024;
    t.window_scale = ShiftFor(15 * 1024 * 1024);
    t.rto_min = 200 * kMillisecond;
    t.cc = CcAlgorithm::kCubic;
  } else {
    // FreeBSD: recvspace 64 KiB, sendspace 32 KiB, kern.ipc.maxsockbuf
    // 2 MiB, rexmit_min 30 ms, delacktime 40 ms, NewReno.
    c.doubles_sockbuf = false;
    c.tso = false;
    t.recv_buffer = 65536;
    t.send_buffer = 32768;
    t.window_scale = ShiftFor(2097152);
    t.rto_min = 30 * kMillisecond;
    t.cc = CcAlgorithm::kNewReno;
    t.flavor = StackFlavor::kFreeBsd;
    t.ecn_syn_retries = 1;
  }
  return c;
}

absl::StatusOr<ShimConfig> ParseShimFlags(absl::string_view flags) {
  const auto words = Words(flags, " \t\n,");
  ShimConfig c = ProfileDefaults(Profile::kLinux);
  for (const auto& [k, v] : words) {
    if (k != "profile") continue;
    if (v == "linux") {
      c = ProfileDefaults(Profile::kLinux);
    } else if (v == "freebsd") {
      c = ProfileDefaults(Profile::kFreeBsd);
    } else {
      return absl::InvalidArgumentError(
          absl::StrFormat("profile=%s: must be one of linux, freebsd", v));
    }
  }
  TcpConfig& t = c.tcp;
  for (const auto& [k, v] : words) {
    absl::StatusOr<int64_t> n(0);
    if (k == "profile") continue;
    if (k == "local_ip") {
      absl::StatusOr<uint32_t> a = ParseIpv4(v);
      if (!a.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("local_ip=%s: must be a dotted IPv4 address", v));
      }
      c.local_addr = *a;
    } else if (k == "sysctl_file") {
      c.sysctl_file = v;
    } else if (k == "sockstat_file") {
      c.sockstat_file = v;
    } else if (k == "tso") {
      absl::StatusOr<bool> b = Flag(k, v);
      if (!b.ok()) return b.status();
      c.tso = *b;
    } else if (k == "mtu") {
      if (!(n = Number(k, v, 68, 65535)).ok()) return n.status();
      t.mtu = static_cast<uint32_t>(*n);
    } else if (k == "iw") {
      if (!(n = Number(k, v, 1, 1000)).ok()) return n.status();
      t.initial_window = static_cast<uint32_t>(*n);
    } else if (k == "rto_min_ms") {
      if (!(n = Number(k, v, 1, 60000)).ok()) return n.status();
      t.rto_min = *n * kMillisecond;
    } else if (k == "rto_initial_ms") {
      if (!(n = Number(k, v, 1, 3600000)).ok()) return n.status();
      t.rto_initial = *n * kMillisecond;
    } else if (k == "delack_ms") {
      if (!(n = Number(k, v, 1, 499)).ok()) return n.status();
      t.delayed_ack_timeout = *n * kMillisecond;
    } else if (k == "recv_buffer") {
      if (!(n = Number(k, v, 1, 256 << 20)).ok()) return n.status();
      t.recv_buffer = static_cast<uint32_t>(*n);
    } else if (k == "send_buffer") {
      if (!(n = Number(k, v, 1, 256 << 20)).ok()) return n.status();
      t.send_buffer = static_cast<uint32_t>(*n);
    } else if (k == "window_scale") {
      if (!(n = Number(k, v, -1, 14)).ok()) return n.status();
      t.window_scale = static_cast<int>(*n);
    } else if (k == "sack" || k == "timestamps" || k == "ecn") {
      absl::StatusOr<bool> b = Flag(k, v);
      if (!b.ok()) return b.status();
      (k == "sack" ? t.sack : k == "ecn" ? t.ecn : t.timestamps) = *b;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "unknown so_flags key '%s' (known: profile, local_ip, mtu, "
          "sysctl_file, sockstat_file, tso, iw, rto_min_ms, rto_initial_ms, "
          "delack_ms, "
          "recv_buffer, send_buffer, window_scale, sack, timestamps, ecn)",
          k));
    }
  }
  if (absl::Status s = t.Validate(); !s.ok()) return s;
  return c;
}

absl::Status ApplySysctls(absl::string_view lines, ShimConfig& c) {
  TcpConfig& t = c.tcp;
  for (const auto& [k, v] : Words(lines, "\n")) {
    absl::StatusOr<int64_t> n(0);
    auto num = [&](int64_t lo, int64_t hi) {
      n = Number(k, v, lo, hi);
      return n.ok();
    };
    if (k == "net.inet.tcp.rfc1323") {
      if (!num(0, 3)) return n.status();
      // 1: both, 2: window scaling only, 3: timestamps only.
      t.window_scaling = *n == 1 || *n == 2;
      t.timestamps = *n == 1 || *n == 3;
    } else if (k == "net.inet.tcp.sack.enable" || k == "net.ipv4.tcp_sack") {
      if (!num(0, 1)) return n.status();
      t.sack = *n == 1;
    } else if (k == "net.ipv4.tcp_timestamps") {
      if (!num(0, 2)) return n.status();
      t.timestamps = *n != 0;
    } else if (k == "net.ipv4.tcp_window_scaling") {
      if (!num(0, 1)) return n.status();
      t.window_scaling = *n == 1;
    } else if (k == "net.inet.tcp.ecn.enable" || k == "net.ipv4.tcp_ecn") {
      // 1: request and accept ECN. The engine's ECN is one switch for
      // both; 2 (accept only) leaves it off.
      if (!num(0, 4)) return n.status();
      t.ecn = *n == 1;
    } else if (k == "net.inet.tcp.recvspace") {
      if (!num(1, 256 << 20)) return n.status();
      t.recv_buffer = static_cast<uint32_t>(*n);
    } else if (k == "net.inet.tcp.sendspace") {
      if (!num(1, 256 << 20)) return n.status();
      t.send_buffer = static_cast<uint32_t>(*n);
    } else if (k == "kern.ipc.maxsockbuf") {
      if (!num(1, int64_t{1} << 40)) return n.status();
      t.window_scale = ShiftFor(*n);
    } else if (k == "net.inet.tcp.rexmit_initial") {
      if (!num(1, 3600000)) return n.status();
      t.rto_initial = *n * kMillisecond;
    } else if (k == "net.inet.tcp.rexmit_min") {
      if (!num(1, 60000)) return n.status();
      t.rto_min = *n * kMillisecond;
    } else if (k == "net.inet.tcp.delacktime") {
      if (!num(1, 499)) return n.status();
      t.delayed_ack_timeout = *n * kMillisecond;
    } else if (k == "net.inet.tcp.delayed_ack") {
      if (!num(0, 1)) return n.status();
      t.delayed_ack = *n == 1;
    } else if (k == "net.inet.tcp.ecn.maxretries") {
      if (!num(0, 255)) return n.status();
      t.ecn_syn_retries = static_cast<uint32_t>(*n);
    } else if (k == "net.inet.tcp.drop_synfin") {
      if (!num(0, 1)) return n.status();
      c.drop_syn_fin = *n == 1;
    } else if (k == "net.inet.tcp.insecure_rst") {
      if (!num(0, 1)) return n.status();
      t.rfc5961_rst = *n == 0;
    } else if (k == "net.inet.tcp.insecure_syn") {
      if (!num(0, 1)) return n.status();
      t.rfc5961_syn = *n == 0;
    } else if (k == "net.inet.tcp.keepidle") {
      if (!num(1000, 86400000)) return n.status();
      t.keepalive_idle = *n * kMillisecond;
    } else if (k == "net.inet.tcp.keepintvl") {
      if (!num(1000, 86400000)) return n.status();
      t.keepalive_interval = *n * kMillisecond;
    } else if (k == "net.inet.tcp.keepcnt") {
      if (!num(1, 255)) return n.status();
      t.keepalive_probes = static_cast<uint32_t>(*n);
    } else if (k == "net.inet.tcp.initcwnd_segments") {
      if (!num(1, 1000)) return n.status();
      t.initial_window = static_cast<uint32_t>(*n);
    }
  }
  return t.Validate();
}

}  // namespace tcpemu::packetdrill
