// What calls that wait may hold: how many wait at once, and the payload bytes
// of waiting Writes, in total and per client. A call that would pass a limit
// is refused with RESOURCE_EXHAUSTED naming the flag, before it holds
// anything; a call that holds a share gives it back when it ends.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tcpemu::server {

struct WaitLimits {
  uint32_t max_calls = 4096;                // --max_waiting_calls
  uint64_t max_write_bytes = 256ull << 20;  // --max_waiting_write_bytes
  uint64_t max_write_bytes_per_client = 64ull << 20;  // ..._per_client
};

class WaitBudget {
 public:
  explicit WaitBudget(const WaitLimits& limits) : limits_(limits) {}

  // Takes one waiting call and `write_bytes` for `client`, or refuses.
  absl::Status Acquire(absl::string_view client, uint64_t write_bytes);
  // Gives back what one Acquire took.
  void Release(absl::string_view client, uint64_t write_bytes);

  uint32_t calls() const;
  uint64_t write_bytes() const;
  uint64_t write_bytes_of(absl::string_view client) const;

  // The client a call's limit is counted against: the peer's address
  // without its port ("ipv4:10.0.0.7:51234" -> "ipv4:10.0.0.7"), so that
  // one host's many connections share one share.
  static std::string ClientOf(absl::string_view peer);

 private:
  const WaitLimits limits_;
  mutable absl::Mutex mu_;
  uint32_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t write_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, uint64_t> per_client_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tcpemu::server
