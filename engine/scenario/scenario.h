// A scenario: one experiment described once (links, sessions with their TCP
// configuration and workloads, faults at given times, duration, seed), run
// in virtual time by ScenarioRunner. The YAML file format is in
// docs/experiments.md and docs/scenario.schema.json; scenario_loader.h reads
// it into these plain structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/time.h"
#include "engine/link/fault.h"
#include "engine/link/path_spec.h"
#include "engine/tcp/tcp_config.h"

namespace tcpemu {

// What the application of a session does. The client endpoint writes (bulk,
// on/off, rate) or asks (request/response); the server reads everything as
// it arrives and, for request/response, answers.
struct WorkloadSpec {
  enum class Kind : uint8_t {
    kBulk,             // the client writes `bytes` (0: without end)
    kRequestResponse,  // the client writes `request_bytes`, the server
                       // answers with `response_bytes` once it read them
                       // all; the next request `think` after the response
                       // was read; `count` requests (0: without end)
    kOnOff,            // bulk for `on`, silent for `off`, repeated
                       // (keys on_for, off_for)
    kRate,             // the client writes at `rate_bps` (application-
                       // limited), as far as its send buffer takes it
  } kind = Kind::kBulk;
  uint64_t bytes = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  uint64_t count = 0;
  DurationNs think = 0;
  DurationNs on = 0;
  DurationNs off = 0;
  uint64_t rate_bps = 0;
};

struct LinkScenario {
  std::string name;
  PathSpec forward;  // client -> server
  PathSpec reverse;  // server -> client
};

struct SessionScenario {
  std::string name;
  size_t link = 0;  // index into Scenario::links
  // When the client connects, and when the workload stops writing (0: at
  // the end of the run). The session is not closed at `stop`; a finite
  // workload closes it when done.
  DurationNs start = 0;
  DurationNs stop = 0;
  TcpConfig client;
  TcpConfig server;
  uint16_t server_port = 5001;
  WorkloadSpec workload;
};

// A fault rule added to a link at a given time.
struct FaultScenario {
  DurationNs at = 0;
  size_t link = 0;  // index into Scenario::links
  bool forward = true;
  bool reverse = false;
  // Restricts the rule to one session's ports (index into
  // Scenario::sessions).
  std::optional<size_t> session;
  FaultRule rule;
};

inline constexpr DurationNs kMaxScenarioDuration = 24 * 3600 * kSecond;
inline constexpr DurationNs kMinSampleInterval = 1 * kMillisecond;
inline constexpr size_t kMaxScenarioLinks = 1024;
inline constexpr size_t kMaxScenarioSessions = 10000;
inline constexpr size_t kMaxScenarioFaults = 10000;
// Time-series points per series (duration / sample_interval).
inline constexpr uint64_t kMaxSeriesPoints = 1'000'000;

struct Scenario {
  std::string name;
  uint64_t seed = 1;
  DurationNs duration = 10 * kSecond;
  DurationNs sample_interval = 100 * kMillisecond;
  std::vector<LinkScenario> links;
  std::vector<SessionScenario> sessions;
  std::vector<FaultScenario> faults;
  // The overrides the loader applied ("key.path=value"), in order, for the
  // report.
  std::vector<std::string> overrides;
};

}  // namespace tcpemu
