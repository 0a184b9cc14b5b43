// What the packetdrill shim's stack is: its address, the TCP configuration
// new sockets start from, and how it reports buffer sizes. Built from the
// --so_flags text (`key=value` words) and from the sysctl settings a script
// made through the project's `sysctl` stand-in (tests/packetdrill/sysctl),
// so that per-stack expected values come from flags, never from edited
// scripts.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/tcp/tcp_config.h"

namespace tcpemu::packetdrill {

enum class Profile : uint8_t { kLinux, kFreeBsd };

struct ShimConfig {
  Profile profile = Profile::kLinux;
  uint32_t local_addr = 0xC0A80001;  // 192.168.0.1, packetdrill's default
  TcpConfig tcp;
  // Linux reports twice the SO_RCVBUF/SO_SNDBUF it was given (the kernel
  // counts its overhead); FreeBSD reports the value.
  bool doubles_sockbuf = true;
  // FreeBSD's net.inet.tcp.drop_synfin: segments with both SYN and FIN are
  // dropped on arrival.
  bool drop_syn_fin = false;
  // Hand packetdrill the engine's bursts as TSO packets, as a Linux host
  // with offloads does (tests/packetdrill/tso_merge.h).
  bool tso = true;
  // Where the sysctl stand-in records a script's settings ("" for none).
  std::string sysctl_file;
  // Where the shim keeps the socket table the sockstat stand-in prints (""
  // for none); rewritten after every call.
  std::string sockstat_file;
};

// The defaults of a stack: Linux with packetdrill's gtests/net/tcp
// defaults.sh, or FreeBSD's defaults.
ShimConfig ProfileDefaults(Profile p);

// Parses --so_flags: whitespace- or comma-separated `key=value` words
// (profile, local_ip, mtu, sysctl_file, sockstat_file, tso, iw, rto_min_ms,
// rto_initial_ms, delack_ms, recv_buffer, send_buffer, window_scale, sack,
// timestamps, ecn). `profile` applies first, wherever it appears. Errors name
// the key and its allowed values.
absl::StatusOr<ShimConfig> ParseShimFlags(absl::string_view flags);

// Applies `name=value` lines (FreeBSD or Linux sysctl names, later lines
// winning) to `config`. Names it does not model are left alone; values out
// of range are errors naming the sysctl.
absl::Status ApplySysctls(absl::string_view lines, ShimConfig& config);

}  // namespace tcpemu::packetdrill
