// The edge between the engine's stack and an Ethernet device (a TAP): answers
// ARP and ICMP echo, checks and filters incoming IPv4, and frames outgoing
// IPv4/TCP packets for their next hop, resolving it with ARP. Sans-IO: frames
// come in through OnFrame and leave through a FrameSink; time is passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/base/time.h"
#include "engine/wire/arp.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ethernet.h"
#include "engine/wire/packet.h"

namespace tcpemu {

inline constexpr uint32_t kInterfaceMinMtu = 576;
inline constexpr uint32_t kInterfaceMaxMtu = 9000;

struct InterfaceSpec {
  uint32_t address = 0;  // host byte order
  uint8_t prefix_len = 24;
  MacAddress mac = kZeroMac;
  uint32_t mtu = 1500;   // IPv4 packet bytes, [576, 9000]
  uint32_t gateway = 0;  // 0: only on-link hosts are reachable
};

// Checks ranges and consistency; errors name the field.
absl::Status ValidateInterfaceSpec(const InterfaceSpec& spec);

struct InterfaceCounters {
  uint64_t frames_received = 0;
  uint64_t bytes_received = 0;
  uint64_t frames_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t arp_requests_answered = 0;
  uint64_t arp_requests_sent = 0;
  uint64_t arp_replies_received = 0;
  uint64_t icmp_echo_answered = 0;
  uint64_t dropped_malformed = 0;
  uint64_t dropped_not_for_us = 0;
  uint64_t dropped_fragment = 0;
  uint64_t dropped_too_big = 0;
  uint64_t dropped_unsupported = 0;
  uint64_t dropped_arp_unresolved = 0;
  uint64_t dropped_device = 0;
  uint64_t rst_no_connection = 0;
  uint64_t syn_dropped_backlog = 0;
  uint64_t syn_cookies_sent = 0;
  uint64_t syn_cookies_accepted = 0;
};

// Where frames leave: the bytes of a frame are `head` followed by `payload`.
// Returns false if the device refused the frame (counted as dropped_device).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual bool SendFrame(absl::Span<const uint8_t> head,
                         const Payload& payload) = 0;
};

class Interface {
 public:
  // `out` must outlive the interface.
  Interface(const InterfaceSpec& spec, FrameSink* out);
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  // A frame read from the device at `now`. ARP and ICMP echo requests are
  // answered here; an IPv4/TCP packet for this interface is returned for the
  // stack (its checksum is not checked here). Everything else is counted and
  // dropped.
  std::optional<Packet> OnFrame(TimeNs now, absl::Span<const uint8_t> frame);

  // Sends an IPv4 packet from the stack to its next hop, resolving it first
  // if needed (the packet then waits in the ARP cache).
  void Send(TimeNs now, Packet p);

  // ARP queues that time out.
  TimeNs NextDeadline() const { return arp_.NextDeadline(); }
  void OnTimer(TimeNs now);

  // True if `addr` is on this interface's subnet.
  bool OnLink(uint32_t addr) const;
  // True if the stack can send to `addr` (on-link or through the gateway).
  bool Reachable(uint32_t addr) const {
    return OnLink(addr) || spec_.gateway != 0;
  }

  const InterfaceSpec& spec() const { return spec_; }
  InterfaceCounters& counters() { return counters_; }
  const InterfaceCounters& counters() const { return counters_; }

 private:
  void OnArp(TimeNs now, absl::Span<const uint8_t> body);
  void OnIcmp(absl::Span<const uint8_t> packet, const MacAddress& src_mac);
  void SendTo(const MacAddress& dst, Packet& p);
  void Emit(absl::Span<const uint8_t> head, const Payload& payload);

  InterfaceSpec spec_;
  uint32_t netmask_;
  FrameSink* out_;
  ArpCache arp_;
  InterfaceCounters counters_;
};

}  // namespace tcpemu
