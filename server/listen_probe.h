// Tells, before a server binds, whether its address is taken, so that the
// daemon can say "address in use" instead of failing without a word (gRPC) or
// with a generic message (the metrics server).
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tcpemu::server {

// OK if a TCP socket can bind `address` ("host:port", "[v6]:port" or
// ":port" for every interface) right now; otherwise an error whose message
// starts with "<flag> <address>: " and says why ("address in use", "cannot
// assign requested address", ...). Port 0 is always OK.
absl::Status ProbeListen(absl::string_view flag, absl::string_view address);

}  // namespace tcpemu::server
