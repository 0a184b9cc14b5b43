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
           EventSink* sink, TimeNs now)
    : seed_(seed), rng_(seed), link_id_(link_id), from_(from), sink_(sink) {
  ApplySpec(ClampPathSpec(spec), now);
}

void Path::ApplySpec(const PathSpec& spec, TimeNs now) {
  // A schedule equal to the one playing goes on playing (an update of other
  // fields, or one that went through the API and back).
  const bool same_schedule =
      schedule_ != nullptr && spec.schedule != nullptr &&
      (spec.schedule == spec_.schedule || *spec.schedule == *spec_.schedule);
  spec_ = spec;
  // The queue management draws from its own generator, so that it never
  // shifts the path's draws.
  bottleneck_.Configure(
      spec_, seed_ ^ 0x9e3779b97f4a7c15ULL, now,
      [this](TimeNs start, TimeNs departure, QueuedPacket&& q) {
        Depart(start, departure, std::move(q));
      });
  if (spec_.schedule == nullptr) {
    schedule_.reset();
  } else if (!same_schedule) {
    ScheduledValues initial;
    initial.rate_bps = spec_.rate_bps;
    initial.delay = spec_.delay;
    initial.jitter = spec_.jitter.jitter;
    initial.loss =
        spec_.loss.model == LossSpec::Model::kRandom ? spec_.loss.p : 0;
    schedule_ = std::make_unique<SchedulePlayer>(spec_.schedule, now, initial);
  } else {
    // Its values stay in force over the new spec's.
    SetValues(schedule_->values(), now);
  }
  loss_.Configure(spec_.loss);
  jitter_.Configure(spec_.jitter);
}

void Path::SetValues(const ScheduledValues& v, TimeNs now) {
  if (v.sets_rate) {
    spec_.rate_bps = v.rate_bps;
    bottleneck_.SetRate(v.rate_bps);
  }
  if (v.sets_delay) spec_.delay = v.delay;
  if (v.sets_jitter) spec_.jitter.jitter = v.jitter;
  if (v.sets_loss) {
    spec_.loss.model = LossSpec::Model::kRandom;
    spec_.loss.p = v.loss;
  }
  if (v.sets_down) bottleneck_.SetStopped(v.down, now);
}

absl::Status Path::Update(const PathSpec& spec, TimeNs now) {
  if (absl::Status s = ValidatePathSpec(spec); !s.ok()) return s;
  Advance(now);
  ApplySpec(spec, now);
  return absl::OkStatus();
}

void Path::ApplyScheduled(TimeNs now, const ScheduledValues& v) {
  SetValues(v, now);
  loss_.Configure(spec_.loss);
  jitter_.Configure(spec_.jitter);
  ++counters_.link_changes;
  if (sink_ == nullptr) return;
  Event e;
  e.time = now;
  e.kind = EventKind::kLinkChanged;
  e.endpoint = from_;
  e.link_id = link_id_;
  e.a = static_cast<int64_t>(std::min<uint64_t>(spec_.rate_bps, INT64_MAX));
  e.b = v.down ? -1 : spec_.delay;
  sink_->OnEvent(e);
}

void Path::Advance(TimeNs now) {
  while (schedule_ != nullptr && schedule_->next_change() <= now) {
    const TimeNs t = schedule_->next_change();
    // Packets the wire takes before the change go at the old rate.
    RunWire(t - 1);
    ApplyScheduled(t, schedule_->Step());
  }
  RunWire(now);
}

void Path::RunWire(TimeNs until) {
  bottleneck_.Run(
      until,
      [this](TimeNs start, TimeNs departure, QueuedPacket&& q) {
        Depart(start, departure, std::move(q));
      },
      [this](TimeNs when, const QueuedPacket& q, QueueAction action) {
        OnQueueAction(when, q, action);
      });
}

void Path::OnQueueAction(TimeNs when, const QueuedPacket& q,
                         QueueAction action) {
  TcpPeek seg;
  if (sink_ != nullptr) seg = PeekTcp(q.packet);
  if (action == QueueAction::kDrop) {
    ++counters_.dropped_aqm;
    Emit(when, EventKind::kSegmentDropped, DropReason::kAqm, MangleKind::kNone,
         0, 0, seg, q.packet.session_id);
  } else {
    ++counters_.ce_marked;
    Emit(when, EventKind::kSegmentMangled, DropReason::kNone,
         MangleKind::kCeMark, 0, 0, seg, q.packet.session_id);
  }
}

void Path::Depart(TimeNs start, TimeNs departure, QueuedPacket&& q) {
  // Sojourn: how long it waited for the wire. Eager mode knows it when the
  // packet arrives, so its samples are taken then.
  const DurationNs sojourn = start - q.enqueued;
  ++counters_.dequeued;
  counters_.sojourn_ns_total += static_cast<uint64_t>(sojourn);
  if (spec_.queue_sample_interval > 0 && sink_ != nullptr) {
    const TimeNs at = bottleneck_.eager() ? q.enqueued : start;
    if (last_sample_ == kNever ||
        at >= last_sample_ + spec_.queue_sample_interval) {
      last_sample_ = at;
      Event e;
      e.time = at;
      e.kind = EventKind::kQueueSample;
      e.endpoint = from_;
      e.link_id = link_id_;
      e.session_id = q.packet.session_id;
      e.a = static_cast<int64_t>(bottleneck_.queued_bytes());
      e.b = sojourn;
      sink_->OnEvent(e);
    }
  }
  // 8. Delay, jitter, reorder (drawn when the packet arrived).
  TimeNs arrival;
  if (q.reordered) {
    arrival = departure;
  } else {
    arrival = departure + q.delay;
    if (spec_.jitter.keep_order) arrival = std::max(arrival, last_arrival_);
    last_arrival_ = std::max(last_arrival_, arrival);
  }
  arrival += q.extra;
  in_flight_.Push(arrival, next_order_++, std::move(q.packet));
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
  Advance(now);
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
  // 4. Queue admission.
  switch (bottleneck_.Admit(now, p)) {
    case Admission::kAccept:
      break;
    case Admission::kMarked:
      ++counters_.ce_marked;
      Emit(now, EventKind::kSegmentMangled, DropReason::kNone,
           MangleKind::kCeMark, 0, 0, seg, p.session_id);
      break;
    case Admission::kOverLimit:
      ++counters_.dropped_queue;
      Emit(now, EventKind::kSegmentDropped, DropReason::kQueue,
           MangleKind::kNone, 0, 0, seg, p.session_id);
      return;
    case Admission::kEarlyDrop:
      ++counters_.dropped_aqm;
      Emit(now, EventKind::kSegmentDropped, DropReason::kAqm, MangleKind::kNone,
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
  } else {
    Forward(now, std::move(p), hit, seg);
  }
  if (!bottleneck_.eager()) RunWire(now);
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

  // 8, drawn now: reorder, or delay and jitter. Applied when the packet
  // leaves the wire (Depart).
  QueuedPacket q;
  q.enqueued = now;
  const bool forced_reorder =
      fault != nullptr && action == FaultAction::kReorder;
  if (forced_reorder || DrawReorder()) {
    q.reordered = true;
    ++counters_.reordered;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone,
         MangleKind::kReorder, forced_reorder ? rule_id : 0, 0, seg,
         p.session_id);
  } else {
    q.delay = std::max<DurationNs>(0, spec_.delay + jitter_.Sample(rng_));
  }
  if (fault != nullptr && action == FaultAction::kDelay) {
    q.extra = fault->delay;
    Emit(now, EventKind::kSegmentMangled, DropReason::kNone, MangleKind::kDelay,
         rule_id, fault->delay, seg, p.session_id);
  }
  q.packet = std::move(p);
  // 7. Queue and wire.
  bottleneck_.Push(
      now, std::move(q),
      [this](TimeNs start, TimeNs departure, QueuedPacket&& d) {
        Depart(start, departure, std::move(d));
      },
      [this](TimeNs when, const QueuedPacket& d, QueueAction a) {
        OnQueueAction(when, d, a);
      });
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

TimeNs Path::NextDeadline() const {
  TimeNs t = std::min(in_flight_.NextArrival(), bottleneck_.NextStart());
  if (schedule_ != nullptr) t = std::min(t, schedule_->next_change());
  return t;
}

void Path::Poll(TimeNs now,
                absl::FunctionRef<void(TimeNs arrival, Packet&&)> deliver) {
  Advance(now);
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
