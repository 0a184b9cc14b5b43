// WatchEvents on gRPC's callback API: one reactor per stream, fed by a pump
// thread that moves a batch from the stream's bounded subscription into the
// reactor whenever its previous write has completed. One write is in flight
// per stream, so a slow reader backs up into its subscription queue (which
// drops the oldest events and counts them), never into memory or a shard.
// Batches go out as tcpemu.v1.EventBatch bytes that the hub encoded once for
// every subscriber (event_hub.h, event_wire.h): the stream is the method's raw
// (ByteBuffer) form, so no protobuf message is built per event and gRPC does
// no serializing of its own; a batch is one copy of its runs into a slice.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/event_hub.h"
#include "server/event_wire.h"

namespace tcpemu::server {

class EventPump;
class Metrics;

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  WatchReactor(EventPump* pump, EventHub* hub,
               std::shared_ptr<Subscription> sub, uint32_t max_batch,
               Metrics* metrics, int64_t started_ns);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // Pump thread: writes the next batch if no write is in flight.
  void Pump(std::vector<EventRun>& scratch);
  // Ends the stream with `status` once no write is in flight.
  void Close(const grpc::Status& status);

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref();

 private:
  ~WatchReactor() override;
  // Calls Finish if a finish was requested and nothing is in flight.
  void MaybeFinishLocked(bool* finish_now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventPump* pump_;
  EventHub* hub_;
  std::shared_ptr<Subscription> sub_;
  uint32_t max_batch_;
  Metrics* metrics_;
  int64_t started_ns_;
  // Touched only while no write is in flight.
  grpc::ByteBuffer batch_;
  std::atomic<int> refs_{1};

  absl::Mutex mu_;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

class EventPump {
 public:
  EventPump();
  ~EventPump();

  void Add(WatchReactor* r);
  void Remove(WatchReactor* r);
  // Something may be ready: a write completed.
  void Wake();
  // Ends every stream with UNAVAILABLE and refuses new ones.
  void Shutdown();
  bool shutting_down() const { return stopping_.load(); }

 private:
  void Loop();

  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  std::vector<WatchReactor*> reactors_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool exit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tcpemu::server
