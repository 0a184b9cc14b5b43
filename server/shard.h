// A shard: one thread that owns whole engine Networks and runs them
// (docs/architecture.md). Everything that touches engine state runs on this
// thread, as a posted command or from the loop; RPC handlers wait for the
// result. REALTIME networks are advanced to wall-clock time before every
// command and whenever their next deadline comes due.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/base/event.h"
#include "engine/io/tap_device.h"
#include "engine/sim/network.h"
#include "server/capture.h"

namespace tcpemu::server {

class EventHub;
class ShardMetrics;

enum class Clock : uint8_t { kRealtime, kVirtual };

// Timer lateness of REALTIME networks: how long after its deadline an entry
// was actually processed.
struct LatenessStats {
  uint64_t samples = 0;
  // Power-of-two microsecond buckets: [0,1us), [1,2us), [2,4us), ...
  std::array<uint64_t, 32> buckets{};
  // The smallest bucket bound below which `q` of the samples fall, in ns.
  int64_t QuantileNs(double q) const;
};

// What the service attaches to a network (its proxies); destroyed before the
// network, on the shard thread.
class NetworkExtension {
 public:
  virtual ~NetworkExtension() = default;
};

// One network and what the shard keeps beside it.
struct NetworkSlot {
  uint32_t id = 0;
  Clock clock = Clock::kRealtime;
  uint64_t seed = 0;
  int64_t epoch_ns = 0;  // steady-clock time of creation (REALTIME)
  std::unique_ptr<EventSink> sink;
  // Packet captures; declared before `net`, which points to it.
  std::unique_ptr<CaptureStore> captures;
  // TAP devices of the network's interfaces, by link id. Declared before
  // `net`, which holds pointers to them, so that they outlive it.
  absl::flat_hash_map<uint32_t, std::unique_ptr<TapDevice>> devices;
  std::unique_ptr<Network> net;
  // REALTIME: behind wall time by more than Shard::kBehindNs since
  // `behind_since` (network time), the largest lag seen meanwhile.
  bool behind = false;
  TimeNs behind_since = 0;
  DurationNs max_lag = 0;
  // Waiters for activity on (session, endpoint): each returns true when
  // done and is then dropped.
  absl::flat_hash_map<uint64_t, std::vector<absl::AnyInvocable<bool()>>>
      waiters;
  // Declared last: it uses `net` (and its activity observer `waiters`), so
  // it goes first.
  std::unique_ptr<NetworkExtension> proxies;
};

inline uint64_t WaiterKey(uint32_t session_id, Endpoint e) {
  return (uint64_t{session_id} << 1) | static_cast<uint64_t>(e);
}

class Shard {
 public:
  // A REALTIME network whose earliest due deadline is more than this far in
  // the past when its shard comes to it is behind wall time (a CLOCK_BEHIND
  // event); it has caught up when that lag is back under half of it.
  static constexpr DurationNs kBehindNs = 5 * kMillisecond;

  Shard(size_t index, EventHub* hub, ShardMetrics* metrics,
        const CaptureOptions& captures = {});
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void Start();
  // Stops the loop after the commands already posted; joins the thread.
  void Stop();

  size_t index() const { return index_; }

  // Runs `fn` on the shard thread.
  void Post(absl::AnyInvocable<void()> fn);
  // Runs `fn` on the shard thread and returns its result to the caller.
  template <typename F>
  auto Call(F&& fn) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    absl::Notification done;
    if constexpr (std::is_void_v<R>) {
      Post([&] {
        fn();
        done.Notify();
      });
      done.WaitForNotification();
    } else {
      std::optional<R> result;
      Post([&] {
        result.emplace(fn());
        done.Notify();
      });
      done.WaitForNotification();
      return *std::move(result);
    }
  }

  // Shard thread only.
  absl::Status AddNetwork(uint32_t id, Clock clock, uint64_t seed,
                          const Network::Limits& limits);
  absl::Status RemoveNetwork(uint32_t id);
  NetworkSlot* network(uint32_t id);
  std::vector<NetworkSlot*> networks();
  // Current time of a network (wall-clock based for REALTIME).
  TimeNs NetworkNow(const NetworkSlot& slot) const;
  // Registers a waiter on (session, endpoint); it is tried after activity on
  // that endpoint and once right away.
  void AddWaiter(NetworkSlot& slot, uint32_t session_id, Endpoint e,
                 absl::AnyInvocable<bool()> waiter);
  // Runs waiters whose endpoints saw activity. Called by the loop and after
  // AdvanceTime.
  void RunReadyWaiters();
  // Tries the waiters of (session, endpoint) now and drops those that are
  // done: how a waiter that was cancelled leaves at once, with what it holds.
  void RetryWaiters(NetworkSlot& slot, uint32_t session_id, Endpoint e);
  // Tries every waiter of every network (shutdown).
  void RetryAllWaiters();
  // Runs `fn` on the shard thread once the steady clock reaches `steady_ns`
  // (or when the shard stops), unless cancelled first. Shard thread only.
  using WallTimerId = std::pair<int64_t, uint64_t>;
  WallTimerId AddWallTimer(int64_t steady_ns, absl::AnyInvocable<void()> fn);
  void CancelWallTimer(const WallTimerId& id);
  // Whether Stop was called: long work re-posted in slices ends early.
  bool stopping() {
    absl::MutexLock l(&mu_);
    return stopping_;
  }
  // Hands the device of interface `link_id` to the loop, which reads its
  // frames into the network as they come. The network's interface must
  // already use the device as its FrameSink.
  void AttachDevice(NetworkSlot& slot, uint32_t link_id,
                    std::unique_ptr<TapDevice> device);
  // Stops reading and closes the device (after the interface is gone).
  void DetachDevice(NetworkSlot& slot, uint32_t link_id);
  // Watches a kernel socket (level-triggered): `on_ready(events)` runs on
  // the shard thread while it is ready for `events` (EPOLLIN, EPOLLOUT; 0
  // watches nothing but errors). Shard thread only, as are the two below.
  using FdHandler = absl::AnyInvocable<void(uint32_t)>;
  absl::Status WatchFd(int fd, uint32_t events, FdHandler on_ready);
  void SetFdEvents(int fd, uint32_t events);
  // Stops watching (before the fd is closed).
  void UnwatchFd(int fd);
  // Frames read that the network refused, and device read errors.
  uint64_t device_errors() const { return device_errors_.load(); }

  LatenessStats lateness() const;

 private:
  void Loop();
  // Advances every REALTIME network to the wall clock; returns the earliest
  // wall-clock deadline (steady ns) of any of them.
  int64_t AdvanceRealtime();
  // Follows whether a REALTIME network is behind wall time, emitting
  // CLOCK_BEHIND and CLOCK_CAUGHT_UP; `lag` is how late its due deadline is.
  void TrackLag(NetworkSlot& slot, TimeNs now, DurationNs lag);
  // Reads waiting frames of one device into its network.
  void ReadDevice(uint32_t network_id, uint32_t link_id);
  void Wake();
  void ArmTimer(int64_t wake);
  // Tries the waiters under `key` and drops those that are done.
  void TryWaiters(NetworkSlot& slot, uint64_t key);
  // Runs the wall timers that are due; returns the earliest one left.
  int64_t RunWallTimers();

  size_t index_;
  EventHub* hub_;
  ShardMetrics* metrics_;
  CaptureOptions capture_options_;
  std::thread thread_;

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // The loop sleeps in epoll on the wake eventfd (posted commands), a
  // timerfd (the next REALTIME deadline) and the TAP devices.
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  int64_t timer_armed_at_ = 0;  // 0: disarmed

  // Shard-thread state.
  // TAP devices holding coalesced TSO frames, written at the end of every
  // pass of the loop (before it may sleep). Declared before `networks_`,
  // whose devices leave it when destroyed.
  TapFlushList tap_flush_;
  absl::flat_hash_map<uint32_t, std::unique_ptr<NetworkSlot>> networks_;
  // Device fd -> (network id, link id).
  absl::flat_hash_map<int, std::pair<uint32_t, uint32_t>> device_fds_;
  std::vector<uint8_t> frame_buf_;
  struct FdWatch {
    uint32_t events = 0;
    std::shared_ptr<FdHandler> on_ready;
  };
  absl::flat_hash_map<int, FdWatch> fd_watches_;
  std::atomic<uint64_t> device_errors_{0};
  std::vector<std::pair<uint32_t, uint64_t>> ready_;  // (network, waiter key)
  // Cancellable, so a call that ends early leaves nothing behind.
  std::map<WallTimerId, absl::AnyInvocable<void()>> wall_timers_;
  uint64_t wall_timer_order_ = 0;

  mutable absl::Mutex stats_mu_;
  LatenessStats lateness_ ABSL_GUARDED_BY(stats_mu_);
};

int64_t SteadyNowNs();

}  // namespace tcpemu::server
