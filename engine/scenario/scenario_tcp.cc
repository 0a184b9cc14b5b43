// The tcp, client_tcp and server_tcp keys of a session; see scenario_tcp.h.
#include "engine/scenario/scenario_tcp.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "engine/base/time.h"
#include "engine/scenario/scenario_yaml.h"
#include "engine/tcp/tcp_config.h"
#include "yaml-cpp/yaml.h"

namespace tcpemu::scenario_internal {
namespace {

constexpr DurationNs kHour = 3600 * kSecond;

// The keys where stacks differ (ReadTcpStack reads them).
bool IsTcpStackKey(const std::string& k) {
  return k == "window_scale" || k == "ecn" || k == "ecn_syn_retries" ||
         k == "flavor" || k == "rfc5961_rst" || k == "rfc5961_syn";
}

absl::Status ReadTcpStack(const Reader& r, const std::string& k,
                          const YAML::Node& v, const std::string& p,
                          TcpConfig* c) {
  if (k == "window_scale") {
    // -1: the smallest shift that lets the window cover recv_buffer.
    if (v.IsScalar() && v.Scalar() == "-1") {
      c->window_scale = -1;
      return absl::OkStatus();
    }
    return r.UintAs(v, p, 0, 14, &c->window_scale);
  }
  if (k == "ecn") return r.Bool(v, p, &c->ecn);
  if (k == "ecn_syn_retries") {
    return r.UintAs(v, p, 0, 255, &c->ecn_syn_retries);
  }
  if (k == "flavor") {
    size_t i = 0;
    SCENARIO_RETURN_IF_ERROR(r.Enum(v, p, {"linux", "freebsd"}, &i));
    c->flavor = i == 0 ? StackFlavor::kLinux : StackFlavor::kFreeBsd;
    return absl::OkStatus();
  }
  if (k == "rfc5961_rst") return r.Bool(v, p, &c->rfc5961_rst);
  return r.Bool(v, p, &c->rfc5961_syn);  // the last stack key
}

}  // namespace

absl::Status ReadTcp(const Reader& r, const YAML::Node& n,
                     const std::string& path, TcpConfig* c) {
  constexpr uint64_t kBuf = 1ULL << 30;
  auto size32 = [&](const YAML::Node& v, const std::string& p,
                    uint32_t* out) -> absl::Status {
    uint64_t x = 0;
    SCENARIO_RETURN_IF_ERROR(r.Size(v, p, kBuf, "1GiB", &x));
    *out = static_cast<uint32_t>(x);
    return absl::OkStatus();
  };
  auto dur = [&](const YAML::Node& v, const std::string& p,
                 DurationNs* out) -> absl::Status {
    return r.Duration(v, p, 24 * kHour, "24h", out);
  };
  auto u32 = [&](const YAML::Node& v, const std::string& p,
                 uint32_t* out) -> absl::Status {
    return r.UintAs(v, p, 0, UINT32_MAX, out);
  };
  SCENARIO_RETURN_IF_ERROR(
      r.Keys(n, path,
             {"cc",
              "mtu",
              "send_buffer",
              "recv_buffer",
              "nodelay",
              "cork",
              "cork_timeout",
              "rto_initial",
              "rto_min",
              "rto_max",
              "max_retransmissions",
              "syn_retries",
              "synack_retries",
              "delayed_ack",
              "delayed_ack_timeout",
              "limited_transmit",
              "msl",
              "window_scaling",
              "window_scale",
              "timestamps",
              "sack",
              "rack",
              "keepalive",
              "keepalive_idle",
              "keepalive_interval",
              "keepalive_probes",
              "initial_window",
              "hystart",
              "pacing",
              "ecn",
              "ecn_syn_retries",
              "flavor",
              "rfc5961_rst",
              "rfc5961_syn",
              "challenge_ack_limit",
              "invalid_ack_interval",
              "persist_min",
              "persist_max"},
             [&](const std::string& k, const YAML::Node& v,
                 const std::string& p) -> absl::Status {
               if (IsTcpStackKey(k)) return ReadTcpStack(r, k, v, p, c);
               if (k == "cc") {
                 size_t i = 0;
                 SCENARIO_RETURN_IF_ERROR(
                     r.Enum(v, p, {"newreno", "cubic", "bbr"}, &i));
                 c->cc = static_cast<CcAlgorithm>(i);
                 return absl::OkStatus();
               }
               if (k == "mtu") return r.UintAs(v, p, 0, 65535, &c->mtu);
               if (k == "send_buffer") return size32(v, p, &c->send_buffer);
               if (k == "recv_buffer") return size32(v, p, &c->recv_buffer);
               if (k == "nodelay") return r.Bool(v, p, &c->nodelay);
               if (k == "cork") return r.Bool(v, p, &c->cork);
               if (k == "cork_timeout") return dur(v, p, &c->cork_timeout);
               if (k == "rto_initial") return dur(v, p, &c->rto_initial);
               if (k == "rto_min") return dur(v, p, &c->rto_min);
               if (k == "rto_max") return dur(v, p, &c->rto_max);
               if (k == "max_retransmissions") {
                 return u32(v, p, &c->max_retransmissions);
               }
               if (k == "syn_retries") return u32(v, p, &c->syn_retries);
               if (k == "synack_retries") return u32(v, p, &c->synack_retries);
               if (k == "delayed_ack") return r.Bool(v, p, &c->delayed_ack);
               if (k == "delayed_ack_timeout") {
                 return dur(v, p, &c->delayed_ack_timeout);
               }
               if (k == "limited_transmit")
                 return r.Bool(v, p, &c->limited_transmit);
               if (k == "msl") return dur(v, p, &c->msl);
               if (k == "window_scaling")
                 return r.Bool(v, p, &c->window_scaling);
               if (k == "timestamps") return r.Bool(v, p, &c->timestamps);
               if (k == "sack") return r.Bool(v, p, &c->sack);
               if (k == "rack") return r.Bool(v, p, &c->rack);
               if (k == "keepalive") return r.Bool(v, p, &c->keepalive);
               if (k == "keepalive_idle") return dur(v, p, &c->keepalive_idle);
               if (k == "keepalive_interval") {
                 return dur(v, p, &c->keepalive_interval);
               }
               if (k == "keepalive_probes")
                 return u32(v, p, &c->keepalive_probes);
               if (k == "initial_window") return u32(v, p, &c->initial_window);
               if (k == "hystart") return r.Bool(v, p, &c->hystart);
               if (k == "pacing") return r.Bool(v, p, &c->pacing);
               if (k == "challenge_ack_limit") {
                 return u32(v, p, &c->challenge_ack_limit);
               }
               if (k == "invalid_ack_interval") {
                 return dur(v, p, &c->invalid_ack_interval);
               }
               if (k == "persist_min") return dur(v, p, &c->persist_min);
               return dur(v, p, &c->persist_max);  // the last allowed key
             }));
  return absl::OkStatus();
}

}  // namespace tcpemu::scenario_internal
