// Network: links, sessions and the time-ordered scheduler of one clock
// domain; see network.h.
#include "engine/sim/network.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/sim/pattern.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"

namespace tcpemu {
namespace {

constexpr DurationNs kReaderTick = 10 * kMillisecond;
constexpr uint16_t kFirstEphemeralPort = 49152;

// Demultiplexing key of a receiving endpoint: its local port and the
// sender's port and address.
uint64_t DemuxKey(uint16_t local_port, uint16_t remote_port,
                  uint32_t remote_addr) {
  return (uint64_t{remote_addr} << 32) | (uint32_t{local_port} << 16) |
         remote_port;
}
uint32_t PortKey(uint16_t local_port, uint16_t remote_port) {
  return (uint32_t{local_port} << 16) | remote_port;
}

Endpoint Other(Endpoint e) {
  return e == Endpoint::kClient ? Endpoint::kServer : Endpoint::kClient;
}

Direction Opposite(Direction d) {
  return d == Direction::kForward ? Direction::kReverse : Direction::kForward;
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
  ReaderSpec reader;
  TimeNs scheduled_at = kNever;
  TimeNs reader_scheduled_at = kNever;
  TimeNs reader_last = 0;
  double reader_tokens = 0;
  uint64_t source_remaining = 0;
  bool source_close = false;
  uint64_t pattern_key = 0;
  std::unique_ptr<Sha256> write_hash;
  std::unique_ptr<Sha256> read_hash;
  EndpointStats stats;
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

struct Network::Listener {
  ListenSpec spec;
  ListenerInfo info;
};

// Names the session of a link event (a drop or a mangle) from the
// segment's ports, so that session filters and histories include them.
class Network::LinkEvents final : public EventSink {
 public:
  LinkEvents(Network* net, Link* link) : net_(net), link_(link) {}
  void OnEvent(const Event& e) override;

 private:
  Network* net_;
  Link* link_;
};

struct Network::Link {
  uint32_t id = 0;
  std::unique_ptr<LinkEvents> events;
  std::unique_ptr<Path> path[2];
  TimeNs scheduled_at[2] = {kNever, kNever};
  uint32_t client_addr = 0;
  uint32_t server_addr = 0;
  uint16_t next_port = kFirstEphemeralPort;
  uint16_t ip_id[2] = {0, 0};
  uint32_t sessions = 0;
  uint64_t malformed = 0;
  // Receiving side of each direction: forward arrivals reach servers,
  // reverse arrivals reach clients (on an interface, reverse arrivals reach
  // every session). Key: DemuxKey(local port, remote port, remote address).
  absl::flat_hash_map<uint64_t, uint32_t> demux[2];
  // Interfaces only.
  std::unique_ptr<Interface> iface;
  absl::flat_hash_map<uint16_t, std::unique_ptr<Listener>> listeners;
  // Sessions by PortKey(local, remote port), to name link events, which
  // carry no addresses.
  absl::flat_hash_map<uint32_t, uint32_t> by_ports;
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
    net_->Emit(e);
    return;
  }
  if (link_->iface != nullptr) {
    // Egress events come from the engine's endpoint (the path's "client"
    // side), ingress events from the host.
    const bool egress = e.endpoint == Endpoint::kClient;
    auto it =
        link_->by_ports.find(egress ? PortKey(e.seg.src_port, e.seg.dst_port)
                                    : PortKey(e.seg.dst_port, e.seg.src_port));
    if (it == link_->by_ports.end()) {
      net_->Emit(e);
      return;
    }
    auto sit = net_->sessions_.find(it->second);
    Event named = e;
    named.session_id = it->second;
    if (sit != net_->sessions_.end()) {
      named.endpoint = egress ? sit->second->local : Other(sit->second->local);
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
  auto it = link_->demux[Index(d)].find(
      DemuxKey(e.seg.dst_port, e.seg.src_port, sender));
  if (it == link_->demux[Index(d)].end()) {
    net_->Emit(e);
    return;
  }
  Event named = e;
  named.session_id = it->second;
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
  auto l = std::make_unique<Link>();
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

Network::Link* Network::FindLink(uint32_t link_id) {
  auto it = links_.find(link_id);
  return it == links_.end() ? nullptr : it->second.get();
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
  return l->path[Index(d)]->AddFault(rule, now_);
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
  l->listeners.clear();
  std::vector<uint32_t> live;
  for (const auto& [key, sid] : l->demux[Index(Direction::kReverse)]) {
    live.push_back(sid);
  }
  for (uint32_t sid : live) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end() || it->second->destroyed) continue;
    Session& s = *it->second;
    s.ep[Index(s.local)].conn->Abort(now_);
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
  std::optional<Packet> p = l->iface->OnFrame(now_, frame);
  if (p.has_value()) {
    l->path[Index(Direction::kReverse)]->Send(now_, *std::move(p));
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
    c->FlushDeferredAck(now_);
    AfterActivity(s, e);
  }
}

absl::Status Network::Listen(uint32_t link_id, const ListenSpec& spec) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface_id ", link_id, " not found"));
  }
  if (spec.port == 0) {
    return absl::InvalidArgumentError("port 0 out of range [1, 65535]");
  }
  if (spec.backlog < 1 || spec.backlog > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("backlog ", spec.backlog, " out of range [1, 65535]"));
  }
  ListenSpec checked = spec;
  const uint32_t if_mtu = l->iface->spec().mtu;
  checked.config.mtu =
      checked.config.mtu == 0 ? if_mtu : std::min(checked.config.mtu, if_mtu);
  if (absl::Status s = checked.config.Validate(); !s.ok()) {
    return WithPrefix("config.", s);
  }
  if (spec.reader.mode == ReaderMode::kRate &&
      spec.reader.rate_bytes_per_sec == 0) {
    return absl::InvalidArgumentError(
        "reader rate_bytes_per_sec must be > 0 for a rate reader");
  }
  if (l->listeners.contains(spec.port)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "port ", spec.port, " already listens on interface ", link_id));
  }
  auto listener = std::make_unique<Listener>();
  listener->spec = checked;
  listener->info.port = spec.port;
  l->listeners.emplace(spec.port, std::move(listener));
  return absl::OkStatus();
}

absl::Status Network::Unlisten(uint32_t link_id, uint16_t port) {
  Link* l = FindLink(link_id);
  if (l == nullptr || l->iface == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("interface_id ", link_id, " not found"));
  }
  if (l->listeners.erase(port) == 0) {
    return absl::NotFoundError(
        absl::StrCat("port ", port, " does not listen on interface ", link_id));
  }
  return absl::OkStatus();
}

std::vector<ListenerInfo> Network::listeners(uint32_t link_id) const {
  std::vector<ListenerInfo> out;
  auto it = links_.find(link_id);
  if (it == links_.end()) return out;
  for (const auto& [port, listener] : it->second->listeners) {
    out.push_back(listener->info);
  }
  std::sort(out.begin(), out.end(),
            [](const ListenerInfo& a, const ListenerInfo& b) {
              return a.port < b.port;
            });
  return out;
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
  Seq iss = isn_.Generate(now_, t.local_addr, t.local_port, t.remote_addr,
                          t.remote_port);
  slot.conn = std::make_unique<Connection>(config, t, iss, ctx);
  slot.reader = reader;
  slot.pattern_key =
      seed_ ^ ((uint64_t{ordinal} << 1 | Index(e)) * 0x9e3779b97f4a7c15ULL);
  if (digest) {
    slot.write_hash = std::make_unique<Sha256>();
    slot.read_hash = std::make_unique<Sha256>();
  }
  l.demux[Index(Opposite(out))].emplace(
      DemuxKey(t.local_port, t.remote_port, t.remote_addr), s.id);
  if (l.iface != nullptr) {
    l.by_ports.emplace(PortKey(t.local_port, t.remote_port), s.id);
  }
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
  if (spec.client_reader.mode == ReaderMode::kRate &&
      spec.client_reader.rate_bytes_per_sec == 0) {
    return absl::InvalidArgumentError(
        "reader rate_bytes_per_sec must be > 0 for a rate reader");
  }
  if (live_sessions_ >= limits_.max_sessions) {
    return absl::ResourceExhaustedError(
        absl::StrCat("session limit reached (", limits_.max_sessions, ")"));
  }
  auto& demux = l.demux[Index(Direction::kReverse)];
  auto taken = [&](uint16_t p) {
    return demux.contains(DemuxKey(p, r.port, r.address)) ||
           l.listeners.contains(p) || l.by_ports.contains(PortKey(p, r.port));
  };
  uint16_t local_port = spec.client_port;
  if (local_port == 0) {
    for (int tries = 0; tries < 65536 - kFirstEphemeralPort; ++tries) {
      uint16_t p = l.next_port;
      l.next_port = p == 65535 ? kFirstEphemeralPort : p + 1;
      if (!taken(p)) {
        local_port = p;
        break;
      }
    }
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
  s->opened_at = now_;
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
  (void)ref.ep[0].conn->Connect(now_);
  if (ref.ep[0].reader.mode == ReaderMode::kRate) {
    ref.ep[0].reader_last = now_;
    ref.ep[0].reader_scheduled_at = now_ + kReaderTick;
    Push(now_ + kReaderTick, Target::kReader, id, 0);
  }
  AfterActivity(ref, Endpoint::kClient);
  return id;
}

void Network::Accept(Link& l, Listener& listener, const ParsedTcpPacket& p) {
  if (listener.info.pending >= listener.spec.backlog) {
    // The backlog is full (a SYN flood, or a slow peer population): answer
    // statelessly with a SYN cookie so that real clients still connect.
    SendSynCookie(l, listener, p);
    return;
  }
  Session* s = CreateAccepted(l, listener, p);
  if (s == nullptr) return;
  s->in_backlog = true;
  ++listener.info.pending;
  EndpointSlot& slot = s->ep[Index(Endpoint::kServer)];
  (void)slot.conn->Listen(now_);
  slot.conn->OnSegment(now_, p.tcp, p.payload);
  StartAccepted(*s);
}

void Network::SendSynCookie(Link& l, Listener& listener,
                            const ParsedTcpPacket& p) {
  const FourTuple t{p.ip.dst, p.tcp.dst_port, p.ip.src, p.tcp.src_port};
  const TcpConfig& config = listener.spec.config;
  TcpHeader h;
  h.src_port = t.local_port;
  h.dst_port = t.remote_port;
  h.seq = cookies_.Make(now_, t, p.tcp.seq, p.tcp.options.mss.value_or(0));
  h.ack = p.tcp.seq + 1;
  h.flags = tcp_flags::kSyn | tcp_flags::kAck;
  h.options.mss =
      static_cast<uint16_t>(std::min<uint32_t>(config.mss(), 65535));
  h.window =
      static_cast<uint16_t>(std::min<uint32_t>(config.recv_buffer, 65535));
  ++listener.info.syn_cookies_sent;
  ++l.iface->counters().syn_cookies_sent;
  Event ev;
  ev.time = now_;
  ev.kind = EventKind::kSegmentReceived;
  ev.endpoint = Endpoint::kServer;
  ev.link_id = l.id;
  ev.disposition = Disposition::kSynCookie;
  ev.seg.seq = p.tcp.seq.value();
  ev.seg.src_port = p.tcp.src_port;
  ev.seg.dst_port = p.tcp.dst_port;
  ev.seg.flags = p.tcp.flags;
  ev.seg.window = p.tcp.window;
  Emit(ev);
  ev.kind = EventKind::kSegmentSent;
  ev.disposition = Disposition::kNone;
  ev.send_reason = SendReason::kSynCookie;
  ev.seg.seq = h.seq.value();
  ev.seg.ack = h.ack.value();
  ev.seg.src_port = h.src_port;
  ev.seg.dst_port = h.dst_port;
  ev.seg.flags = h.flags;
  ev.seg.window = h.window;
  Emit(ev);
  Transmit(l.id, Direction::kForward, t.local_addr, t.remote_addr, h,
           Payload());
}

bool Network::AcceptCookie(Link& l, Listener& listener,
                           const ParsedTcpPacket& p) {
  const FourTuple t{p.ip.dst, p.tcp.dst_port, p.ip.src, p.tcp.src_port};
  const Seq iss = p.tcp.ack - 1;
  const Seq irs = p.tcp.seq - 1;
  std::optional<uint16_t> mss = cookies_.Check(now_, t, irs, iss);
  if (!mss.has_value()) return false;
  Session* s = CreateAccepted(l, listener, p);
  if (s == nullptr) return true;  // counted: the ACK was a valid cookie
  ++listener.info.syn_cookies_accepted;
  ++l.iface->counters().syn_cookies_accepted;
  const TcpConfig& config = listener.spec.config;
  EndpointSlot& slot = s->ep[Index(Endpoint::kServer)];
  (void)slot.conn->AcceptCookie(
      now_, iss, irs, *mss,
      static_cast<uint16_t>(std::min<uint32_t>(config.recv_buffer, 65535)));
  slot.conn->OnSegment(now_, p.tcp, p.payload);
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
  s->opened_at = now_;
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
  ev.time = now_;
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
      packets_->OnPacket(now_, l.id, id, Endpoint::kServer, false, *pkt);
    }
  }
  return &ref;
}

void Network::StartAccepted(Session& s) {
  EndpointSlot& slot = s.ep[Index(Endpoint::kServer)];
  if (slot.reader.mode == ReaderMode::kRate) {
    slot.reader_last = now_;
    slot.reader_scheduled_at = now_ + kReaderTick;
    Push(now_ + kReaderTick, Target::kReader, s.id, Index(Endpoint::kServer));
  }
  AfterActivity(s, Endpoint::kServer);
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
  Link* l = FindLink(s.link_id);
  if (l == nullptr) return;
  auto it = l->listeners.find(s.server_port);
  if (it != l->listeners.end() && it->second->info.pending > 0) {
    --it->second->info.pending;
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
    if (r->mode == ReaderMode::kRate && r->rate_bytes_per_sec == 0) {
      return absl::InvalidArgumentError(
          "reader rate_bytes_per_sec must be > 0 for a rate reader");
    }
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
    for (int tries = 0; tries < 65536 - kFirstEphemeralPort; ++tries) {
      uint16_t p = l->next_port;
      l->next_port = p == 65535 ? kFirstEphemeralPort : p + 1;
      if (!l->demux[1].contains(
              DemuxKey(p, spec.server_port, l->server_addr))) {
        client_port = p;
        break;
      }
    }
    if (client_port == 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no free client port on link ", l->id,
                       " for server port ", spec.server_port));
    }
  }
  if (l->demux[1].contains(
          DemuxKey(client_port, spec.server_port, l->server_addr))) {
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
  s->opened_at = now_;
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
    (void)ref.ep[1].conn->Listen(now_);
  }
  (void)ref.ep[0].conn->Connect(now_);
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    if (ref.ep[Index(e)].reader.mode == ReaderMode::kRate) {
      ref.ep[Index(e)].reader_last = now_;
      ref.ep[Index(e)].reader_scheduled_at = now_ + kReaderTick;
      Push(now_ + kReaderTick, Target::kReader, id, Index(e));
    }
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
      if (slot.conn) slot.conn->Abort(now_);
    }
    MaybeDestroy(s);
  }
  sessions_.erase(it);
  return absl::OkStatus();
}

namespace {
void FillStats(const Connection* c, EndpointStats& st) {
  if (c == nullptr) return;
  st.final_state = c->state();
  st.error = c->error();
  st.counters = c->counters();
}
}  // namespace

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
    EndpointStats st = slot.stats;
    if (!s.destroyed) {
      FillStats(slot.conn.get(), st);
      if (slot.write_hash) st.write_digest = Sha256(*slot.write_hash).Finish();
      if (slot.read_hash) st.read_digest = Sha256(*slot.read_hash).Finish();
    }
    (e == Endpoint::kClient ? info.client : info.server) = st;
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
  s.destroyed_at = now_;
  Link* l = FindLink(s.link_id);
  NoteBacklog(s);
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    EndpointSlot& slot = s.ep[Index(e)];
    if (!slot.conn) continue;
    FillStats(slot.conn.get(), slot.stats);
    if (slot.write_hash) slot.stats.write_digest = slot.write_hash->Finish();
    if (slot.read_hash) slot.stats.read_digest = slot.read_hash->Finish();
    slot.write_hash.reset();
    slot.read_hash.reset();
    const FourTuple& t = slot.conn->tuple();
    Direction in = (s.remote || e == Endpoint::kClient) ? Direction::kReverse
                                                        : Direction::kForward;
    if (l != nullptr) {
      l->demux[Index(in)].erase(
          DemuxKey(t.local_port, t.remote_port, t.remote_addr));
      if (s.remote) l->by_ports.erase(PortKey(t.local_port, t.remote_port));
    }
  }
  if (l != nullptr) --l->sessions;
  --live_sessions_;
  Event ev;
  ev.time = now_;
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
  const uint8_t* src = data.data();
  absl::StatusOr<size_t> n = slot.conn->WriteFill(
      now_, data.size(),
      [&](uint8_t* dst, size_t len) {
        std::memcpy(dst, src, len);
        if (slot.write_hash)
          slot.write_hash->Update(absl::MakeConstSpan(src, len));
        src += len;
      },
      push);
  if (n.ok()) slot.stats.bytes_written += *n;
  AfterActivity(**s, e);
  return n;
}

absl::StatusOr<size_t> Network::WriteGenerated(uint32_t session_id, Endpoint e,
                                               size_t n, bool push) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  absl::StatusOr<size_t> done = WritePattern((*s)->ep[Index(e)], n, push);
  AfterActivity(**s, e);
  return done;
}

absl::StatusOr<size_t> Network::WritePattern(EndpointSlot& slot, size_t n,
                                             bool push) {
  return slot.conn->WriteFill(
      now_, n,
      [&](uint8_t* dst, size_t len) {
        FillPattern(slot.pattern_key, slot.stats.bytes_written, dst, len);
        if (slot.write_hash) {
          slot.write_hash->Update(absl::MakeConstSpan(dst, len));
        }
        slot.stats.bytes_written += len;
      },
      push);
}

absl::Status Network::SetSource(uint32_t session_id, Endpoint e, uint64_t total,
                                bool close_when_done) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  slot.source_remaining = total;
  slot.source_close = close_when_done;
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::StatusOr<size_t> Network::Read(uint32_t session_id, Endpoint e,
                                     absl::Span<uint8_t> out) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  size_t done = 0;
  slot.conn->ReadInto(now_, out.size(), [&](absl::Span<const uint8_t> piece) {
    std::memcpy(out.data() + done, piece.data(), piece.size());
    if (slot.read_hash) slot.read_hash->Update(piece);
    done += piece.size();
  });
  slot.stats.bytes_read += done;
  AfterActivity(**s, e);
  return done;
}

absl::Status Network::SetReader(uint32_t session_id, Endpoint e,
                                const ReaderSpec& reader) {
  if (reader.mode == ReaderMode::kRate && reader.rate_bytes_per_sec == 0) {
    return absl::InvalidArgumentError(
        "reader rate_bytes_per_sec must be > 0 for a rate reader");
  }
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  EndpointSlot& slot = (*s)->ep[Index(e)];
  slot.reader = reader;
  if (reader.mode == ReaderMode::kRate && slot.reader_scheduled_at == kNever) {
    slot.reader_last = now_;
    slot.reader_tokens = 0;
    slot.reader_scheduled_at = now_ + kReaderTick;
    Push(slot.reader_scheduled_at, Target::kReader, session_id, Index(e));
  }
  AfterActivity(**s, e);
  return absl::OkStatus();
}

absl::Status Network::Close(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  absl::Status st = (*s)->ep[Index(e)].conn->Close(now_);
  AfterActivity(**s, e);
  return st;
}

absl::Status Network::Abort(uint32_t session_id, Endpoint e) {
  absl::StatusOr<Session*> s = FindLive(session_id, e);
  if (!s.ok()) return s.status();
  (*s)->ep[Index(e)].conn->Abort(now_);
  AfterActivity(**s, e);
  return absl::OkStatus();
}

void Network::ReadAvailable(Session& s, EndpointSlot& slot, size_t max) {
  size_t n = slot.conn->ReadInto(now_, max, [&](absl::Span<const uint8_t> p) {
    if (slot.read_hash) slot.read_hash->Update(p);
  });
  slot.stats.bytes_read += n;
}

void Network::RefillSource(EndpointSlot& slot) {
  Connection& c = *slot.conn;
  if (slot.source_remaining > 0 && c.send_buffer_free() > 0 && c.can_write()) {
    size_t n = static_cast<size_t>(
        std::min<uint64_t>(slot.source_remaining, c.send_buffer_free()));
    absl::StatusOr<size_t> done = WritePattern(slot, n, /*push=*/false);
    if (done.ok()) slot.source_remaining -= *done;
  }
  if (slot.source_remaining == 0 && slot.source_close) {
    slot.source_close = false;
    (void)c.Close(now_);
  }
}

void Network::AfterActivity(Session& s, Endpoint e) {
  if (s.destroyed) return;
  EndpointSlot& slot = s.ep[Index(e)];
  Connection& c = *slot.conn;
  if (!c.finished()) {
    if (slot.reader.mode == ReaderMode::kAuto && c.readable() > 0) {
      ReadAvailable(s, slot, std::numeric_limits<size_t>::max());
    }
    RefillSource(slot);
    if (slot.reader.close_on_eof && c.eof() &&
        c.state() == TcpState::kCloseWait) {
      (void)c.Close(now_);
    }
  }
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
  if (packets_ != nullptr && session_id != 0) {
    packets_->OnPacket(now_, link_id, session_id, e, true, *p);
  }
  l->path[Index(d)]->Send(now_, *std::move(p));
  SchedulePath(*l, d);
}

void Network::DeliverPackets(Link& l, Direction d) {
  if (l.iface != nullptr && d == Direction::kForward) {
    l.path[Index(d)]->Poll(
        now_, [&](TimeNs, Packet&& p) { l.iface->Send(now_, std::move(p)); });
    return;
  }
  l.path[Index(d)]->Poll(
      now_, [&](TimeNs, Packet&& p) { DeliverOne(l, d, std::move(p)); });
}

void Network::DeliverOne(Link& l, Direction d, Packet&& p) {
  absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
  Endpoint receiver =
      d == Direction::kForward ? Endpoint::kServer : Endpoint::kClient;
  if (!parsed.ok()) {
    // A corrupted IPv4 header: the packet cannot be attributed.
    ++l.malformed;
    Event ev;
    ev.time = now_;
    ev.kind = EventKind::kSegmentReceived;
    ev.endpoint = receiver;
    ev.link_id = l.id;
    ev.disposition = Disposition::kMalformed;
    Emit(ev);
    return;
  }
  const TcpHeader& h = parsed->tcp;
  uint32_t len = static_cast<uint32_t>(parsed->payload.size());
  auto it =
      l.demux[Index(d)].find(DemuxKey(h.dst_port, h.src_port, parsed->ip.src));
  if (it != l.demux[Index(d)].end()) {
    auto sit = sessions_.find(it->second);
    if (sit != sessions_.end() && !sit->second->destroyed) {
      Session& s = *sit->second;
      if (s.remote) receiver = s.local;
      Connection& c = *s.ep[Index(receiver)].conn;
      if (packets_ != nullptr)
        packets_->OnPacket(now_, l.id, s.id, receiver, false, p);
      if (!parsed->checksum_ok) {
        c.OnBadChecksum(now_, h, len);
        return;
      }
      if (batching_ && s.remote) {
        c.SetAckDeferral(true);
        batched_.emplace_back(s.id, receiver);
      }
      c.OnSegment(now_, h, parsed->payload);
      AfterActivity(s, receiver);
      return;
    }
  }
  if (l.iface != nullptr && parsed->checksum_ok &&
      parsed->ip.dst == l.iface->spec().address) {
    constexpr uint8_t kSynAckRst =
        tcp_flags::kSyn | tcp_flags::kAck | tcp_flags::kRst;
    auto lit = l.listeners.find(h.dst_port);
    if (lit != l.listeners.end() && (h.flags & kSynAckRst) == tcp_flags::kSyn) {
      Accept(l, *lit->second, *parsed);
      return;
    }
    // The ACK that completes a handshake answered with a SYN cookie.
    if (lit != l.listeners.end() && (h.flags & kSynAckRst) == tcp_flags::kAck &&
        AcceptCookie(l, *lit->second, *parsed)) {
      return;
    }
  }
  Event ev;
  ev.time = now_;
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

void Network::Push(TimeNs t, Target target, uint32_t id, uint8_t sub) {
  queue_.push(Entry{t, order_++, target, sub, id});
}

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

void Network::Dispatch(const Entry& e) {
  switch (e.target) {
    case Target::kPath: {
      Link* l = FindLink(e.id);
      if (l == nullptr || l->scheduled_at[e.sub] != e.time) return;
      l->scheduled_at[e.sub] = kNever;
      Direction d = static_cast<Direction>(e.sub);
      DeliverPackets(*l, d);
      if (l->iface != nullptr && d == Direction::kForward) {
        l->iface->OnTimer(now_);
      }
      SchedulePath(*l, d);
      return;
    }
    case Target::kConnection: {
      auto it = sessions_.find(e.id);
      if (it == sessions_.end() || it->second->destroyed) return;
      Session& s = *it->second;
      EndpointSlot& slot = s.ep[e.sub];
      if (slot.scheduled_at != e.time) return;
      slot.scheduled_at = kNever;
      if (slot.conn->NextDeadline() <= now_) slot.conn->OnTimer(now_);
      AfterActivity(s, static_cast<Endpoint>(e.sub));
      return;
    }
    case Target::kReader: {
      auto it = sessions_.find(e.id);
      if (it == sessions_.end() || it->second->destroyed) return;
      Session& s = *it->second;
      EndpointSlot& slot = s.ep[e.sub];
      if (slot.reader_scheduled_at != e.time) return;
      slot.reader_scheduled_at = kNever;
      if (slot.reader.mode != ReaderMode::kRate || slot.conn->finished()) {
        return;
      }
      double rate = static_cast<double>(slot.reader.rate_bytes_per_sec);
      slot.reader_tokens +=
          rate * static_cast<double>(now_ - slot.reader_last) / 1e9;
      slot.reader_tokens =
          std::min(slot.reader_tokens, std::max(rate / 10, 1.0));
      slot.reader_last = now_;
      size_t budget = static_cast<size_t>(slot.reader_tokens);
      if (budget > 0 && slot.conn->readable() > 0) {
        size_t before = slot.stats.bytes_read;
        ReadAvailable(s, slot, budget);
        slot.reader_tokens -=
            static_cast<double>(slot.stats.bytes_read - before);
      }
      slot.reader_scheduled_at = now_ + kReaderTick;
      Push(slot.reader_scheduled_at, Target::kReader, s.id, e.sub);
      AfterActivity(s, static_cast<Endpoint>(e.sub));
      return;
    }
  }
}

void Network::RunUntil(TimeNs t) {
  while (!queue_.empty() && queue_.top().time <= t) {
    Entry e = queue_.top();
    queue_.pop();
    if (e.time > now_) now_ = e.time;
    Dispatch(e);
  }
  if (t > now_) now_ = t;
}

bool Network::RunUntilBounded(TimeNs t, size_t max_entries) {
  for (size_t n = 0; n < max_entries; ++n) {
    if (queue_.empty() || queue_.top().time > t) {
      if (t > now_) now_ = t;
      return true;
    }
    Entry e = queue_.top();
    queue_.pop();
    if (e.time > now_) now_ = e.time;
    Dispatch(e);
  }
  if (!queue_.empty() && queue_.top().time <= t) return false;
  if (t > now_) now_ = t;
  return true;
}

TimeNs Network::NextDeadline() {
  // Drop entries that no longer match their target's schedule.
  while (!queue_.empty()) {
    const Entry& e = queue_.top();
    bool live = false;
    switch (e.target) {
      case Target::kPath: {
        Link* l = FindLink(e.id);
        live = l != nullptr && l->scheduled_at[e.sub] == e.time;
        break;
      }
      case Target::kConnection:
      case Target::kReader: {
        auto it = sessions_.find(e.id);
        if (it != sessions_.end() && !it->second->destroyed) {
          const EndpointSlot& slot = it->second->ep[e.sub];
          live = (e.target == Target::kConnection
                      ? slot.scheduled_at
                      : slot.reader_scheduled_at) == e.time;
        }
        break;
      }
    }
    if (live) return e.time;
    queue_.pop();
  }
  return kNever;
}

bool Network::RunUntilIdle(TimeNs limit) {
  while (true) {
    TimeNs next = NextDeadline();
    if (next == kNever) return true;
    if (next > limit) {
      RunUntil(limit);
      return false;
    }
    RunUntil(next);
  }
}

}  // namespace tcpemu
