// The listening ports of one interface: passive opens by hosts. Holds each
// listener's spec and counters, answers SYNs over the backlog with SYN cookies
// (stateless SYN-ACKs) and checks the ACKs that return them. The network
// makes the sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "engine/base/event.h"
#include "engine/base/time.h"
#include "engine/sim/application.h"
#include "engine/tcp/syn_cookie.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/packet.h"

namespace tcpemu {

// A passive open on an interface: every SYN to `port` from a host makes a
// new session whose server endpoint is the engine's.
struct ListenSpec {
  uint16_t port = 0;
  TcpConfig config;  // config.mtu 0: the interface's MTU
  ReaderSpec reader;
  bool digest = true;
  uint32_t backlog = 128;  // sessions in SYN-RECEIVED at once, [1, 65535]
};

struct ListenerInfo {
  uint16_t port = 0;
  uint64_t accepted = 0;
  uint64_t syn_dropped_backlog = 0;   // no session could be made
  uint64_t syn_cookies_sent = 0;      // SYNs over the backlog, answered
  uint64_t syn_cookies_accepted = 0;  // connections made from a cookie
  uint32_t pending = 0;               // in SYN-RECEIVED now
};

struct Listener {
  ListenSpec spec;  // config.mtu resolved against the interface
  ListenerInfo info;
  bool backlog_full() const { return info.pending >= spec.backlog; }
};

// A stateless SYN-ACK and the two events that record it.
struct CookieAnswer {
  TcpHeader reply;
  Event received;  // the SYN, disposition kSynCookie
  Event sent;      // the SYN-ACK, send_reason kSynCookie
};

// The handshake values an ACK carrying a valid cookie restores.
struct CookieAck {
  Seq iss;
  Seq irs;
  uint16_t mss = 0;
};

class Listeners {
 public:
  // `cookies` keys the SYN cookies; it must outlive this.
  explicit Listeners(const SynCookies* cookies) : cookies_(cookies) {}

  // Checks `spec` (config.mtu 0 or above `if_mtu` becomes `if_mtu`) and
  // listens; errors name the field. `link_id` names the interface in them.
  absl::Status Listen(const ListenSpec& spec, uint32_t if_mtu,
                      uint32_t link_id);
  absl::Status Unlisten(uint16_t port, uint32_t link_id);
  void Clear() { by_port_.clear(); }
  bool contains(uint16_t port) const { return by_port_.contains(port); }
  Listener* Find(uint16_t port);
  // By port.
  std::vector<ListenerInfo> Infos() const;
  // A session of port `port` left SYN-RECEIVED.
  void ReleasePending(uint16_t port);

  // Answers `syn` (a SYN to `listener` from a host) with a SYN cookie; `now`
  // and `link_id` stamp the events. Counts it.
  CookieAnswer AnswerWithCookie(TimeNs now, uint32_t link_id,
                                Listener& listener,
                                const ParsedTcpPacket& syn) const;
  // The handshake an ACK completes if it returns one of our cookies.
  std::optional<CookieAck> CheckCookie(TimeNs now,
                                       const ParsedTcpPacket& ack) const;

 private:
  const SynCookies* cookies_;
  absl::flat_hash_map<uint16_t, std::unique_ptr<Listener>> by_port_;
};

}  // namespace tcpemu
