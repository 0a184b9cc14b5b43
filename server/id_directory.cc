// IdDirectory: ids to the network and shard that own them; see
// id_directory.h.
#include "server/id_directory.h"

#include <algorithm>
#include <iterator>

#include "absl/container/flat_hash_map.h"

namespace tcpemu::server {

void IdDirectory::AddNetwork(uint32_t network_id, size_t shard) {
  network_shard_[network_id] = shard;
}

std::optional<size_t> IdDirectory::ShardOf(uint32_t network_id) const {
  auto it = network_shard_.find(network_id);
  if (it == network_shard_.end()) return std::nullopt;
  return it->second;
}

std::vector<uint32_t> IdDirectory::network_ids() const {
  std::vector<uint32_t> ids;
  ids.reserve(network_shard_.size());
  for (const auto& [id, shard] : network_shard_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<uint32_t> IdDirectory::RemoveNetwork(uint32_t network_id) {
  network_shard_.erase(network_id);
  auto owned = [network_id](const auto& kv) { return kv.second == network_id; };
  std::vector<uint32_t> interfaces;
  for (const auto& [id, nid] : interface_network_) {
    if (nid == network_id) interfaces.push_back(id);
  }
  std::sort(interfaces.begin(), interfaces.end());
  absl::erase_if(link_network_, owned);
  absl::erase_if(interface_network_, owned);
  std::erase_if(session_network_, owned);
  return interfaces;
}

void IdDirectory::AddLink(uint32_t link_id, uint32_t network_id) {
  link_network_[link_id] = network_id;
}

void IdDirectory::AddInterface(uint32_t link_id, uint32_t network_id) {
  link_network_[link_id] = network_id;
  interface_network_[link_id] = network_id;
}

void IdDirectory::RemoveLink(uint32_t link_id) {
  link_network_.erase(link_id);
  interface_network_.erase(link_id);
}

std::optional<IdDirectory::Owner> IdDirectory::OwnerOf(
    uint32_t network_id) const {
  std::optional<size_t> shard = ShardOf(network_id);
  if (!shard.has_value()) return std::nullopt;
  return Owner{network_id, *shard};
}

std::optional<IdDirectory::Owner> IdDirectory::LinkOwner(
    uint32_t link_id) const {
  auto it = link_network_.find(link_id);
  if (it == link_network_.end()) return std::nullopt;
  return OwnerOf(it->second);
}

std::vector<std::pair<uint32_t, uint32_t>> IdDirectory::Interfaces(
    uint32_t network_id) const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (const auto& [id, nid] : interface_network_) {
    if (network_id == 0 || nid == network_id) out.emplace_back(id, nid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void IdDirectory::AddSession(uint32_t session_id, uint32_t network_id) {
  session_network_[session_id] = network_id;
}

void IdDirectory::RemoveSession(uint32_t session_id) {
  session_network_.erase(session_id);
}

std::optional<IdDirectory::Owner> IdDirectory::SessionOwner(
    uint32_t session_id) const {
  auto it = session_network_.find(session_id);
  if (it == session_network_.end()) return std::nullopt;
  return OwnerOf(it->second);
}

std::vector<std::pair<uint32_t, uint32_t>> IdDirectory::SessionsAfter(
    uint32_t after, uint32_t network_id) const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (auto it = session_network_.upper_bound(after);
       it != session_network_.end(); ++it) {
    if (network_id != 0 && it->second != network_id) continue;
    out.push_back(*it);
  }
  return out;
}

}  // namespace tcpemu::server
