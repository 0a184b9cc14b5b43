// Helpers for tests of tcpemud over real gRPC: an in-process daemon on port 0,
// unary calls with a deadline, a WatchEvents collector on its own thread, a
// grpc.health.v1 check through a generic stub, and process-state readers.
#pragma once

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/daemon.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server::testutil {

// Options for an in-process daemon that binds a free port on 127.0.0.1 and
// serves no /metrics endpoint.
inline DaemonOptions LocalOptions() {
  DaemonOptions o;
  o.listen = "127.0.0.1:0";
  o.metrics_listen = "";
  o.emulator.shards = 2;
  return o;
}

inline std::shared_ptr<grpc::Channel> LocalChannel(int port) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

using Stub = v1::Emulator::Stub;

// One unary call with a fresh context and a deadline.
template <typename Req, typename Resp>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                               Resp*),
                  const Req& req, Resp* resp,
                  absl::Duration timeout = absl::Seconds(60)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   absl::ToChronoNanoseconds(timeout));
  return (stub->*method)(&ctx, req, resp);
}

// Durations in google.protobuf.Duration form.
inline void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

inline absl::StatusOr<v1::Network> CreateNetwork(Stub* stub,
                                                 v1::ClockKind clock,
                                                 uint64_t seed) {
  v1::CreateNetworkRequest req;
  req.set_clock(clock);
  req.set_seed(seed);
  v1::Network net;
  grpc::Status s = Call(stub, &Stub::CreateNetwork, req, &net);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return net;
}

// A link with the same PathSpec both ways.
inline absl::StatusOr<v1::Link> CreateLink(Stub* stub, uint32_t network_id,
                                           const v1::PathSpec& path) {
  v1::CreateLinkRequest req;
  req.set_network_id(network_id);
  *req.mutable_forward() = path;
  *req.mutable_reverse() = path;
  v1::Link link;
  grpc::Status s = Call(stub, &Stub::CreateLink, req, &link);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return link;
}

inline absl::StatusOr<v1::Session> OpenSession(
    Stub* stub, const v1::OpenSessionRequest& req) {
  v1::Session session;
  grpc::Status s = Call(stub, &Stub::OpenSession, req, &session);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return session;
}

inline absl::StatusOr<v1::Session> GetSession(Stub* stub, uint32_t id) {
  v1::GetSessionRequest req;
  req.set_session_id(id);
  v1::Session session;
  grpc::Status s = Call(stub, &Stub::GetSession, req, &session);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return session;
}

inline grpc::Status AdvanceTime(Stub* stub, uint32_t network_id,
                                absl::Duration d,
                                v1::AdvanceTimeResponse* resp = nullptr) {
  v1::AdvanceTimeRequest req;
  req.set_network_id(network_id);
  SetDuration(d, req.mutable_duration());
  v1::AdvanceTimeResponse ignored;
  return Call(stub, &Stub::AdvanceTime, req, resp ? resp : &ignored);
}

inline grpc::Status AdvanceUntilIdle(Stub* stub, uint32_t network_id,
                                     v1::AdvanceTimeResponse* resp = nullptr) {
  v1::AdvanceTimeRequest req;
  req.set_network_id(network_id);
  req.set_until_idle(true);
  v1::AdvanceTimeResponse ignored;
  return Call(stub, &Stub::AdvanceTime, req, resp ? resp : &ignored);
}

// Writes generated bytes without waiting; returns how many were accepted.
inline absl::StatusOr<uint64_t> WriteFill(Stub* stub, uint32_t session_id,
                                          v1::Endpoint endpoint, uint64_t n,
                                          bool push = true) {
  v1::WriteRequest req;
  req.set_session_id(session_id);
  req.set_endpoint(endpoint);
  req.set_fill_bytes(n);
  req.set_push(push);
  v1::WriteResponse resp;
  grpc::Status s = Call(stub, &Stub::Write, req, &resp);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return resp.accepted();
}

inline grpc::Status CloseEndpoint(Stub* stub, uint32_t session_id,
                                  v1::Endpoint endpoint) {
  v1::CloseRequest req;
  req.set_session_id(session_id);
  req.set_endpoint(endpoint);
  v1::CloseResponse resp;
  return Call(stub, &Stub::Close, req, &resp);
}

// grpc.health.v1.Health/Check through a generic stub (Debian's gRPC ships
// no generated health stub). Encodes HealthCheckRequest{service} and returns
// HealthCheckResponse.status (1 SERVING, 2 NOT_SERVING), or the call's error.
inline absl::StatusOr<int> CheckHealth(
    grpc::GenericStub* stub, const std::string& service,
    absl::Duration timeout = absl::Seconds(10)) {
  google::protobuf::UnknownFieldSet request;
  if (!service.empty()) request.AddLengthDelimited(1, service);
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer req(&slice, 1);
  grpc::ByteBuffer resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   absl::ToChronoNanoseconds(timeout));
  absl::Notification done;
  grpc::Status status;
  stub->UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                  &req, &resp, [&](grpc::Status s) {
                    status = std::move(s);
                    done.Notify();
                  });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::vector<grpc::Slice> slices;
  if (!resp.Dump(&slices).ok()) return absl::InternalError("bad response");
  std::string body;
  for (const grpc::Slice& s : slices) {
    body.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(body)) {
    return absl::InternalError("unparsable HealthCheckResponse");
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.number() == 1 &&
        f.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      return static_cast<int>(f.varint());
    }
  }
  return 0;  // UNKNOWN, the field's default
}

// Collects a WatchEvents stream on a thread of its own.
class EventCollector {
 public:
  // Opens the stream and returns once the daemon has sent its headers, which
  // it does only after registering the subscriber: no event published after
  // the constructor is missed. registered() is false when the daemon refused
  // the subscription (the stream then ends with its status).
  EventCollector(Stub* stub, const v1::WatchEventsRequest& req) {
    reader_ = stub->WatchEvents(&ctx_, req);
    reader_->WaitForInitialMetadata();
    registered_ =
        ctx_.GetServerInitialMetadata().count("tcpemu-subscribed") > 0;
    thread_ = std::thread([this] { Run(); });
  }

  ~EventCollector() {
    ctx_.TryCancel();
    thread_.join();
  }

  EventCollector(const EventCollector&) = delete;
  EventCollector& operator=(const EventCollector&) = delete;

  bool registered() const { return registered_; }

  // Waits until `pred` holds for the events so far, the stream ends or the
  // timeout passes; returns the last value of `pred`.
  bool WaitUntil(const std::function<bool(const std::vector<v1::Event>&)>& pred,
                 absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      if (pred(events_)) return true;
      if (ended_ || absl::Now() >= deadline) return false;
      cv_.WaitWithDeadline(&mu_, deadline);
    }
  }

  // Waits for the stream to end and returns its status.
  grpc::Status WaitForEnd(absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    const absl::Time deadline = absl::Now() + timeout;
    while (!ended_ && absl::Now() < deadline) {
      cv_.WaitWithDeadline(&mu_, deadline);
    }
    if (!ended_) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "the stream did not end");
    }
    return status_;
  }

  std::vector<v1::Event> events() const {
    absl::MutexLock l(&mu_);
    return events_;
  }
  uint64_t events_lost() const {
    absl::MutexLock l(&mu_);
    return lost_;
  }
  size_t batches() const {
    absl::MutexLock l(&mu_);
    return batches_;
  }

 private:
  void Run() {
    v1::EventBatch batch;
    while (reader_->Read(&batch)) {
      absl::MutexLock l(&mu_);
      ++batches_;
      lost_ += batch.events_lost();
      for (v1::Event& e : *batch.mutable_events()) {
        events_.push_back(std::move(e));
      }
      cv_.SignalAll();
    }
    grpc::Status s = reader_->Finish();
    absl::MutexLock l(&mu_);
    status_ = s;
    ended_ = true;
    cv_.SignalAll();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::EventBatch>> reader_;
  std::thread thread_;
  bool registered_ = true;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::vector<v1::Event> events_ ABSL_GUARDED_BY(mu_);
  uint64_t lost_ ABSL_GUARDED_BY(mu_) = 0;
  size_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// Sum of every sample of `family` in Prometheus text (all label sets).
inline double MetricSum(absl::string_view text, absl::string_view family) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, family)) continue;
    absl::string_view rest = line.substr(family.size());
    if (rest.empty() || (rest[0] != '{' && rest[0] != ' ')) continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    if (space != absl::string_view::npos &&
        absl::SimpleAtod(line.substr(space + 1), &v)) {
      sum += v;
    }
  }
  return sum;
}

// Resident set size of this process, from /proc/self/statm.
inline int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  long size = 0, resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Deterministic bytes for client-supplied payloads (xorshift64*).
class ByteSource {
 public:
  explicit ByteSource(uint64_t seed) : state_(seed | 1) {}
  void Fill(std::string* out, size_t n) {
    out->resize(n);
    size_t i = 0;
    while (i < n) {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      uint64_t v = state_ * 0x2545F4914F6CDD1DULL;
      for (int k = 0; k < 8 && i < n; ++k, ++i) {
        (*out)[i] = static_cast<char>(v >> (8 * k));
      }
    }
  }

 private:
  uint64_t state_;
};

}  // namespace tcpemu::server::testutil
