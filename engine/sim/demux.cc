// SessionDemux: which session a packet on a link belongs to; see demux.h.
#include "engine/sim/demux.h"

namespace tcpemu {
namespace {

uint64_t Key(uint16_t local_port, uint16_t remote_port, uint32_t remote_addr) {
  return (uint64_t{remote_addr} << 32) | (uint32_t{local_port} << 16) |
         remote_port;
}
uint32_t PortKey(uint16_t local_port, uint16_t remote_port) {
  return (uint32_t{local_port} << 16) | remote_port;
}
int Index(Direction d) { return static_cast<int>(d); }

}  // namespace

void SessionDemux::Add(Direction in, const FourTuple& t, uint32_t session_id,
                       bool by_ports) {
  table_[Index(in)].emplace(Key(t.local_port, t.remote_port, t.remote_addr),
                            session_id);
  if (by_ports)
    by_ports_.emplace(PortKey(t.local_port, t.remote_port), session_id);
}

void SessionDemux::Remove(Direction in, const FourTuple& t, bool by_ports) {
  table_[Index(in)].erase(Key(t.local_port, t.remote_port, t.remote_addr));
  if (by_ports) by_ports_.erase(PortKey(t.local_port, t.remote_port));
}

uint32_t SessionDemux::Find(Direction in, uint16_t dst_port, uint16_t src_port,
                            uint32_t src_addr) const {
  const auto& table = table_[Index(in)];
  auto it = table.find(Key(dst_port, src_port, src_addr));
  return it == table.end() ? 0 : it->second;
}

uint32_t SessionDemux::FindByPorts(uint16_t local_port,
                                   uint16_t remote_port) const {
  auto it = by_ports_.find(PortKey(local_port, remote_port));
  return it == by_ports_.end() ? 0 : it->second;
}

std::vector<uint32_t> SessionDemux::Sessions(Direction in) const {
  std::vector<uint32_t> out;
  out.reserve(table_[Index(in)].size());
  for (const auto& [key, sid] : table_[Index(in)]) out.push_back(sid);
  return out;
}

std::optional<uint16_t> SessionDemux::NextFreePort(
    absl::FunctionRef<bool(uint16_t)> taken) {
  for (int tries = 0; tries < 65536 - kFirstEphemeralPort; ++tries) {
    uint16_t p = next_port_;
    next_port_ = p == 65535 ? kFirstEphemeralPort : p + 1;
    if (!taken(p)) return p;
  }
  return std::nullopt;
}

}  // namespace tcpemu
