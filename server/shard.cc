// Shard loop: commands, REALTIME timers and activity waiters; see shard.h.
#include "server/shard.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/event_hub.h"
#include "server/metrics.h"

namespace tcpemu::server {
namespace {

// Forwards one network's events to the metrics and the subscribers.
class NetworkEventSink final : public EventSink {
 public:
  NetworkEventSink(size_t shard, uint32_t network_id, EventHub* hub,
                   ShardMetrics* metrics, CaptureStore* captures)
      : shard_(shard),
        network_id_(network_id),
        hub_(hub),
        metrics_(metrics),
        captures_(captures) {}
  void OnEvent(const Event& e) override {
    if (metrics_ != nullptr) metrics_->OnEvent(e);
    if (hub_ != nullptr) hub_->Stage(shard_, network_id_, e);
    if (e.kind == EventKind::kSessionDestroyed) {
      captures_->OnSessionDestroyed(e.session_id);
    }
  }

 private:
  size_t shard_;
  uint32_t network_id_;
  EventHub* hub_;
  ShardMetrics* metrics_;
  CaptureStore* captures_;
};

}  // namespace

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t LatenessStats::QuantileNs(double q) const {
  if (samples == 0) return 0;
  uint64_t want = static_cast<uint64_t>(q * static_cast<double>(samples));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen > want || seen == samples) {
      return i == 0 ? 1000 : (int64_t{1} << i) * 1000;
    }
  }
  return (int64_t{1} << 31) * 1000;
}

namespace {
constexpr uint64_t kWakeToken = ~uint64_t{0};
constexpr uint64_t kTimerToken = ~uint64_t{0} - 1;
constexpr int kMaxFramesPerWake = 64;
constexpr size_t kFrameBufBytes = 65536;
}  // namespace

Shard::Shard(size_t index, EventHub* hub, ShardMetrics* metrics,
             const CaptureOptions& captures)
    : index_(index), hub_(hub), metrics_(metrics), capture_options_(captures) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    std::fprintf(stderr, "tcpemud: shard %zu: epoll/eventfd/timerfd: %s\n",
                 index, std::strerror(errno));
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kTimerToken;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev);
  frame_buf_.resize(kFrameBufBytes);
}

Shard::~Shard() {
  Stop();
  networks_.clear();
  if (hub_ != nullptr) hub_->Flush(index_);
  for (int fd : {epoll_fd_, wake_fd_, timer_fd_}) {
    if (fd >= 0) close(fd);
  }
}

void Shard::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof(one));
  (void)n;  // a full counter (EAGAIN) already means "wake up"
}

void Shard::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Shard::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void Shard::Post(absl::AnyInvocable<void()> fn) {
  bool was_empty;
  {
    absl::MutexLock l(&mu_);
    was_empty = queue_.empty();
    queue_.push_back(std::move(fn));
  }
  if (was_empty) Wake();
}

void Shard::AttachDevice(NetworkSlot& slot, uint32_t link_id,
                         std::unique_ptr<TapDevice> device) {
  const int fd = device->fd();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(fd);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  device_fds_[fd] = {slot.id, link_id};
  device->SetFlushList(&tap_flush_);
  slot.devices[link_id] = std::move(device);
}

void Shard::DetachDevice(NetworkSlot& slot, uint32_t link_id) {
  auto it = slot.devices.find(link_id);
  if (it == slot.devices.end()) return;
  const int fd = it->second->fd();
  if (fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    device_fds_.erase(fd);
  }
  slot.devices.erase(it);
}

absl::Status Shard::WatchFd(int fd, uint32_t events, FdHandler on_ready) {
  if (events != 0) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<uint64_t>(fd);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return absl::InternalError(
          absl::StrCat("epoll_ctl(ADD, fd ", fd, "): ", std::strerror(errno)));
    }
  }
  fd_watches_[fd] = {events, std::make_shared<FdHandler>(std::move(on_ready))};
  return absl::OkStatus();
}

void Shard::SetFdEvents(int fd, uint32_t events) {
  auto it = fd_watches_.find(fd);
  if (it == fd_watches_.end() || it->second.events == events) return;
  // Interest in nothing leaves epoll altogether: errors and hang-ups, which
  // epoll reports whatever the mask, would otherwise wake the loop in vain.
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(fd);
  const int op = events == 0              ? EPOLL_CTL_DEL
                 : it->second.events == 0 ? EPOLL_CTL_ADD
                                          : EPOLL_CTL_MOD;
  epoll_ctl(epoll_fd_, op, fd, &ev);
  it->second.events = events;
}

void Shard::UnwatchFd(int fd) {
  auto it = fd_watches_.find(fd);
  if (it == fd_watches_.end()) return;
  if (it->second.events != 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  fd_watches_.erase(it);
}

void Shard::ReadDevice(uint32_t network_id, uint32_t link_id) {
  NetworkSlot* slot = network(network_id);
  if (slot == nullptr) return;
  auto it = slot->devices.find(link_id);
  if (it == slot->devices.end()) return;
  TapDevice& dev = *it->second;
  Network& net = *slot->net;
  net.BeginReceiveBatch();
  absl::Cleanup end_batch = [&net] {
    net.EndReceiveBatch();
    net.RunUntil(net.now());
  };
  for (int i = 0; i < kMaxFramesPerWake; ++i) {
    absl::StatusOr<size_t> n = dev.Read(absl::MakeSpan(frame_buf_));
    if (!n.ok()) {
      // A device that fails to read (deleted with its namespace, say) would
      // wake the loop forever: stop watching it and close it. The interface
      // stays, its frames counted as dropped_device, until deleted.
      device_errors_.fetch_add(1);
      std::fprintf(stderr, "tcpemud: interface %u: %s; device closed\n",
                   link_id, std::string(n.status().message()).c_str());
      std::move(end_batch).Invoke();
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, dev.fd(), nullptr);
      device_fds_.erase(dev.fd());
      dev.Close();
      return;
    }
    if (*n == 0) return;
    TimeNs now = SteadyNowNs() - slot->epoch_ns;
    if (now > net.now()) net.RunUntil(now);
    if (!net.OnFrame(link_id, absl::MakeConstSpan(frame_buf_.data(), *n))
             .ok()) {
      device_errors_.fetch_add(1);
    }
    net.RunUntil(net.now());
  }
}

void Shard::ArmTimer(int64_t wake) {
  const int64_t want = wake == std::numeric_limits<int64_t>::max() ? 0 : wake;
  if (want == timer_armed_at_) return;
  itimerspec spec{};
  if (want != 0) {
    spec.it_value.tv_sec = want / 1'000'000'000;
    spec.it_value.tv_nsec = want % 1'000'000'000;
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
      spec.it_value.tv_nsec = 1;
    }
  }
  timerfd_settime(timer_fd_, want != 0 ? TFD_TIMER_ABSTIME : 0, &spec, nullptr);
  timer_armed_at_ = want;
}

absl::Status Shard::AddNetwork(uint32_t id, Clock clock, uint64_t seed,
                               const Network::Limits& limits) {
  if (networks_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrCat("network ", id, " exists"));
  }
  auto slot = std::make_unique<NetworkSlot>();
  slot->id = id;
  slot->clock = clock;
  slot->seed = seed;
  slot->epoch_ns = SteadyNowNs();
  slot->captures = std::make_unique<CaptureStore>(
      id, absl::GetCurrentTimeNanos(), capture_options_);
  slot->sink = std::make_unique<NetworkEventSink>(index_, id, hub_, metrics_,
                                                  slot->captures.get());
  slot->net = std::make_unique<Network>(seed, slot->sink.get(), limits);
  slot->net->SetPacketObserver(slot->captures.get());
  NetworkSlot* raw = slot.get();
  slot->net->SetActivityObserver([this, raw](uint32_t sid, Endpoint e) {
    if (raw->waiters.empty()) return;
    uint64_t key = WaiterKey(sid, e);
    if (raw->waiters.contains(key)) ready_.emplace_back(raw->id, key);
  });
  networks_.emplace(id, std::move(slot));
  return absl::OkStatus();
}

absl::Status Shard::RemoveNetwork(uint32_t id) {
  auto it = networks_.find(id);
  if (it == networks_.end()) {
    return absl::NotFoundError(absl::StrCat("network ", id, " not found"));
  }
  // Waiters see their network gone and finish.
  auto waiters = std::move(it->second->waiters);
  for (auto& [link_id, device] : it->second->devices) {
    if (device->closed()) continue;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, device->fd(), nullptr);
    device_fds_.erase(device->fd());
  }
  networks_.erase(it);
  for (auto& [key, list] : waiters) {
    for (auto& w : list) w();
  }
  return absl::OkStatus();
}

NetworkSlot* Shard::network(uint32_t id) {
  auto it = networks_.find(id);
  return it == networks_.end() ? nullptr : it->second.get();
}

std::vector<NetworkSlot*> Shard::networks() {
  std::vector<NetworkSlot*> v;
  v.reserve(networks_.size());
  for (auto& [id, slot] : networks_) v.push_back(slot.get());
  std::sort(v.begin(), v.end(),
            [](NetworkSlot* a, NetworkSlot* b) { return a->id < b->id; });
  return v;
}

TimeNs Shard::NetworkNow(const NetworkSlot& slot) const {
  if (slot.clock == Clock::kVirtual) return slot.net->now();
  return std::max<TimeNs>(slot.net->now(), SteadyNowNs() - slot.epoch_ns);
}

void Shard::AddWaiter(NetworkSlot& slot, uint32_t session_id, Endpoint e,
                      absl::AnyInvocable<bool()> waiter) {
  if (waiter()) return;
  slot.waiters[WaiterKey(session_id, e)].push_back(std::move(waiter));
}

void Shard::RunReadyWaiters() {
  // One pass: readiness caused by a waiter itself is handled next pass.
  std::vector<std::pair<uint32_t, uint64_t>> ready;
  ready.swap(ready_);
  for (const auto& [nid, key] : ready) {
    NetworkSlot* slot = network(nid);
    if (slot != nullptr) TryWaiters(*slot, key);
  }
}

void Shard::TryWaiters(NetworkSlot& slot, uint64_t key) {
  auto it = slot.waiters.find(key);
  if (it == slot.waiters.end()) return;
  std::vector<absl::AnyInvocable<bool()>> list = std::move(it->second);
  slot.waiters.erase(it);
  std::vector<absl::AnyInvocable<bool()>> keep;
  for (auto& w : list) {
    if (!w()) keep.push_back(std::move(w));
  }
  if (!keep.empty()) {
    auto& dst = slot.waiters[key];
    for (auto& w : keep) dst.push_back(std::move(w));
  }
}

void Shard::RetryWaiters(NetworkSlot& slot, uint32_t session_id, Endpoint e) {
  TryWaiters(slot, WaiterKey(session_id, e));
}

void Shard::RetryAllWaiters() {
  for (auto& [id, slot] : networks_) {
    std::vector<uint64_t> keys;
    keys.reserve(slot->waiters.size());
    for (const auto& [key, list] : slot->waiters) keys.push_back(key);
    for (uint64_t key : keys) TryWaiters(*slot, key);
  }
}

Shard::WallTimerId Shard::AddWallTimer(int64_t steady_ns,
                                       absl::AnyInvocable<void()> fn) {
  WallTimerId id{steady_ns, wall_timer_order_++};
  wall_timers_.emplace(id, std::move(fn));
  return id;
}

void Shard::CancelWallTimer(const WallTimerId& id) { wall_timers_.erase(id); }

int64_t Shard::RunWallTimers() {
  const int64_t now = SteadyNowNs();
  while (!wall_timers_.empty() && wall_timers_.begin()->first.first <= now) {
    auto node = wall_timers_.extract(wall_timers_.begin());
    node.mapped()();
  }
  return wall_timers_.empty() ? std::numeric_limits<int64_t>::max()
                              : wall_timers_.begin()->first.first;
}

LatenessStats Shard::lateness() const {
  absl::MutexLock l(&stats_mu_);
  return lateness_;
}

void Shard::TrackLag(NetworkSlot& slot, TimeNs now, DurationNs lag) {
  if (!slot.behind) {
    if (lag <= kBehindNs) return;
    slot.behind = true;
    slot.behind_since = now - lag;
    slot.max_lag = lag;
  } else {
    slot.max_lag = std::max(slot.max_lag, lag);
    if (lag > kBehindNs / 2) return;
    slot.behind = false;
  }
  // Only on a change: an event is built twice per episode, not per pass.
  Event e;
  e.time = now;
  if (slot.behind) {
    e.kind = EventKind::kClockBehind;
    e.a = lag;
  } else {
    e.kind = EventKind::kClockCaughtUp;
    e.a = slot.max_lag;
    e.b = now - slot.behind_since;
  }
  if (slot.sink != nullptr) slot.sink->OnEvent(e);
}

int64_t Shard::AdvanceRealtime() {
  int64_t earliest = std::numeric_limits<int64_t>::max();
  DurationNs worst_lag = 0;
  for (auto& [id, slot] : networks_) {
    if (slot->clock != Clock::kRealtime) continue;
    Network& net = *slot->net;
    TimeNs now = SteadyNowNs() - slot->epoch_ns;
    TimeNs next = net.NextDeadline();
    const DurationNs lag = next <= now ? now - next : 0;
    if (next <= now) {
      size_t b = 0;
      while (b + 1 < lateness_.buckets.size() &&
             (int64_t{1} << b) * 1000 <= lag) {
        ++b;
      }
      if (metrics_ != nullptr) metrics_->ObserveTimerLateness(lag);
      absl::MutexLock l(&stats_mu_);
      ++lateness_.samples;
      ++lateness_.buckets[b];
    }
    worst_lag = std::max(worst_lag, lag);
    if (now > net.now()) net.RunUntil(now);
    TrackLag(*slot, net.now(), lag);
    next = net.NextDeadline();
    if (next != kNever) earliest = std::min(earliest, slot->epoch_ns + next);
  }
  if (metrics_ != nullptr) metrics_->SetRealtimeLag(worst_lag);
  return earliest;
}

void Shard::Loop() {
  std::deque<absl::AnyInvocable<void()>> batch;
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (true) {
    // Waiters may write, which schedules packets now: advance again so that
    // the deadline slept to is never stale.
    int64_t wake = AdvanceRealtime();
    for (int round = 0; round < 8 && !ready_.empty(); ++round) {
      RunReadyWaiters();
      wake = AdvanceRealtime();
    }
    wake = std::min(wake, RunWallTimers());
    bool idle;
    {
      absl::MutexLock l(&mu_);
      if (stopping_ && queue_.empty()) break;
      idle = queue_.empty() && ready_.empty();
    }
    // Sleep until a command, a frame or the next deadline; without work
    // to do, only look.
    int timeout = 0;
    if (idle) {
      ArmTimer(wake);
      timeout = -1;
    }
    // The pass ends: events staged during it go to the subscribers, and the
    // TSO frames coalesced during it to the kernel (no segment waits past
    // the pass that sent it), before the shard sleeps.
    if (hub_ != nullptr) hub_->Flush(index_);
    tap_flush_.FlushAll();
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeToken || token == kTimerToken) {
        uint64_t count;
        ssize_t r = read(token == kWakeToken ? wake_fd_ : timer_fd_, &count,
                         sizeof(count));
        (void)r;
        if (token == kTimerToken) timer_armed_at_ = 0;
        continue;
      }
      auto it = device_fds_.find(static_cast<int>(token));
      if (it == device_fds_.end()) {
        auto w = fd_watches_.find(static_cast<int>(token));
        if (w == fd_watches_.end()) continue;
        // The handler may unwatch (and so free) itself.
        std::shared_ptr<FdHandler> on_ready = w->second.on_ready;
        (*on_ready)(events[i].events);
        continue;
      }
      const auto [network_id, link_id] = it->second;
      ReadDevice(network_id, link_id);
    }
    {
      absl::MutexLock l(&mu_);
      batch.swap(queue_);
    }
    if (!batch.empty()) {
      AdvanceRealtime();
      for (auto& fn : batch) fn();
      batch.clear();
    }
  }
  tap_flush_.FlushAll();
  // Wall timers end what they guard (a call's wait) early.
  while (!wall_timers_.empty()) {
    auto node = wall_timers_.extract(wall_timers_.begin());
    node.mapped()();
  }
  // Wake any handler still waiting on this shard's waiters.
  for (auto& [id, slot] : networks_) {
    auto waiters = std::move(slot->waiters);
    for (auto& [key, list] : waiters) {
      for (auto& w : list) w();
    }
  }
  if (hub_ != nullptr) hub_->Flush(index_);
}

}  // namespace tcpemu::server
