// ARP for IPv4 over Ethernet (RFC 826): the 28-byte request/reply codec, the
// replies and requests a host sends, and a sans-IO neighbour cache that holds
// packets while their next hop is being resolved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/base/time.h"
#include "engine/wire/ethernet.h"
#include "engine/wire/packet.h"

namespace tcpemu {

inline constexpr size_t kArpPacketLen = 28;
inline constexpr uint16_t kArpHtypeEthernet = 1;

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

// An ARP packet whose fixed fields (htype 1, ptype 0x0800, hlen 6, plen 4)
// are implied. Addresses are host byte order, as in Ipv4Header.
struct ArpPacket {
  ArpOp op = ArpOp::kRequest;
  MacAddress sender_mac = kZeroMac;
  uint32_t sender_ip = 0;
  MacAddress target_mac = kZeroMac;  // unknown (zero) in a request
  uint32_t target_ip = 0;

  bool operator==(const ArpPacket&) const = default;
};

// Encodes the 28-byte ARP packet into `out`; returns 28.
absl::StatusOr<size_t> EncodeArp(const ArpPacket& arp, absl::Span<uint8_t> out);

// Decodes an ARP packet from the start of `in`. Bytes after the first 28 are
// ignored: short frames are padded to the Ethernet minimum of 46 payload
// bytes. Rejects, with a reason, anything but IPv4-over-Ethernet (htype 1,
// ptype 0x0800, hlen 6, plen 4), opcodes other than request (1) and reply (2),
// and a multicast or broadcast sender MAC, which no station can own and which
// would poison a cache entry.
absl::StatusOr<ArpPacket> DecodeArp(absl::Span<const uint8_t> in);

// The request a host with (my_mac, my_ip) broadcasts to resolve `target_ip`.
ArpPacket MakeArpRequest(const MacAddress& my_mac, uint32_t my_ip,
                         uint32_t target_ip);

// The reply to `request` from the owner of (my_mac, my_ip). Fails if `request`
// is not a request or asks for another address.
absl::StatusOr<ArpPacket> MakeArpReply(const ArpPacket& request,
                                       const MacAddress& my_mac,
                                       uint32_t my_ip);

// Encodes `arp` in an Ethernet II frame (42 bytes, unpadded: TAP devices and
// the kernel accept short frames) from arp.sender_mac to the broadcast address
// for a request, or to arp.target_mac for a reply. Returns the byte count.
absl::StatusOr<size_t> EncodeArpFrame(const ArpPacket& arp,
                                      absl::Span<uint8_t> out);

struct ArpCacheOptions {
  // How long a mapping is trusted after it was last learned.
  DurationNs entry_lifetime = 60 * kSecond;
  // Resolved entries kept; inserting a new address into a full cache evicts
  // the entry learned longest ago. At least 1.
  size_t max_entries = 256;
  // Packets held for one unresolved address. At least 1.
  size_t max_pending_per_ip = 16;
  // Unresolved addresses with packets held at the same time. At least 1.
  size_t max_pending_ips = 64;
  // How long packets wait for a reply before ExpirePending drops them.
  DurationNs pending_timeout = 3 * kSecond;
};

enum class ArpEnqueueResult {
  kQueuedSendRequest,  // first packet for this address: send an ARP request
  kQueued,             // a request is already outstanding
  kDroppedQueueFull,   // this address already holds max_pending_per_ip
  kDroppedTooManyAddresses,  // max_pending_ips addresses are unresolved
};

struct ArpCacheStats {
  uint64_t evictions = 0;        // entries pushed out to make room
  uint64_t pending_dropped = 0;  // packets refused by Enqueue
  uint64_t pending_expired = 0;  // packets dropped by ExpirePending
};

// An IPv4-to-MAC cache for one interface. It never sends anything: the caller
// sends the ARP requests Enqueue asks for and the packets Insert releases, and
// calls ExpirePending at NextDeadline(). Time is passed in.
class ArpCache {
 public:
  explicit ArpCache(ArpCacheOptions options = {});

  // Records that `ip` is at `mac` as of `now` (a new entry, or a refresh).
  // Returns the packets that were waiting for `ip`, oldest first, for the
  // caller to send now.
  std::vector<Packet> Insert(uint32_t ip, const MacAddress& mac, TimeNs now);

  // The MAC for `ip` if it was learned less than entry_lifetime before
  // `now`. An expired entry is removed.
  std::optional<MacAddress> Lookup(uint32_t ip, TimeNs now);

  // Holds `packet` until `ip` resolves; call after Lookup found nothing. A
  // refused packet is counted in stats().pending_dropped.
  ArpEnqueueResult Enqueue(uint32_t ip, Packet packet, TimeNs now);

  // Drops every queue whose first packet has waited pending_timeout or more;
  // returns the number of packets dropped.
  size_t ExpirePending(TimeNs now);

  // When the oldest queue times out; kNever when nothing is pending.
  TimeNs NextDeadline() const;

  size_t size() const { return entries_.size(); }
  size_t pending(uint32_t ip) const;
  const ArpCacheStats& stats() const { return stats_; }
  const ArpCacheOptions& options() const { return options_; }

 private:
  struct Entry {
    MacAddress mac;
    TimeNs learned;
    uint64_t order;  // insertion order, to break ties between equal times
  };
  struct PendingQueue {
    TimeNs since;
    std::vector<Packet> packets;
  };

  void EvictOldest();

  ArpCacheOptions options_;
  std::unordered_map<uint32_t, Entry> entries_;
  std::unordered_map<uint32_t, PendingQueue> pending_;
  uint64_t next_order_ = 0;
  ArpCacheStats stats_;
};

}  // namespace tcpemu
