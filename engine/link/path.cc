// One direction of an emulated link; see path.h for the stages and their
// netem counterparts.
#include "engine/link/path.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

double ClampProbability(double v) { return v >= 0 ? std::min(v, 1.0) : 0; }

DurationNs ClampDuration(DurationNs v) {
  return std::clamp<DurationNs>(v, 0, kMaxPathDelay);
}

// Forces every field of `spec` into its valid range, so that a spec that
// skipped validation cannot make the path misbehave.
PathSpec ClampPathSpec(PathSpec spec) {
  if (ValidatePathSpec(spec).ok()) return spec;
  spec.delay = ClampDuration(spec.delay);
  spec.jitter.jitter = ClampDuration(spec.jitter.jitter);
  if (spec.jitter.distribution != JitterSpec::Distribution::kNormal) {
    spec.jitter.distribution = JitterSpec::Distribution::kUniform;
  }
  spec.jitter.correlation = ClampProbability(spec.jitter.correlation);
  spec.rate_bps = std::min(spec.rate_bps, kMaxRateBps);
  if (spec.loss.model != LossSpec::Model::kRandom &&
      spec.loss.model != LossSpec::Model::kGilbertElliott) {
    spec.loss.model = LossSpec::Model::kNone;
  }
  spec.loss.p = ClampProbability(spec.loss.p);
  spec.loss.r = ClampProbability(spec.loss.r);
  spec.loss.h = ClampProbability(spec.loss.h);
  spec.loss.k = ClampProbability(spec.loss.k);
  spec.duplicate = ClampProbability(spec.duplicate);
  spec.reorder = ClampProbability(spec.reorder);
  spec.corrupt = ClampProbability(spec.corrupt);
  spec.mtu = std::clamp(spec.mtu, kMinMtu, kMaxMtu);
  return spec;
}

}  // namespace

Path::Path(const PathSpec& spec, uint64_t seed, uint32_t link_id, Endpoint from,
           EventSink* sink)
    : rng_(seed), link_id_(link_id), from_(from), sink_(sink) {
  ApplySpec(ClampPathSpec(spec));
}

void Path::ApplySpec(const PathSpec& spec) {
  spec_ = spec;
  loss_.Configure(spec.loss);
  jitter_.Configure(spec.jitter);
  serializer_.Configure(spec.rate_bps, spec.queue_limit_packets,
                        spec.queue_limit_bytes);
}

absl::Status Path::Update(const PathSpec& spec) {
  if (absl::Status s = ValidatePathSpec(spec); !s.ok()) return s;
  ApplySpec(spec);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Path::AddFault(const FaultRule& rule, TimeNs now) {
  return faults_.Add(rule, now);
}

absl::Status Path::RemoveFault(uint32_t id) {
  if (faults_.Remove(id)) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat("fault rule ", id,
                   " is not on this path (cleared, or spent its count, "
                   "nth or duration)"));
}

void Path::ClearFaults() { faults_.Clear(); }

void Path::Send(TimeNs now, Packet p) {
  const size_t size = p.size();
  ++counters_.packets_sent;
  counters_.bytes_sent += size;

  // Read once, before corruption can change the header.
  TcpPeek seg;
  if (sink_ != nullptr || !faults_.empty()) seg = PeekTcp(p);

  // 1. Fault rules.
  std::optional<FaultHit> fault;
  if (!faults_.empty()) {
    fault = faults_.Apply(now, seg, rng_);
    if (fault) {
      ++counters_.fault_hits;
      if (fault->action == FaultAction::kDrop) {
        ++counters_.dropped_fault;
        Emit(now, EventKind::kSegmentDropped, DropReason::kFault,
             MangleKind::kNone, fault->rule_id, 0, seg, p.session_id);
        return;
      }
    }
  }
  // 2. MTU.
  if (size > spec_.mtu) {
    ++counters_.dropped_mtu;
    Emit(now, EventKind::kSegmentDropped, DropReason::kMtu, MangleKind::kNone,
         0, 0, seg, p.session_id);
    return;
  }
  // 3. Loss model.
  if (loss_.Drop(rng_)) {
    ++counters_.dropped_loss;
    Emit(now, EventKind::kSegmentDropped, DropReason::kLoss, MangleKind::kNone,
         0, 0, seg, p.session_id);
    return;
  }
  // 4. Drop-tail queue.
  serializer_.Advance(now);
  if (!serializer_.Admits(now, size)) {
    ++counters_.dropped_queue;
    Emit(now, EventKind::kSegmentDropped, DropReason::kQueue, MangleKind::kNone,
         0, 0, seg, p.session_id);
    return;
  }
  // 5. Duplicate; then 6-8 for each copy, the original first.
  const FaultHit* hit = fault ? &*fault : nullptr;
  const bool forced_duplicate =
      hit != nullptr && hit->action == FaultAction::kDuplicate;
  if (forced_duplicate || rng_.Bernoulli(spec_.duplicate)) {
    Packet copy = p;
    ++counters_.duplicated;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone,
         MangleKind::kDuplicate, forced_duplicate ? hit->rule_id : 0, 0, seg,
         p.session_id);
    Forward(now, std::move(p), hit, seg);
    Forward(now, std::move(copy), nullptr, seg);
    return;
  }
  Forward(now, std::move(p), hit, seg);
}

void Path::Forward(TimeNs now, Packet&& p, const FaultHit* fault,
                   const TcpPeek& seg) {
  const FaultAction action =
      fault != nullptr ? fault->action : FaultAction::kDrop;
  const uint32_t rule_id = fault != nullptr ? fault->rule_id : 0;

  // 6. Corrupt.
  const bool forced_corrupt =
      fault != nullptr && action == FaultAction::kCorrupt;
  if ((forced_corrupt || rng_.Bernoulli(spec_.corrupt)) && p.size() > 0) {
    const int64_t bit =
        rng_.UniformInt(0, static_cast<int64_t>(p.size()) * 8 - 1);
    p.FlipBit(static_cast<size_t>(bit));
    ++counters_.corrupted;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone,
         MangleKind::kCorrupt, forced_corrupt ? rule_id : 0, bit, seg,
         p.session_id);
  }

  // 7. Rate.
  const TimeNs departure = serializer_.Enqueue(now, p.size());

  // 8. Delay, jitter, reorder.
  TimeNs arrival;
  const bool forced_reorder =
      fault != nullptr && action == FaultAction::kReorder;
  if (forced_reorder || DrawReorder()) {
    arrival = departure;
    ++counters_.reordered;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone,
         MangleKind::kReorder, forced_reorder ? rule_id : 0, 0, seg,
         p.session_id);
  } else {
    const DurationNs delay =
        std::max<DurationNs>(0, spec_.delay + jitter_.Sample(rng_));
    arrival = departure + delay;
    if (spec_.jitter.keep_order) arrival = std::max(arrival, last_arrival_);
    last_arrival_ = std::max(last_arrival_, arrival);
  }
  if (fault != nullptr && action == FaultAction::kDelay) {
    arrival += fault->delay;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone, MangleKind::kDelay,
         rule_id, fault->delay, seg, p.session_id);
  }
  in_flight_.Push(arrival, next_order_++, std::move(p));
}

bool Path::DrawReorder() {
  if (spec_.reorder <= 0) return false;
  const uint64_t gap = std::max<uint32_t>(spec_.reorder_gap, 1);
  if (reorder_counter_ + 1 >= gap && rng_.Bernoulli(spec_.reorder)) {
    reorder_counter_ = 0;
    return true;
  }
  ++reorder_counter_;
  return false;
}

void Path::Emit(TimeNs now, EventKind kind, DropReason reason,
                MangleKind mangle, uint32_t rule_id, int64_t b,
                const TcpPeek& seg, uint32_t session_id) {
  if (sink_ == nullptr) return;
  Event e;
  e.time = now;
  e.kind = kind;
  e.endpoint = from_;
  e.link_id = link_id_;
  e.session_id = session_id;
  e.drop_reason = reason;
  e.mangle = mangle;
  e.a = rule_id;
  e.b = b;
  e.seg.seq = seg.seq.value();
  e.seg.src_port = seg.src_port;
  e.seg.dst_port = seg.dst_port;
  e.seg.ack = seg.ack.value();
  e.seg.flags = seg.flags;
  e.seg.len = seg.payload_len;
  sink_->OnEvent(e);
}

TimeNs Path::NextDeadline() const { return in_flight_.NextArrival(); }

void Path::Poll(TimeNs now,
                absl::FunctionRef<void(TimeNs arrival, Packet&&)> deliver) {
  serializer_.Advance(now);
  // Packets sent from inside `deliver` get orders >= limit and wait for the
  // next call.
  const uint64_t limit = next_order_;
  TimeNs arrival = 0;
  Packet p;
  while (in_flight_.PopBefore(now, limit, &arrival, &p)) {
    ++counters_.packets_delivered;
    counters_.bytes_delivered += p.size();
    deliver(arrival, std::move(p));
  }
}

}  // namespace tcpemu
