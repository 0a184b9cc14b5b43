// Runs a Scenario in virtual time on an engine/sim Network: creates its links,
// opens its sessions at their start times, drives their workloads, adds its
// faults at their times, advances to its duration, and collects per-flow and
// per-link results and time series (docs/experiments.md, "summary.json").
// The same scenario gives the same result, to the bit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/base/event.h"
#include "engine/base/time.h"
#include "engine/link/path.h"
#include "engine/scenario/scenario.h"

namespace tcpemu {

// A bounded set of samples: kept in full up to kMaxKept; past that, every
// second kept sample is dropped and from then on only every second one is
// kept (and so on), deterministically.
class SampleSet {
 public:
  static constexpr size_t kMaxKept = 1'000'000;
  void Add(int64_t v);
  uint64_t count() const { return count_; }
  const std::vector<int64_t>& kept() const { return kept_; }

 private:
  std::vector<int64_t> kept_;
  uint64_t count_ = 0;
  uint64_t stride_ = 1;
};

// Nearest-rank percentiles of a set of values (ns), in ms.
struct DelayStats {
  uint64_t samples = 0;  // 0: the rest are undefined
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, mean_ms = 0;
};
DelayStats Summarize(std::vector<int64_t> values, uint64_t count);

struct FlowResult {
  std::string name;
  uint32_t session_id = 0;
  std::string link;
  CcAlgorithm cc = CcAlgorithm::kNewReno;
  WorkloadSpec::Kind workload = WorkloadSpec::Kind::kBulk;
  DurationNs start = 0;
  DurationNs active = 0;
  uint64_t bytes_to_server = 0;
  uint64_t bytes_to_client = 0;
  double goodput_bps = 0;
  std::optional<TimeNs> completed;
  uint64_t requests_completed = 0;
  uint64_t retransmissions = 0;
  uint64_t retransmitted_bytes = 0;
  uint64_t timeouts = 0;
  uint64_t fast_recoveries = 0;
  DelayStats rtt;
  TcpState client_state = TcpState::kClosed;
  TcpState server_state = TcpState::kClosed;
  ErrorCode client_error = ErrorCode::kNone;
  ErrorCode server_error = ErrorCode::kNone;
  // One value per sample time.
  std::vector<double> throughput_bps;
  std::vector<std::optional<uint32_t>> cwnd_bytes;
  std::vector<std::optional<double>> srtt_ms;
};

struct DirectionResult {
  PathCounters counters;
  DelayStats one_way_delay;
  DelayStats queueing_delay;
  uint64_t max_queue_bytes = 0;
  uint64_t max_queue_packets = 0;
  std::vector<uint64_t> queue_bytes;
  std::vector<uint64_t> queue_packets;
};

struct LinkResult {
  std::string name;
  uint32_t link_id = 0;
  DirectionResult forward;
  DirectionResult reverse;
};

struct ScenarioResult {
  TimeNs end = 0;
  std::vector<TimeNs> sample_times;
  std::vector<FlowResult> flows;
  std::vector<LinkResult> links;
  double total_goodput_bps = 0;
  std::optional<double> jain_fairness;
  uint64_t retransmissions = 0;
};

// Jain's fairness index (sum x)^2 / (n sum x^2); nullopt when every x is 0
// or there is none.
std::optional<double> JainIndex(const std::vector<double>& x);

struct ScenarioRunOptions {
  // Called with the virtual time reached about every 5 % of the duration;
  // returning false stops the run (Cancelled).
  std::function<bool(TimeNs now, TimeNs duration)> progress;
  // Polled every few thousand engine entries; returning true stops the run
  // (Cancelled).
  std::function<bool()> cancelled;
};

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario,
                                           const ScenarioRunOptions& options);

}  // namespace tcpemu
