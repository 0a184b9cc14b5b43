// ShardMetrics: the per-shard counters a shard's events update on its own
// thread (relaxed atomics), which the collector in metrics.cc sums at scrape.
// ShardMetrics is declared in metrics.h beside the collector that reads it.
#include <algorithm>
#include <bit>
#include <cstdint>

#include "server/metrics.h"

namespace tcpemu::server {
namespace {

// Bucket of an RTT sample: the first i with rtt <= kRttFirstBucketNs * 2^i,
// or kNumRttBuckets when it exceeds them all.
size_t RttBucket(DurationNs rtt) {
  if (rtt <= kRttFirstBucketNs) return 0;
  const auto q = static_cast<uint64_t>((rtt - 1) / kRttFirstBucketNs);
  return std::min<size_t>(std::bit_width(q), kNumRttBuckets);
}

}  // namespace

void ShardMetrics::OnEvent(const Event& e) {
  switch (e.kind) {
    case EventKind::kSegmentSent: {
      const auto r = static_cast<size_t>(e.send_reason);
      if (r < kNumSendReasons) Add(sent_[r]);
      if (e.seg.len != 0) Add(bytes_sent_, e.seg.len);
      break;
    }
    case EventKind::kSegmentReceived: {
      const auto d = static_cast<size_t>(e.disposition);
      if (d < kNumDispositions) Add(received_[d]);
      if (e.seg.len != 0) Add(bytes_received_, e.seg.len);
      break;
    }
    case EventKind::kSegmentDropped: {
      const auto r = static_cast<size_t>(e.drop_reason);
      if (r < kNumDropReasons) Add(dropped_[r]);
      break;
    }
    case EventKind::kSegmentMangled: {
      const auto m = static_cast<size_t>(e.mangle);
      if (m < kNumMangleKinds) Add(mangled_[m]);
      break;
    }
    case EventKind::kStateChanged: {
      const auto s = static_cast<size_t>(e.new_state);
      if (s < kNumTcpStates) Add(state_changes_[s]);
      break;
    }
    case EventKind::kRttSample: {
      const DurationNs rtt = std::max<DurationNs>(e.a, 0);
      Add(rtt_buckets_[RttBucket(rtt)]);
      Add(rtt_sum_ns_, static_cast<uint64_t>(rtt));
      break;
    }
    case EventKind::kConnectionError: {
      const auto c = static_cast<size_t>(e.error);
      if (c < kNumErrorCodes) Add(errors_[c]);
      break;
    }
    case EventKind::kSessionDestroyed:
      Add(sessions_destroyed_);
      break;
    case EventKind::kClockBehind:
      Add(behind_);
      break;
    case EventKind::kClockCaughtUp:
      Add(behind_ns_, static_cast<uint64_t>(std::max<int64_t>(e.b, 0)));
      break;
    case EventKind::kLinkChanged:
      Add(link_changes_);
      break;
    case EventKind::kQueueSample: {
      const int64_t ns = std::max<int64_t>(e.b, 0);
      size_t b = 0;
      while (b < kLatenessBoundsNs.size() && ns > kLatenessBoundsNs[b]) ++b;
      Add(sojourn_buckets_[b]);
      Add(sojourn_sum_ns_, static_cast<uint64_t>(ns));
      break;
    }
    // Visible in event streams; no counter of their own.
    case EventKind::kSessionAccepted:
    case EventKind::kTimerArmed:
    case EventKind::kTimerFired:
    case EventKind::kAppWrite:
    case EventKind::kAppRead:
    case EventKind::kCwndChanged:
      break;
  }
}

void ShardMetrics::ObserveTimerLateness(int64_t ns) {
  size_t b = 0;
  while (b < kLatenessBoundsNs.size() && ns > kLatenessBoundsNs[b]) ++b;
  Add(lateness_buckets_[b]);
  Add(lateness_sum_ns_, static_cast<uint64_t>(std::max<int64_t>(ns, 0)));
}

}  // namespace tcpemu::server
