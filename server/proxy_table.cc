// Proxies of one network: listening sockets, accepted connections and their
// relays; see proxy_table.h. Toxics are in proxy_toxics.cc.
#include "server/proxy_table.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/convert.h"

namespace tcpemu::server {
namespace {

constexpr int kListenBacklog = 1024;
constexpr int kMaxAcceptsPerWake = 64;

}  // namespace

ProxyTable::ProxyTable(Shard& shard, NetworkSlot& slot, ProxyHooks hooks)
    : shard_(shard), slot_(slot), hooks_(std::move(hooks)) {}

ProxyTable::~ProxyTable() {
  // The shard and the service are going (RemoveAll ran first otherwise):
  // close the sockets, tell no one.
  tearing_down_ = true;
  RemoveAll();
}

void ProxyTable::RemoveAll() {
  for (uint32_t id : ids()) (void)Remove(id);
}

ProxyTable::Proxy* ProxyTable::Find(uint32_t id) {
  auto it = proxies_.find(id);
  return it == proxies_.end() ? nullptr : it->second.get();
}

const ProxyConfig* ProxyTable::config(uint32_t id) const {
  auto it = proxies_.find(id);
  return it == proxies_.end() ? nullptr : &it->second->config;
}

std::vector<uint32_t> ProxyTable::ids() const {
  std::vector<uint32_t> v;
  for (const auto& [id, p] : proxies_) v.push_back(id);
  std::sort(v.begin(), v.end());
  return v;
}

const ProxyTable::SessionTag* ProxyTable::session_tag(
    uint32_t session_id) const {
  auto it = tags_.find(session_id);
  return it == tags_.end() ? nullptr : &it->second;
}

absl::Status ProxyTable::Add(ProxyConfig config) {
  auto p = std::make_unique<Proxy>();
  p->rng.seed(slot_.seed ^ (uint64_t{config.id} * 0x9e3779b97f4a7c15ull));
  p->config = std::move(config);
  p->shared.relay_buffer = p->config.relay_buffer;
  p->shared.scratch.resize(p->config.relay_buffer);
  p->shared.upstream = p->config.upstream_addrs;
  if (p->config.enabled) {
    absl::StatusOr<int> fd = Listen(p->config);
    if (!fd.ok()) return fd.status();
    Use(*p, *fd);
  }
  Proxy& ref = *p;
  proxies_.emplace(ref.config.id, std::move(p));
  for (const ToxicSpec& t : ref.config.toxics) ApplyToxic(ref, t);
  SetLinkRate(ref);
  return absl::OkStatus();
}

absl::Status ProxyTable::Replace(ProxyConfig config) {
  Proxy* p = Find(config.id);
  if (p == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("proxy_id ", config.id, " not found"));
  }
  const bool rebind = config.enabled &&
                      (!p->config.enabled || config.listen != p->config.listen);
  // The new socket first: an address in use changes nothing.
  int new_fd = -1;
  if (rebind) {
    absl::StatusOr<int> fd = Listen(config);
    if (!fd.ok()) return fd.status();
    new_fd = *fd;
  }
  if (rebind || !config.enabled) {
    Unbind(*p);
    if (!config.enabled) {
      // Disabling closes the proxy's connections, as toxiproxy does.
      std::vector<uint32_t> sessions;
      for (const auto& [sid, c] : p->conns) sessions.push_back(sid);
      for (uint32_t sid : sessions) {
        auto it = p->conns.find(sid);
        if (it != p->conns.end()) it->second->relay->CloseAll();
      }
    }
  }
  // Toxics that went or changed are undone, new or changed ones applied.
  std::vector<ToxicSpec> old_toxics = std::move(p->config.toxics);
  for (const ToxicSpec& t : old_toxics) {
    auto same = std::find_if(config.toxics.begin(), config.toxics.end(),
                             [&](const ToxicSpec& n) {
                               return n.name == t.name && SameEffect(n, t);
                             });
    if (same == config.toxics.end()) UndoToxic(*p, t);
  }
  p->config = std::move(config);
  for (const ToxicSpec& t : p->config.toxics) {
    auto same = std::find_if(old_toxics.begin(), old_toxics.end(),
                             [&](const ToxicSpec& o) {
                               return o.name == t.name && SameEffect(o, t);
                             });
    if (same == old_toxics.end()) ApplyToxic(*p, t);
  }
  SetLinkRate(*p);
  for (auto& [sid, c] : p->conns) RefreshRelayToxics(*p, *c);
  // Relays of open connections keep their buffer size and upstream.
  if (p->conns.empty()) {
    p->shared.relay_buffer = p->config.relay_buffer;
    p->shared.scratch.resize(p->config.relay_buffer);
    p->shared.upstream = p->config.upstream_addrs;
  } else {
    p->shared.scratch.resize(
        std::max<size_t>(p->shared.scratch.size(), p->config.relay_buffer));
    p->shared.upstream = p->config.upstream_addrs;
  }
  if (rebind) Use(*p, new_fd);
  return absl::OkStatus();
}

absl::Status ProxyTable::Remove(uint32_t id) {
  Proxy* p = Find(id);
  if (p == nullptr) {
    return absl::NotFoundError(absl::StrCat("proxy_id ", id, " not found"));
  }
  Unbind(*p);
  for (const ToxicSpec& t : p->config.toxics) UndoToxic(*p, t);
  p->config.toxics.clear();
  SetLinkRate(*p);
  std::vector<uint32_t> sessions;
  for (const auto& [sid, c] : p->conns) sessions.push_back(sid);
  for (uint32_t sid : sessions) {
    auto it = p->conns.find(sid);
    if (it == p->conns.end()) continue;
    it->second->relay->CloseAll();
    DropConn(*p, sid, *it->second);
    p->conns.erase(sid);
    p->finished.push_back(sid);
  }
  // Its sessions go with it.
  for (uint32_t sid : p->finished) ForgetSession(sid);
  proxies_.erase(id);
  return absl::OkStatus();
}

absl::StatusOr<int> ProxyTable::Listen(const ProxyConfig& config) {
  const SockAddr& a = config.listen_addr;
  int fd = socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "listen ", Quoted(config.listen), ": socket: ", std::strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (a.family() == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, a.get(), a.len) != 0 || listen(fd, kListenBacklog) != 0) {
    const int err = errno;
    close(fd);
    if (err == EADDRINUSE) {
      return absl::FailedPreconditionError(
          absl::StrCat("listen ", Quoted(config.listen), " (", ToString(a),
                       "): address in use"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "listen ", Quoted(config.listen), ": ", std::strerror(err)));
  }
  return fd;
}

void ProxyTable::Use(Proxy& p, int fd) {
  p.listen_fd = fd;
  p.bound = SocketName(fd, /*peer=*/false);
  const uint32_t id = p.config.id;
  (void)shard_.WatchFd(fd, EPOLLIN, [this, id](uint32_t) { OnAcceptable(id); });
}

void ProxyTable::Unbind(Proxy& p) {
  if (p.resume_accepting) {
    shard_.CancelWallTimer(*p.resume_accepting);
    p.resume_accepting.reset();
  }
  if (p.listen_fd < 0) return;
  shard_.UnwatchFd(p.listen_fd);
  close(p.listen_fd);
  p.listen_fd = -1;
  p.bound = SockAddr{};
}

void ProxyTable::Refuse(Proxy& p, int fd) {
  ++p.refused;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

void ProxyTable::OnAcceptable(uint32_t proxy_id) {
  // The loop may have slept long since it last advanced the network: the
  // SYN of a new session leaves at the wall clock's time.
  const TimeNs now = SteadyNowNs() - slot_.epoch_ns;
  if (now > slot_.net->now()) slot_.net->RunUntil(now);
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    Proxy* p = Find(proxy_id);
    if (p == nullptr || p->listen_fd < 0) return;
    int fd =
        accept4(p->listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) PauseAccepting(*p, errno);
      return;
    }
    ++p->accepted;
    if (!hooks_.admit_connection()) {
      Refuse(*p, fd);
      continue;
    }
    absl::Status s = OpenConnection(*p, fd);
    if (!s.ok()) {
      hooks_.release_connection();
      Refuse(*p, fd);
    }
  }
}

void ProxyTable::PauseAccepting(Proxy& p, int err) {
  // The listening socket stays ready while the error lasts (out of file
  // descriptors, say): level-triggered, it would wake the loop for ever.
  // Stop watching it, say so once, and look again a little later.
  std::fprintf(stderr,
               "tcpemud: proxy \"%s\": accept: %s; not accepting for "
               "100 ms\n",
               p.config.name.c_str(), std::strerror(err));
  shard_.SetFdEvents(p.listen_fd, 0);
  const uint32_t id = p.config.id;
  p.resume_accepting =
      shard_.AddWallTimer(SteadyNowNs() + 100'000'000, [this, id] {
        Proxy* proxy = Find(id);
        if (proxy == nullptr) return;
        proxy->resume_accepting.reset();
        if (proxy->listen_fd >= 0)
          shard_.SetFdEvents(proxy->listen_fd, EPOLLIN);
      });
}

absl::Status ProxyTable::OpenConnection(Proxy& p, int fd) {
  const uint32_t sid = hooks_.allocate_session_id();
  if (sid == 0) return absl::ResourceExhaustedError("max_sessions");
  Network& net = *slot_.net;
  SessionSpec spec;
  spec.id = sid;
  spec.link_id = p.config.link_id;
  spec.client = p.config.downstream_tcp;
  spec.server = p.config.upstream_tcp;
  SliceConfigs(p, spec.client, spec.server);
  spec.server_port =
      p.config.upstream_addrs.empty() ? 0 : p.config.upstream_addrs[0].port();
  if (spec.server_port == 0) spec.server_port = 5001;
  ReaderSpec manual;
  manual.mode = ReaderMode::kManual;
  manual.close_on_eof = false;
  spec.client_reader = manual;
  spec.server_reader = manual;
  spec.digest = false;
  absl::StatusOr<uint32_t> opened = net.OpenSession(spec);
  if (!opened.ok()) {
    hooks_.forget_session(sid);
    std::fprintf(stderr, "tcpemud: proxy \"%s\": %s\n", p.config.name.c_str(),
                 std::string(opened.status().message()).c_str());
    return opened.status();
  }
  auto conn = std::make_unique<Conn>();
  if (absl::StatusOr<SessionInfo> info = net.GetSession(sid); info.ok()) {
    conn->client_port = info->client_port;
    conn->server_port = info->server_port;
  }
  const uint32_t pid = p.config.id;
  const uint32_t nid = slot_.id;
  Shard* shard = &shard_;
  // The relay reports its end from inside its own Pump: the table lets it
  // go on a later turn of the loop, if the network is still there.
  auto finish = [shard, nid, pid, sid] {
    shard->Post([shard, nid, pid, sid] {
      NetworkSlot* slot = shard->network(nid);
      if (slot == nullptr || slot->proxies == nullptr) return;
      static_cast<ProxyTable*>(slot->proxies.get())->Finish(pid, sid);
    });
  };
  conn->relay = std::make_unique<ProxyRelay>(shard_, net, sid, fd,
                                             slot_.epoch_ns, &p.shared, finish);
  tags_[sid] = SessionTag{pid, ToString(SocketName(fd, /*peer=*/true)), ""};
  Conn& c = *conn;
  p.conns.emplace(sid, std::move(conn));
  ApplyToxicsToConn(p, sid, c);
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    shard_.AddWaiter(slot_, sid, e, [shard, nid, pid, sid]() -> bool {
      NetworkSlot* slot = shard->network(nid);
      if (slot == nullptr || slot->proxies == nullptr) return true;
      return !static_cast<ProxyTable*>(slot->proxies.get())->PumpConn(pid, sid);
    });
  }
  return absl::OkStatus();
}

bool ProxyTable::PumpConn(uint32_t proxy_id, uint32_t session_id) {
  Proxy* p = Find(proxy_id);
  if (p == nullptr) return false;
  auto it = p->conns.find(session_id);
  if (it == p->conns.end() || it->second->relay == nullptr) return false;
  ProxyRelay& r = *it->second->relay;
  if (r.done()) return false;
  r.Pump();
  SessionTag& tag = tags_[session_id];
  if (tag.upstream_peer.empty()) tag.upstream_peer = r.upstream_peer();
  return true;
}

void ProxyTable::Finish(uint32_t proxy_id, uint32_t session_id) {
  Proxy* p = Find(proxy_id);
  if (p == nullptr) return;
  auto it = p->conns.find(session_id);
  if (it == p->conns.end()) return;
  DropConn(*p, session_id, *it->second);
  p->conns.erase(it);
  p->finished.push_back(session_id);
  while (p->finished.size() > kKeepFinished) {
    ForgetSession(p->finished.front());
    p->finished.pop_front();
  }
}

void ProxyTable::ForgetSession(uint32_t session_id) {
  (void)slot_.net->DeleteSession(session_id);
  slot_.captures->Forget(session_id);
  tags_.erase(session_id);
  if (!tearing_down_) hooks_.forget_session(session_id);
}

void ProxyTable::DropConn(Proxy& p, uint32_t session_id, Conn& c) {
  std::vector<std::string> names;
  for (const auto& [name, t] : c.toxics) names.push_back(name);
  for (const std::string& name : names) UndoOnConn(p, name, c);
  SessionTag& tag = tags_[session_id];
  if (tag.upstream_peer.empty()) tag.upstream_peer = c.relay->upstream_peer();
  c.relay.reset();
  if (tearing_down_) return;
  hooks_.release_connection();
  // Its waiters find it gone and leave.
  shard_.RetryWaiters(slot_, session_id, Endpoint::kClient);
  shard_.RetryWaiters(slot_, session_id, Endpoint::kServer);
}

void ProxyTable::Fill(uint32_t id, v1::Proxy* out) const {
  auto it = proxies_.find(id);
  if (it == proxies_.end()) return;
  const Proxy& p = *it->second;
  const ProxyConfig& c = p.config;
  out->set_id(c.id);
  out->set_network_id(slot_.id);
  out->set_name(c.name);
  out->set_listen(c.listen);
  out->set_upstream(c.upstream);
  out->set_link_id(c.link_id);
  *out->mutable_downstream_tcp() = c.downstream_proto;
  *out->mutable_upstream_tcp() = c.upstream_proto;
  out->set_relay_buffer(c.relay_buffer);
  out->set_enabled(c.enabled);
  for (const ToxicSpec& t : c.toxics) *out->add_toxics() = t.proto;
  if (p.listen_fd >= 0) out->set_listen_address(ToString(p.bound));
  out->set_owns_link(c.owns_link);
  v1::ProxyCounters* k = out->mutable_counters();
  k->set_connections_accepted(p.accepted);
  k->set_connections_active(static_cast<uint32_t>(p.conns.size()));
  k->set_connections_refused(p.refused);
  k->set_upstream_failures(p.shared.upstream_failures);
  k->set_bytes_upstream(p.shared.bytes_upstream);
  k->set_bytes_downstream(p.shared.bytes_downstream);
}

}  // namespace tcpemu::server
