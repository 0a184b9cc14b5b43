// One proxied connection: the application's kernel socket (downstream), the
// upstream host's kernel socket, and the emulated session between them. Bytes
// read from a socket are written into its engine endpoint only while that
// endpoint's send buffer has room, and bytes are read from an endpoint only
// when its socket has taken the previous ones, so the engine's windows carry
// the flow control end to end and memory is bounded by the relay buffers.
// FIN, half-close and RST pass through as emulated segments. Shard thread
// only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "engine/sim/network.h"
#include "server/proxy_address.h"
#include "server/shard.h"

namespace tcpemu::server {

// What a relay shares with its proxy.
struct RelayShared {
  uint32_t relay_buffer = 65536;
  std::vector<SockAddr> upstream;  // tried in order
  // Scratch space of relay_buffer bytes, shared by the proxy's relays.
  std::vector<uint8_t> scratch;
  uint64_t upstream_failures = 0;
  uint64_t bytes_upstream = 0;    // written to upstream sockets
  uint64_t bytes_downstream = 0;  // written to applications
};

// Per-connection toxic effects the relay itself carries out, by the link
// direction of the stream (kForward: towards the upstream socket).
struct RelayToxics {
  DurationNs slow_close[2] = {0, 0};
  std::optional<uint64_t> limit_data[2];
};

class ProxyRelay {
 public:
  // Takes `down_fd` (accepted, non-blocking). The session's endpoints must
  // exist: CLIENT faces the application, SERVER the upstream.
  // `on_done` runs (once, from inside Pump) when both sockets are closed;
  // it must not destroy the relay at once.
  // `epoch_ns` is the network's steady-clock start (REALTIME).
  ProxyRelay(Shard& shard, Network& net, uint32_t session_id, int down_fd,
             int64_t epoch_ns, RelayShared* shared,
             absl::AnyInvocable<void()> on_done);
  ~ProxyRelay();
  ProxyRelay(const ProxyRelay&) = delete;
  ProxyRelay& operator=(const ProxyRelay&) = delete;

  uint32_t session_id() const { return session_id_; }
  int down_fd() const { return side_[0].fd; }
  int up_fd() const { return side_[1].fd; }
  const std::string& upstream_peer() const { return upstream_peer_; }
  RelayToxics& toxics() { return toxics_; }

  // Moves whatever can move now: socket to engine, engine to socket,
  // upstream connect, closes and resets. Called on socket readiness, engine
  // activity and timers.
  void Pump();
  // A socket event while the upstream connect is in progress.
  void OnUpstreamWritable();
  // Aborts the upstream side now (an emulated RST towards the application
  // and an RST to the upstream host): reset_peer.
  void ResetPeer();
  // Closes both sockets and aborts the session: timeout, limit_data, a
  // disabled or deleted proxy.
  void CloseAll();
  // Both sockets are closed: the relay can go.
  bool done() const { return side_[0].closed && side_[1].closed; }

 private:
  struct Side {
    int fd = -1;
    Endpoint ep = Endpoint::kClient;
    std::string in;       // read from the socket, not yet taken by the engine
    std::string out;      // read from the engine, not yet taken by the socket
    bool rd_eof = false;  // the socket read end of file
    bool engine_closed = false;  // Close called on the endpoint
    bool wr_shut = false;        // the engine's FIN went on to the socket
    bool shut_armed = false;     // slow_close: a timer will shut it
    bool closed = false;         // the socket is closed (fd == -1)
    uint32_t events = 0;
    uint64_t delivered = 0;  // bytes written to the socket
  };
  // Side 0: the application (CLIENT endpoint); side 1: upstream (SERVER).
  // The engine carries side 0's bytes FORWARD and side 1's REVERSE; the
  // direction that flows *to* side i is kForward for i = 1.
  void SocketToEngine(Side& s);
  // Reads and drops what the socket holds (its endpoint is gone).
  void DiscardInput(Side& s);
  void EngineToSocket(Side& s, Direction flowing);
  void ShutWrite(Side& s, Direction flowing);
  // Runs the network up to the wall clock (a REALTIME network's now).
  void AdvanceToWall();
  void StartUpstream();
  void UpstreamFailed();
  // Engine endpoint of `s` now: nullopt once the session is gone.
  std::optional<EndpointStatus> Conn(const Side& s) const;
  // The socket failed (ECONNRESET, EPIPE): RST it, abort its endpoint.
  void SocketError(Side& s);
  void ResetSocket(Side& s);
  void CloseSocket(Side& s);
  void UpdateEvents(Side& s);
  bool Connected(const Side& s) const;

  Shard& shard_;
  Network& net_;
  uint32_t session_id_;
  int64_t epoch_ns_;
  RelayShared* shared_;
  RelayToxics toxics_;
  Side side_[2];
  // Upstream connect: the next address to try, -1 before the first.
  int connect_index_ = -1;
  bool connecting_ = false;
  bool up_connected_ = false;
  std::optional<Shard::WallTimerId> connect_timer_;
  std::optional<Shard::WallTimerId> shut_timer_[2];
  std::string upstream_peer_;
  absl::AnyInvocable<void()> on_done_;
  bool done_reported_ = false;
};

}  // namespace tcpemu::server
