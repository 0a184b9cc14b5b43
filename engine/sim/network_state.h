// The state a Network keeps for each link and session, shared by the files
// that implement it (network.cc, session_lifecycle.cc). Not for other users.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/sim/network.h"

namespace tcpemu {
namespace network_internal {

inline Endpoint Other(Endpoint e) {
  return e == Endpoint::kClient ? Endpoint::kServer : Endpoint::kClient;
}

inline int Index(Endpoint e) { return static_cast<int>(e); }
inline int Index(Direction d) { return static_cast<int>(d); }

inline absl::Status WithPrefix(absl::string_view prefix,
                               const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

}  // namespace network_internal

class Network::Output final : public SegmentOutput {
 public:
  Output(Network* net, uint32_t link_id, Direction dir, uint32_t src,
         uint32_t dst, uint32_t session_id, Endpoint e)
      : net_(net),
        link_id_(link_id),
        dir_(dir),
        src_(src),
        dst_(dst),
        session_id_(session_id),
        endpoint_(e) {}
  void Transmit(TimeNs now, const TcpHeader& h,
                const Payload& payload) override {
    net_->Transmit(link_id_, dir_, src_, dst_, h, payload, session_id_,
                   endpoint_);
  }
  void TransmitEcn(TimeNs now, const TcpHeader& h, const Payload& payload,
                   Ecn ecn) override {
    net_->Transmit(link_id_, dir_, src_, dst_, h, payload, session_id_,
                   endpoint_, ecn);
  }

 private:
  Network* net_;
  uint32_t link_id_;
  Direction dir_;
  uint32_t src_, dst_;
  uint32_t session_id_;
  Endpoint endpoint_;
};

struct Network::EndpointSlot {
  std::unique_ptr<Output> output;
  std::unique_ptr<Connection> conn;
  std::unique_ptr<Application> app;
  TimeNs scheduled_at = kNever;  // of the connection's timer entry
};

struct Network::Session {
  uint32_t id = 0;
  uint32_t link_id = 0;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  bool destroyed = false;
  TimeNs opened_at = 0;
  TimeNs destroyed_at = 0;
  // Sessions with a real host: only ep[local] holds a connection.
  bool remote = false;
  bool accepted = false;
  bool in_backlog = false;  // counted in its listener's pending
  Endpoint local = Endpoint::kClient;
  uint32_t local_addr = 0;
  uint32_t remote_addr = 0;
  uint16_t remote_port = 0;
  EndpointSlot ep[2];
};

// Names the session of a link event (a drop or a mangle), so that session
// filters and histories include them: the session the packet carries while
// it lives, else (a packet a host sent, or one whose session has gone) the
// one its ports lead to.
class Network::LinkEvents final : public EventSink {
 public:
  LinkEvents(Network* net, Link* link) : net_(net), link_(link) {}
  void OnEvent(const Event& e) override;

 private:
  Network* net_;
  Link* link_;
};

struct Network::Link {
  explicit Link(const SynCookies* cookies) : listeners(cookies) {}
  uint32_t id = 0;
  std::unique_ptr<LinkEvents> events;
  std::unique_ptr<Path> path[2];
  TimeNs scheduled_at[2] = {kNever, kNever};
  uint32_t client_addr = 0;
  uint32_t server_addr = 0;
  uint16_t ip_id[2] = {0, 0};
  uint32_t sessions = 0;
  uint64_t malformed = 0;
  SessionDemux demux;
  // Interfaces only.
  std::unique_ptr<Interface> iface;
  Listeners listeners;
};

}  // namespace tcpemu
