// Reading a session's TCP configuration (its tcp, client_tcp and server_tcp
// keys) from scenario YAML into a TcpConfig. Used by scenario_loader.cc only.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "engine/scenario/scenario_yaml.h"
#include "engine/tcp/tcp_config.h"
#include "yaml-cpp/yaml.h"

namespace tcpemu::scenario_internal {

// Sets the fields of `c` that mapping `n` (at key path `path`) names,
// leaving the others as they are; unknown keys and values out of range are
// errors naming the line and the key path. TcpConfig::Validate is left to
// the caller, which knows where the configuration came from.
absl::Status ReadTcp(const Reader& r, const YAML::Node& n,
                     const std::string& path, TcpConfig* c);

}  // namespace tcpemu::scenario_internal
