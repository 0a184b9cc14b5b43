// Callback-API event streams and their pump; see event_stream.h.
#include "server/event_stream.h"

#include <algorithm>

#include "server/metrics.h"
#include "server/shard.h"

namespace tcpemu::server {
namespace {
// How often the pump looks for new events when nothing wakes it. Events that
// arrive meanwhile wait in the subscription; this bounds added latency.
constexpr absl::Duration kPollInterval = absl::Milliseconds(1);
}  // namespace

WatchReactor::WatchReactor(EventPump* pump, EventHub* hub,
                           std::shared_ptr<Subscription> sub,
                           uint32_t max_batch, Metrics* metrics,
                           int64_t started_ns)
    : pump_(pump),
      hub_(hub),
      sub_(std::move(sub)),
      max_batch_(max_batch),
      metrics_(metrics),
      started_ns_(started_ns) {}

WatchReactor::~WatchReactor() = default;

void WatchReactor::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void WatchReactor::MaybeFinishLocked(bool* finish_now) {
  if (finish_requested_ && !in_flight_ && !finished_) {
    finished_ = true;
    *finish_now = true;
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  bool finish_now = false;
  grpc::Status status;
  {
    absl::MutexLock l(&mu_);
    in_flight_ = false;
    if (!ok && !finish_requested_) {
      finish_requested_ = true;
      status_ = grpc::Status(grpc::StatusCode::CANCELLED,
                             "the stream's reader went away");
    }
    MaybeFinishLocked(&finish_now);
    status = status_;
  }
  if (finish_now) {
    Finish(status);
  } else {
    pump_->Wake();
  }
}

void WatchReactor::OnCancel() {
  Close(grpc::Status(grpc::StatusCode::CANCELLED,
                     "the client cancelled the stream"));
}

void WatchReactor::Close(const grpc::Status& status) {
  bool finish_now = false;
  grpc::Status s;
  {
    absl::MutexLock l(&mu_);
    if (!finish_requested_) {
      finish_requested_ = true;
      status_ = status;
    }
    MaybeFinishLocked(&finish_now);
    s = status_;
  }
  if (finish_now) Finish(s);
}

void WatchReactor::OnDone() {
  pump_->Remove(this);
  hub_->Unsubscribe(sub_);
  if (metrics_ != nullptr) {
    int code;
    {
      absl::MutexLock l(&mu_);
      code = static_cast<int>(status_.error_code());
    }
    metrics_->ObserveRpc(
        "WatchEvents", code,
        static_cast<double>(SteadyNowNs() - started_ns_) / 1e9);
  }
  Unref();
}

void WatchReactor::Pump(std::vector<EventRun>& scratch) {
  {
    absl::MutexLock l(&mu_);
    if (finish_requested_ || in_flight_) return;
  }
  scratch.clear();
  uint64_t lost = sub_->Next(max_batch_, absl::InfinitePast(), &scratch);
  if (scratch.empty() && lost == 0) return;
  {
    grpc::Slice slice(EventBatchBytes(scratch, lost));
    // A fresh slice of our own: writing into it before handing it over.
    char* p = reinterpret_cast<char*>(const_cast<uint8_t*>(slice.begin()));
    CopyEventBatch(scratch, lost, p);
    scratch.clear();  // lets go of the encoded events
    grpc::ByteBuffer bb(&slice, 1);
    batch_.Swap(&bb);
  }
  bool finish_now = false;
  bool write = false;
  grpc::Status status;
  {
    absl::MutexLock l(&mu_);
    if (finish_requested_) {
      MaybeFinishLocked(&finish_now);
      status = status_;
    } else {
      in_flight_ = true;
      write = true;
    }
  }
  if (finish_now) {
    Finish(status);
  } else if (write) {
    StartWrite(&batch_);
  }
}

EventPump::EventPump() : thread_([this] { Loop(); }) {}

EventPump::~EventPump() {
  Shutdown();
  {
    absl::MutexLock l(&mu_);
    exit_ = true;
  }
  thread_.join();
}

void EventPump::Add(WatchReactor* r) {
  absl::MutexLock l(&mu_);
  reactors_.push_back(r);
  woken_ = true;
}

void EventPump::Remove(WatchReactor* r) {
  absl::MutexLock l(&mu_);
  reactors_.erase(std::remove(reactors_.begin(), reactors_.end(), r),
                  reactors_.end());
}

void EventPump::Wake() {
  absl::MutexLock l(&mu_);
  woken_ = true;
}

void EventPump::Shutdown() {
  stopping_ = true;
  std::vector<WatchReactor*> all;
  {
    absl::MutexLock l(&mu_);
    all = reactors_;
    for (WatchReactor* r : all) r->Ref();
  }
  for (WatchReactor* r : all) {
    r->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "tcpemud is shutting down"));
    r->Unref();
  }
}

void EventPump::Loop() {
  std::vector<EventRun> scratch;
  std::vector<WatchReactor*> work;
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return woken_ || exit_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), kPollInterval);
      if (exit_) return;
      woken_ = false;
      work = reactors_;
      for (WatchReactor* r : work) r->Ref();
    }
    for (WatchReactor* r : work) {
      if (!stopping_) r->Pump(scratch);
      r->Unref();
    }
  }
}

}  // namespace tcpemu::server
