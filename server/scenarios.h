// RunScenario: a scenario file (engine/scenario) run on its own VIRTUAL
// network in the calling gRPC thread, never on a realtime shard, with
// progress streamed as virtual time advances and summary.json at the end.
// Bounded: the YAML and the files it names have size limits, and only so
// many runs go at once.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {

struct ScenarioLimits {
  uint32_t max_concurrent = 2;
  size_t max_yaml_bytes = 1024 * 1024;
  size_t max_files_bytes = 16 * 1024 * 1024;
};

class ScenarioRuns {
 public:
  // `shutting_down` (owned by the service) ends runs in progress when set.
  ScenarioRuns(const ScenarioLimits& limits,
               const std::atomic<bool>* shutting_down)
      : limits_(limits), shutting_down_(shutting_down) {}

  grpc::Status Run(grpc::ServerContext* ctx, const v1::RunScenarioRequest& req,
                   grpc::ServerWriterInterface<v1::RunScenarioProgress>* out);

  uint32_t running() const { return running_.load(); }

 private:
  const ScenarioLimits limits_;
  const std::atomic<bool>* const shutting_down_;
  std::atomic<uint32_t> running_{0};
};

}  // namespace tcpemu::server
