// The Emulator service's proxies: CreateProxy, GetProxy, ListProxies,
// UpdateProxy and DeleteProxy. Addresses are parsed, resolved and checked
// against the allow lists here, on the RPC thread; the proxy itself lives in
// its network's ProxyTable on the shard.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/convert.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

constexpr uint32_t kDefaultRelayBuffer = 65536;
constexpr uint32_t kMinRelayBuffer = 4096;
constexpr uint32_t kMaxRelayBuffer = 16 << 20;

absl::Status CheckRelayBuffer(uint32_t v, uint32_t& out) {
  out = v == 0 ? kDefaultRelayBuffer : v;
  if (out < kMinRelayBuffer || out > kMaxRelayBuffer) {
    return absl::InvalidArgumentError(absl::StrCat(
        "relay_buffer ", v, " out of range [", kMinRelayBuffer, ", ",
        kMaxRelayBuffer, "] (0: ", kDefaultRelayBuffer, ")"));
  }
  return absl::OkStatus();
}

// A relay passes each socket read on at once, as the application wrote it:
// Nagle in the engine endpoints would hold back the small writes of an
// application that set TCP_NODELAY for a delayed ACK. So a proxy's endpoints
// send at once unless `nodelay` is given.
TcpConfig WithNoDelayDefault(TcpConfig c, const v1::TcpConfig& given) {
  if (!given.has_nodelay()) c.nodelay = true;
  return c;
}

absl::Status NoProxy(uint32_t id, const std::string& name) {
  if (id != 0) {
    return absl::NotFoundError(absl::StrCat("proxy_id ", id, " not found"));
  }
  return absl::NotFoundError(
      absl::StrCat("proxy ", Quoted(name), " not found"));
}

}  // namespace

absl::Status EmulatorService::ParseListen(const std::string& listen,
                                          ProxyConfig& out) {
  absl::StatusOr<HostPort> hp =
      ParseHostPort(listen, "listen", /*allow_port_zero=*/true);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<std::vector<SockAddr>> addrs = Resolve(*hp, "listen");
  if (!addrs.ok()) return addrs.status();
  for (const SockAddr& a : *addrs) {
    if (!proxy_listen_allow_.Allows(a)) continue;
    out.listen = listen;
    out.listen_addr = a;
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("listen ", Quoted(listen), " (", ToString((*addrs)[0]),
                   ") is not allowed by --proxy_listen_allow (",
                   proxy_listen_allow_.text(), ")"));
}

absl::Status EmulatorService::ParseUpstream(const std::string& upstream,
                                            ProxyConfig& out) {
  absl::StatusOr<HostPort> hp =
      ParseHostPort(upstream, "upstream", /*allow_port_zero=*/false);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<std::vector<SockAddr>> addrs = Resolve(*hp, "upstream");
  if (!addrs.ok()) return addrs.status();
  std::vector<SockAddr> allowed;
  for (const SockAddr& a : *addrs) {
    if (proxy_upstream_allow_.Allows(a)) allowed.push_back(a);
  }
  if (allowed.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("upstream ", Quoted(upstream), " (", ToString((*addrs)[0]),
                     ") is not allowed by --proxy_upstream_allow (",
                     proxy_upstream_allow_.text(), ")"));
  }
  out.upstream = upstream;
  out.upstream_addrs = std::move(allowed);
  return absl::OkStatus();
}

ProxyTable& EmulatorService::Proxies(NetworkSlot& slot, Shard& shard) {
  if (slot.proxies == nullptr) {
    ProxyHooks hooks;
    const uint32_t network_id = slot.id;
    hooks.allocate_session_id = [this, network_id] {
      return AllocateSessionId(network_id);
    };
    hooks.forget_session = [this, network_id,
                            shard_index = shard.index()](uint32_t sid) {
      // Its replay history goes with it, as on DeleteSession.
      if (hub_ != nullptr) hub_->ForgetSession(shard_index, network_id, sid);
      absl::MutexLock l(&mu_);
      ids_.RemoveSession(sid);
    };
    hooks.admit_connection = [this] {
      uint32_t cur = proxy_connections_.load();
      while (cur < options_.max_proxy_connections) {
        if (proxy_connections_.compare_exchange_weak(cur, cur + 1)) {
          return true;
        }
      }
      if (metrics_ != nullptr) metrics_->CountLimitRejection(Limit::kProxies);
      return false;
    };
    hooks.release_connection = [this] { proxy_connections_.fetch_sub(1); };
    slot.proxies = std::make_unique<ProxyTable>(shard, slot, std::move(hooks));
  }
  return static_cast<ProxyTable&>(*slot.proxies);
}

absl::StatusOr<std::pair<uint32_t, EmulatorService::Where>>
EmulatorService::ProxyOf(uint32_t id, const std::string& name) {
  uint32_t network_id = 0;
  {
    absl::MutexLock l(&mu_);
    if (id == 0) {
      auto it = proxy_names_.find(name);
      if (it == proxy_names_.end()) return NoProxy(0, name);
      id = it->second;
    }
    auto it = proxy_network_.find(id);
    if (it == proxy_network_.end()) return NoProxy(id, name);
    network_id = it->second;
  }
  absl::StatusOr<Where> w = NetworkOf(network_id);
  if (!w.ok()) return NoProxy(id, name);
  return std::make_pair(id, *w);
}

grpc::Status EmulatorService::CreateProxy(Ctx*,
                                          const v1::CreateProxyRequest* req,
                                          v1::Proxy* resp) {
  return Observe("CreateProxy", [&]() -> absl::Status {
    ProxyConfig c;
    c.name = req->name();
    if (!ValidName(c.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "name ", Quoted(c.name), ": 1 to 64 of [A-Za-z0-9._:-]"));
    }
    if (absl::Status s = ParseListen(req->listen(), c); !s.ok()) return s;
    if (absl::Status s = ParseUpstream(req->upstream(), c); !s.ok()) return s;
    absl::StatusOr<TcpConfig> down =
        FromProto(req->downstream_tcp(), "downstream_tcp", options_.max_buffer);
    if (!down.ok()) return CountBufferLimit(down.status());
    absl::StatusOr<TcpConfig> up =
        FromProto(req->upstream_tcp(), "upstream_tcp", options_.max_buffer);
    if (!up.ok()) return CountBufferLimit(up.status());
    c.downstream_tcp = WithNoDelayDefault(*down, req->downstream_tcp());
    c.upstream_tcp = WithNoDelayDefault(*up, req->upstream_tcp());
    c.downstream_proto = req->downstream_tcp();
    c.upstream_proto = req->upstream_tcp();
    if (absl::Status s = CheckRelayBuffer(req->relay_buffer(), c.relay_buffer);
        !s.ok()) {
      return s;
    }
    c.enabled = !req->has_enabled() || req->enabled();
    absl::StatusOr<std::vector<ToxicSpec>> toxics = ParseToxics(req->toxics());
    if (!toxics.ok()) return toxics.status();
    c.toxics = *std::move(toxics);
    ValidPathSpec fwd, rev;
    const bool own_link = req->link_id() == 0;
    if (own_link) {
      absl::StatusOr<ValidPathSpec> f = FromProto(req->forward(), "forward");
      if (!f.ok()) return f.status();
      absl::StatusOr<ValidPathSpec> r = FromProto(req->reverse(), "reverse");
      if (!r.ok()) return r.status();
      fwd = *f;
      rev = *r;
    } else if (req->has_forward() || req->has_reverse()) {
      return absl::InvalidArgumentError(
          "forward, reverse: give link_id or the paths of a new link, not "
          "both");
    }
    absl::StatusOr<Where> w = NetworkOf(req->network_id());
    if (!w.ok()) return w.status();
    if (!own_link) {
      absl::StatusOr<Where> lw = LinkOf(req->link_id());
      if (!lw.ok()) return lw.status();
      if (lw->network_id != w->network_id) {
        return absl::InvalidArgumentError(absl::StrCat(
            "link_id ", req->link_id(), " is in network_id ", lw->network_id,
            ", not in network_id ", w->network_id));
      }
    }
    // Reserve the name, the id and the link id.
    {
      absl::MutexLock l(&mu_);
      if (auto it = proxy_names_.find(c.name); it != proxy_names_.end()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "name ", Quoted(c.name), ": a proxy of that name exists (proxy_id ",
            it->second, ")"));
      }
      if (proxy_network_.size() >= options_.max_proxies) {
        return Exhausted(Limit::kProxies,
                         absl::StrCat("proxies: at most ", options_.max_proxies,
                                      " at once (--max_proxies)"));
      }
      if (own_link) {
        if (ids_.link_count() >= options_.max_links) {
          return Exhausted(Limit::kLinks, LinkLimitMessage(options_.max_links));
        }
        c.link_id = next_link_id_++;
        ids_.AddLink(c.link_id, w->network_id);
      } else {
        c.link_id = req->link_id();
      }
      c.id = next_proxy_id_++;
      proxy_names_[c.name] = c.id;
      proxy_network_[c.id] = w->network_id;
    }
    c.owns_link = own_link;
    const uint32_t id = c.id;
    const uint32_t link_id = c.link_id;
    absl::Status s = OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
          if (slot.clock != Clock::kRealtime) {
            return absl::FailedPreconditionError(absl::StrCat(
                "network_id ", slot.id,
                " is VIRTUAL; proxies carry real sockets and need a REALTIME "
                "network"));
          }
          if (own_link) {
            absl::StatusOr<uint32_t> got =
                slot.net->CreateLink(fwd, rev, link_id);
            if (!got.ok()) return got.status();
          }
          ProxyTable& table = Proxies(slot, shard);
          absl::Status st = table.Add(std::move(c));
          if (!st.ok()) {
            if (own_link) (void)slot.net->DeleteLink(link_id);
            return st;
          }
          table.Fill(id, resp);
          return absl::OkStatus();
        });
    if (!s.ok()) {
      absl::MutexLock l(&mu_);
      proxy_names_.erase(req->name());
      proxy_network_.erase(id);
      if (own_link) ids_.RemoveLink(link_id);
    }
    return s;
  });
}

grpc::Status EmulatorService::GetProxy(Ctx*, const v1::GetProxyRequest* req,
                                       v1::Proxy* resp) {
  return Observe("GetProxy", [&]() -> absl::Status {
    absl::StatusOr<std::pair<uint32_t, Where>> p =
        ProxyOf(req->proxy_id(), req->name());
    if (!p.ok()) return p.status();
    const uint32_t id = p->first;
    return OnNetwork(p->second.network_id,
                     [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
                       ProxyTable& table = Proxies(slot, shard);
                       if (table.config(id) == nullptr) {
                         return NoProxy(id, req->name());
                       }
                       table.Fill(id, resp);
                       return absl::OkStatus();
                     });
  });
}

grpc::Status EmulatorService::ListProxies(Ctx*,
                                          const v1::ListProxiesRequest* req,
                                          v1::ListProxiesResponse* resp) {
  return Observe("ListProxies", [&]() -> absl::Status {
    std::vector<uint32_t> networks;
    if (req->network_id() != 0) {
      absl::StatusOr<Where> w = NetworkOf(req->network_id());
      if (!w.ok()) return w.status();
      networks.push_back(w->network_id);
    } else {
      absl::MutexLock l(&mu_);
      for (const auto& [pid, nid] : proxy_network_) networks.push_back(nid);
      std::sort(networks.begin(), networks.end());
      networks.erase(std::unique(networks.begin(), networks.end()),
                     networks.end());
    }
    for (uint32_t nid : networks) {
      absl::Status s = OnNetwork(nid, [&](NetworkSlot& slot, Shard& shard) {
        if (slot.proxies == nullptr) return absl::OkStatus();
        ProxyTable& table = Proxies(slot, shard);
        for (uint32_t id : table.ids()) table.Fill(id, resp->add_proxies());
        return absl::OkStatus();
      });
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::UpdateProxy(Ctx*,
                                          const v1::UpdateProxyRequest* req,
                                          v1::Proxy* resp) {
  return Observe("UpdateProxy", [&]() -> absl::Status {
    const v1::Proxy& in = req->proxy();
    absl::StatusOr<std::pair<uint32_t, Where>> p = ProxyOf(in.id(), in.name());
    if (!p.ok()) return p.status();
    const uint32_t id = p->first;
    static constexpr const char* kFields[] = {
        "listen",         "upstream",     "enabled",     "toxics",
        "downstream_tcp", "upstream_tcp", "relay_buffer"};
    if (req->update_mask().paths().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: empty; name the fields to change (",
                       absl::StrJoin(kFields, ", "), ")"));
    }
    // What changes, validated (and resolved) before the shard is asked.
    ProxyConfig next;
    bool set[7] = {};
    for (const std::string& path : req->update_mask().paths()) {
      auto f = std::find(std::begin(kFields), std::end(kFields), path);
      if (f == std::end(kFields)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "update_mask: ", Quoted(path), " cannot be updated (allowed: ",
            absl::StrJoin(kFields, ", "), ")"));
      }
      set[f - std::begin(kFields)] = true;
    }
    if (set[0]) {
      if (absl::Status s = ParseListen(in.listen(), next); !s.ok()) return s;
    }
    if (set[1]) {
      if (absl::Status s = ParseUpstream(in.upstream(), next); !s.ok()) {
        return s;
      }
    }
    if (set[3]) {
      absl::StatusOr<std::vector<ToxicSpec>> t = ParseToxics(in.toxics());
      if (!t.ok()) return t.status();
      next.toxics = *std::move(t);
    }
    if (set[4]) {
      absl::StatusOr<TcpConfig> t = FromProto(
          in.downstream_tcp(), "proxy.downstream_tcp", options_.max_buffer);
      if (!t.ok()) return CountBufferLimit(t.status());
      next.downstream_tcp = WithNoDelayDefault(*t, in.downstream_tcp());
    }
    if (set[5]) {
      absl::StatusOr<TcpConfig> t = FromProto(
          in.upstream_tcp(), "proxy.upstream_tcp", options_.max_buffer);
      if (!t.ok()) return CountBufferLimit(t.status());
      next.upstream_tcp = WithNoDelayDefault(*t, in.upstream_tcp());
    }
    if (set[6]) {
      if (absl::Status s =
              CheckRelayBuffer(in.relay_buffer(), next.relay_buffer);
          !s.ok()) {
        return s;
      }
    }
    return OnNetwork(p->second.network_id,
                     [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
                       ProxyTable& table = Proxies(slot, shard);
                       const ProxyConfig* cur = table.config(id);
                       if (cur == nullptr) return NoProxy(id, in.name());
                       ProxyConfig c = *cur;
                       if (set[0]) {
                         c.listen = next.listen;
                         c.listen_addr = next.listen_addr;
                       }
                       if (set[1]) {
                         c.upstream = next.upstream;
                         c.upstream_addrs = next.upstream_addrs;
                       }
                       if (set[2]) c.enabled = in.enabled();
                       if (set[3]) c.toxics = next.toxics;
                       if (set[4]) {
                         c.downstream_tcp = next.downstream_tcp;
                         c.downstream_proto = in.downstream_tcp();
                       }
                       if (set[5]) {
                         c.upstream_tcp = next.upstream_tcp;
                         c.upstream_proto = in.upstream_tcp();
                       }
                       if (set[6]) c.relay_buffer = next.relay_buffer;
                       absl::Status s = table.Replace(std::move(c));
                       if (!s.ok()) return s;
                       table.Fill(id, resp);
                       return absl::OkStatus();
                     });
  });
}

grpc::Status EmulatorService::DeleteProxy(Ctx*,
                                          const v1::DeleteProxyRequest* req,
                                          google::protobuf::Empty*) {
  return Observe("DeleteProxy", [&]() -> absl::Status {
    absl::StatusOr<std::pair<uint32_t, Where>> p =
        ProxyOf(req->proxy_id(), req->name());
    if (!p.ok()) return p.status();
    const uint32_t id = p->first;
    uint32_t owned_link = 0;
    std::string name;
    std::vector<uint32_t> sessions;  // of the owned link, deleted with it
    absl::Status s = OnNetwork(
        p->second.network_id,
        [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
          ProxyTable& table = Proxies(slot, shard);
          const ProxyConfig* c = table.config(id);
          if (c == nullptr) return NoProxy(id, req->name());
          name = c->name;
          if (c->owns_link) owned_link = c->link_id;
          absl::Status st = table.Remove(id);
          if (!st.ok()) return st;
          // Its link goes with it, and the sessions it carried (those still
          // open end with an RST).
          if (owned_link != 0) {
            // Sessions of its own still on the link (none are expected:
            // the table deleted those it made).
            slot.net->ForEachSession([&](uint32_t sid, uint32_t lid, bool) {
              if (lid == owned_link) sessions.push_back(sid);
            });
            for (uint32_t sid : sessions) {
              (void)slot.net->DeleteSession(sid);
              slot.captures->Forget(sid);
              if (hub_ != nullptr)
                hub_->ForgetSession(shard.index(), slot.id, sid);
            }
            (void)slot.net->DeleteLink(owned_link);
          }
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    absl::MutexLock l(&mu_);
    proxy_network_.erase(id);
    proxy_names_.erase(name);
    if (owned_link != 0) ids_.RemoveLink(owned_link);
    for (uint32_t sid : sessions) ids_.RemoveSession(sid);
    return absl::OkStatus();
  });
}

}  // namespace tcpemu::server
