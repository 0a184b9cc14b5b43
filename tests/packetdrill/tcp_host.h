// One IPv4 host running the engine's TCP, seen from outside only through raw
// IP packets and a virtual clock: the peer hands it packets (Inject), takes
// the ones it sends (PopOutbound), and moves its time (AdvanceTo), which
// fires the connections' timers in deadline order. Connections are opened
// actively or made by listeners, one per SYN, and wait in the listener's
// accept queue once synchronized. Nothing here reads a clock, blocks or
// knows about file descriptors: the socket layer above does that.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/base/time.h"
#include "engine/tcp/connection.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/ecn.h"
#include "engine/wire/packet.h"

namespace tcpemu::packetdrill {

struct OutboundPacket {
  TimeNs sent_at = 0;
  std::vector<uint8_t> bytes;  // IPv4 header, TCP header, payload
};

struct TupleHash {
  size_t operator()(const FourTuple& t) const {
    return absl::HashOf(t.local_addr, t.local_port, t.remote_addr,
                        t.remote_port);
  }
};
struct TupleEq {
  bool operator()(const FourTuple& a, const FourTuple& b) const {
    return a.local_addr == b.local_addr && a.local_port == b.local_port &&
           a.remote_addr == b.remote_addr && a.remote_port == b.remote_port;
  }
};

class TcpHost {
 public:
  // `addr` is the host's IPv4 address (host byte order).
  explicit TcpHost(uint32_t addr);
  ~TcpHost();

  uint32_t addr() const { return addr_; }
  TimeNs now() const { return now_; }
  // Fires every timer due up to `t`, in deadline order, then sets the clock
  // to `t` (never backwards).
  void AdvanceTo(TimeNs t);
  // The earliest timer of any connection (kNever when none is armed).
  TimeNs NextDeadline() const;

  // A packet from the peer: IPv4 carrying TCP. Errors name what is wrong
  // with it; a packet for no connection or listener is answered with RST
  // (RFC 9293 3.10.7.1).
  absl::Status Inject(absl::Span<const uint8_t> ipv4);
  bool has_outbound() const { return !outbound_.empty(); }
  OutboundPacket PopOutbound();
  const OutboundPacket& PeekOutbound() const { return outbound_.front(); }

  // Active open from `tuple.local_port` (0 picks an ephemeral port).
  absl::StatusOr<Connection*> Connect(FourTuple tuple, const TcpConfig& config);
  // Passive opens on `port`: each SYN makes a connection with `config`;
  // at most `backlog` wait, handshaking or accepted but not yet taken.
  absl::Status Listen(uint16_t port, const TcpConfig& config, uint32_t backlog);
  // Stops listening; connections not yet taken are reset.
  void Unlisten(uint16_t port);
  bool listening(uint16_t port) const { return listeners_.contains(port); }
  // The oldest synchronized connection of the listener (nullptr if none).
  Connection* Accept(uint16_t port);
  size_t accept_queue_length(uint16_t port) const;
  // The application let go of `c`: it is destroyed once it reaches CLOSED
  // (at once if it already has).
  void Release(Connection* c);
  // Every connection the host holds, with whether the application let go
  // of it (handshaking under a listener, or closed and finishing).
  void ForEachConnection(
      absl::FunctionRef<void(const Connection&, bool released)> f) const;
  // A local port nobody uses (connections or listeners).
  uint16_t EphemeralPort();
  bool port_in_use(uint16_t port) const;
  // FreeBSD's net.inet.tcp.drop_synfin: drop segments with SYN and FIN.
  void set_drop_syn_fin(bool on) { drop_syn_fin_ = on; }

 private:
  struct Entry;
  struct Listener {
    TcpConfig config;
    uint32_t backlog = 0;
    std::vector<Connection*> pending;  // handshaking
    std::deque<Connection*> ready;     // synchronized, not yet accepted
  };
  class Output;

  Entry& Make(const FourTuple& tuple, const TcpConfig& config);
  // A SYN to listener `l`: a new connection in SYN-RECEIVED.
  void Open(Listener& l, const FourTuple& tuple, const ParsedTcpPacket& syn,
            Ecn ecn);
  bool IsPending(const Connection* c) const;
  // After any input: moves listeners' connections that synchronized to
  // their accept queues, drops the ones that failed, and destroys released
  // connections that closed.
  void Tidy();
  void Emit(TimeNs now, const TcpHeader& h, const Payload& payload, uint8_t tos,
            uint32_t dst, uint32_t src);

  uint32_t addr_;
  TimeNs now_ = 0;
  uint16_t next_port_ = 40000;
  uint16_t ip_id_ = 0;
  bool drop_syn_fin_ = false;
  uint64_t isn_counter_ = 0;
  absl::flat_hash_map<FourTuple, std::unique_ptr<Entry>, TupleHash, TupleEq>
      connections_;
  absl::flat_hash_map<uint16_t, Listener> listeners_;
  std::deque<OutboundPacket> outbound_;
};

}  // namespace tcpemu::packetdrill
