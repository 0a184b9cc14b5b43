// Network: the links, interfaces, application calls, packet delivery and
// scheduled entries of one clock domain, over its scheduler (scheduler.h),
// demultiplexers (demux.h), listeners (listeners.h) and application models
// (application.h); sessions are opened and destroyed in
// session_lifecycle.cc, applications call in through application_calls.cc.
// See network.h.
#include "engine/sim/network.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/sim/network_state.h"
#include "engine/wire/ecn.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"

namespace tcpemu {

using network_internal::Index;
using network_internal::Other;
using network_internal::WithPrefix;

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

namespace {

// Both specs checked, errors prefixed with their field.
absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> CheckBoth(
    const PathSpec& a, absl::string_view a_field, const PathSpec& b,
    absl::string_view b_field) {
  absl::StatusOr<ValidPathSpec> va = ValidPathSpec::Check(a);
  if (!va.ok()) return WithPrefix(a_field, va.status());
  absl::StatusOr<ValidPathSpec> vb = ValidPathSpec::Check(b);
  if (!vb.ok()) return WithPrefix(b_field, vb.status());
  return std::make_pair(*std::move(va), *std::move(vb));
}

}  // namespace

absl::StatusOr<uint32_t> Network::CreateLink(const PathSpec& forward,
                                             const PathSpec& reverse,
                                             uint32_t id) {
  auto checked = CheckBoth(forward, "forward.", reverse, "reverse.");
  if (!checked.ok()) return checked.status();
  return CreateLink(checked->first, checked->second, id);
}

absl::StatusOr<uint32_t> Network::CreateLink(const ValidPathSpec& forward,
                                             const ValidPathSpec& reverse,
                                             uint32_t id) {
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
  l->path[0] = std::make_unique<Path>(forward.spec(), base ^ 0x1, l->id,
                                      Endpoint::kClient, path_sink, now());
  l->path[1] = std::make_unique<Path>(reverse.spec(), base ^ 0x2, l->id,
                                      Endpoint::kServer, path_sink, now());
  uint32_t new_id = l->id;
  Link& added = *links_.emplace(new_id, std::move(l)).first->second;
  // A schedule acts with no traffic too.
  SchedulePath(added, Direction::kForward);
  SchedulePath(added, Direction::kReverse);
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
  if (FindLink(link_id) == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  auto checked = CheckBoth(forward, "forward.", reverse, "reverse.");
  if (!checked.ok()) return checked.status();
  return UpdateLink(link_id, checked->first, checked->second);
}

absl::Status Network::UpdateLink(uint32_t link_id, const ValidPathSpec& forward,
                                 const ValidPathSpec& reverse) {
  Link* l = FindLink(link_id);
  if (l == nullptr) {
    return absl::NotFoundError(absl::StrCat("link ", link_id, " not found"));
  }
  absl::Status s = l->path[0]->Update(forward.spec(), now());
  s.Update(l->path[1]->Update(reverse.spec(), now()));
  SchedulePath(*l, Direction::kForward);
  SchedulePath(*l, Direction::kReverse);
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
  auto checked = CheckBoth(egress, "egress.", ingress, "ingress.");
  if (!checked.ok()) return checked.status();
  return CreateInterface(spec, checked->first, checked->second, out, id);
}

absl::StatusOr<uint32_t> Network::CreateInterface(const InterfaceSpec& spec,
                                                  const ValidPathSpec& egress,
                                                  const ValidPathSpec& ingress,
                                                  FrameSink* out, uint32_t id) {
  if (absl::Status s = ValidateInterfaceSpec(spec); !s.ok()) return s;
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

// ---------------------------------------------------------------- packets

void Network::Transmit(uint32_t link_id, Direction d, uint32_t src,
                       uint32_t dst, const TcpHeader& h, const Payload& payload,
                       uint32_t session_id, Endpoint e, Ecn ecn) {
  Link* l = FindLink(link_id);
  if (l == nullptr) return;
  Ipv4Header ip;
  ip.src = src;
  ip.dst = dst;
  ip.tos = static_cast<uint8_t>(ecn);  // RFC 3168 5: the low two bits
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
      c.OnSegment(now(), h, parsed->payload, PacketEcn(p));
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
