// Network: opening, accepting and destroying sessions, and what a session
// reports; see network.h.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/sim/network_state.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"

namespace tcpemu {

using network_internal::Index;
using network_internal::WithPrefix;

void Network::AddEndpoint(Link& l, Session& s, Endpoint e, const FourTuple& t,
                          const TcpConfig& config, const ReaderSpec& reader,
                          bool digest, uint64_t ordinal) {
  EndpointSlot& slot = s.ep[Index(e)];
  // On an interface every endpoint sends on the egress (forward) path and
  // receives from the ingress (reverse) one.
  Direction out = (l.iface != nullptr || e == Endpoint::kClient)
                      ? Direction::kForward
                      : Direction::kReverse;
  slot.output = std::make_unique<Output>(this, l.id, out, t.local_addr,
                                         t.remote_addr, s.id, e);
  Connection::Context ctx;
  ctx.session_id = s.id;
  ctx.link_id = l.id;
  ctx.endpoint = e;
  ctx.events = sink_;
  ctx.output = slot.output.get();
  Seq iss = isn_.Generate(now(), t.local_addr, t.local_port, t.remote_addr,
                          t.remote_port);
  slot.conn = std::make_unique<Connection>(config, t, iss, ctx);
  slot.app = std::make_unique<Application>(
      reader,
      seed_ ^ ((uint64_t{ordinal} << 1 | Index(e)) * 0x9e3779b97f4a7c15ULL),
      digest);
  l.demux.Add(Opposite(out), t, s.id, /*by_ports=*/l.iface != nullptr);
}

absl::StatusOr<uint32_t> Network::OpenRemoteSession(Link& l,
                                                    const SessionSpec& spec) {
  const RemoteSpec& r = *spec.remote;
  if (r.port == 0) {
    return absl::InvalidArgumentError("remote.port 0 out of range [1, 65535]");
  }
  if (r.address == l.iface->spec().address || !l.iface->Reachable(r.address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remote.address ", Ipv4ToString(r.address),
        " is not reachable from interface ", l.id,
        l.iface->spec().gateway == 0 ? " (no gateway; on-link hosts only)"
                                     : ""));
  }
  TcpConfig config = spec.client;
  // 0: the interface's MTU; never more than it.
  const uint32_t if_mtu = l.iface->spec().mtu;
  config.mtu = config.mtu == 0 ? if_mtu : std::min(config.mtu, if_mtu);
  if (absl::Status s = config.Validate(); !s.ok()) {
    return WithPrefix("client.", s);
  }
  if (absl::Status s = ValidateReaderSpec(spec.client_reader); !s.ok()) {
    return s;
  }
  if (live_sessions_ >= limits_.max_sessions) {
    return absl::ResourceExhaustedError(
        absl::StrCat("session limit reached (", limits_.max_sessions, ")"));
  }
  auto taken = [&](uint16_t p) {
    return l.demux.Find(Direction::kReverse, p, r.port, r.address) != 0 ||
           l.listeners.contains(p) || l.demux.HasPorts(p, r.port);
  };
  uint16_t local_port = spec.client_port;
  if (local_port == 0) {
    local_port = l.demux.NextFreePort(taken).value_or(0);
    if (local_port == 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no free local port on interface ", l.id, " towards ",
                       Ipv4ToString(r.address), ":", r.port));
    }
  } else if (taken(local_port)) {
    return absl::AlreadyExistsError(
        absl::StrCat("client_port ", local_port, " is in use on interface ",
                     l.id, " towards ", Ipv4ToString(r.address), ":", r.port));
  }
  if (spec.id != 0 && sessions_.contains(spec.id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("session ", spec.id, " exists"));
  }
  const uint64_t ordinal = ++sessions_created_;
  auto s = std::make_unique<Session>();
  s->id = spec.id != 0 ? spec.id : next_session_id_++;
  s->link_id = l.id;
  s->client_port = local_port;
  s->server_port = r.port;
  s->opened_at = now();
  s->remote = true;
  s->local = Endpoint::kClient;
  s->local_addr = l.iface->spec().address;
  s->remote_addr = r.address;
  s->remote_port = r.port;
  FourTuple t{s->local_addr, local_port, r.address, r.port};
  AddEndpoint(l, *s, Endpoint::kClient, t, config, spec.client_reader,
              spec.digest, ordinal);
  ++l.sessions;
  ++live_sessions_;
  uint32_t id = s->id;
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  (void)ref.ep[0].conn->Connect(now());
  ArmReader(ref, Endpoint::kClient, /*reset_tokens=*/false);
  AfterActivity(ref, Endpoint::kClient);
  return id;
}

bool Network::ToListener(Link& l, Listener& listener,
                         const ParsedTcpPacket& p) {
  constexpr uint8_t kSynAckRst =
      tcp_flags::kSyn | tcp_flags::kAck | tcp_flags::kRst;
  const uint8_t flags = p.tcp.flags & kSynAckRst;
  if (flags == tcp_flags::kSyn && listener.backlog_full()) {
    // The backlog is full (a SYN flood, or a slow peer population): answer
    // statelessly with a SYN cookie so that real clients still connect.
    CookieAnswer a = l.listeners.AnswerWithCookie(now(), l.id, listener, p);
    ++l.iface->counters().syn_cookies_sent;
    Emit(a.received);
    Emit(a.sent);
    Transmit(l.id, Direction::kForward, p.ip.dst, p.ip.src, a.reply, Payload());
    return true;
  }
  if (flags == tcp_flags::kSyn) {
    Session* s = CreateAccepted(l, listener, p);
    if (s == nullptr) return true;
    s->in_backlog = true;
    ++listener.info.pending;
    Connection& c = *s->ep[Index(Endpoint::kServer)].conn;
    (void)c.Listen(now());
    c.OnSegment(now(), p.tcp, p.payload);
    StartAccepted(*s);
    return true;
  }
  if (flags != tcp_flags::kAck) return false;
  // The ACK that completes a handshake answered with a SYN cookie.
  std::optional<CookieAck> cookie = l.listeners.CheckCookie(now(), p);
  if (!cookie.has_value()) return false;
  Session* s = CreateAccepted(l, listener, p);
  if (s == nullptr) return true;  // counted: the ACK was a valid cookie
  ++listener.info.syn_cookies_accepted;
  ++l.iface->counters().syn_cookies_accepted;
  const TcpConfig& config = listener.spec.config;
  Connection& c = *s->ep[Index(Endpoint::kServer)].conn;
  (void)c.AcceptCookie(
      now(), cookie->iss, cookie->irs, cookie->mss,
      static_cast<uint16_t>(std::min<uint32_t>(config.recv_buffer, 65535)));
  c.OnSegment(now(), p.tcp, p.payload);
  StartAccepted(*s);
  return true;
}

Network::Session* Network::CreateAccepted(Link& l, Listener& listener,
                                          const ParsedTcpPacket& p) {
  Interface& iface = *l.iface;
  if (live_sessions_ >= limits_.max_sessions) {
    ++listener.info.syn_dropped_backlog;
    ++iface.counters().syn_dropped_backlog;
    return nullptr;
  }
  uint32_t id = allocate_id_ ? allocate_id_() : next_session_id_++;
  if (id == 0 || sessions_.contains(id)) {
    ++listener.info.syn_dropped_backlog;
    ++iface.counters().syn_dropped_backlog;
    return nullptr;
  }
  const uint64_t ordinal = ++sessions_created_;
  auto s = std::make_unique<Session>();
  s->id = id;
  s->link_id = l.id;
  s->client_port = p.tcp.src_port;
  s->server_port = p.tcp.dst_port;
  s->opened_at = now();
  s->remote = true;
  s->accepted = true;
  s->local = Endpoint::kServer;
  s->local_addr = iface.spec().address;
  s->remote_addr = p.ip.src;
  s->remote_port = p.tcp.src_port;
  FourTuple t{s->local_addr, p.tcp.dst_port, p.ip.src, p.tcp.src_port};
  AddEndpoint(l, *s, Endpoint::kServer, t, listener.spec.config,
              listener.spec.reader, listener.spec.digest, ordinal);
  ++l.sessions;
  ++live_sessions_;
  ++listener.info.accepted;
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  Event ev;
  ev.time = now();
  ev.kind = EventKind::kSessionAccepted;
  ev.session_id = id;
  ev.link_id = l.id;
  ev.endpoint = Endpoint::kServer;
  ev.a = p.ip.src;
  ev.seg.seq = p.tcp.seq.value();
  ev.seg.src_port = p.tcp.src_port;
  ev.seg.dst_port = p.tcp.dst_port;
  ev.seg.flags = p.tcp.flags;
  Emit(ev);
  if (packets_ != nullptr) {
    // The segment that made the session, as the new endpoint received it.
    Ipv4Header ip = p.ip;
    absl::StatusOr<Packet> pkt = BuildTcpPacket(ip, p.tcp, p.payload);
    if (pkt.ok()) {
      packets_->OnPacket(now(), l.id, id, Endpoint::kServer, false, *pkt);
    }
  }
  return &ref;
}

void Network::StartAccepted(Session& s) {
  ArmReader(s, Endpoint::kServer, /*reset_tokens=*/false);
  AfterActivity(s, Endpoint::kServer);
}

void Network::ArmReader(Session& s, Endpoint e, bool reset_tokens) {
  Application& app = *s.ep[Index(e)].app;
  if (app.reader().mode != ReaderMode::kRate) return;
  Push(app.ArmReader(now(), reset_tokens), Target::kReader, s.id, Index(e));
}

void Network::NoteBacklog(Session& s) {
  if (!s.in_backlog) return;
  const Connection* c = s.ep[Index(s.local)].conn.get();
  if (c != nullptr && !s.destroyed &&
      (c->state() == TcpState::kSynReceived ||
       c->state() == TcpState::kListen)) {
    return;
  }
  s.in_backlog = false;
  if (Link* l = FindLink(s.link_id); l != nullptr) {
    l->listeners.ReleasePending(s.server_port);
  }
}

absl::StatusOr<uint32_t> Network::OpenSession(const SessionSpec& spec) {
  Link* l = FindLink(spec.link_id);
  if (l == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("link_id ", spec.link_id, " not found"));
  }
  if (spec.remote.has_value() != (l->iface != nullptr)) {
    return absl::InvalidArgumentError(
        spec.remote.has_value()
            ? absl::StrCat("remote.interface_id ", spec.link_id,
                           " is an emulated link, not an interface")
            : absl::StrCat("link_id ", spec.link_id,
                           " is an interface: open sessions on it with "
                           "remote"));
  }
  if (spec.remote.has_value()) return OpenRemoteSession(*l, spec);
  if (absl::Status s = spec.client.Validate(); !s.ok()) {
    return WithPrefix("client.", s);
  }
  if (absl::Status s = spec.server.Validate(); !s.ok()) {
    return WithPrefix("server.", s);
  }
  for (const ReaderSpec* r : {&spec.client_reader, &spec.server_reader}) {
    if (absl::Status s = ValidateReaderSpec(*r); !s.ok()) return s;
  }
  if (spec.server_port == 0) {
    return absl::InvalidArgumentError("server_port 0 out of range [1, 65535]");
  }
  if (live_sessions_ >= limits_.max_sessions) {
    return absl::ResourceExhaustedError(
        absl::StrCat("session limit reached (", limits_.max_sessions, ")"));
  }
  uint16_t client_port = spec.client_port;
  if (client_port == 0) {
    // Next free ephemeral port towards this server port.
    client_port =
        l->demux
            .NextFreePort([&](uint16_t p) {
              return l->demux.Find(Direction::kReverse, p, spec.server_port,
                                   l->server_addr) != 0;
            })
            .value_or(0);
    if (client_port == 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no free client port on link ", l->id,
                       " for server port ", spec.server_port));
    }
  }
  if (l->demux.Find(Direction::kReverse, client_port, spec.server_port,
                    l->server_addr) != 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a session with client_port ", client_port, " and server_port ",
        spec.server_port, " already exists on link ", l->id));
  }

  if (spec.id != 0 && sessions_.contains(spec.id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("session ", spec.id, " exists"));
  }
  const uint64_t ordinal = ++sessions_created_;
  auto s = std::make_unique<Session>();
  s->id = spec.id != 0 ? spec.id : next_session_id_++;
  s->link_id = l->id;
  s->client_port = client_port;
  s->server_port = spec.server_port;
  s->opened_at = now();
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    bool client = e == Endpoint::kClient;
    FourTuple t;
    t.local_addr = client ? l->client_addr : l->server_addr;
    t.remote_addr = client ? l->server_addr : l->client_addr;
    t.local_port = client ? client_port : spec.server_port;
    t.remote_port = client ? spec.server_port : client_port;
    AddEndpoint(*l, *s, e, t, client ? spec.client : spec.server,
                client ? spec.client_reader : spec.server_reader, spec.digest,
                ordinal);
  }
  ++l->sessions;
  ++live_sessions_;
  uint32_t id = s->id;
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  if (spec.server_listens) {
    (void)ref.ep[1].conn->Listen(now());
  }
  (void)ref.ep[0].conn->Connect(now());
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    ArmReader(ref, e, /*reset_tokens=*/false);
    AfterActivity(ref, e);
  }
  return id;
}

absl::Status Network::DeleteSession(uint32_t session_id) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("session ", session_id, " not found"));
  }
  Session& s = *it->second;
  if (!s.destroyed) {
    for (EndpointSlot& slot : s.ep) {
      if (slot.conn) slot.conn->Abort(now());
    }
    MaybeDestroy(s);
  }
  sessions_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<SessionInfo> Network::GetSession(uint32_t session_id) const {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("session ", session_id, " not found"));
  }
  const Session& s = *it->second;
  SessionInfo info;
  info.id = s.id;
  info.link_id = s.link_id;
  info.destroyed = s.destroyed;
  info.client_port = s.client_port;
  info.server_port = s.server_port;
  info.opened_at = s.opened_at;
  info.destroyed_at = s.destroyed_at;
  info.remote = s.remote;
  info.accepted = s.accepted;
  info.local = s.local;
  info.local_addr = s.local_addr;
  info.remote_addr = s.remote_addr;
  info.remote_port = s.remote_port;
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    const EndpointSlot& slot = s.ep[Index(e)];
    (e == Endpoint::kClient ? info.client : info.server) =
        slot.app ? slot.app->Stats(slot.conn.get()) : EndpointStats();
  }
  return info;
}

const Connection* Network::connection(uint32_t session_id, Endpoint e) const {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return nullptr;
  return it->second->ep[Index(e)].conn.get();
}

void Network::MaybeDestroy(Session& s) {
  if (s.destroyed) return;
  for (const EndpointSlot& slot : s.ep) {
    const Connection* c = slot.conn.get();
    if (c == nullptr) continue;  // the host's side of a remote session
    // A listener whose handshake was reset waits for no one.
    if (c->opened() && !c->finished() && c->state() != TcpState::kListen) {
      return;
    }
  }
  s.destroyed = true;
  s.destroyed_at = now();
  Link* l = FindLink(s.link_id);
  NoteBacklog(s);
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    EndpointSlot& slot = s.ep[Index(e)];
    if (!slot.conn) continue;
    slot.app->Finish(*slot.conn);
    Direction in = (s.remote || e == Endpoint::kClient) ? Direction::kReverse
                                                        : Direction::kForward;
    if (l != nullptr) l->demux.Remove(in, slot.conn->tuple(), s.remote);
  }
  if (l != nullptr) --l->sessions;
  --live_sessions_;
  Event ev;
  ev.time = now();
  ev.kind = EventKind::kSessionDestroyed;
  ev.session_id = s.id;
  ev.link_id = s.link_id;
  Emit(ev);
  // Freed here: every caller of MaybeDestroy is done with the connections.
  for (EndpointSlot& slot : s.ep) {
    slot.conn.reset();
    slot.output.reset();
  }
}

}  // namespace tcpemu
