// tcpemu.v1.Emulator: request validation, id resolution and shard dispatch;
// see emulator_service.h.
#include "server/emulator_service.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/wire/ipv4.h"
#include "server/convert.h"
#include "server/event_convert.h"
#include "server/link_update.h"

namespace tcpemu::server {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr uint32_t kDefaultBatch = 1024;
constexpr uint32_t kMaxBatch = 65536;
constexpr int kMaxWatchedSessions = 65536;

absl::Status NotFound(absl::string_view what, uint32_t id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

uint64_t RandomSeed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) | rd();
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      ApiFieldNames(s.message()));
}

std::string ApiFieldNames(absl::string_view message) {
  // The engine says "session 7 is closed"; the API's field is session_id.
  for (absl::string_view noun : {"session ", "link ", "interface "}) {
    if (absl::StartsWith(message, noun) && message.size() > noun.size() &&
        absl::ascii_isdigit(message[noun.size()])) {
      return absl::StrCat(noun.substr(0, noun.size() - 1), "_id ",
                          message.substr(noun.size()));
    }
  }
  return std::string(message);
}

EmulatorService::EmulatorService(const EmulatorOptions& options, EventHub* hub,
                                 Metrics* metrics)
    : options_(options),
      hub_(hub),
      metrics_(metrics),
      wait_budget_(options.waits) {
  // tcpemud checks the flags first; a list that does not parse allows none.
  if (absl::StatusOr<AllowList> a =
          AllowList::Parse(options_.proxy_listen_allow, "--proxy_listen_allow");
      a.ok()) {
    proxy_listen_allow_ = *std::move(a);
  }
  if (absl::StatusOr<AllowList> a = AllowList::Parse(
          options_.proxy_upstream_allow, "--proxy_upstream_allow");
      a.ok()) {
    proxy_upstream_allow_ = *std::move(a);
  }
  size_t n = std::max<size_t>(1, options_.shards);
  for (size_t i = 0; i < n; ++i) {
    ShardMetrics* sm = metrics_ != nullptr ? metrics_->AddShard() : nullptr;
    shards_.push_back(std::make_unique<Shard>(i, hub_, sm, options_.captures));
    shards_.back()->Start();
  }
  default_network_ = next_network_id_++;
  uint64_t seed =
      options_.default_seed != 0 ? options_.default_seed : RandomSeed();
  Network::Limits limits;
  limits.max_links = options_.max_links;
  limits.max_sessions = options_.max_sessions;
  absl::Status s = shards_[0]->Call([&] {
    absl::Status st = shards_[0]->AddNetwork(default_network_, Clock::kRealtime,
                                             seed, limits);
    if (st.ok()) InstallHooks(*shards_[0]->network(default_network_));
    return st;
  });
  (void)s;  // a fresh shard always accepts its first network
  absl::MutexLock l(&mu_);
  ids_.AddNetwork(default_network_, 0);
}

EmulatorService::~EmulatorService() {
  BeginShutdown();
  StopShards();
}

void EmulatorService::BeginShutdown() {
  shutting_down_ = true;
  pump_.Shutdown();
  // Waiting calls see the flag when tried, and end with what they have.
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->Post([s] { s->RetryAllWaiters(); });
  }
}

void EmulatorService::StopShards() {
  for (auto& s : shards_) s->Stop();
}

absl::Status EmulatorService::Exhausted(Limit limit,
                                        absl::string_view message) {
  if (metrics_ != nullptr) metrics_->CountLimitRejection(limit);
  return absl::ResourceExhaustedError(message);
}

absl::Status EmulatorService::CountBufferLimit(absl::Status s) {
  if (absl::IsResourceExhausted(s) && metrics_ != nullptr) {
    metrics_->CountLimitRejection(Limit::kBuffer);
  }
  return s;
}

absl::Status EmulatorService::CheckServing() const {
  if (shutting_down_) return absl::UnavailableError("tcpemud is shutting down");
  return absl::OkStatus();
}

absl::StatusOr<EmulatorService::Where> EmulatorService::NetworkOf(
    uint32_t network_id) {
  if (network_id == 0) network_id = default_network_;
  absl::MutexLock l(&mu_);
  std::optional<size_t> shard = ids_.ShardOf(network_id);
  if (!shard.has_value()) return NotFound("network_id", network_id);
  return Where{network_id, shards_[*shard].get()};
}

absl::StatusOr<EmulatorService::Where> EmulatorService::LinkOf(
    uint32_t link_id) {
  absl::MutexLock l(&mu_);
  std::optional<IdDirectory::Owner> o = ids_.LinkOwner(link_id);
  if (!o.has_value()) return NotFound("link_id", link_id);
  return Where{o->network_id, shards_[o->shard].get()};
}

absl::StatusOr<EmulatorService::Where> EmulatorService::SessionOf(
    uint32_t session_id) {
  absl::MutexLock l(&mu_);
  std::optional<IdDirectory::Owner> o = ids_.SessionOwner(session_id);
  if (!o.has_value()) return NotFound("session_id", session_id);
  return Where{o->network_id, shards_[o->shard].get()};
}

// ------------------------------------------------------------------ networks

void EmulatorService::FillNetwork(NetworkSlot& slot, Shard& shard,
                                  v1::Network* out) {
  out->set_id(slot.id);
  out->set_clock(slot.clock == Clock::kVirtual ? v1::CLOCK_KIND_VIRTUAL
                                               : v1::CLOCK_KIND_REALTIME);
  out->set_seed(slot.seed);
  DurationToProto(shard.NetworkNow(slot), out->mutable_now());
  out->set_link_count(static_cast<uint32_t>(slot.net->link_ids().size()));
  out->set_session_count(static_cast<uint32_t>(slot.net->live_session_count()));
  out->set_shard(static_cast<uint32_t>(shard.index()));
}

grpc::Status EmulatorService::CreateNetwork(Ctx*,
                                            const v1::CreateNetworkRequest* req,
                                            v1::Network* resp) {
  return Observe("CreateNetwork", [&]() -> absl::Status {
    Clock clock;
    switch (req->clock()) {
      case v1::CLOCK_KIND_UNSPECIFIED:
      case v1::CLOCK_KIND_REALTIME:
        clock = Clock::kRealtime;
        break;
      case v1::CLOCK_KIND_VIRTUAL:
        clock = Clock::kVirtual;
        break;
      default:
        return Invalid(
            "clock: allowed CLOCK_KIND_REALTIME or CLOCK_KIND_VIRTUAL");
    }
    uint32_t id;
    size_t shard_index;
    {
      absl::MutexLock l(&mu_);
      if (ids_.network_count() >= options_.max_networks) {
        return Exhausted(
            Limit::kNetworks,
            absl::StrCat("network limit reached: --max_networks is ",
                         options_.max_networks,
                         " (the default network included); delete networks "
                         "first"));
      }
      id = next_network_id_++;
      shard_index = id % shards_.size();
      ids_.AddNetwork(id, shard_index);
    }
    uint64_t seed = req->seed() != 0 ? req->seed() : RandomSeed();
    Network::Limits limits;
    limits.max_links = options_.max_links;
    limits.max_sessions = options_.max_sessions;
    Shard& shard = *shards_[shard_index];
    absl::Status s = shard.Call([&]() -> absl::Status {
      absl::Status st = shard.AddNetwork(id, clock, seed, limits);
      if (st.ok()) InstallHooks(*shard.network(id));
      if (st.ok()) FillNetwork(*shard.network(id), shard, resp);
      return st;
    });
    if (!s.ok()) {
      absl::MutexLock l(&mu_);
      ids_.RemoveNetwork(id);
    }
    return s;
  });
}

grpc::Status EmulatorService::GetNetwork(Ctx*, const v1::GetNetworkRequest* req,
                                         v1::Network* resp) {
  return Observe("GetNetwork", [&] {
    return OnNetwork(req->network_id(), [&](NetworkSlot& slot, Shard& shard) {
      FillNetwork(slot, shard, resp);
      return absl::OkStatus();
    });
  });
}

grpc::Status EmulatorService::ListNetworks(Ctx*, const v1::ListNetworksRequest*,
                                           v1::ListNetworksResponse* resp) {
  return Observe("ListNetworks", [&] {
    for (auto& shard : shards_) {
      shard->Call([&] {
        for (NetworkSlot* slot : shard->networks()) {
          FillNetwork(*slot, *shard, resp->add_networks());
        }
      });
    }
    std::sort(resp->mutable_networks()->begin(),
              resp->mutable_networks()->end(),
              [](const v1::Network& a, const v1::Network& b) {
                return a.id() < b.id();
              });
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::DeleteNetwork(Ctx*,
                                            const v1::DeleteNetworkRequest* req,
                                            google::protobuf::Empty*) {
  return Observe("DeleteNetwork", [&]() -> absl::Status {
    uint32_t id = req->network_id();
    if (id == 0 || id == default_network_) {
      return absl::FailedPreconditionError(
          "network_id: the default network cannot be deleted");
    }
    absl::StatusOr<Where> w = NetworkOf(id);
    if (!w.ok()) return w.status();
    Shard& shard = *w->shard;
    absl::Status s = shard.Call([&] {
      // Its proxies go first, giving back what they hold.
      if (NetworkSlot* slot = shard.network(id);
          slot != nullptr && slot->proxies != nullptr) {
        static_cast<ProxyTable&>(*slot->proxies).RemoveAll();
      }
      absl::Status st = shard.RemoveNetwork(id);
      if (st.ok() && hub_ != nullptr) hub_->ForgetNetwork(shard.index(), id);
      return st;
    });
    if (!s.ok()) return s;
    absl::MutexLock l(&mu_);
    for (uint32_t iface : ids_.RemoveNetwork(id)) ForgetListenersLocked(iface);
    for (const auto& [pid, nid] : proxy_network_) {
      if (nid != id) continue;
      absl::erase_if(proxy_names_,
                     [pid = pid](const auto& kv) { return kv.second == pid; });
    }
    absl::erase_if(proxy_network_,
                   [id](const auto& kv) { return kv.second == id; });
    return absl::OkStatus();
  });
}

// ------------------------------------------------------------------ links

absl::Status EmulatorService::FillLink(Network& net, uint32_t network_id,
                                       uint32_t link_id, v1::Link* out) {
  const Path* fwd = net.path(link_id, Direction::kForward);
  const Path* rev = net.path(link_id, Direction::kReverse);
  if (fwd == nullptr || rev == nullptr) return NotFound("link_id", link_id);
  out->set_id(link_id);
  out->set_network_id(network_id);
  ToProto(fwd->spec(), out->mutable_forward());
  ToProto(rev->spec(), out->mutable_reverse());
  ToProto(fwd->counters(), *fwd, out->mutable_forward_counters());
  ToProto(rev->counters(), *rev, out->mutable_reverse_counters());
  out->set_session_count(net.link_session_count(link_id));
  return absl::OkStatus();
}

grpc::Status EmulatorService::CreateLink(Ctx*, const v1::CreateLinkRequest* req,
                                         v1::Link* resp) {
  return Observe("CreateLink", [&]() -> absl::Status {
    absl::StatusOr<ValidPathSpec> fwd = FromProto(req->forward(), "forward");
    if (!fwd.ok()) return fwd.status();
    absl::StatusOr<ValidPathSpec> rev = FromProto(req->reverse(), "reverse");
    if (!rev.ok()) return rev.status();
    absl::StatusOr<Where> w = NetworkOf(req->network_id());
    if (!w.ok()) return w.status();
    uint32_t id;
    {
      absl::MutexLock l(&mu_);
      if (ids_.link_count() >= options_.max_links) {
        return Exhausted(Limit::kLinks, LinkLimitMessage(options_.max_links));
      }
      id = next_link_id_++;
      ids_.AddLink(id, w->network_id);
    }
    absl::Status s = OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard&) -> absl::Status {
          absl::StatusOr<uint32_t> got = slot.net->CreateLink(*fwd, *rev, id);
          if (!got.ok()) return got.status();
          return FillLink(*slot.net, slot.id, id, resp);
        });
    if (!s.ok()) {
      absl::MutexLock l(&mu_);
      ids_.RemoveLink(id);
    }
    return s;
  });
}

grpc::Status EmulatorService::GetLink(Ctx*, const v1::GetLinkRequest* req,
                                      v1::Link* resp) {
  return Observe("GetLink", [&]() -> absl::Status {
    absl::StatusOr<Where> w = LinkOf(req->link_id());
    if (!w.ok()) return w.status();
    return OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      return FillLink(*slot.net, slot.id, req->link_id(), resp);
    });
  });
}

grpc::Status EmulatorService::UpdateLink(Ctx*, const v1::UpdateLinkRequest* req,
                                         v1::Link* resp) {
  return Observe("UpdateLink", [&]() -> absl::Status {
    // The mask and the fields it names, checked before the shard is asked.
    if (absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> checked =
            ApplyLinkUpdate(*req, PathSpec(), PathSpec());
        !checked.ok()) {
      return checked.status();
    }
    absl::StatusOr<Where> w = LinkOf(req->link_id());
    if (!w.ok()) return w.status();
    return OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard&) -> absl::Status {
          // Applied to the current spec in the same shard call, so that
          // concurrent updates of different fields do not undo each other.
          const Path* fwd = slot.net->path(req->link_id(), Direction::kForward);
          const Path* rev = slot.net->path(req->link_id(), Direction::kReverse);
          if (fwd == nullptr || rev == nullptr) {
            return NotFound("link_id", req->link_id());
          }
          absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> next =
              ApplyLinkUpdate(*req, fwd->spec(), rev->spec());
          if (!next.ok()) return next.status();
          absl::Status s =
              slot.net->UpdateLink(req->link_id(), next->first, next->second);
          if (!s.ok()) return s;
          return FillLink(*slot.net, slot.id, req->link_id(), resp);
        });
  });
}

grpc::Status EmulatorService::ListLinks(Ctx*, const v1::ListLinksRequest* req,
                                        v1::ListLinksResponse* resp) {
  return Observe("ListLinks", [&]() -> absl::Status {
    std::vector<uint32_t> networks;
    if (req->network_id() != 0) {
      absl::StatusOr<Where> w = NetworkOf(req->network_id());
      if (!w.ok()) return w.status();
      networks.push_back(w->network_id);
    } else {
      absl::MutexLock l(&mu_);
      networks = ids_.network_ids();
    }
    for (uint32_t nid : networks) {
      absl::Status s = OnNetwork(nid, [&](NetworkSlot& slot, Shard&) {
        for (uint32_t lid : slot.net->link_ids()) {
          (void)FillLink(*slot.net, slot.id, lid, resp->add_links());
        }
        return absl::OkStatus();
      });
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::DeleteLink(Ctx*, const v1::DeleteLinkRequest* req,
                                         google::protobuf::Empty*) {
  return Observe("DeleteLink", [&]() -> absl::Status {
    absl::StatusOr<Where> w = LinkOf(req->link_id());
    if (!w.ok()) return w.status();
    absl::Status s = OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard&) -> absl::Status {
          if (slot.proxies != nullptr) {
            auto& table = static_cast<ProxyTable&>(*slot.proxies);
            for (uint32_t pid : table.ids()) {
              const ProxyConfig* c = table.config(pid);
              if (c->link_id != req->link_id()) continue;
              return absl::FailedPreconditionError(absl::StrCat(
                  "link_id ", req->link_id(), " carries proxy \"", c->name,
                  "\" (proxy_id ", pid, "); delete the proxy first"));
            }
          }
          return slot.net->DeleteLink(req->link_id());
        });
    if (!s.ok()) return s;
    absl::MutexLock l(&mu_);
    ids_.RemoveLink(req->link_id());
    return absl::OkStatus();
  });
}

// ------------------------------------------------------------------ sessions

absl::Status EmulatorService::FillSession(NetworkSlot& slot,
                                          uint32_t session_id,
                                          v1::Session* out) {
  Network& net = *slot.net;
  const uint32_t network_id = slot.id;
  absl::StatusOr<SessionInfo> info = net.GetSession(session_id);
  if (!info.ok()) return NotFound("session_id", session_id);
  if (info->remote) {
    v1::Remote* r = out->mutable_remote();
    r->set_interface_id(info->link_id);
    r->set_address(Ipv4ToString(info->remote_addr));
    r->set_port(info->remote_port);
    out->set_local_address(Ipv4ToString(info->local_addr));
    out->set_accepted(info->accepted);
  }
  out->set_capture(slot.captures->has(session_id));
  if (slot.proxies != nullptr) {
    const ProxyTable::SessionTag* tag =
        static_cast<ProxyTable&>(*slot.proxies).session_tag(session_id);
    if (tag != nullptr) {
      out->set_proxy_id(tag->proxy_id);
      out->set_downstream_peer(tag->downstream_peer);
      out->set_upstream_peer(tag->upstream_peer);
    }
  }
  out->set_id(info->id);
  out->set_network_id(network_id);
  out->set_link_id(info->link_id);
  out->set_destroyed(info->destroyed);
  DurationToProto(info->opened_at, out->mutable_opened_at());
  if (info->destroyed) {
    DurationToProto(info->destroyed_at, out->mutable_destroyed_at());
  }
  for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
    if (info->remote && e != info->local) continue;  // the host's side
    const EndpointStats& st =
        e == Endpoint::kClient ? info->client : info->server;
    v1::EndpointState* ep =
        e == Endpoint::kClient ? out->mutable_client() : out->mutable_server();
    ep->set_port(e == Endpoint::kClient ? info->client_port
                                        : info->server_port);
    ToProto(st.counters, ep->mutable_counters());
    ep->set_error(ToProto(st.error));
    ep->set_bytes_written(st.bytes_written);
    ep->set_bytes_read(st.bytes_read);
    if (st.write_digest != Sha256::Digest{} ||
        st.read_digest != Sha256::Digest{}) {
      ep->set_write_sha256(st.write_digest.data(), st.write_digest.size());
      ep->set_read_sha256(st.read_digest.data(), st.read_digest.size());
    }
    std::optional<EndpointStatus> now = net.GetEndpoint(session_id, e);
    std::optional<TcbSnapshot> tcb = net.GetTcb(session_id, e);
    if (now.has_value() && tcb.has_value()) {
      ToProto(*tcb, ep->mutable_tcb());
      ep->set_readable(static_cast<uint32_t>(now->readable));
      ep->set_send_buffer_free(static_cast<uint32_t>(now->send_buffer_free));
      ep->set_mss(now->mss);
    } else {
      ep->mutable_tcb()->set_state(ToProto(st.final_state));
    }
  }
  return absl::OkStatus();
}

grpc::Status EmulatorService::GetSession(Ctx*, const v1::GetSessionRequest* req,
                                         v1::Session* resp) {
  return Observe("GetSession", [&]() -> absl::Status {
    absl::StatusOr<Where> w = SessionOf(req->session_id());
    if (!w.ok()) return w.status();
    return OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard&) {
      return FillSession(slot, req->session_id(), resp);
    });
  });
}

grpc::Status EmulatorService::ListSessions(Ctx*,
                                           const v1::ListSessionsRequest* req,
                                           v1::ListSessionsResponse* resp) {
  return Observe("ListSessions", [&]() -> absl::Status {
    int page = req->page_size() == 0 ? kDefaultPageSize : req->page_size();
    if (page < 0 || page > kMaxPageSize) {
      return Invalid(absl::StrCat("page_size ", req->page_size(),
                                  " out of range [0, ", kMaxPageSize, "]"));
    }
    uint32_t after = 0;
    if (!req->page_token().empty() &&
        !absl::SimpleAtoi(req->page_token(), &after)) {
      return Invalid("page_token: not a token returned by ListSessions");
    }
    if (req->network_id() != 0) {
      absl::StatusOr<Where> w = NetworkOf(req->network_id());
      if (!w.ok()) return w.status();
    }
    if (req->link_id() != 0) {
      absl::StatusOr<Where> w = LinkOf(req->link_id());
      if (!w.ok()) return w.status();
    }
    // Candidates in id order, then filtered on their shard.
    std::vector<std::pair<uint32_t, uint32_t>> candidates;
    {
      absl::MutexLock l(&mu_);
      candidates = ids_.SessionsAfter(after, req->network_id());
    }
    size_t i = 0;
    while (i < candidates.size() && resp->sessions_size() < page) {
      // Batch consecutive candidates of one network into one shard call.
      uint32_t nid = candidates[i].second;
      size_t j = i;
      while (j < candidates.size() && candidates[j].second == nid &&
             j - i < static_cast<size_t>(page)) {
        ++j;
      }
      absl::Status s = OnNetwork(nid, [&](NetworkSlot& slot, Shard&) {
        for (size_t k = i; k < j && resp->sessions_size() < page; ++k) {
          v1::Session session;
          if (!FillSession(slot, candidates[k].first, &session).ok()) {
            continue;
          }
          if (req->link_id() != 0 && session.link_id() != req->link_id()) {
            continue;
          }
          *resp->add_sessions() = std::move(session);
        }
        return absl::OkStatus();
      });
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      i = j;
    }
    if (resp->sessions_size() == page && i < candidates.size()) {
      resp->set_next_page_token(absl::StrCat(resp->sessions(page - 1).id()));
    }
    return absl::OkStatus();
  });
}

grpc::Status EmulatorService::DeleteSession(Ctx*,
                                            const v1::DeleteSessionRequest* req,
                                            google::protobuf::Empty*) {
  return Observe("DeleteSession", [&]() -> absl::Status {
    absl::StatusOr<Where> w = SessionOf(req->session_id());
    if (!w.ok()) return w.status();
    absl::Status s =
        OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard& shard) {
          absl::Status st = slot.net->DeleteSession(req->session_id());
          slot.captures->Forget(req->session_id());
          if (hub_ != nullptr) {
            hub_->ForgetSession(shard.index(), slot.id, req->session_id());
          }
          shard.RunReadyWaiters();
          return st;
        });
    if (!s.ok()) return s;
    absl::MutexLock l(&mu_);
    ids_.RemoveSession(req->session_id());
    return absl::OkStatus();
  });
}

// ------------------------------------------------------------------ data

grpc::Status EmulatorService::Close(Ctx*, const v1::CloseRequest* req,
                                    v1::CloseResponse* resp) {
  return Observe("Close", [&]() -> absl::Status {
    absl::StatusOr<Endpoint> e = EndpointFromProto(req->endpoint(), "endpoint");
    if (!e.ok()) return e.status();
    if (req->mode() != v1::CloseRequest::MODE_UNSPECIFIED &&
        req->mode() != v1::CloseRequest::MODE_FIN &&
        req->mode() != v1::CloseRequest::MODE_RST) {
      return Invalid("mode: allowed MODE_FIN or MODE_RST");
    }
    absl::StatusOr<Where> w = SessionOf(req->session_id());
    if (!w.ok()) return w.status();
    return OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard& shard) -> absl::Status {
          absl::Status s = req->mode() == v1::CloseRequest::MODE_RST
                               ? slot.net->Abort(req->session_id(), *e)
                               : slot.net->Close(req->session_id(), *e);
          shard.RunReadyWaiters();
          if (!s.ok()) return s;
          std::optional<EndpointStatus> now =
              slot.net->GetEndpoint(req->session_id(), *e);
          resp->set_state(ToProto(now ? now->state : TcpState::kClosed));
          return absl::OkStatus();
        });
  });
}

grpc::Status EmulatorService::SetReader(Ctx*, const v1::SetReaderRequest* req,
                                        google::protobuf::Empty*) {
  return Observe("SetReader", [&]() -> absl::Status {
    absl::StatusOr<Endpoint> e = EndpointFromProto(req->endpoint(), "endpoint");
    if (!e.ok()) return e.status();
    absl::StatusOr<ReaderSpec> r = FromProto(req->reader(), "reader");
    if (!r.ok()) return r.status();
    absl::StatusOr<Where> w = SessionOf(req->session_id());
    if (!w.ok()) return w.status();
    return OnNetwork(w->network_id, [&](NetworkSlot& slot, Shard& shard) {
      absl::Status s = slot.net->SetReader(req->session_id(), *e, *r);
      shard.RunReadyWaiters();
      return s;
    });
  });
}

// ------------------------------------------------------------------ events

grpc::ServerWriteReactor<grpc::ByteBuffer>* EmulatorService::WatchEvents(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
  int64_t start = SteadyNowNs();
  absl::Status s = CheckServing();
  v1::WatchEventsRequest parsed;
  const v1::WatchEventsRequest* req = &parsed;
  if (s.ok()) {
    grpc::ByteBuffer copy(*request);  // Deserialize consumes its buffer
    grpc::Status ps =
        grpc::SerializationTraits<v1::WatchEventsRequest>::Deserialize(&copy,
                                                                       &parsed);
    if (!ps.ok()) {
      // Worded as the other methods' undecodable requests are.
      s = Invalid("request is not a valid tcpemu.v1.WatchEventsRequest");
    }
  }
  if (s.ok() && pump_.shutting_down()) {
    s = absl::UnavailableError("tcpemud is shutting down");
  }
  if (s.ok() && hub_ == nullptr) s = absl::UnavailableError("events are off");
  absl::StatusOr<EventFilter> filter = EventFilter();
  if (s.ok() && req->session_ids_size() > kMaxWatchedSessions) {
    // Each subscriber keeps its filter; this bounds its memory.
    s = Invalid(absl::StrCat("session_ids: ", req->session_ids_size(),
                             " ids, at most ", kMaxWatchedSessions));
  }
  if (s.ok()) {
    filter = EventFilterFromProto(*req);
    if (!filter.ok()) s = filter.status();
  }
  if (s.ok() && req->network_id() != 0) {
    absl::StatusOr<Where> w = NetworkOf(req->network_id());
    if (!w.ok()) s = w.status();
  }
  uint32_t max_batch = req->max_batch() == 0 ? kDefaultBatch : req->max_batch();
  if (s.ok() && max_batch > kMaxBatch) {
    s = Invalid(absl::StrCat("max_batch ", max_batch, " out of range [0, ",
                             kMaxBatch, "]"));
  }
  absl::StatusOr<std::shared_ptr<Subscription>> sub =
      absl::UnavailableError("not subscribed");
  if (s.ok()) {
    sub = hub_->Subscribe(*filter, req->replay());
    if (!sub.ok()) s = sub.status();
    if (absl::IsResourceExhausted(s) && metrics_ != nullptr) {
      metrics_->CountLimitRejection(Limit::kSubscribers);
    }
  }
  if (!s.ok()) {
    if (metrics_ != nullptr) {
      metrics_->ObserveRpc("WatchEvents", static_cast<int>(s.code()),
                           static_cast<double>(SteadyNowNs() - start) / 1e9);
    }
    // A reactor that finishes at once carries the error to the client.
    class Refused final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
     public:
      explicit Refused(const grpc::Status& st) { Finish(st); }
      void OnDone() override { delete this; }
    };
    return new Refused(ToGrpc(s));
  }
  auto* reactor = new WatchReactor(&pump_, hub_, *std::move(sub), max_batch,
                                   metrics_, start);
  // Headers go out at once, marked: a client knows the subscription is live
  // (and later events will reach it) before the first event exists, and
  // tells it from a refusal, which comes as a status without headers.
  ctx->AddInitialMetadata("tcpemu-subscribed", "1");
  reactor->StartSendInitialMetadata();
  pump_.Add(reactor);
  return reactor;
}

// ------------------------------------------------------------------ metrics

StateSnapshot EmulatorService::SnapshotState() {
  StateSnapshot snap;
  const bool per_session =
      metrics_ != nullptr && metrics_->options().per_session_metrics;
  for (auto& shard : shards_) {
    shard->Call([&] {
      for (NetworkSlot* slot : shard->networks()) {
        Network& net = *slot->net;
        net.ForEachSession([&](uint32_t sid, uint32_t, bool destroyed) {
          if (destroyed) return;
          StateSnapshot::PerSession ps;
          ps.session_id = sid;
          ps.network_id = slot->id;
          for (Endpoint e : {Endpoint::kClient, Endpoint::kServer}) {
            std::optional<EndpointStatus> now = net.GetEndpoint(sid, e);
            std::optional<TcbSnapshot> tcb = net.GetTcb(sid, e);
            if (!now.has_value() || !tcb.has_value()) continue;
            ++snap.sessions_by_state[static_cast<size_t>(now->state)];
            const TcbSnapshot& t = *tcb;
            snap.cwnd_bytes.push_back(t.cwnd);
            if (e == Endpoint::kClient) {
              ps.cwnd_client = t.cwnd;
              ps.srtt_client_ns = t.srtt;
            } else {
              ps.cwnd_server = t.cwnd;
              ps.srtt_server_ns = t.srtt;
            }
          }
          if (per_session) snap.per_session.push_back(ps);
        });
        for (uint32_t link_id : net.link_ids()) {
          for (Direction d : {Direction::kForward, Direction::kReverse}) {
            if (const Path* path = net.path(link_id, d)) {
              snap.link_queue_packets += path->queued_packets();
              snap.link_queue_bytes += path->queued_bytes();
            }
          }
        }
        for (const auto& [link_id, device] : slot->devices) {
          const Interface* iface = net.interface(link_id);
          if (iface == nullptr) continue;
          const TapWriteCounters& w = device->write_counters();
          snap.interfaces.push_back({link_id, slot->id, device->name(),
                                     iface->counters(), w.tso_frames,
                                     w.tso_segments});
        }
        if (slot->proxies != nullptr) {
          auto& table = static_cast<ProxyTable&>(*slot->proxies);
          for (uint32_t id : table.ids()) {
            v1::Proxy p;
            table.Fill(id, &p);
            const v1::ProxyCounters& c = p.counters();
            snap.proxies.push_back(
                {id, slot->id, p.name(), c.connections_accepted(),
                 c.connections_refused(), c.upstream_failures(),
                 c.connections_active(), c.bytes_upstream(),
                 c.bytes_downstream()});
          }
        }
      }
    });
  }
  return snap;
}

}  // namespace tcpemu::server
