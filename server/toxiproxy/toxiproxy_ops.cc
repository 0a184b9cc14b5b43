// toxiproxy's proxy and toxic operations over the Emulator service; see
// toxiproxy_ops.h.
#include "server/toxiproxy/toxiproxy_ops.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace tcpemu::server::toxiproxy {
namespace {

// toxiproxy answers within 25 s (its timeout middleware); so does each call.
constexpr absl::Duration kCallTimeout = absl::Seconds(25);

void SetDeadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(kCallTimeout));
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

int FindToxic(const v1::Proxy& proxy, const std::string& name) {
  for (int i = 0; i < proxy.toxics_size(); ++i) {
    if (proxy.toxics(i).name() == name) return i;
  }
  return -1;
}

absl::Status ToxicNotFound() { return absl::NotFoundError("toxic not found"); }

absl::StatusOr<v1::Toxic> ToxicNamed(const v1::Proxy& proxy,
                                     const std::string& name) {
  const int i = FindToxic(proxy, name);
  if (i < 0) {
    // Toxics keep the names they are given; one missing is the daemon's
    // fault, not the request's.
    return absl::InternalError(
        absl::StrCat("toxic \"", name, "\" is not in the updated proxy"));
  }
  return proxy.toxics(i);
}

std::string ListenOrDefault(const ProxyFields& fields) {
  return fields.listen.has_value() && !fields.listen->empty() ? *fields.listen
                                                              : kDefaultListen;
}

// Whether `listen` names another address than the proxy's: toxiproxy
// compares it with the bound address, tcpemu also keeps the one given.
bool ListenDiffers(const v1::Proxy& proxy, const std::string& listen) {
  return listen != proxy.listen() && listen != proxy.listen_address();
}

}  // namespace

absl::StatusOr<std::vector<v1::Proxy>> ToxiproxyOps::List() {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::ListProxiesResponse resp;
  grpc::Status s = stub_->ListProxies(&ctx, v1::ListProxiesRequest(), &resp);
  if (!s.ok()) return FromGrpc(s);
  return std::vector<v1::Proxy>(resp.proxies().begin(), resp.proxies().end());
}

absl::StatusOr<v1::Proxy> ToxiproxyOps::Get(const std::string& name) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::GetProxyRequest req;
  req.set_name(name);
  v1::Proxy proxy;
  grpc::Status s = stub_->GetProxy(&ctx, req, &proxy);
  if (!s.ok()) return FromGrpc(s);
  return proxy;
}

absl::StatusOr<v1::Proxy> ToxiproxyOps::CallUpdate(
    const v1::Proxy& proxy, const std::vector<std::string>& paths) {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::UpdateProxyRequest req;
  *req.mutable_proxy() = proxy;
  for (const std::string& path : paths)
    req.mutable_update_mask()->add_paths(path);
  v1::Proxy updated;
  grpc::Status s = stub_->UpdateProxy(&ctx, req, &updated);
  if (!s.ok()) return FromGrpc(s);
  return updated;
}

absl::StatusOr<v1::Proxy> ToxiproxyOps::CreateLocked(
    const ProxyFields& fields) {
  if (!fields.name.has_value() || fields.name->empty()) {
    return absl::InvalidArgumentError("missing required field: name");
  }
  if (!fields.upstream.has_value() || fields.upstream->empty()) {
    return absl::InvalidArgumentError("missing required field: upstream");
  }
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::CreateProxyRequest req;
  req.set_name(*fields.name);
  req.set_listen(ListenOrDefault(fields));
  req.set_upstream(*fields.upstream);
  req.set_enabled(fields.enabled.value_or(true));
  v1::Proxy proxy;
  grpc::Status s = stub_->CreateProxy(&ctx, req, &proxy);
  if (!s.ok()) return FromGrpc(s);
  return proxy;
}

absl::StatusOr<v1::Proxy> ToxiproxyOps::Create(const ProxyFields& fields) {
  absl::MutexLock lock(&mu_);
  return CreateLocked(fields);
}

absl::StatusOr<v1::Proxy> ToxiproxyOps::Update(const std::string& name,
                                               const ProxyFields& fields) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::Proxy> current = Get(name);
  if (!current.ok()) return current.status();
  v1::Proxy change;
  change.set_id(current->id());
  change.set_name(current->name());
  std::vector<std::string> paths;
  // An empty address reads as absent: a proxy cannot be without one.
  if (fields.listen.has_value() && !fields.listen->empty() &&
      ListenDiffers(*current, *fields.listen)) {
    change.set_listen(*fields.listen);
    paths.push_back("listen");
  }
  if (fields.upstream.has_value() && !fields.upstream->empty() &&
      *fields.upstream != current->upstream()) {
    change.set_upstream(*fields.upstream);
    paths.push_back("upstream");
  }
  if (fields.enabled.has_value() && *fields.enabled != current->enabled()) {
    change.set_enabled(*fields.enabled);
    paths.push_back("enabled");
    // toxiproxy keeps the address it bound (port 0 resolved) as the proxy's
    // listen, so a proxy enabled again listens where it did before.
    if (!*fields.enabled && change.listen().empty() &&
        !current->listen_address().empty() &&
        current->listen_address() != current->listen()) {
      change.set_listen(current->listen_address());
      paths.push_back("listen");
    }
  }
  if (paths.empty()) return current;
  return CallUpdate(change, paths);
}

absl::Status ToxiproxyOps::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::DeleteProxyRequest req;
  req.set_name(name);
  google::protobuf::Empty empty;
  return FromGrpc(stub_->DeleteProxy(&ctx, req, &empty));
}

PopulateResult ToxiproxyOps::Populate(const std::vector<ProxyFields>& entries) {
  absl::MutexLock lock(&mu_);
  PopulateResult result;
  for (const ProxyFields& entry : entries) {
    absl::StatusOr<v1::Proxy> proxy = Get(entry.name.value_or(""));
    if (absl::IsNotFound(proxy.status())) {
      proxy = CreateLocked(entry);
    } else if (proxy.ok()) {
      const std::string listen = ListenOrDefault(entry);
      if (ListenDiffers(*proxy, listen) ||
          entry.upstream.value_or("") != proxy->upstream()) {
        // toxiproxy replaces the proxy with a new one: its toxics go too.
        v1::Proxy change;
        change.set_id(proxy->id());
        change.set_name(proxy->name());
        change.set_listen(listen);
        change.set_upstream(entry.upstream.value_or(""));
        change.set_enabled(entry.enabled.value_or(true));
        proxy = CallUpdate(change, {"listen", "upstream", "enabled", "toxics"});
      }
    }
    if (!proxy.ok()) {
      result.status = proxy.status();
      break;
    }
    result.proxies.push_back(*std::move(proxy));
  }
  return result;
}

absl::Status ToxiproxyOps::Reset() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<v1::Proxy>> proxies = List();
  if (!proxies.ok()) return proxies.status();
  for (const v1::Proxy& proxy : *proxies) {
    std::vector<std::string> paths;
    if (!proxy.enabled()) paths.push_back("enabled");
    if (proxy.toxics_size() > 0) paths.push_back("toxics");
    if (paths.empty()) continue;
    v1::Proxy change;
    change.set_id(proxy.id());
    change.set_name(proxy.name());
    change.set_enabled(true);
    absl::StatusOr<v1::Proxy> updated = CallUpdate(change, paths);
    if (!updated.ok()) return updated.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ToxiproxyOps::Toxics(const std::string& proxy) {
  absl::StatusOr<v1::Proxy> p = Get(proxy);
  if (!p.ok()) return p.status();
  return ToxicsToJson(p->toxics());
}

absl::StatusOr<v1::Toxic> ToxiproxyOps::AddToxic(const std::string& proxy,
                                                 const v1::Toxic& toxic) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::Proxy> current = Get(proxy);
  if (!current.ok()) return current.status();
  if (FindToxic(*current, toxic.name()) >= 0) {
    return absl::AlreadyExistsError("toxic already exists");
  }
  v1::Proxy change;
  change.set_id(current->id());
  change.set_name(current->name());
  *change.mutable_toxics() = current->toxics();
  *change.add_toxics() = toxic;
  absl::StatusOr<v1::Proxy> updated = CallUpdate(change, {"toxics"});
  if (!updated.ok()) return updated.status();
  return ToxicNamed(*updated, toxic.name());
}

absl::StatusOr<v1::Toxic> ToxiproxyOps::GetToxic(const std::string& proxy,
                                                 const std::string& name) {
  absl::StatusOr<v1::Proxy> current = Get(proxy);
  if (!current.ok()) return current.status();
  const int i = FindToxic(*current, name);
  if (i < 0) return ToxicNotFound();
  return current->toxics(i);
}

absl::StatusOr<v1::Toxic> ToxiproxyOps::UpdateToxic(const std::string& proxy,
                                                    const std::string& name,
                                                    const Json& body) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::Proxy> current = Get(proxy);
  if (!current.ok()) return current.status();
  const int i = FindToxic(*current, name);
  if (i < 0) return ToxicNotFound();
  v1::Proxy change;
  change.set_id(current->id());
  change.set_name(current->name());
  *change.mutable_toxics() = current->toxics();
  absl::Status s = UpdateToxicFromJson(body, change.mutable_toxics(i));
  if (!s.ok()) return s;
  absl::StatusOr<v1::Proxy> updated = CallUpdate(change, {"toxics"});
  if (!updated.ok()) return updated.status();
  return ToxicNamed(*updated, name);
}

absl::Status ToxiproxyOps::RemoveToxic(const std::string& proxy,
                                       const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::Proxy> current = Get(proxy);
  if (!current.ok()) return current.status();
  const int i = FindToxic(*current, name);
  if (i < 0) return ToxicNotFound();
  v1::Proxy change;
  change.set_id(current->id());
  change.set_name(current->name());
  for (int k = 0; k < current->toxics_size(); ++k) {
    if (k != i) *change.add_toxics() = current->toxics(k);
  }
  return CallUpdate(change, {"toxics"}).status();
}

}  // namespace tcpemu::server::toxiproxy
