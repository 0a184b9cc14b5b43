// tcpemud --proxies FILE: toxiproxy's JSON config format loaded at start.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {

// Loads toxiproxy's config file (an array of {name, listen, upstream,
// enabled}, what toxiproxy-server -config reads) as POST /populate does:
// creates the proxies that do not exist and replaces those whose listen or
// upstream differ; a missing listen is 127.0.0.1:0. Every entry is checked
// before any proxy is made. Errors start with "--proxies <path>: " and keep
// the code of the failed call (InvalidArgument for a file that is not such
// an array, PermissionDenied for an address the allow flags refuse, ...).
absl::Status LoadToxiproxyConfig(const std::string& path,
                                 tcpemu::v1::Emulator::StubInterface* stub);

}  // namespace tcpemu::server
