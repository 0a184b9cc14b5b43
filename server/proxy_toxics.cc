// How a proxy's toxics act: fault rules on its link (toxicity 1) or on one
// connection's session (a share of connections), the link's rate, timers that
// reset or close a connection, and the relay's own slow_close and limit_data.
#include <algorithm>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "server/proxy_table.h"

namespace tcpemu::server {
namespace {

bool Draw(std::mt19937_64& rng, double toxicity) {
  if (toxicity >= 1) return true;
  if (toxicity <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(rng) < toxicity;
}

// A bandwidth of 0 (toxiproxy's "cut the connection"): nothing passes, as
// with a timeout that never closes.
bool Cut(const ToxicSpec& t) {
  return t.kind == ToxicKind::kBandwidth && t.rate_bps == 0;
}

// Toxics whose segments-level effect is a fault rule.
bool UsesRules(const ToxicSpec& t) {
  return t.kind == ToxicKind::kLatency || t.kind == ToxicKind::kTimeout ||
         Cut(t);
}

}  // namespace

std::vector<std::pair<Direction, uint32_t>> ProxyTable::AddRules(
    Proxy& p, const ToxicSpec& t, uint16_t client_port, uint16_t server_port) {
  std::vector<FaultRule> rules;
  FaultRule base;
  if (client_port != 0) {
    const bool fwd = t.direction == Direction::kForward;
    base.match.src_port = fwd ? client_port : server_port;
    base.match.dst_port = fwd ? server_port : client_port;
  }
  if (t.kind == ToxicKind::kLatency && t.latency > 0) {
    FaultRule r = base;
    r.action = FaultAction::kDelay;
    r.delay = t.latency;
    r.jitter = t.jitter;
    rules.push_back(r);
  } else if (t.kind == ToxicKind::kTimeout || Cut(t)) {
    // A black hole for the stream's data and its FIN; the handshake and
    // ACKs still pass, as toxiproxy's connection stays open.
    FaultRule data = base;
    data.action = FaultAction::kDrop;
    data.match.payload_only = true;
    FaultRule fin = base;
    fin.action = FaultAction::kDrop;
    fin.match.flags_all = tcp_flags::kFin;
    rules.push_back(data);
    rules.push_back(fin);
  }
  std::vector<std::pair<Direction, uint32_t>> ids;
  for (const FaultRule& r : rules) {
    absl::StatusOr<uint32_t> id =
        slot_.net->AddFault(p.config.link_id, t.direction, r);
    if (id.ok()) {
      ids.emplace_back(t.direction, *id);
    } else {
      std::fprintf(stderr, "tcpemud: proxy \"%s\": toxic \"%s\": %s\n",
                   p.config.name.c_str(), t.name.c_str(),
                   std::string(id.status().message()).c_str());
    }
  }
  return ids;
}

void ProxyTable::ApplyToxic(Proxy& p, const ToxicSpec& t) {
  if (UsesRules(t) && t.toxicity >= 1) {
    p.link_rules[t.name] = AddRules(p, t, 0, 0);
  }
  for (auto& [sid, c] : p.conns) {
    ApplyToConn(p, t, sid, *c);
    RefreshRelayToxics(p, *c);
  }
}

void ProxyTable::UndoToxic(Proxy& p, const ToxicSpec& t) {
  auto it = p.link_rules.find(t.name);
  if (it != p.link_rules.end()) {
    for (const auto& [d, id] : it->second) {
      (void)slot_.net->RemoveFault(p.config.link_id, d, id);
    }
    p.link_rules.erase(it);
  }
  for (auto& [sid, c] : p.conns) {
    UndoOnConn(p, t.name, *c);
    RefreshRelayToxics(p, *c);
  }
}

void ProxyTable::ApplyToxicsToConn(Proxy& p, uint32_t session_id, Conn& c) {
  for (const ToxicSpec& t : p.config.toxics) ApplyToConn(p, t, session_id, c);
  RefreshRelayToxics(p, c);
}

void ProxyTable::ApplyToConn(Proxy& p, const ToxicSpec& t, uint32_t session_id,
                             Conn& c) {
  UndoOnConn(p, t.name, c);
  ConnToxic& ct = c.toxics[t.name];
  ct.applies = Draw(p.rng, t.toxicity);
  if (!ct.applies) return;
  if (UsesRules(t) && t.toxicity < 1) {
    ct.rules = AddRules(p, t, c.client_port, c.server_port);
  }
  const uint32_t pid = p.config.id;
  const bool timed = (t.kind == ToxicKind::kTimeout && t.timeout > 0) ||
                     t.kind == ToxicKind::kResetPeer;
  if (!timed) return;
  const bool reset = t.kind == ToxicKind::kResetPeer;
  const std::string name = t.name;
  ct.timer = shard_.AddWallTimer(SteadyNowNs() + t.timeout,
                                 [this, pid, session_id, name, reset] {
                                   Proxy* proxy = Find(pid);
                                   if (proxy == nullptr) return;
                                   auto it = proxy->conns.find(session_id);
                                   if (it == proxy->conns.end()) return;
                                   Conn& conn = *it->second;
                                   conn.toxics[name].timer.reset();
                                   if (reset) {
                                     conn.relay->ResetPeer();  // reset_peer
                                   } else {
                                     conn.relay->CloseAll();  // timeout
                                   }
                                 });
}

void ProxyTable::UndoOnConn(Proxy& p, const std::string& name, Conn& c) {
  auto it = c.toxics.find(name);
  if (it == c.toxics.end()) return;
  for (const auto& [d, id] : it->second.rules) {
    (void)slot_.net->RemoveFault(p.config.link_id, d, id);
  }
  if (it->second.timer) shard_.CancelWallTimer(*it->second.timer);
  c.toxics.erase(it);
}

void ProxyTable::RefreshRelayToxics(Proxy& p, Conn& c) {
  RelayToxics rt;
  for (const ToxicSpec& t : p.config.toxics) {
    auto it = c.toxics.find(t.name);
    if (it == c.toxics.end() || !it->second.applies) continue;
    const int d = static_cast<int>(t.direction);
    if (t.kind == ToxicKind::kSlowClose) {
      rt.slow_close[d] = std::max(rt.slow_close[d], t.delay);
    } else if (t.kind == ToxicKind::kLimitData) {
      rt.limit_data[d] = std::min(rt.limit_data[d].value_or(t.bytes), t.bytes);
    }
  }
  if (c.relay != nullptr) c.relay->toxics() = rt;
}

void ProxyTable::SetLinkRate(Proxy& p) {
  Network& net = *slot_.net;
  const Path* fwd = net.path(p.config.link_id, Direction::kForward);
  const Path* rev = net.path(p.config.link_id, Direction::kReverse);
  if (fwd == nullptr || rev == nullptr) return;
  PathSpec spec[2] = {fwd->spec(), rev->spec()};
  bool changed = false;
  for (int d = 0; d < 2; ++d) {
    std::optional<uint64_t> rate;
    for (const ToxicSpec& t : p.config.toxics) {
      if (t.kind != ToxicKind::kBandwidth || Cut(t) ||
          static_cast<int>(t.direction) != d) {
        continue;
      }
      rate = std::min(rate.value_or(t.rate_bps), t.rate_bps);
    }
    if (rate) {
      if (!p.saved_rate[d]) p.saved_rate[d] = spec[d].rate_bps;
      if (spec[d].rate_bps != *rate) {
        spec[d].rate_bps = *rate;
        changed = true;
      }
    } else if (p.saved_rate[d]) {
      spec[d].rate_bps = *p.saved_rate[d];
      p.saved_rate[d].reset();
      changed = true;
    }
  }
  if (changed) {
    absl::Status s = net.UpdateLink(p.config.link_id, spec[0], spec[1]);
    if (!s.ok()) {
      std::fprintf(stderr, "tcpemud: proxy \"%s\": bandwidth: %s\n",
                   p.config.name.c_str(), std::string(s.message()).c_str());
    }
  }
}

void ProxyTable::SliceConfigs(Proxy& p, TcpConfig& client, TcpConfig& server) {
  for (const ToxicSpec& t : p.config.toxics) {
    if (t.kind != ToxicKind::kSlicer || !Draw(p.rng, t.toxicity)) continue;
    // The stream's sender: the upstream side sends DOWNSTREAM.
    TcpConfig& sender = t.direction == Direction::kReverse ? server : client;
    sender.mtu =
        std::min(sender.mtu, std::max(t.average_size, kMinSliceBytes) + 40);
    sender.nodelay = true;
  }
}

}  // namespace tcpemu::server
