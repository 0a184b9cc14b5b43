// ARP codec and neighbour cache (RFC 826; packet layout of RFC 826 "Packet
// format" with the Ethernet/IPv4 values from the IANA ARP registry).
#include "engine/wire/arp.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/ipv4.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;
using wire_internal::Put32;

constexpr uint8_t kHlenEthernet = 6;
constexpr uint8_t kPlenIpv4 = 4;

}  // namespace

absl::StatusOr<size_t> EncodeArp(const ArpPacket& arp,
                                 absl::Span<uint8_t> out) {
  if (out.size() < kArpPacketLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp encode buffer of %d bytes is too small (need %d)",
                        out.size(), kArpPacketLen));
  }
  if (arp.op != ArpOp::kRequest && arp.op != ArpOp::kReply) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp opcode %d is neither request (1) nor reply (2)",
                        static_cast<int>(arp.op)));
  }
  uint8_t* p = out.data();
  Put16(p, kArpHtypeEthernet);
  Put16(p + 2, kEtherTypeIpv4);
  p[4] = kHlenEthernet;
  p[5] = kPlenIpv4;
  Put16(p + 6, static_cast<uint16_t>(arp.op));
  std::copy(arp.sender_mac.begin(), arp.sender_mac.end(), p + 8);
  Put32(p + 14, arp.sender_ip);
  std::copy(arp.target_mac.begin(), arp.target_mac.end(), p + 18);
  Put32(p + 24, arp.target_ip);
  return kArpPacketLen;
}

absl::StatusOr<ArpPacket> DecodeArp(absl::Span<const uint8_t> in) {
  if (in.size() < kArpPacketLen) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp packet truncated: %d bytes, need %d", in.size(), kArpPacketLen));
  }
  const uint8_t* p = in.data();
  const uint16_t htype = Get16(p);
  if (htype != kArpHtypeEthernet) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp hardware type %d is not ethernet (%d)", htype, kArpHtypeEthernet));
  }
  const uint16_t ptype = Get16(p + 2);
  if (ptype != kEtherTypeIpv4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp protocol type 0x%04x is not ipv4 (0x%04x)", ptype,
                        kEtherTypeIpv4));
  }
  if (p[4] != kHlenEthernet) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp hardware address length %d is not %d", p[4], kHlenEthernet));
  }
  if (p[5] != kPlenIpv4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp protocol address length %d is not %d", p[5], kPlenIpv4));
  }
  const uint16_t op = Get16(p + 6);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) &&
      op != static_cast<uint16_t>(ArpOp::kReply)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp opcode %d is neither request (1) nor reply (2)", op));
  }
  ArpPacket arp;
  arp.op = static_cast<ArpOp>(op);
  std::copy(p + 8, p + 14, arp.sender_mac.begin());
  arp.sender_ip = Get32(p + 14);
  std::copy(p + 18, p + 24, arp.target_mac.begin());
  arp.target_ip = Get32(p + 24);
  if (IsMulticastMac(arp.sender_mac)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp sender hardware address %s is a group address",
                        MacToString(arp.sender_mac)));
  }
  return arp;
}

ArpPacket MakeArpRequest(const MacAddress& my_mac, uint32_t my_ip,
                         uint32_t target_ip) {
  ArpPacket arp;
  arp.op = ArpOp::kRequest;
  arp.sender_mac = my_mac;
  arp.sender_ip = my_ip;
  // RFC 826 leaves the target hardware address of a request unspecified;
  // zero is what every common stack sends.
  arp.target_mac = kZeroMac;
  arp.target_ip = target_ip;
  return arp;
}

absl::StatusOr<ArpPacket> MakeArpReply(const ArpPacket& request,
                                       const MacAddress& my_mac,
                                       uint32_t my_ip) {
  if (request.op != ArpOp::kRequest) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp opcode %d is not a request; only requests are "
                        "answered",
                        static_cast<int>(request.op)));
  }
  if (request.target_ip != my_ip) {
    return absl::InvalidArgumentError(
        absl::StrFormat("arp request for %s is not for this address %s",
                        Ipv4ToString(request.target_ip), Ipv4ToString(my_ip)));
  }
  // RFC 826 "Packet Reception": swap the sender and target fields, put the
  // local addresses in the sender fields and set the opcode to reply.
  ArpPacket reply;
  reply.op = ArpOp::kReply;
  reply.sender_mac = my_mac;
  reply.sender_ip = my_ip;
  reply.target_mac = request.sender_mac;
  reply.target_ip = request.sender_ip;
  return reply;
}

absl::StatusOr<size_t> EncodeArpFrame(const ArpPacket& arp,
                                      absl::Span<uint8_t> out) {
  if (out.size() < kEthernetHeaderLen + kArpPacketLen) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "arp frame encode buffer of %d bytes is too small (need %d)",
        out.size(), kEthernetHeaderLen + kArpPacketLen));
  }
  EthernetHeader eth;
  eth.dst = arp.op == ArpOp::kRequest ? kBroadcastMac : arp.target_mac;
  eth.src = arp.sender_mac;
  eth.ether_type = kEtherTypeArp;
  absl::StatusOr<size_t> eth_len = EncodeEthernetHeader(eth, out);
  if (!eth_len.ok()) return eth_len.status();
  absl::StatusOr<size_t> arp_len = EncodeArp(arp, out.subspan(*eth_len));
  if (!arp_len.ok()) return arp_len.status();
  return *eth_len + *arp_len;
}

ArpCache::ArpCache(ArpCacheOptions options) : options_(options) {
  options_.max_entries = std::max<size_t>(options_.max_entries, 1);
  options_.max_pending_per_ip =
      std::max<size_t>(options_.max_pending_per_ip, 1);
  options_.max_pending_ips = std::max<size_t>(options_.max_pending_ips, 1);
}

std::vector<Packet> ArpCache::Insert(uint32_t ip, const MacAddress& mac,
                                     TimeNs now) {
  auto it = entries_.find(ip);
  if (it != entries_.end()) {
    it->second.mac = mac;
    it->second.learned = now;
    it->second.order = next_order_++;
  } else {
    if (entries_.size() >= options_.max_entries) EvictOldest();
    entries_.emplace(ip, Entry{mac, now, next_order_++});
  }
  std::vector<Packet> released;
  auto q = pending_.find(ip);
  if (q != pending_.end()) {
    released = std::move(q->second.packets);
    pending_.erase(q);
  }
  return released;
}

void ArpCache::EvictOldest() {
  // A linear scan: the cache is small and only a new address arriving at a
  // full cache pays for it, while lookups stay O(1). Expired entries are
  // always the oldest, so they go first.
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const Entry& e = it->second;
    const Entry& o = oldest->second;
    if (e.learned < o.learned ||
        (e.learned == o.learned && e.order < o.order)) {
      oldest = it;
    }
  }
  if (oldest != entries_.end()) {
    entries_.erase(oldest);
    ++stats_.evictions;
  }
}

std::optional<MacAddress> ArpCache::Lookup(uint32_t ip, TimeNs now) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  if (now - it->second.learned >= options_.entry_lifetime) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.mac;
}

ArpEnqueueResult ArpCache::Enqueue(uint32_t ip, Packet packet, TimeNs now) {
  auto q = pending_.find(ip);
  if (q == pending_.end()) {
    if (pending_.size() >= options_.max_pending_ips) {
      ++stats_.pending_dropped;
      return ArpEnqueueResult::kDroppedTooManyAddresses;
    }
    PendingQueue& fresh = pending_[ip];
    fresh.since = now;
    fresh.packets.push_back(std::move(packet));
    return ArpEnqueueResult::kQueuedSendRequest;
  }
  // Drop-tail: the packets already queued keep their order, and a TCP sender
  // retransmits whatever is lost here once the address resolves.
  if (q->second.packets.size() >= options_.max_pending_per_ip) {
    ++stats_.pending_dropped;
    return ArpEnqueueResult::kDroppedQueueFull;
  }
  q->second.packets.push_back(std::move(packet));
  return ArpEnqueueResult::kQueued;
}

size_t ArpCache::ExpirePending(TimeNs now) {
  size_t dropped = 0;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.since >= options_.pending_timeout) {
      dropped += it->second.packets.size();
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.pending_expired += dropped;
  return dropped;
}

TimeNs ArpCache::NextDeadline() const {
  TimeNs next = kNever;
  for (const auto& [ip, q] : pending_) {
    next = std::min(next, q.since + options_.pending_timeout);
  }
  return next;
}

size_t ArpCache::pending(uint32_t ip) const {
  auto q = pending_.find(ip);
  return q == pending_.end() ? 0 : q->second.packets.size();
}

}  // namespace tcpemu
