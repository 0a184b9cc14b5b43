// The demultiplexer of one link: which session's endpoint receives a packet.
// Each direction has its receiving side: on an emulated link forward
// arrivals reach servers and reverse arrivals reach clients; on an interface
// every engine endpoint receives the reverse (ingress) direction. A receiving
// endpoint is keyed by its local port and the sender's port and address.
// Interfaces also index sessions by (local port, remote port), to name the
// events of packets that carry no session id (those a host sent).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "engine/sim/direction.h"
#include "engine/tcp/connection.h"

namespace tcpemu {

class SessionDemux {
 public:
  static constexpr uint16_t kFirstEphemeralPort = 49152;

  // Registers the endpoint of `session_id` whose four-tuple (as it sees it)
  // is `t` and which receives packets travelling `in`; `by_ports` also
  // indexes it by (local port, remote port). An entry already held for the
  // same key stays.
  void Add(Direction in, const FourTuple& t, uint32_t session_id,
           bool by_ports);
  void Remove(Direction in, const FourTuple& t, bool by_ports);

  // The session whose endpoint receives a packet travelling `in` from
  // `src_addr`:`src_port` to port `dst_port`; 0 if none.
  uint32_t Find(Direction in, uint16_t dst_port, uint16_t src_port,
                uint32_t src_addr) const;
  // The session indexed by (local port, remote port); 0 if none.
  uint32_t FindByPorts(uint16_t local_port, uint16_t remote_port) const;
  bool HasPorts(uint16_t local_port, uint16_t remote_port) const {
    return FindByPorts(local_port, remote_port) != 0;
  }
  // Sessions receiving `in`, in the table's order.
  std::vector<uint32_t> Sessions(Direction in) const;

  // The next ephemeral port, in turn from 49152 up and around, for which
  // `taken` is false; nullopt when every one is taken.
  std::optional<uint16_t> NextFreePort(absl::FunctionRef<bool(uint16_t)> taken);

 private:
  absl::flat_hash_map<uint64_t, uint32_t> table_[2];
  absl::flat_hash_map<uint32_t, uint32_t> by_ports_;
  uint16_t next_port_ = kFirstEphemeralPort;
};

}  // namespace tcpemu
