// RunScenario; see scenarios.h.
#include "server/scenarios.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/scenario/scenario_loader.h"
#include "engine/scenario/scenario_report.h"
#include "engine/scenario/scenario_runner.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

void SetDuration(int64_t ns, google::protobuf::Duration* out) {
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

grpc::Status ScenarioRuns::Run(
    grpc::ServerContext* ctx, const v1::RunScenarioRequest& req,
    grpc::ServerWriterInterface<v1::RunScenarioProgress>* out) {
  if (shutting_down_->load()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "tcpemud is shutting down");
  }
  if (req.scenario_yaml().size() > limits_.max_yaml_bytes) {
    return Invalid(absl::StrCat("scenario_yaml: ", req.scenario_yaml().size(),
                                " bytes, more than the limit of ",
                                limits_.max_yaml_bytes, " bytes"));
  }
  if (req.scenario_yaml().empty()) {
    return Invalid("scenario_yaml: required (the scenario file's text)");
  }
  size_t files_bytes = 0;
  for (const auto& [name, text] : req.files()) {
    files_bytes += name.size() + text.size();
  }
  if (files_bytes > limits_.max_files_bytes) {
    return Invalid(absl::StrCat("files: ", files_bytes,
                                " bytes, more than the limit of ",
                                limits_.max_files_bytes, " bytes"));
  }
  // Holds a slot for the whole run.
  if (running_.fetch_add(1) >= limits_.max_concurrent) {
    running_.fetch_sub(1);
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("RunScenario: ", limits_.max_concurrent,
                     " scenario runs at once already (the limit)"));
  }
  struct Release {
    std::atomic<uint32_t>* n;
    ~Release() { n->fetch_sub(1); }
  } release{&running_};

  ScenarioLoadOptions options;
  options.overrides.assign(req.set().begin(), req.set().end());
  if (req.has_seed()) {
    options.overrides.push_back(absl::StrCat("seed=", req.seed()));
  }
  options.read_file =
      [&req](absl::string_view name) -> absl::StatusOr<std::string> {
    auto it = req.files().find(std::string(name));
    if (it == req.files().end()) {
      return absl::NotFoundError(absl::StrCat(
          "files has no entry \"", name.substr(0, 200),
          "\" (the daemon reads no file of its own: send it in files)"));
    }
    return it->second;
  };
  absl::StatusOr<Scenario> sc = LoadScenario(req.scenario_yaml(), options);
  if (!sc.ok()) {
    const bool from_override =
        absl::StartsWith(sc.status().message(), "override");
    std::string message(sc.status().message().substr(0, 800));
    return Invalid(
        absl::StrCat(from_override ? "set: " : "scenario_yaml: ", message));
  }

  enum class Stop { kNone, kCancelled, kDeadline, kShutdown };
  Stop stop = Stop::kNone;
  const auto deadline = ctx->deadline();
  auto check = [&]() {
    if (ctx->IsCancelled()) {
      stop = Stop::kCancelled;
    } else if (shutting_down_->load()) {
      stop = Stop::kShutdown;
    } else if (std::chrono::system_clock::now() >= deadline) {
      stop = Stop::kDeadline;
    }
    return stop != Stop::kNone;
  };
  ScenarioRunOptions run;
  run.cancelled = check;
  run.progress = [&](TimeNs now, TimeNs duration) {
    if (check()) return false;
    v1::RunScenarioProgress p;
    SetDuration(now, p.mutable_virtual_time());
    SetDuration(duration, p.mutable_duration());
    if (!out->Write(p)) {
      stop = Stop::kCancelled;
      return false;
    }
    return true;
  };
  absl::StatusOr<ScenarioResult> result = RunScenario(*sc, run);
  if (!result.ok()) {
    switch (stop) {
      case Stop::kDeadline:
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "RunScenario: the deadline passed at virtual "
                            "time before the scenario's end");
      case Stop::kShutdown:
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "RunScenario: tcpemud is shutting down");
      case Stop::kCancelled:
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "RunScenario: cancelled by the client");
      case Stop::kNone:
        break;
    }
    return Invalid(absl::StrCat("scenario_yaml: ", result.status().message()));
  }
  v1::RunScenarioProgress last;
  SetDuration(result->end, last.mutable_virtual_time());
  SetDuration(sc->duration, last.mutable_duration());
  last.set_summary_json(ScenarioSummaryJson(*sc, *result));
  out->WriteLast(last, grpc::WriteOptions());
  return grpc::Status::OK;
}

grpc::Status EmulatorService::RunScenario(
    grpc::ServerContext* ctx, const v1::RunScenarioRequest* req,
    grpc::ServerWriter<v1::RunScenarioProgress>* writer) {
  return scenarios_.Run(ctx, *req, writer);
}

}  // namespace tcpemu::server
