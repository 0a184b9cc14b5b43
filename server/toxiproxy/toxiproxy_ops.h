// toxiproxy's operations on proxies and toxics (its ProxyCollection and
// ToxicCollection), carried out with tcpemu.v1.Emulator calls: shared by the
// HTTP API and the --proxies loader.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/toxiproxy/toxiproxy_json.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"
#include "tcpemu/v1/tcpemu.pb.h"

namespace tcpemu::server::toxiproxy {

// The listen address of a proxy made without one: toxiproxy would take any
// interface and a free port; loopback is what --proxy_listen_allow allows by
// default.
inline constexpr char kDefaultListen[] = "127.0.0.1:0";

// What POST /populate did: the proxies made or kept so far, and the error
// that stopped it (OK when every entry was done).
struct PopulateResult {
  absl::Status status;
  std::vector<v1::Proxy> proxies;
};

class ToxiproxyOps {
 public:
  // `stub` must outlive this object.
  explicit ToxiproxyOps(v1::Emulator::StubInterface* stub) : stub_(stub) {}

  absl::StatusOr<std::vector<v1::Proxy>> List();
  absl::StatusOr<v1::Proxy> Get(const std::string& name);
  // An enabled proxy unless `fields.enabled` is false; "missing required
  // field: name" / "upstream" when absent or empty.
  absl::StatusOr<v1::Proxy> Create(const ProxyFields& fields);
  // Changes listen, upstream and enabled where `fields` has them and they
  // differ from the proxy's (a listen equal to the bound address does not
  // differ). The name in `fields` is ignored.
  absl::StatusOr<v1::Proxy> Update(const std::string& name,
                                   const ProxyFields& fields);
  absl::Status Delete(const std::string& name);
  // For each entry, in order (as PopulateFromJson returns them): creates the
  // proxy if there is none of that name; replaces its listen, upstream,
  // enabled and toxics (none) if its listen or upstream differ; keeps it
  // otherwise. Stops at the first error.
  PopulateResult Populate(const std::vector<ProxyFields>& entries);
  // Enables every proxy and removes every toxic.
  absl::Status Reset();

  // toxiproxy's order (upstream first).
  absl::StatusOr<Json> Toxics(const std::string& proxy);
  // AlreadyExists "toxic already exists" when the proxy has one of its name.
  absl::StatusOr<v1::Toxic> AddToxic(const std::string& proxy,
                                     const v1::Toxic& toxic);
  // NotFound "toxic not found" when the proxy has none of that name.
  absl::StatusOr<v1::Toxic> GetToxic(const std::string& proxy,
                                     const std::string& name);
  absl::StatusOr<v1::Toxic> UpdateToxic(const std::string& proxy,
                                        const std::string& name,
                                        const Json& body);
  absl::Status RemoveToxic(const std::string& proxy, const std::string& name);

 private:
  absl::StatusOr<v1::Proxy> CallUpdate(const v1::Proxy& proxy,
                                       const std::vector<std::string>& paths);
  absl::StatusOr<v1::Proxy> CreateLocked(const ProxyFields& fields)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  v1::Emulator::StubInterface* const stub_;
  // Serializes the changes made here: a toxic's change is a read of the
  // proxy's toxics and an update of the whole list.
  absl::Mutex mu_;
};

}  // namespace tcpemu::server::toxiproxy
