// The daemon's id directory: which shard runs each network, and which network
// owns each link, interface and session id the daemon hands out. RPC handlers
// look an id up here to find the shard to submit to; the engine on that shard
// stays the authority on what the id holds. Not synchronized: its owner locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace tcpemu::server {

class IdDirectory {
 public:
  // Where an id lives.
  struct Owner {
    uint32_t network_id = 0;
    size_t shard = 0;
  };

  // Networks.
  void AddNetwork(uint32_t network_id, size_t shard);
  std::optional<size_t> ShardOf(uint32_t network_id) const;
  size_t network_count() const { return network_shard_.size(); }
  std::vector<uint32_t> network_ids() const;  // ascending
  // Forgets the network and every id it owned; returns the interfaces it
  // owned (ascending), for what their owner keeps beside them.
  std::vector<uint32_t> RemoveNetwork(uint32_t network_id);

  // Links; an interface is a link too.
  void AddLink(uint32_t link_id, uint32_t network_id);
  void AddInterface(uint32_t link_id, uint32_t network_id);
  // Forgets the link (and the interface, if it is one).
  void RemoveLink(uint32_t link_id);
  std::optional<Owner> LinkOwner(uint32_t link_id) const;
  size_t link_count() const { return link_network_.size(); }
  size_t interface_count() const { return interface_network_.size(); }
  // (interface id, network id), ascending by id; `network_id` 0: all.
  std::vector<std::pair<uint32_t, uint32_t>> Interfaces(
      uint32_t network_id) const;

  // Sessions.
  void AddSession(uint32_t session_id, uint32_t network_id);
  void RemoveSession(uint32_t session_id);
  std::optional<Owner> SessionOwner(uint32_t session_id) const;
  size_t session_count() const { return session_network_.size(); }
  // (session id, network id) of the sessions with ids above `after`,
  // ascending; `network_id` 0: of every network.
  std::vector<std::pair<uint32_t, uint32_t>> SessionsAfter(
      uint32_t after, uint32_t network_id) const;

 private:
  std::optional<Owner> OwnerOf(uint32_t network_id) const;

  absl::flat_hash_map<uint32_t, size_t> network_shard_;
  absl::flat_hash_map<uint32_t, uint32_t> link_network_;
  absl::flat_hash_map<uint32_t, uint32_t> interface_network_;
  std::map<uint32_t, uint32_t> session_network_;  // ordered, for paging
};

}  // namespace tcpemu::server
