// The calls that may wait, on gRPC's callback API: Write (for send-buffer
// space), Read (for data) and AdvanceTime (virtual time computed in slices on
// the shard). None holds a thread while it waits. Each ends on its own wait,
// on the call's deadline or cancellation and on shutdown; a waiting Write
// holds its payload only while its call lives.
#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "server/convert.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

// How long one slice of an AdvanceTime runs before the shard's other work
// (other networks, commands, /metrics) gets its turn, and how many engine
// entries run between looks at the clock.
constexpr int64_t kAdvanceSliceNs = 5'000'000;
constexpr size_t kAdvanceStep = 256;
constexpr DurationNs kDefaultUntilIdleLimit = 3600 * kSecond;
constexpr DurationNs kMaxAdvance = 30LL * 86400 * kSecond;

absl::Status Invalid(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

absl::Status NotFoundStatus(absl::string_view what, uint32_t id) {
  return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
}

std::string Seconds(TimeNs t) {
  return absl::StrFormat("%.6fs", static_cast<double>(t) / 1e9);
}

// A unary call finished once, from whichever thread ends it; its
// cancellation (the client's, or its deadline's) goes to a callback.
class CallReactor final : public grpc::ServerUnaryReactor, public CallEnd {
 public:
  CallReactor(Metrics* metrics, const char* method)
      : metrics_(metrics), method_(method), start_ns_(SteadyNowNs()) {}

  // Runs `fn` on cancellation; at once if the call is already cancelled.
  void OnCancelDo(absl::AnyInvocable<void()> fn) override {
    {
      absl::MutexLock l(&mu_);
      if (!cancelled_) {
        on_cancel_ = std::move(fn);
        return;
      }
    }
    fn();
  }

  // Ends the call; the reactor must not be touched afterwards.
  void Complete(const absl::Status& s) override {
    if (metrics_ != nullptr) {
      metrics_->ObserveRpc(
          method_, static_cast<int>(s.code()),
          static_cast<double>(SteadyNowNs() - start_ns_) / 1e9);
    }
    Finish(ToGrpc(s));
  }

  void OnCancel() override {
    absl::AnyInvocable<void()> fn;
    {
      absl::MutexLock l(&mu_);
      cancelled_ = true;
      fn = std::move(on_cancel_);
    }
    if (fn) fn();
  }
  void OnDone() override { delete this; }

 private:
  Metrics* metrics_;
  const char* method_;
  int64_t start_ns_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::AnyInvocable<void()> on_cancel_ ABSL_GUARDED_BY(mu_);
};

// What the waiting ops share: shard-thread state, finished exactly once.
struct WaitingOp {
  CallEnd* reactor = nullptr;  // null once completed
  Shard* shard = nullptr;
  uint32_t network_id = 0;
  uint32_t session_id = 0;
  Endpoint endpoint = Endpoint::kClient;
  const std::atomic<bool>* shutting_down = nullptr;
  bool wait = false;       // the call has a wait
  bool waited = false;     // and waited (tried more than once)
  bool cancelled = false;  // by the client, its deadline or the wait
  std::optional<Shard::WallTimerId> timer;
  // Given back when the op ends.
  WaitBudget* budget = nullptr;
  std::string client;
  uint64_t held_bytes = 0;

  bool finished() const { return reactor == nullptr; }

  // Handler thread: what every waiting op has; a call with a wait takes its
  // share of `limits` (one call, `held_bytes` for `peer`) or is refused.
  absl::Status Prepare(CallEnd* r, Shard* s, uint32_t network, uint32_t session,
                       Endpoint e, const std::atomic<bool>* stopping,
                       DurationNs wait_ns, WaitBudget* limits,
                       absl::string_view peer, uint64_t held) {
    reactor = r;
    shard = s;
    network_id = network;
    session_id = session;
    endpoint = e;
    shutting_down = stopping;
    wait = wait_ns > 0;
    if (!wait) return absl::OkStatus();
    client = WaitBudget::ClientOf(peer);
    held_bytes = held;
    absl::Status got = limits->Acquire(client, held_bytes);
    if (got.ok()) budget = limits;
    return got;
  }

  // Shard thread: gives back the budget and the timer, ends the call.
  void End(const absl::Status& s) {
    if (reactor == nullptr) return;
    if (timer.has_value()) shard->CancelWallTimer(*timer);
    timer.reset();
    if (budget != nullptr) budget->Release(client, held_bytes);
    budget = nullptr;
    CallEnd* r = reactor;
    reactor = nullptr;
    r->Complete(s);
  }
};

// Starts `op` on its shard: one attempt, then, with a wait, a waiter that
// tries again on each activity of its endpoint, and the wait's timer and the
// call's cancellation, either of which ends the op through that waiter (which
// then leaves the waiter list at once).
template <typename Op>
void StartOnShard(const std::shared_ptr<Op>& op, DurationNs wait) {
  op->shard->Post([op, wait] {
    Shard* shard = op->shard;
    NetworkSlot* slot = shard->network(op->network_id);
    if (slot == nullptr) {
      op->Fail(NotFoundStatus("network_id", op->network_id));
      return;
    }
    if (op->Attempt()) return;
    op->waited = true;
    auto stop = [op, shard] {
      if (op->finished()) return;
      op->cancelled = true;
      NetworkSlot* slot = shard->network(op->network_id);
      if (slot != nullptr) {
        shard->RetryWaiters(*slot, op->session_id, op->endpoint);
      }
      if (!op->finished()) op->Attempt();
    };
    op->timer = shard->AddWallTimer(SteadyNowNs() + wait, stop);
    op->reactor->OnCancelDo([shard, stop]() mutable { shard->Post(stop); });
    shard->AddWaiter(*slot, op->session_id, op->endpoint,
                     [op] { return op->Attempt(); });
  });
}

// The `wait` of a Write or Read (0 when unset).
template <typename Req>
absl::StatusOr<DurationNs> WaitOf(const Req& req) {
  if (!req.has_wait()) return 0;
  return DurationFromProto(req.wait(), "wait");
}

// A write that may wait for send-buffer space. Its bytes are the request's,
// which lives until the call ends.
struct WriteOp : WaitingOp {
  const v1::WriteRequest* req = nullptr;
  v1::WriteResponse* resp = nullptr;
  uint64_t total = 0;
  uint64_t done = 0;
  absl::Status status;

  void Fail(const absl::Status& s) {
    status = s;
    Finish();
  }

  // One attempt on the shard; true when the op is over.
  bool Attempt() {
    if (finished()) return true;
    if (cancelled || shutting_down->load()) return Finish();
    NetworkSlot* slot = shard->network(network_id);
    if (slot == nullptr) {
      status = absl::NotFoundError(
          absl::StrCat("session_id ", session_id, ": its network was deleted"));
      return Finish();
    }
    if (!slot->net->GetEndpoint(session_id, endpoint).has_value()) {
      status = slot->net->CheckEndpoint(session_id, endpoint);
      if (status.ok()) {
        status = absl::FailedPreconditionError(
            absl::StrCat("session_id ", session_id, " is closed"));
      }
      return Finish();
    }
    if (done < total) {
      // As much of the rest as the send buffer takes now.
      const size_t rest = static_cast<size_t>(
          std::min<uint64_t>(total - done, std::numeric_limits<size_t>::max()));
      absl::StatusOr<WriteResult> got =
          req->payload_case() == v1::WriteRequest::kFillBytes
              ? slot->net->WriteGeneratedAvailable(session_id, endpoint, rest,
                                                   req->push())
              : slot->net->WriteAvailable(
                    session_id, endpoint,
                    absl::MakeConstSpan(
                        reinterpret_cast<const uint8_t*>(req->data().data()) +
                            done,
                        rest),
                    req->push());
      if (!got.ok()) {
        status = got.status();
        return Finish();
      }
      done += got->accepted;
    }
    if (done == total || !wait) return Finish();
    return false;
  }

  bool Finish() {
    if (finished()) return true;
    // What was accepted stays accepted, whatever ended the wait.
    if (!status.ok() && done == 0) {
      End(status);
      return true;
    }
    NetworkSlot* slot = shard->network(network_id);
    std::optional<EndpointStatus> now =
        slot ? slot->net->GetEndpoint(session_id, endpoint) : std::nullopt;
    resp->set_accepted(done);
    resp->set_send_buffer_free(
        now ? static_cast<uint32_t>(now->send_buffer_free) : 0);
    End(absl::OkStatus());
    return true;
  }
};

// A read that may wait for data or the end of the stream.
struct ReadOp : WaitingOp {
  v1::ReadResponse* resp = nullptr;
  uint32_t max = 0;

  void Fail(const absl::Status& s) { End(s); }

  bool Attempt() {
    if (finished()) return true;
    // Out of time: an empty answer, as a read that found nothing.
    if (cancelled || shutting_down->load()) return Finish(absl::OkStatus());
    NetworkSlot* slot = shard->network(network_id);
    if (slot == nullptr) {
      return Finish(absl::NotFoundError(
          absl::StrCat("session_id ", session_id,
                       ": its network was deleted while the Read waited")));
    }
    std::optional<EndpointStatus> c =
        slot->net->GetEndpoint(session_id, endpoint);
    if (!c.has_value()) {
      absl::Status why = slot->net->CheckEndpoint(session_id, endpoint);
      if (absl::IsInvalidArgument(why)) return Finish(why);  // a host's side
      if (absl::IsNotFound(why) && waited) {
        return Finish(absl::NotFoundError(absl::StrCat(
            "session_id ", session_id, " was deleted while the Read waited")));
      }
      if (absl::IsNotFound(why)) return Finish(why);
      resp->set_eof(true);  // the session is over: nothing more will arrive
      return Finish(absl::OkStatus());
    }
    if (c->readable == 0 && !c->eof) {
      return wait ? false : Finish(absl::OkStatus());
    }
    std::string* data = resp->mutable_data();
    data->resize(std::min<size_t>(max, c->readable));
    absl::StatusOr<ReadResult> got = slot->net->ReadAvailable(
        session_id, endpoint,
        absl::MakeSpan(reinterpret_cast<uint8_t*>(data->data()), data->size()));
    if (!got.ok()) return Finish(got.status());
    data->resize(got->bytes);
    resp->set_eof(got->eof);
    return Finish(absl::OkStatus());
  }

  bool Finish(const absl::Status& s) {
    End(s);
    return true;
  }
};

// Virtual time computed in slices, each re-posted to the shard's queue.
struct AdvanceOp {
  CallEnd* reactor = nullptr;
  v1::AdvanceTimeResponse* resp = nullptr;
  Shard* shard = nullptr;
  uint32_t network_id = 0;
  bool until_idle = false;
  TimeNs target = 0;  // duration: now + duration; until_idle: now + limit
  bool target_set = false;
  int64_t start_ns = 0;
  int64_t budget_ns = 0;  // --max_advance_seconds
  std::atomic<bool> cancelled{false};
  const std::atomic<bool>* shutting_down = nullptr;

  void End(const absl::Status& s) {
    CallEnd* r = reactor;
    reactor = nullptr;
    r->Complete(s);
  }

  // One slice; re-posts itself until done.
  void Slice(std::shared_ptr<AdvanceOp> self) {
    NetworkSlot* slot = shard->network(network_id);
    if (slot == nullptr) {
      return End(absl::NotFoundError(absl::StrCat(
          "network_id ", network_id, " was deleted while AdvanceTime ran")));
    }
    Network& net = *slot->net;
    if (cancelled.load()) {
      return End(absl::CancelledError(
          absl::StrCat("AdvanceTime cancelled; network_id ", network_id,
                       " stopped at ", Seconds(net.now()))));
    }
    if (shutting_down->load() || shard->stopping()) {
      return End(absl::UnavailableError(
          absl::StrCat("tcpemud is shutting down; network_id ", network_id,
                       " stopped at ", Seconds(net.now()))));
    }
    if (!target_set) {
      target += net.now();
      target_set = true;
    }
    const int64_t slice_end = SteadyNowNs() + kAdvanceSliceNs;
    bool done = false;
    bool idle = false;
    do {
      if (until_idle) {
        TimeNs next = net.NextDeadline();
        if (next == kNever) {
          done = idle = true;
        } else if (next > target) {
          net.RunUntil(target);
          done = true;
        } else {
          net.RunUntilBounded(next, kAdvanceStep);
        }
      } else if (net.RunUntilBounded(target, kAdvanceStep)) {
        done = true;
        idle = net.NextDeadline() == kNever;
      }
    } while (!done && SteadyNowNs() < slice_end);
    shard->RunReadyWaiters();
    if (done) {
      DurationToProto(net.now(), resp->mutable_now());
      resp->set_idle(idle);
      return End(absl::OkStatus());
    }
    if (SteadyNowNs() - start_ns >= budget_ns) {
      return End(absl::ResourceExhaustedError(absl::StrCat(
          "AdvanceTime computed for ", budget_ns / 1'000'000'000,
          " s of wall time (--max_advance_seconds) and stopped: network_id ",
          network_id, " is at ", Seconds(net.now()), " of ", Seconds(target),
          "; call AdvanceTime again to go on")));
    }
    shard->Post([self]() mutable { self->Slice(self); });
  }
};

}  // namespace

grpc::ServerUnaryReactor* EmulatorService::Write(
    grpc::CallbackServerContext* ctx, const v1::WriteRequest* req,
    v1::WriteResponse* resp) {
  auto* reactor = new CallReactor(metrics_, "Write");
  StartWrite(req, resp, ctx->peer(), reactor);
  return reactor;
}

grpc::ServerUnaryReactor* EmulatorService::Read(
    grpc::CallbackServerContext* ctx, const v1::ReadRequest* req,
    v1::ReadResponse* resp) {
  auto* reactor = new CallReactor(metrics_, "Read");
  StartRead(req, resp, ctx->peer(), reactor);
  return reactor;
}

grpc::ServerUnaryReactor* EmulatorService::AdvanceTime(
    grpc::CallbackServerContext*, const v1::AdvanceTimeRequest* req,
    v1::AdvanceTimeResponse* resp) {
  auto* reactor = new CallReactor(metrics_, "AdvanceTime");
  StartAdvanceTime(req, resp, reactor);
  return reactor;
}

void EmulatorService::StartWrite(const v1::WriteRequest* req,
                                 v1::WriteResponse* resp,
                                 absl::string_view peer, CallEnd* reactor) {
  absl::Status s = [&]() -> absl::Status {
    absl::Status serving = CheckServing();
    if (!serving.ok()) return serving;
    absl::StatusOr<Endpoint> e = EndpointFromProto(req->endpoint(), "endpoint");
    if (!e.ok()) return e.status();
    uint64_t total = 0;
    if (req->payload_case() == v1::WriteRequest::kData) {
      if (req->data().size() > options_.max_write_bytes) {
        return Exhausted(Limit::kWriteBytes,
                         absl::StrCat("data: ", req->data().size(),
                                      " bytes exceeds the per-Write limit: "
                                      "--max_write_bytes is ",
                                      options_.max_write_bytes,
                                      "; split the data into several Writes"));
      }
      total = req->data().size();
    } else if (req->payload_case() == v1::WriteRequest::kFillBytes) {
      if (req->fill_bytes() > (uint64_t{1} << 40)) {
        return Invalid(absl::StrCat("fill_bytes ", req->fill_bytes(),
                                    " out of range [0, 2^40]"));
      }
      total = req->fill_bytes();
    } else {
      return Invalid("payload: set data or fill_bytes");
    }
    absl::StatusOr<DurationNs> wait = WaitOf(*req);
    if (!wait.ok()) return wait.status();
    absl::StatusOr<Where> where = SessionOf(req->session_id());
    if (!where.ok()) return where.status();
    auto op = std::make_shared<WriteOp>();
    op->req = req;
    op->resp = resp;
    op->total = total;
    // A waiting Write's payload stays in memory for as long as it waits.
    const uint64_t held =
        req->payload_case() == v1::WriteRequest::kData ? total : 0;
    absl::Status got =
        op->Prepare(reactor, where->shard, where->network_id, req->session_id(),
                    *e, &shutting_down_, *wait, &wait_budget_, peer, held);
    if (!got.ok()) return Exhausted(Limit::kWaiting, got.message());
    StartOnShard(op, *wait);
    return absl::OkStatus();
  }();
  if (!s.ok()) reactor->Complete(s);
}

void EmulatorService::StartRead(const v1::ReadRequest* req,
                                v1::ReadResponse* resp, absl::string_view peer,
                                CallEnd* reactor) {
  absl::Status s = [&]() -> absl::Status {
    absl::Status serving = CheckServing();
    if (!serving.ok()) return serving;
    absl::StatusOr<Endpoint> e = EndpointFromProto(req->endpoint(), "endpoint");
    if (!e.ok()) return e.status();
    uint32_t max = req->max_bytes();
    if (max == 0 || max > options_.max_read_bytes) {
      return Invalid(absl::StrCat("max_bytes ", max, " out of range [1, ",
                                  options_.max_read_bytes, "]"));
    }
    absl::StatusOr<DurationNs> wait = WaitOf(*req);
    if (!wait.ok()) return wait.status();
    absl::StatusOr<Where> where = SessionOf(req->session_id());
    if (!where.ok()) return where.status();
    auto op = std::make_shared<ReadOp>();
    op->resp = resp;
    op->max = max;
    absl::Status got =
        op->Prepare(reactor, where->shard, where->network_id, req->session_id(),
                    *e, &shutting_down_, *wait, &wait_budget_, peer, 0);
    if (!got.ok()) return Exhausted(Limit::kWaiting, got.message());
    StartOnShard(op, *wait);
    return absl::OkStatus();
  }();
  if (!s.ok()) reactor->Complete(s);
}

void EmulatorService::StartAdvanceTime(const v1::AdvanceTimeRequest* req,
                                       v1::AdvanceTimeResponse* resp,
                                       CallEnd* reactor) {
  absl::Status s = [&]() -> absl::Status {
    absl::Status serving = CheckServing();
    if (!serving.ok()) return serving;
    auto op = std::make_shared<AdvanceOp>();
    if (req->target_case() == v1::AdvanceTimeRequest::kDuration) {
      absl::StatusOr<DurationNs> d =
          DurationFromProto(req->duration(), "duration");
      if (!d.ok()) return d.status();
      if (*d > kMaxAdvance) {
        return Invalid("duration: out of range [0, 30 days]");
      }
      op->target = *d;
    } else if (req->target_case() == v1::AdvanceTimeRequest::kUntilIdle &&
               req->until_idle()) {
      op->until_idle = true;
      op->target = kDefaultUntilIdleLimit;
      if (req->has_limit()) {
        absl::StatusOr<DurationNs> l = DurationFromProto(req->limit(), "limit");
        if (!l.ok()) return l.status();
        if (*l > kMaxAdvance) {
          return Invalid("limit: out of range [0, 30 days]");
        }
        op->target = *l;
      }
    } else {
      return Invalid("target: set duration or until_idle");
    }
    absl::StatusOr<Where> where = NetworkOf(req->network_id());
    if (!where.ok()) return where.status();
    op->reactor = reactor;
    op->resp = resp;
    op->shard = where->shard;
    op->network_id = where->network_id;
    op->start_ns = SteadyNowNs();
    op->budget_ns = options_.max_advance_ns;
    op->shutting_down = &shutting_down_;
    reactor->OnCancelDo([op] { op->cancelled.store(true); });
    op->shard->Post([op] {
      NetworkSlot* slot = op->shard->network(op->network_id);
      if (slot != nullptr && slot->clock != Clock::kVirtual) {
        op->End(absl::FailedPreconditionError(absl::StrCat(
            "network_id ", slot->id,
            " is REALTIME; AdvanceTime needs a CLOCK_KIND_VIRTUAL network")));
        return;
      }
      op->Slice(op);
    });
    return absl::OkStatus();
  }();
  if (!s.ok()) reactor->Complete(s);
}

}  // namespace tcpemu::server
