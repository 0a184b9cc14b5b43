// Shard loop: commands, REALTIME timers and activity waiters; see shard.h.
#include "server/shard.h"

#include <algorithm>
#include <chrono>

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
                   ShardMetrics* metrics)
      : shard_(shard), network_id_(network_id), hub_(hub), metrics_(metrics) {}
  void OnEvent(const Event& e) override {
    if (metrics_ != nullptr) metrics_->OnEvent(e);
    if (hub_ != nullptr) hub_->Publish(shard_, network_id_, e);
  }

 private:
  size_t shard_;
  uint32_t network_id_;
  EventHub* hub_;
  ShardMetrics* metrics_;
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

Shard::Shard(size_t index, EventHub* hub, ShardMetrics* metrics)
    : index_(index), hub_(hub), metrics_(metrics) {}

Shard::~Shard() { Stop(); }

void Shard::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Shard::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Shard::Post(absl::AnyInvocable<void()> fn) {
  absl::MutexLock l(&mu_);
  queue_.push_back(std::move(fn));
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
  slot->sink = std::make_unique<NetworkEventSink>(index_, id, hub_, metrics_);
  slot->net = std::make_unique<Network>(seed, slot->sink.get(), limits);
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
    if (slot == nullptr) continue;
    auto it = slot->waiters.find(key);
    if (it == slot->waiters.end()) continue;
    std::vector<absl::AnyInvocable<bool()>> list = std::move(it->second);
    slot->waiters.erase(it);
    std::vector<absl::AnyInvocable<bool()>> keep;
    for (auto& w : list) {
      if (!w()) keep.push_back(std::move(w));
    }
    if (!keep.empty()) {
      auto& dst = slot->waiters[key];
      for (auto& w : keep) dst.push_back(std::move(w));
    }
  }
}

LatenessStats Shard::lateness() const {
  absl::MutexLock l(&stats_mu_);
  return lateness_;
}

int64_t Shard::AdvanceRealtime() {
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (auto& [id, slot] : networks_) {
    if (slot->clock != Clock::kRealtime) continue;
    Network& net = *slot->net;
    TimeNs now = SteadyNowNs() - slot->epoch_ns;
    TimeNs next = net.NextDeadline();
    if (next <= now) {
      TimeNs late = now - next;
      size_t b = 0;
      while (b + 1 < lateness_.buckets.size() &&
             (int64_t{1} << b) * 1000 <= late) {
        ++b;
      }
      absl::MutexLock l(&stats_mu_);
      ++lateness_.samples;
      ++lateness_.buckets[b];
    }
    if (now > net.now()) net.RunUntil(now);
    next = net.NextDeadline();
    if (next != kNever) earliest = std::min(earliest, slot->epoch_ns + next);
  }
  return earliest;
}

void Shard::Loop() {
  std::deque<absl::AnyInvocable<void()>> batch;
  while (true) {
    int64_t wake = AdvanceRealtime();
    RunReadyWaiters();
    {
      absl::MutexLock l(&mu_);
      if (queue_.empty() && !stopping_ && ready_.empty()) {
        int64_t now = SteadyNowNs();
        absl::Time deadline =
            wake == std::numeric_limits<int64_t>::max()
                ? absl::InfiniteFuture()
                : absl::Now() +
                      absl::Nanoseconds(std::max<int64_t>(0, wake - now));
        auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !queue_.empty() || stopping_;
        };
        mu_.AwaitWithDeadline(absl::Condition(&has_work), deadline);
      }
      if (stopping_ && queue_.empty()) break;
      batch.swap(queue_);
    }
    if (!batch.empty()) {
      AdvanceRealtime();
      for (auto& fn : batch) fn();
      batch.clear();
    }
  }
  // Wake any handler still waiting on this shard's waiters.
  for (auto& [id, slot] : networks_) {
    auto waiters = std::move(slot->waiters);
    for (auto& [key, list] : waiters) {
      for (auto& w : list) w();
    }
  }
}

}  // namespace tcpemu::server
