// OpenSession and OpenSessions: request validation, session ids and the
// shard calls that open sessions; see emulator_service.h.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "engine/wire/ipv4.h"
#include "server/convert.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

absl::Status NotFound(absl::string_view what, uint32_t id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

// `s` with "sessions[i]." before its message, which starts with a field
// name of the item ("sessions[3].link_id 9 not found").
absl::Status InItem(const absl::Status& s, size_t i) {
  return absl::Status(
      s.code(), absl::StrCat("sessions[", i, "].", ApiFieldNames(s.message())));
}

// `s` about opening item i ("sessions[3]: no ephemeral port free ...").
absl::Status OpeningItem(const absl::Status& s, size_t i) {
  return absl::Status(
      s.code(),
      absl::StrCat("sessions[", i, "]: ", ApiFieldNames(s.message())));
}

}  // namespace

absl::StatusOr<EmulatorService::PreparedOpen> EmulatorService::PrepareOpen(
    const v1::OpenSessionRequest& req) {
  PreparedOpen out;
  SessionSpec& spec = out.spec;
  absl::StatusOr<TcpConfig> client =
      FromProto(req.client(), "client", options_.max_buffer);
  if (!client.ok()) return CountBufferLimit(client.status());
  absl::StatusOr<TcpConfig> server =
      FromProto(req.server(), "server", options_.max_buffer);
  if (!server.ok()) return CountBufferLimit(server.status());
  absl::StatusOr<ReaderSpec> cr =
      FromProto(req.client_reader(), "client_reader");
  if (!cr.ok()) return cr.status();
  absl::StatusOr<ReaderSpec> sr =
      FromProto(req.server_reader(), "server_reader");
  if (!sr.ok()) return sr.status();
  if (req.client_port() > 65535) {
    return Invalid(absl::StrCat("client_port ", req.client_port(),
                                " out of range [0, 65535]"));
  }
  if (req.server_port() > 65535) {
    return Invalid(absl::StrCat("server_port ", req.server_port(),
                                " out of range [0, 65535]"));
  }
  const bool remote = req.has_remote();
  uint32_t link_id = req.link_id();
  if (remote) {
    if (req.link_id() != 0) {
      return Invalid(
          "link_id: must be unset with remote (use remote.interface_id)");
    }
    if (req.server_closed() || req.server_port() != 0 || req.has_server() ||
        req.has_server_reader()) {
      return Invalid(
          "server, server_port, server_closed, server_reader: must be unset "
          "with remote (the server is the remote host)");
    }
    if (req.remote().interface_id() == 0) {
      return Invalid("remote.interface_id: required");
    }
    if (req.remote().port() == 0 || req.remote().port() > 65535) {
      return Invalid(absl::StrCat("remote.port ", req.remote().port(),
                                  " out of range [1, 65535]"));
    }
    absl::StatusOr<uint32_t> addr = ParseIpv4(req.remote().address());
    if (!addr.ok()) {
      return Invalid(absl::StrCat("remote.address ",
                                  Quoted(req.remote().address()),
                                  ": not a dotted IPv4 address"));
    }
    spec.remote = RemoteSpec{*addr, static_cast<uint16_t>(req.remote().port())};
    link_id = req.remote().interface_id();
  }
  if (link_id == 0) return Invalid("link_id: required");
  if (req.network_id() != 0) {
    absl::StatusOr<Where> net = NetworkOf(req.network_id());
    if (!net.ok()) return net.status();
  }
  absl::StatusOr<Where> w = LinkOf(link_id);
  if (!w.ok()) {
    return remote ? NotFound("remote.interface_id", link_id) : w.status();
  }
  if (req.network_id() != 0 && req.network_id() != w->network_id) {
    return Invalid(absl::StrCat("link_id ", link_id, " belongs to network ",
                                w->network_id, ", not network_id ",
                                req.network_id()));
  }
  spec.client = *client;
  spec.server = *server;
  if (remote && !req.client().has_mtu()) spec.client.mtu = 0;
  spec.client_reader = *cr;
  spec.server_reader = *sr;
  spec.link_id = link_id;
  spec.client_port = static_cast<uint16_t>(req.client_port());
  if (req.server_port() != 0) {
    spec.server_port = static_cast<uint16_t>(req.server_port());
  }
  spec.server_listens = !req.server_closed();
  spec.digest = req.digest();
  out.where = *w;
  out.capture = req.capture();
  return out;
}

absl::Status EmulatorService::OpenPrepared(NetworkSlot& slot,
                                           const PreparedOpen& p) {
  if (p.capture) {
    absl::Status c = slot.captures->Enable(p.spec.id);
    if (absl::IsResourceExhausted(c)) {
      return Exhausted(Limit::kCaptures,
                       absl::StrCat("capture limit reached: --max_captures is ",
                                    options_.captures.max_captures,
                                    " (in-memory captures); delete captured "
                                    "sessions first"));
    }
    if (!c.ok()) return c;
  }
  absl::StatusOr<uint32_t> id = slot.net->OpenSession(p.spec);
  if (id.ok()) return absl::OkStatus();
  slot.captures->Forget(p.spec.id);
  if (!absl::IsResourceExhausted(id.status())) return id.status();
  // The engine's own limits: the port space of a link (or of an interface
  // towards one host), or its session limit.
  const bool ports = absl::StrContains(id.status().message(), "port");
  return Exhausted(
      ports ? Limit::kPorts : Limit::kSessions,
      ports ? absl::StrCat(id.status().message(),
                           " (port limit: ephemeral ports 49152-65535, fixed, "
                           "no flag); delete sessions or set client_port")
            : SessionLimitMessage(options_.max_sessions));
}

grpc::Status EmulatorService::OpenSession(Ctx*,
                                          const v1::OpenSessionRequest* req,
                                          v1::Session* resp) {
  return Observe("OpenSession", [&]() -> absl::Status {
    absl::StatusOr<PreparedOpen> p = PrepareOpen(*req);
    if (!p.ok()) return p.status();
    {
      absl::MutexLock l(&mu_);
      if (ids_.session_count() >= options_.max_sessions) {
        return Exhausted(Limit::kSessions,
                         SessionLimitMessage(options_.max_sessions));
      }
      p->spec.id = next_session_id_++;
      ids_.AddSession(p->spec.id, p->where.network_id);
    }
    absl::Status s = OnNetwork(p->where.network_id,
                               [&](NetworkSlot& slot, Shard&) -> absl::Status {
                                 absl::Status o = OpenPrepared(slot, *p);
                                 if (!o.ok()) return o;
                                 return FillSession(slot, p->spec.id, resp);
                               });
    if (!s.ok()) {
      absl::MutexLock l(&mu_);
      ids_.RemoveSession(p->spec.id);
    }
    return s;
  });
}

grpc::Status EmulatorService::OpenSessions(Ctx*,
                                           const v1::OpenSessionsRequest* req,
                                           v1::OpenSessionsResponse* resp) {
  return Observe("OpenSessions", [&]() -> absl::Status {
    const size_t n = static_cast<size_t>(req->sessions_size());
    if (n == 0 || n > kMaxOpenSessionsBatch) {
      return Invalid(absl::StrCat("sessions: ", n, " requests, allowed [1, ",
                                  kMaxOpenSessionsBatch, "]"));
    }
    // Everything is checked before anything is opened.
    std::vector<PreparedOpen> prepared;
    prepared.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      absl::StatusOr<PreparedOpen> p = PrepareOpen(req->sessions(i));
      if (!p.ok()) return InItem(p.status(), i);
      prepared.push_back(*std::move(p));
    }
    {
      absl::MutexLock l(&mu_);
      const size_t held = ids_.session_count();
      if (held + n > options_.max_sessions) {
        return Exhausted(
            Limit::kSessions,
            absl::StrCat(SessionLimitMessage(options_.max_sessions), " (", held,
                         " held, this call asks for ", n, " more)"));
      }
      for (PreparedOpen& p : prepared) {
        p.spec.id = next_session_id_++;
        ids_.AddSession(p.spec.id, p.where.network_id);
      }
    }
    // The items of each shard, in request order; one submission per shard,
    // the shards working at once.
    std::vector<std::vector<size_t>> by_shard(shards_.size());
    for (size_t i = 0; i < n; ++i) {
      by_shard[prepared[i].where.shard->index()].push_back(i);
    }
    for (size_t i = 0; i < n; ++i) resp->add_sessions();
    struct ShardResult {
      absl::Status status;
      size_t failed_item = 0;
      std::vector<size_t> opened;  // items opened (for the rollback)
    };
    std::vector<ShardResult> results(shards_.size());
    size_t busy = 0;
    for (const auto& items : by_shard) busy += items.empty() ? 0 : 1;
    absl::BlockingCounter done(static_cast<int>(busy));
    for (size_t si = 0; si < shards_.size(); ++si) {
      if (by_shard[si].empty()) continue;
      shards_[si]->Post([&, si] {
        ShardResult& r = results[si];
        for (size_t i : by_shard[si]) {
          const PreparedOpen& p = prepared[i];
          NetworkSlot* slot = shards_[si]->network(p.where.network_id);
          absl::Status s = slot == nullptr
                               ? NotFound("network_id", p.where.network_id)
                               : OpenPrepared(*slot, p);
          if (s.ok()) {
            r.opened.push_back(i);
            s = FillSession(*slot, p.spec.id, resp->mutable_sessions(i));
          }
          if (!s.ok()) {
            r.status = s;
            r.failed_item = i;
            break;
          }
        }
        done.DecrementCount();
      });
    }
    done.Wait();
    // The first failure in request order decides; then nothing stays open.
    const ShardResult* failed = nullptr;
    for (const ShardResult& r : results) {
      if (!r.status.ok() &&
          (failed == nullptr || r.failed_item < failed->failed_item)) {
        failed = &r;
      }
    }
    if (failed == nullptr) return absl::OkStatus();
    for (size_t si = 0; si < shards_.size(); ++si) {
      if (results[si].opened.empty()) continue;
      Shard& shard = *shards_[si];
      shard.Call([&] {
        for (size_t i : results[si].opened) {
          const PreparedOpen& p = prepared[i];
          NetworkSlot* slot = shard.network(p.where.network_id);
          if (slot == nullptr) continue;
          (void)slot->net->DeleteSession(p.spec.id);
          slot->captures->Forget(p.spec.id);
          if (hub_ != nullptr) {
            hub_->ForgetSession(shard.index(), slot->id, p.spec.id);
          }
        }
        shard.RunReadyWaiters();
      });
    }
    {
      absl::MutexLock l(&mu_);
      for (const PreparedOpen& p : prepared) ids_.RemoveSession(p.spec.id);
    }
    resp->clear_sessions();
    return OpeningItem(failed->status, failed->failed_item);
  });
}

}  // namespace tcpemu::server
