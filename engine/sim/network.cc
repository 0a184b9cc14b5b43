// Network: the links and sessions of one clock domain, over its scheduler
// (scheduler.h), demultiplexers (demux.h), listeners (listeners.h) and
// application models (application.h); see network.h.
#include "engine/sim/network.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/sim/pattern.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"

namespace tcpemu {
namespace {

Endpoint Other(Endpoint e) {
  return e == Endpoint::kClient ? Endpoint::kServer : Endpoint::kClient;
}

int Index(Endpoint e) { return static_cast<int>(e); }
int Index(Direction d) { return static_cast<int>(d); }

absl::Status WithPrefix(absl::string_view prefix, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(prefix, s.message()));
}

}  // namespace

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

namespace {

// A secret from the network's seeded RNG, so that runs with the same seed
// choose the same ISNs and cookies.
std::array<uint8_t, 16> DrawSecret(Rng& rng) {
  std::array<uint8_t, 16> secret;
  for (size_t i = 0; i < secret.size(); i += 8) {
    uint64_t v = rng.Next();
    for (size_t j = 0; j < 8; ++j)
      secret[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return secret;
}

}  // namespace

Network::Network(uint64_t seed, EventSink* sink)
    : Network(seed, sink, Limits()) {}

Network::Network(uint64_t seed, EventSink* sink, const Limits& limits)
    : seed_(seed),
      sink_(sink),
      limits_(limits),
      rng_(seed),
      secret_(DrawSecret(rng_)),
      isn_(secret_),
      cookies_(secret_) {}

Network::~Network() = default;

// ---------------------------------------------------------------- links

void Network::LinkEvents::OnEvent(const Event& e) {
  if (e.session_id != 0) {
    const Session* s = net_->FindSession(e.session_id);
    if (s != nullptr && !s->destroyed) {
      Event named = e;
      // On an interface only the engine's endpoint stamps its packets.
      if (link_->iface != nullptr) named.endpoint = s->local;
      net_->Emit(named);
      return;
    }
  }
  Event named = e;
  named.session_id = 0;
  if (link_->iface != nullptr) {
    // Egress events come from the engine's endpoint (the path's "client"
    // side), ingress events from the host.
    const bool egress = e.endpoint == Endpoint::kClient;
    uint32_t sid =
        egress ? link_->demux.FindByPorts(e.seg.src_port, e.seg.dst_port)
               : link_->demux.FindByPorts(e.seg.dst_port, e.seg.src_port);
    if (sid != 0) {
      named.session_id = sid;
      if (const Session* s = net_->FindSession(sid); s != nullptr) {
        named.endpoint = egress ? s->local : Other(s->local);
      }
    }
    net_->Emit(named);
    return;
  }
  // Packets from the client side travel forward and are demultiplexed at
  // the server side, keyed by (local, remote) port of the receiver.
  Direction d = e.endpoint == Endpoint::kClient ? Direction::kForward
                                                : Direction::kReverse;
  uint32_t sender =
      d == Direction::kForward ? link_->client_addr : link_->server_addr;
  named.session_id =
      link_->demux.Find(d, e.seg.dst_port, e.seg.src_port, sender);
  net_->Emit(named);
}

absl::StatusOr<uint32_t> Network::CreateLink(const PathSpec& forward,
                                             const PathSpec& reverse,
                                             uint32_t id) {
  if (absl::Status s = ValidatePathSpec(forward); !s.ok()) {
    return WithPrefix("forward.", s);
  }
  if (absl::Status s = ValidatePathSpec(reverse); !s.ok()) {
    return WithPrefix("reverse.", s);
  }
  if (links_.size() >= limits_.max_links) {
    return absl::ResourceExhaustedError(
        absl::StrCat("link limit reached (", limits_.max_links, ")"));
  }
  if (id != 0 && links_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrCat("link ", id, " exists"));
  }
  auto l = std::make_unique<Link>(&cookies_);
  l->id = id != 0 ? id : next_link_id_++;
  // Each link gets its own /24 in 10.0.0.0/8 so that traces tell links
  // apart. Addresses (and so ISNs) follow the order of creation within this
  // network, not the ids, so that two networks with the same seed and the
  // same calls behave alike even when the caller numbers them differently.
  uint32_t ordinal = ++links_created_;
  uint32_t net = (10u << 24) | ((ordinal & 0xffff) << 8);
  l->client_addr = net | 1;
  l->server_addr = net | 2;
  uint64_t base = rng_.Next();
  EventSink* path_sink = nullptr;
  if (sink_ != nullptr) {
    l->events = std::make_unique<LinkEvents>(this, l.get());
    path_sink = l->events.get();
  }
  l->path[0] = std::make_unique<Path>(forward, base ^ 0x1, l->id,
                                      Endpoint::kClient, path_sink);
  l->path[1] = std::make_unique<Path>(reverse, base ^ 0x2, l->id,
                                      Endpoint::kServer, path_sink);
  uint32_t new_id = l->id;
  links_.emplace(new_id, std::move(l));
  return new_id;
}

std::vector<uint32_t> Network::link_ids() const {
  std::vector<uint32_t> ids;
  ids.reserve(links_.size());
  for (const auto& [id, l] : links_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint32_t Network::link_session_count(uint32_t link_id) const {
  auto it = links_.find(link_id);
  return it == links_.end() ? 0 : it->second->sessions;
}

void Network::ForEachSession(
    absl::FunctionRef<void(uint32_t, uint32_t, bool)> fn) const {
  for (const auto& [id, s] : sessions_) fn(id, s->link_id, s->destroyed);
}

Network::Link* Network::FindLink(uint32_t link_id) const {
  auto it = links_.find(link_id);
  return it == links_.end() ? nullptr : it->second.get();
}

Network::Session* Network::FindSession(uint32_t session_id) const {
  auto it = sessions_.find(session_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

absl::Status Network::UpdateLink(uint32_t link_id, const PathSpec& forward,
                                 const PathSpec& reverse) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  if (absl::Status s = ValidatePathSpec(forward); !s.ok()) {
    return WithPrefix("forward.", s);
  }
  if (absl::Status s = ValidatePathSpec(reverse); !s.ok()) {
    return WithPrefix("reverse.", s);
  }
  absl::Status s = l->path[0]->Update(forward);
  s.Update(l->path[1]->Update(reverse));
  return s;
}

absl::Status Network::DeleteLink(uint32_t link_id) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  if (l->iface != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "link ", link_id, " is an interface; delete it with DeleteInterface"));
  }
  if (l->sessions > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("link ", link_id, " carries ", l->sessions,
                     " live session(s); delete them first"));
  }
  links_.erase(link_id);
  return absl::OkStatus();
}

const Path* Network::path(uint32_t link_id, Direction d) const {
  auto it = links_.find(link_id);
  return it == links_.end() ? nullptr : it->second->path[Index(d)].get();
}

absl::StatusOr<uint32_t> Network::AddFault(uint32_t link_id, Direction d,
                                           const FaultRule& rule) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  return l->path[Index(d)]->AddFault(rule, now());
}

absl::Status Network::RemoveFault(uint32_t link_id, Direction d,
                                  uint32_t rule_id) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  return l->path[Index(d)]->RemoveFault(rule_id);
}

absl::Status Network::ClearFaults(uint32_t link_id) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  l->path[0]->ClearFaults();
  l->path[1]->ClearFaults();
  return absl::OkStatus();
}

// ---------------------------------------------------------------- interfaces

absl::StatusOr<uint32_t> Network::CreateInterface(const InterfaceSpec& spec,
                                                  const PathSpec& egress,
                                                  const PathSpec& ingress,
                                                  FrameSink* out, uint32_t id) {
  if (absl::Status s = ValidateInterfaceSpec(spec); !s.ok()) return s;
  if (absl::Status s = ValidatePathSpec(egress); !s.ok()) {
    return WithPrefix("egress.", s);
  }
  if (absl::Status s = ValidatePathSpec(ingress); !s.ok()) {
    return WithPrefix("ingress.", s);
  }
  absl::StatusOr<uint32_t> link_id = CreateLink(egress, ingress, id);
  if (!link_id.ok()) return link_id.status();
  Link& l = *FindLink(*link_id);
  l.iface = std::make_unique<Interface>(spec, out);
  l.client_addr = spec.address;
  l.server_addr = 0;
  return *link_id;
}

absl::Status Network::DeleteInterface(uint32_t link_id) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface ", link_id, " not found"));
  }
  l->listeners.Clear();
  for (uint32_t sid : l->demux.Sessions(Direction::kReverse)) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end() || it->second->destroyed) continue;
    Session& s = *it->second;
    s.ep[Index(s.local)].conn->Abort(now());
    MaybeDestroy(s);
  }
  // RSTs that need no delay leave before the device goes.
  DeliverPackets(*l, Direction::kForward);
  links_.erase(link_id);
  return absl::OkStatus();
}

const Interface* Network::interface(uint32_t link_id) const {
  auto it = links_.find(link_id);
  return it == links_.end() ? nullptr : it->second->iface.get();
}

absl::Status Network::OnFrame(uint32_t link_id,
                              absl::Span<const uint8_t> frame) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface ", link_id, " not found"));
  }
  std::optional<Packet> p = l->iface->OnFrame(now(), frame);
  if (p.has_value()) {
    l->path[Index(Direction::kReverse)]->Send(now(), *std::move(p));
    SchedulePath(*l, Direction::kReverse);
  }
  // ARP answers may have released queued packets.
  SchedulePath(*l, Direction::kForward);
  return absl::OkStatus();
}

void Network::EndReceiveBatch() {
  batching_ = false;
  std::vector<std::pair<uint32_t, Endpoint>> touched;
  touched.swap(batched_);
  for (const auto& [sid, e] : touched) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end() || it->second->destroyed) continue;
    Session& s = *it->second;
    Connection* c = s.ep[Index(e)].conn.get();
    if (c == nullptr) continue;
    c->SetAckDeferral(false);
    if (!c->ack_deferred()) continue;
    c->FlushDeferredAck(now());
    AfterActivity(s, e);
  }
}

absl::Status Network::Listen(uint32_t link_id, const ListenSpec& spec) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface_id ", link_id, " not found"));
  }
  return l->listeners.Listen(spec, l->iface->spec().mtu, link_id);
}

absl::Status Network::Unlisten(uint32_t link_id, uint16_t port) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface_id ", link_id, " not found"));
  }
  return l->listeners.Unlisten(port, link_id);
}

std::vector<ListenerInfo> Network::listeners(uint32_t link_id) const {
  const Link* l = FindLink(link_id);
  return l == nullptr ? std::vector<ListenerInfo>() : l->listeners.Infos();
}

// ---------------------------------------------------------------- sessions

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

// ---------------------------------------------------------------- app calls

absl::StatusOr<Network::Session*> Network::FindLive(uint32_t session_id,
                                                    Endpoint e) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("session ", session_id, " not found"));
  }
  if (it->second->destroyed) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", session_id, " is closed"));
  }
  const Session& s = *it->second;
  if (s.remote && e != s.local) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint: session ", session_id,
                     " is with a real host; the engine's endpoint is ",
                     s.local == Endpoint::kClient ? "CLIENT" : "SERVER"));
  }
  return it->second.get();
}

absl::Status Network::CheckEndpoint(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  return s.status();
}

absl::StatusOr<size_t> Network::Write(uint32_t session_id, Endpoint e,
                                      absl::Span<const uint8_t> data,
                                      bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  absl::StatusOr<size_t> n = slot.app->Write(*slot.conn, now(), data, push);
  AfterActivity(**s, e);
  return n;
}

absl::StatusOr<size_t> Network::WriteGenerated(uint32_t session_id, Endpoint e,
                                               size_t n, bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  absl::StatusOr<size_t> done =
      slot.app->WriteGenerated(*slot.conn, now(), n, push);
  AfterActivity(**s, e);
  return done;
}

absl::Status Network::SetSource(uint32_t session_id, Endpoint e, uint64_t total,
                                bool close_when_done) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  (*s)->ep[Index(e)].app->SetSource(total, close_when_done);
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::StatusOr<size_t> Network::Read(uint32_t session_id, Endpoint e,
                                     absl::Span<uint8_t> out) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  size_t done = slot.app->Read(*slot.conn, now(), out);
  AfterActivity(**s, e);
  return done;
}

absl::Status Network::SetReader(uint32_t session_id, Endpoint e,
                                const ReaderSpec& reader) {
  if (absl::Status st = ValidateReaderSpec(reader); !st.ok()) return st;
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  Application& app = *(*s)->ep[Index(e)].app;
  app.set_reader(reader);
  if (app.reader_due() == kNever) ArmReader(**s, e, /*reset_tokens=*/true);
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::Status Network::Close(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  absl::Status st = (*s)->ep[Index(e)].conn->Close(now());
  AfterActivity(**s, e);
  return st;
}

absl::Status Network::Abort(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  (*s)->ep[Index(e)].conn->Abort(now());
  AfterActivity(**s, e);
  return absl::OkStatus();
}

void Network::AfterActivity(Session& s, Endpoint e) {
  if (s.destroyed) return;
  EndpointSlot& slot = s.ep[Index(e)];
  slot.app->OnActivity(*slot.conn, now());
  if (s.in_backlog) NoteBacklog(s);
  ScheduleConnection(s, e);
  if (observer_) observer_(s.id, e);
  MaybeDestroy(s);
}

// ---------------------------------------------------------------- packets

void Network::Transmit(uint32_t link_id, Direction d, uint32_t src,
                       uint32_t dst, const TcpHeader& h, const Payload& payload,
                       uint32_t session_id, Endpoint e) {
  Link* l = FindLink(link_id);
  if (l == nullptr) return;
  Ipv4Header ip;
  ip.src = src;
  ip.dst = dst;
  ip.id = l->ip_id[Index(d)]++;
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, h, payload);
  if (!p.ok()) return;  // headers built by the engine always encode
  p->session_id = session_id;
  if (packets_ != nullptr && session_id != 0) {
    packets_->OnPacket(now(), link_id, session_id, e, true, *p);
  }
  l->path[Index(d)]->Send(now(), *std::move(p));
  SchedulePath(*l, d);
}

void Network::DeliverPackets(Link& l, Direction d) {
  if (l.iface != nullptr && d == Direction::kForward) {
    l.path[Index(d)]->Poll(
        now(), [&](TimeNs, Packet&& p) { l.iface->Send(now(), std::move(p)); });
    return;
  }
  l.path[Index(d)]->Poll(
      now(), [&](TimeNs, Packet&& p) { DeliverOne(l, d, std::move(p)); });
}

void Network::DeliverOne(Link& l, Direction d, Packet&& p) {
  absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
  Endpoint receiver =
      d == Direction::kForward ? Endpoint::kServer : Endpoint::kClient;
  if (!parsed.ok()) {
    // A corrupted IPv4 header: the packet cannot be attributed.
    ++l.malformed;
    Event ev;
    ev.time = now();
    ev.kind = EventKind::kSegmentReceived;
    ev.endpoint = receiver;
    ev.link_id = l.id;
    ev.disposition = Disposition::kMalformed;
    Emit(ev);
    return;
  }
  const TcpHeader& h = parsed->tcp;
  uint32_t len = static_cast<uint32_t>(parsed->payload.size());
  if (uint32_t sid = l.demux.Find(d, h.dst_port, h.src_port, parsed->ip.src);
      sid != 0) {
    Session* found = FindSession(sid);
    if (found != nullptr && !found->destroyed) {
      Session& s = *found;
      if (s.remote) receiver = s.local;
      Connection& c = *s.ep[Index(receiver)].conn;
      if (packets_ != nullptr)
        packets_->OnPacket(now(), l.id, s.id, receiver, false, p);
      if (!parsed->checksum_ok) {
        c.OnBadChecksum(now(), h, len);
        return;
      }
      if (batching_ && s.remote) {
        c.SetAckDeferral(true);
        batched_.emplace_back(s.id, receiver);
      }
      c.OnSegment(now(), h, parsed->payload);
      AfterActivity(s, receiver);
      return;
    }
  }
  if (l.iface != nullptr && parsed->checksum_ok &&
      parsed->ip.dst == l.iface->spec().address) {
    Listener* listener = l.listeners.Find(h.dst_port);
    if (listener != nullptr && ToListener(l, *listener, *parsed)) return;
  }
  Event ev;
  ev.time = now();
  ev.kind = EventKind::kSegmentReceived;
  ev.endpoint = receiver;
  ev.link_id = l.id;
  ev.disposition = parsed->checksum_ok ? Disposition::kNoConnection
                                       : Disposition::kBadChecksum;
  ev.seg.seq = h.seq.value();
  ev.seg.ack = h.ack.value();
  ev.seg.src_port = h.src_port;
  ev.seg.dst_port = h.dst_port;
  ev.seg.flags = h.flags;
  ev.seg.len = len;
  ev.seg.window = h.window;
  Emit(ev);
  if (!parsed->checksum_ok) return;
  // Nothing listens here: answer with RST (RFC 9293 3.10.7.1).
  if (std::optional<TcpHeader> rst = ResetForUnmatched(h, len)) {
    if (l.iface != nullptr) ++l.iface->counters().rst_no_connection;
    Transmit(l.id, Opposite(d), parsed->ip.dst, parsed->ip.src, *rst,
             Payload());
  }
}

// ---------------------------------------------------------------- scheduler

void Network::ScheduleConnection(Session& s, Endpoint e) {
  EndpointSlot& slot = s.ep[Index(e)];
  if (!slot.conn) return;
  TimeNs d = slot.conn->NextDeadline();
  // Only an earlier deadline needs a new entry; a later one is found when
  // the current entry fires (lazy rescheduling keeps the queue short).
  if (d < slot.scheduled_at) {
    slot.scheduled_at = d;
    Push(d, Target::kConnection, s.id, Index(e));
  }
}

void Network::SchedulePath(Link& l, Direction d) {
  TimeNs t = l.path[Index(d)]->NextDeadline();
  if (l.iface != nullptr && d == Direction::kForward) {
    t = std::min(t, l.iface->NextDeadline());
  }
  if (t < l.scheduled_at[Index(d)]) {
    l.scheduled_at[Index(d)] = t;
    Push(t, Target::kPath, l.id, Index(d));
  }
}

bool Network::IsLive(const ScheduledEntry& e) const {
  switch (static_cast<Target>(e.target)) {
    case Target::kPath: {
      const Link* l = FindLink(e.id);
      return l != nullptr && l->scheduled_at[e.sub] == e.time;
    }
    case Target::kConnection:
    case Target::kReader: {
      const Session* s = FindSession(e.id);
      if (s == nullptr || s->destroyed) return false;
      const EndpointSlot& slot = s->ep[e.sub];
      return (static_cast<Target>(e.target) == Target::kConnection
                  ? slot.scheduled_at
                  : slot.app->reader_due()) == e.time;
    }
  }
  return false;
}

void Network::Dispatch(const ScheduledEntry& e) {
  switch (static_cast<Target>(e.target)) {
    case Target::kPath: {
      Link* l = FindLink(e.id);
      if (l == nullptr || l->scheduled_at[e.sub] != e.time) return;
      l->scheduled_at[e.sub] = kNever;
      Direction d = static_cast<Direction>(e.sub);
      DeliverPackets(*l, d);
      if (l->iface != nullptr && d == Direction::kForward) {
        l->iface->OnTimer(now());
      }
      SchedulePath(*l, d);
      return;
    }
    case Target::kConnection: {
      Session* s = FindSession(e.id);
      if (s == nullptr || s->destroyed) return;
      EndpointSlot& slot = s->ep[e.sub];
      if (slot.scheduled_at != e.time) return;
      slot.scheduled_at = kNever;
      if (slot.conn->NextDeadline() <= now()) slot.conn->OnTimer(now());
      AfterActivity(*s, static_cast<Endpoint>(e.sub));
      return;
    }
    case Target::kReader: {
      Session* s = FindSession(e.id);
      if (s == nullptr || s->destroyed) return;
      EndpointSlot& slot = s->ep[e.sub];
      if (slot.app->reader_due() != e.time) return;
      TimeNs next = slot.app->Tick(*slot.conn, now());
      if (next == kNever) return;
      Push(next, Target::kReader, s->id, e.sub);
      AfterActivity(*s, static_cast<Endpoint>(e.sub));
      return;
    }
  }
}

}  // namespace tcpemu
