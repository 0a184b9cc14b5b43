// The proxies of one REALTIME network: their listening sockets, the relays of
// the connections they accepted (each over its own emulated session), and
// the toxics acting on them. Lives in the NetworkSlot, on the shard thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tcp/tcp_config.h"
#include "server/proxy_address.h"
#include "server/proxy_relay.h"
#include "server/shard.h"
#include "server/toxics.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server {

// A proxy's settings, validated.
struct ProxyConfig {
  uint32_t id = 0;
  std::string name;
  std::string listen;    // as given
  std::string upstream;  // as given
  SockAddr listen_addr;
  std::vector<SockAddr> upstream_addrs;
  uint32_t link_id = 0;
  bool owns_link = false;
  TcpConfig downstream_tcp;
  TcpConfig upstream_tcp;
  v1::TcpConfig downstream_proto;  // as given, for Get
  v1::TcpConfig upstream_proto;
  uint32_t relay_buffer = 65536;
  bool enabled = true;
  std::vector<ToxicSpec> toxics;
};

// What the table asks of the service.
struct ProxyHooks {
  // A daemon-wide session id; 0 refuses (--max_sessions).
  std::function<uint32_t()> allocate_session_id;
  // A session the table deleted.
  std::function<void(uint32_t)> forget_session;
  // Admits one more proxied connection under --max_proxy_connections
  // (false: refused), and lets one go.
  std::function<bool()> admit_connection;
  std::function<void()> release_connection;
};

class ProxyTable final : public NetworkExtension {
 public:
  ProxyTable(Shard& shard, NetworkSlot& slot, ProxyHooks hooks);
  ~ProxyTable() override;

  // Adds a proxy (binding its socket if enabled).
  absl::Status Add(ProxyConfig config);
  // Replaces a proxy's settings: a new listen address or `enabled` rebinds
  // or closes, toxics are applied to the connections they differ on, TCP
  // settings and the relay buffer apply to new connections.
  absl::Status Replace(ProxyConfig config);
  // Closes the proxy's connections and forgets it.
  absl::Status Remove(uint32_t id);
  // Removes every proxy (before the network goes).
  void RemoveAll();
  const ProxyConfig* config(uint32_t id) const;
  void Fill(uint32_t id, v1::Proxy* out) const;
  std::vector<uint32_t> ids() const;

  // The proxy and peers of a session it made, if any.
  struct SessionTag {
    uint32_t proxy_id = 0;
    std::string downstream_peer;
    std::string upstream_peer;
  };
  const SessionTag* session_tag(uint32_t session_id) const;

  // Deletes a session the proxy made (finished or closed).
  void ForgetSession(uint32_t session_id);

  // Finished proxied sessions each proxy keeps for inspection; older ones
  // are deleted.
  static constexpr size_t kKeepFinished = 256;

 private:
  // A toxic's state on one connection.
  struct ConnToxic {
    bool applies = false;
    std::vector<std::pair<Direction, uint32_t>> rules;  // session-scoped
    std::optional<Shard::WallTimerId> timer;
  };
  struct Conn {
    std::unique_ptr<ProxyRelay> relay;
    absl::flat_hash_map<std::string, ConnToxic> toxics;
    uint16_t client_port = 0;
    uint16_t server_port = 0;
  };
  struct Proxy {
    ProxyConfig config;
    int listen_fd = -1;
    SockAddr bound;
    RelayShared shared;
    uint64_t accepted = 0;
    uint64_t refused = 0;
    absl::flat_hash_map<uint32_t, std::unique_ptr<Conn>> conns;
    std::deque<uint32_t> finished;
    // Link-level rules of toxics with toxicity 1, by toxic name.
    absl::flat_hash_map<std::string,
                        std::vector<std::pair<Direction, uint32_t>>>
        link_rules;
    // The link's rate before bandwidth toxics, by direction.
    std::optional<uint64_t> saved_rate[2];
    std::mt19937_64 rng;
    std::optional<Shard::WallTimerId> resume_accepting;
  };

  // A listening socket for `config`'s listen address, watched for accepts
  // of proxy `id` (not yet in use: the caller swaps it in).
  absl::StatusOr<int> Listen(const ProxyConfig& config);
  void Use(Proxy& p, int fd);
  void Unbind(Proxy& p);
  void OnAcceptable(uint32_t proxy_id);
  // Out of file descriptors: stop accepting for a while.
  void PauseAccepting(Proxy& p, int err);
  void Refuse(Proxy& p, int fd);
  absl::Status OpenConnection(Proxy& p, int fd);
  // Pumps one connection's relay; false if it is gone.
  bool PumpConn(uint32_t proxy_id, uint32_t session_id);
  // A relay whose sockets are both closed leaves (posted, not from inside
  // its own Pump).
  void Finish(uint32_t proxy_id, uint32_t session_id);
  void DropConn(Proxy& p, uint32_t session_id, Conn& c);
  Proxy* Find(uint32_t id);

  // Toxics (proxy_toxics.cc).
  // Applies `t` to the link (toxicity 1) and to each connection.
  void ApplyToxic(Proxy& p, const ToxicSpec& t);
  void UndoToxic(Proxy& p, const ToxicSpec& t);
  // A new connection: draws which toxics apply and acts on them.
  void ApplyToxicsToConn(Proxy& p, uint32_t session_id, Conn& c);
  void ApplyToConn(Proxy& p, const ToxicSpec& t, uint32_t session_id, Conn& c);
  void UndoOnConn(Proxy& p, const std::string& name, Conn& c);
  // The relay's own toxic effects (slow_close, limit_data) from the toxics
  // that apply to the connection.
  void RefreshRelayToxics(Proxy& p, Conn& c);
  void SetLinkRate(Proxy& p);
  // TCP settings of a new connection with slicer toxics applied.
  void SliceConfigs(Proxy& p, TcpConfig& client, TcpConfig& server);
  std::vector<std::pair<Direction, uint32_t>> AddRules(Proxy& p,
                                                       const ToxicSpec& t,
                                                       uint16_t client_port,
                                                       uint16_t server_port);

  Shard& shard_;
  NetworkSlot& slot_;
  ProxyHooks hooks_;
  absl::flat_hash_map<uint32_t, std::unique_ptr<Proxy>> proxies_;
  absl::flat_hash_map<uint32_t, SessionTag> tags_;
  bool tearing_down_ = false;
};

}  // namespace tcpemu::server
