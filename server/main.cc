// tcpemud: the tcpemu daemon. Flags with working defaults; SIGTERM/SIGINT
// drain and exit 0.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/auth.h"
#include "server/daemon.h"
#include "server/proxy_address.h"
#include "server/toxiproxy/toxiproxy_api.h"
#include "server/toxiproxy/toxiproxy_config.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (use 0.0.0.0:50051 to accept remote clients)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics address (0.0.0.0:9464 or :9464 for every "
          "interface); empty disables it");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC port; with --tls_key, the port "
          "speaks TLS (default: plaintext)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: clients must present a certificate signed by "
          "one of them (mutual TLS; needs --tls_cert)");
ABSL_FLAG(std::string, auth_tokens, "",
          "file of bearer tokens, one per line (# comments): every call must "
          "carry 'authorization: Bearer <token>' with one of them");
ABSL_FLAG(bool, auth_health, false,
          "with --auth_tokens, grpc.health.v1 needs a token too (default: "
          "open, for probes)");
ABSL_FLAG(bool, auth_reflection, false,
          "with --auth_tokens, server reflection needs a token too (default: "
          "open)");
ABSL_FLAG(uint32_t, shards, 0, "shard threads; 0 = one per core");
ABSL_FLAG(uint32_t, max_networks, 256, "networks held at once");
ABSL_FLAG(uint32_t, max_links, 10000, "links held at once");
ABSL_FLAG(uint32_t, max_sessions, 200000,
          "sessions held at once (live or finished, until DeleteSession)");
ABSL_FLAG(uint32_t, max_buffer, 256 * 1024 * 1024,
          "largest send or receive buffer a TcpConfig may ask for, bytes");
ABSL_FLAG(uint32_t, max_subscribers, 64, "concurrent WatchEvents streams");
ABSL_FLAG(uint32_t, event_queue,
          tcpemu::server::EventHub::Options{}.queue_capacity,
          "events queued per subscriber before the oldest are dropped "
          "(256 bytes each: 36864 is 9 MiB)");
ABSL_FLAG(uint32_t, session_history, 256,
          "events kept per session for WatchEvents replay");
ABSL_FLAG(bool, per_session_metrics, false,
          "export per-session Prometheus series (capped)");
ABSL_FLAG(uint32_t, per_session_cap, 1000,
          "at most this many sessions get per-session series");
ABSL_FLAG(uint64_t, seed, 0, "seed of the default network; 0 = random");
ABSL_FLAG(uint32_t, max_interfaces, 64, "TAP interfaces held at once");
ABSL_FLAG(bool, tap_offloads, true,
          "TAP devices carry a virtio-net header: the kernel hands over "
          "64 KiB TCP segments, cut to the MSS before the engine sees them "
          "(docs/tap.md); false: one plain frame per read");
ABSL_FLAG(uint32_t, max_listeners, 1024,
          "ports listening at once, over every interface");
ABSL_FLAG(uint32_t, max_write_bytes, 16 * 1024 * 1024,
          "largest data payload of one Write, bytes (the gRPC receive "
          "limit is this + 1 MiB)");
ABSL_FLAG(std::string, pcap_dir, "",
          "record every session's packets to <dir>/network-N-session-M.pcap");
ABSL_FLAG(uint64_t, capture_bytes, 64 << 20,
          "bytes kept per in-memory capture (sessions opened with capture)");
ABSL_FLAG(uint32_t, max_captures, 64, "in-memory captures held at once");
ABSL_FLAG(uint32_t, max_waiting_calls, 4096,
          "Write and Read calls waiting (with `wait`) at once");
ABSL_FLAG(uint64_t, max_waiting_write_bytes, 256ull << 20,
          "payload bytes held by waiting Writes, over every client");
ABSL_FLAG(uint64_t, max_waiting_write_bytes_per_client, 64ull << 20,
          "payload bytes held by one client's waiting Writes (a client is "
          "a peer address)");
ABSL_FLAG(uint32_t, max_advance_seconds, 60,
          "wall-clock seconds one AdvanceTime may compute before it stops "
          "with RESOURCE_EXHAUSTED (the network keeps the time it reached)");
ABSL_FLAG(std::string, proxy_listen_allow, tcpemu::server::kDefaultProxyAllow,
          "addresses proxies may listen on: comma-separated CIDR, CIDR:port "
          "or CIDR:lo-hi ([v6/len]:port); anything else is PERMISSION_DENIED");
ABSL_FLAG(std::string, proxy_upstream_allow, tcpemu::server::kDefaultProxyAllow,
          "addresses proxies may connect to, in the form of "
          "--proxy_listen_allow");
ABSL_FLAG(uint32_t, max_proxies, 256, "proxies held at once");
ABSL_FLAG(std::string, toxiproxy_listen, "",
          "serve toxiproxy's HTTP API (v2) on this host:port, e.g. "
          "127.0.0.1:8474; empty: off");
ABSL_FLAG(std::string, proxies, "",
          "toxiproxy's JSON config file (an array of {name, listen, upstream, "
          "enabled}) to load as proxies at start-up");
ABSL_FLAG(uint32_t, max_proxy_connections, 10000,
          "proxied connections open at once, over every proxy; more are "
          "reset when accepted");
ABSL_FLAG(int32_t, shutdown_seconds, 5,
          "on SIGTERM/SIGINT, drain for at most this long");

namespace {
volatile std::sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }

// --help: every flag, grouped by what it is about (a flag missing from the
// table is listed under "Other", never left out).
void PrintHelp() {
  const std::vector<std::pair<const char*, std::vector<const char*>>> groups = {
      {"Listening", {"listen", "metrics_listen", "shards"}},
      {"Security (docs/security.md)",
       {"tls_cert", "tls_key", "tls_client_ca", "auth_tokens", "auth_health",
        "auth_reflection"}},
      {"Limits (docs/limits.md)",
       {"max_networks", "max_links", "max_sessions", "max_buffer",
        "max_interfaces", "max_listeners", "max_write_bytes",
        "max_waiting_calls", "max_waiting_write_bytes",
        "max_waiting_write_bytes_per_client", "max_advance_seconds"}},
      {"Events and metrics",
       {"max_subscribers", "event_queue", "session_history",
        "per_session_metrics", "per_session_cap"}},
      {"Captures", {"pcap_dir", "capture_bytes", "max_captures"}},
      {"Proxies (docs/proxy.md)",
       {"proxy_listen_allow", "proxy_upstream_allow", "max_proxies",
        "max_proxy_connections", "toxiproxy_listen", "proxies"}},
      {"Running", {"seed", "shutdown_seconds", "tap_offloads"}},
  };
  absl::flat_hash_map<absl::string_view, absl::CommandLineFlag*> all =
      absl::GetAllFlags();
  absl::flat_hash_set<std::string> shown;
  auto print = [&](const absl::CommandLineFlag& f) {
    std::printf("  --%s=%s\n      %s\n", std::string(f.Name()).c_str(),
                f.DefaultValue().empty() ? "\"\"" : f.DefaultValue().c_str(),
                f.Help().c_str());
    shown.insert(std::string(f.Name()));
  };
  std::printf(
      "tcpemud: userspace TCP sessions over emulated links, over gRPC\n"
      "usage: tcpemud [--flag=value ...]   (values shown are defaults)\n");
  for (const auto& [title, names] : groups) {
    std::printf("\n%s:\n", title);
    for (const char* name : names) {
      auto it = all.find(name);
      if (it != all.end()) print(*it->second);
    }
  }
  std::vector<const absl::CommandLineFlag*> other;
  for (const auto& [name, flag] : all) {
    if (!shown.contains(name) &&
        absl::StrContains(flag->Filename(), "server/main.cc")) {
      other.push_back(flag);
    }
  }
  if (!other.empty()) {
    std::printf("\nOther:\n");
    std::sort(other.begin(), other.end(),
              [](auto* a, auto* b) { return a->Name() < b->Name(); });
    for (const absl::CommandLineFlag* f : other) print(*f);
  }
  std::printf("\n  --version\n      print the version and exit\n");
}
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "tcpemud: userspace TCP sessions over emulated links, over gRPC");
  absl::FlagsUsageConfig usage;
  usage.version_string = [] {
    return std::string("tcpemud " TCPEMU_VERSION "\n");
  };
  absl::SetFlagsUsageConfig(usage);
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (a == "--help" || a == "-help" || a == "-h" || a == "--helpshort") {
      PrintHelp();
      return 0;
    }
  }
  absl::ParseCommandLine(argc, argv);
  tcpemu::server::DaemonOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  tcpemu::server::SecurityFlags security;
  security.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  security.tls_key = absl::GetFlag(FLAGS_tls_key);
  security.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  security.auth_tokens = absl::GetFlag(FLAGS_auth_tokens);
  security.auth_health = absl::GetFlag(FLAGS_auth_health);
  security.auth_reflection = absl::GetFlag(FLAGS_auth_reflection);
  absl::StatusOr<tcpemu::server::SecurityConfig> loaded =
      tcpemu::server::LoadSecurity(security);
  if (!loaded.ok()) {
    std::fprintf(stderr, "tcpemud: %s\n",
                 std::string(loaded.status().message()).c_str());
    return 2;
  }
  o.security = *std::move(loaded);
  const bool loopback = absl::StartsWith(o.listen, "127.") ||
                        absl::StartsWith(o.listen, "localhost:") ||
                        absl::StartsWith(o.listen, "[::1]:");
  if (!loopback && o.security.tokens.empty() &&
      o.security.tls_client_ca_pem.empty()) {
    std::fprintf(stderr,
                 "tcpemud: warning: --listen %s accepts any client that "
                 "reaches it, with neither --auth_tokens nor --tls_client_ca "
                 "(see docs/security.md)\n",
                 o.listen.c_str());
  }
  uint32_t shards = absl::GetFlag(FLAGS_shards);
  if (shards == 0) shards = std::max(1u, std::thread::hardware_concurrency());
  if (shards > 256) {
    std::fprintf(stderr, "--shards %u out of range [0, 256]\n", shards);
    return 2;
  }
  o.emulator.shards = shards;
  o.emulator.max_networks = absl::GetFlag(FLAGS_max_networks);
  o.emulator.max_links = absl::GetFlag(FLAGS_max_links);
  o.emulator.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  o.emulator.max_buffer = absl::GetFlag(FLAGS_max_buffer);
  o.emulator.default_seed = absl::GetFlag(FLAGS_seed);
  o.emulator.max_interfaces = absl::GetFlag(FLAGS_max_interfaces);
  o.emulator.max_listeners = absl::GetFlag(FLAGS_max_listeners);
  o.emulator.tap_offloads = absl::GetFlag(FLAGS_tap_offloads);
  o.emulator.max_write_bytes = absl::GetFlag(FLAGS_max_write_bytes);
  if (o.emulator.max_write_bytes == 0 ||
      o.emulator.max_write_bytes > (1u << 30)) {
    std::fprintf(stderr, "--max_write_bytes %u out of range [1, 1073741824]\n",
                 o.emulator.max_write_bytes);
    return 2;
  }
  o.emulator.captures.pcap_dir = absl::GetFlag(FLAGS_pcap_dir);
  o.emulator.captures.max_bytes = absl::GetFlag(FLAGS_capture_bytes);
  o.emulator.captures.max_captures = absl::GetFlag(FLAGS_max_captures);
  if (!o.emulator.captures.pcap_dir.empty() &&
      access(o.emulator.captures.pcap_dir.c_str(), W_OK) != 0) {
    std::fprintf(stderr, "--pcap_dir %s: not a writable directory\n",
                 o.emulator.captures.pcap_dir.c_str());
    return 2;
  }
  o.emulator.waits.max_calls = absl::GetFlag(FLAGS_max_waiting_calls);
  o.emulator.waits.max_write_bytes =
      absl::GetFlag(FLAGS_max_waiting_write_bytes);
  o.emulator.waits.max_write_bytes_per_client =
      absl::GetFlag(FLAGS_max_waiting_write_bytes_per_client);
  const uint32_t advance = absl::GetFlag(FLAGS_max_advance_seconds);
  if (advance == 0 || advance > 86400) {
    std::fprintf(stderr, "--max_advance_seconds %u out of range [1, 86400]\n",
                 advance);
    return 2;
  }
  o.emulator.max_advance_ns = int64_t{advance} * 1'000'000'000;
  o.emulator.proxy_listen_allow = absl::GetFlag(FLAGS_proxy_listen_allow);
  o.emulator.proxy_upstream_allow = absl::GetFlag(FLAGS_proxy_upstream_allow);
  for (const auto& [flag, text] :
       {std::pair{"--proxy_listen_allow", o.emulator.proxy_listen_allow},
        std::pair{"--proxy_upstream_allow", o.emulator.proxy_upstream_allow}}) {
    absl::StatusOr<tcpemu::server::AllowList> list =
        tcpemu::server::AllowList::Parse(text, flag);
    if (!list.ok()) {
      std::fprintf(stderr, "tcpemud: %s\n",
                   std::string(list.status().message()).c_str());
      return 2;
    }
  }
  o.emulator.max_proxies = absl::GetFlag(FLAGS_max_proxies);
  o.emulator.max_proxy_connections = absl::GetFlag(FLAGS_max_proxy_connections);
  o.max_subscribers = absl::GetFlag(FLAGS_max_subscribers);
  o.event_queue = absl::GetFlag(FLAGS_event_queue);
  o.session_history = absl::GetFlag(FLAGS_session_history);
  o.per_session_metrics = absl::GetFlag(FLAGS_per_session_metrics);
  o.per_session_cap = absl::GetFlag(FLAGS_per_session_cap);
  if (o.event_queue == 0 || o.max_subscribers == 0 ||
      o.emulator.max_networks == 0) {
    std::fprintf(stderr,
                 "--event_queue, --max_subscribers and --max_networks must "
                 "be at least 1\n");
    return 2;
  }

  // Debian's Abseil checks every lock for deadlock cycles; tcpemud's tests
  // keep that check, the daemon does without its cost on every event.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Each proxied connection holds two sockets: take the file descriptors
  // the hard limit allows rather than the usual soft 1024.
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
                       nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  auto daemon = tcpemu::server::Daemon::Start(o);
  if (!daemon.ok()) {
    std::fprintf(stderr, "tcpemud: %s\n",
                 std::string(daemon.status().message()).c_str());
    return 1;
  }
  // toxiproxy's HTTP API and config file, over an in-process channel. The
  // API checks the gRPC port's bearer tokens itself.
  std::unique_ptr<tcpemu::server::TokenChecker> tokens;
  if (!o.security.tokens.empty()) {
    tokens = std::make_unique<tcpemu::server::TokenChecker>(
        o.security.tokens, o.security.auth_health, o.security.auth_reflection);
  }
  std::unique_ptr<tcpemu::server::ToxiproxyApi> toxiproxy;
  const std::string proxies_file = absl::GetFlag(FLAGS_proxies);
  if (!proxies_file.empty()) {
    auto stub = tcpemu::v1::Emulator::NewStub((*daemon)->InProcessChannel());
    absl::Status loaded_proxies =
        tcpemu::server::LoadToxiproxyConfig(proxies_file, stub.get());
    if (!loaded_proxies.ok()) {
      std::fprintf(stderr, "tcpemud: %s\n",
                   std::string(loaded_proxies.message()).c_str());
      (*daemon)->Shutdown(absl::Seconds(1));
      return 2;
    }
  }
  if (const std::string listen = absl::GetFlag(FLAGS_toxiproxy_listen);
      !listen.empty()) {
    tcpemu::server::ToxiproxyApiOptions to;
    to.listen = listen;
    to.channel = (*daemon)->InProcessChannel();
    to.tokens = tokens.get();
    auto api = tcpemu::server::ToxiproxyApi::Start(to);
    if (!api.ok()) {
      // The message names the flag and the address.
      std::fprintf(stderr, "tcpemud: %s\n",
                   std::string(api.status().message()).c_str());
      (*daemon)->Shutdown(absl::Seconds(1));
      return 1;
    }
    toxiproxy = *std::move(api);
    std::fprintf(stderr, "tcpemud: toxiproxy HTTP API on port %d\n",
                 toxiproxy->port());
  }
  std::string transport = o.security.tls() ? "TLS" : "plaintext";
  if (!o.security.tls_client_ca_pem.empty())
    transport += ", client certificates";
  if (!o.security.tokens.empty()) transport += ", bearer tokens";
  std::fprintf(stderr,
               "tcpemud: serving gRPC on port %d (%s), metrics on %s, %u "
               "shard(s)\n",
               (*daemon)->port(), transport.c_str(),
               o.metrics_listen.empty()
                   ? "(off)"
                   : absl::StrCat("port ", (*daemon)->metrics_port()).c_str(),
               shards);
  while (g_signal == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "tcpemud: signal %d, shutting down\n",
               static_cast<int>(g_signal));
  toxiproxy.reset();  // no new HTTP requests while the daemon drains
  (*daemon)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_seconds)));
  daemon->reset();
  std::fprintf(stderr, "tcpemud: stopped\n");
  return 0;
}
