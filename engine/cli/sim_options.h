// Command-line options of tcpemu-sim: parsing and range checks of its flags,
// and the link and session specs they describe. Errors are InvalidArgument and
// name the flag and the accepted form or range.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/base/time.h"
#include "engine/link/path_spec.h"
#include "engine/sim/network.h"
#include "engine/tcp/tcp_config.h"

namespace tcpemu {

struct SimOptions {
  // Bytes the client sends to the server.
  uint64_t bytes = 10 * 1024 * 1024;
  // The impairments of the link; the same spec is used for both directions
  // (client to server and server to client).
  PathSpec path;
  // TCP configuration of both endpoints.
  TcpConfig tcp;
  // Bytes per second the server application reads; 0 reads everything as
  // soon as it arrives.
  uint64_t reader_rate = 0;
  uint64_t seed = 1;
  // Virtual time after which the run stops, finished or not.
  DurationNs time_limit = 600 * kSecond;
  // Where to write every event as JSON Lines; empty for nowhere.
  std::string events_path;
  bool json = false;
  bool digest = true;
  bool help = false;
};

// Parses the arguments after the program name. Accepts "--flag value" and
// "--flag=value"; switches take no value. A later flag overrides an earlier
// one. Every value is range-checked here, so a successful result always
// builds a valid link and session.
absl::StatusOr<SimOptions> ParseSimOptions(
    absl::Span<const std::string_view> args);
// The same over main()'s argc/argv (argv[0] is skipped).
absl::StatusOr<SimOptions> ParseSimOptions(int argc, const char* const* argv);

// The session the options describe, across link `link_id`: both endpoints
// get `tcp`, the client connects, the server reads at `reader_rate`.
SessionSpec MakeSessionSpec(const SimOptions& options, uint32_t link_id);

// The --help text.
std::string SimUsage();

}  // namespace tcpemu
