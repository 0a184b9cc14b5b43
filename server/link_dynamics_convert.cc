// Queue management, schedules and traces of a link direction; see
// link_dynamics_convert.h.
#include "server/link_dynamics_convert.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/link/link_schedule.h"
#include "server/convert.h"

namespace tcpemu::server {
namespace {

absl::Status Invalid(const std::string& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status AqmFromProto(const v1::Aqm& p, const std::string& field,
                          AqmSpec* a) {
  switch (p.kind()) {
    case v1::Aqm::KIND_UNSPECIFIED:
    case v1::Aqm::KIND_DROP_TAIL:
      a->kind = AqmSpec::Kind::kDropTail;
      break;
    case v1::Aqm::KIND_RED:
      a->kind = AqmSpec::Kind::kRed;
      break;
    case v1::Aqm::KIND_CODEL:
      a->kind = AqmSpec::Kind::kCodel;
      break;
    case v1::Aqm::KIND_FQ_CODEL:
      a->kind = AqmSpec::Kind::kFqCodel;
      break;
    default:
      return Invalid(field + ".kind",
                     "allowed: KIND_DROP_TAIL, KIND_RED, KIND_CODEL, "
                     "KIND_FQ_CODEL");
  }
  a->ecn = p.ecn();
  if (p.red_min_threshold() != 0) a->red_min_threshold = p.red_min_threshold();
  if (p.red_max_threshold() != 0) a->red_max_threshold = p.red_max_threshold();
  if (p.red_max_p() != 0) a->red_max_p = p.red_max_p();
  if (p.red_weight() != 0) a->red_weight = p.red_weight();
  if (p.has_red_gentle()) a->red_gentle = p.red_gentle();
  if (p.red_avpkt() != 0) a->red_avpkt = p.red_avpkt();
  for (auto [d, name, out] :
       {std::tuple{&p.codel_target(), "codel_target", &a->codel_target},
        std::tuple{&p.codel_interval(), "codel_interval",
                   &a->codel_interval}}) {
    absl::StatusOr<DurationNs> v =
        DurationFromProto(*d, absl::StrCat(field, ".", name));
    if (!v.ok()) return v.status();
    if (*v != 0) *out = *v;
  }
  if (p.fq_flows() != 0) a->fq_flows = p.fq_flows();
  if (p.fq_quantum() != 0) a->fq_quantum = p.fq_quantum();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const LinkSchedule>> ScheduleFromProto(
    const v1::LinkSchedule& p, const std::string& field) {
  auto s = std::make_shared<LinkSchedule>();
  if (p.points_size() > static_cast<int>(kMaxSchedulePoints)) {
    return Invalid(field + ".points",
                   absl::StrCat(p.points_size(), " points out of range [1, ",
                                kMaxSchedulePoints, "]"));
  }
  for (int i = 0; i < p.points_size(); ++i) {
    const v1::SchedulePoint& q = p.points(i);
    const std::string at = absl::StrCat(field, ".points[", i, "]");
    SchedulePoint point;
    absl::StatusOr<DurationNs> t = DurationFromProto(q.at(), at + ".at");
    if (!t.ok()) return t.status();
    point.at = *t;
    point.ramp = q.ramp();
    if (q.has_rate_bps()) point.rate_bps = q.rate_bps();
    if (q.has_delay()) {
      absl::StatusOr<DurationNs> d =
          DurationFromProto(q.delay(), at + ".delay");
      if (!d.ok()) return d.status();
      point.delay = *d;
    }
    if (q.has_jitter()) {
      absl::StatusOr<DurationNs> d =
          DurationFromProto(q.jitter(), at + ".jitter");
      if (!d.ok()) return d.status();
      point.jitter = *d;
    }
    if (q.has_loss()) point.loss = q.loss();
    if (q.has_down()) point.down = q.down();
    s->points.push_back(point);
  }
  absl::StatusOr<DurationNs> repeat =
      DurationFromProto(p.repeat(), field + ".repeat");
  if (!repeat.ok()) return repeat.status();
  s->repeat = *repeat;
  if (p.has_ramp_step()) {
    absl::StatusOr<DurationNs> step =
        DurationFromProto(p.ramp_step(), field + ".ramp_step");
    if (!step.ok()) return step.status();
    s->ramp_step = *step;
  }
  return s;
}

}  // namespace

absl::Status LinkDynamicsFromProto(const v1::PathSpec& p,
                                   const std::string& field, PathSpec* spec) {
  if (p.has_aqm()) {
    if (absl::Status s = AqmFromProto(p.aqm(), field + ".aqm", &spec->aqm);
        !s.ok()) {
      return s;
    }
  }
  if (p.has_schedule()) {
    absl::StatusOr<std::shared_ptr<const LinkSchedule>> s =
        ScheduleFromProto(p.schedule(), field + ".schedule");
    if (!s.ok()) return s.status();
    spec->schedule = *std::move(s);
  }
  if (p.has_trace()) {
    absl::StatusOr<DeliveryTrace> t =
        ParseMahimahiTrace(p.trace().mahimahi(), p.trace().name());
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".trace.mahimahi: ", t.status().message()));
    }
    spec->trace = std::make_shared<const DeliveryTrace>(*std::move(t));
  }
  absl::StatusOr<DurationNs> sample = DurationFromProto(
      p.queue_sample_interval(), field + ".queue_sample_interval");
  if (!sample.ok()) return sample.status();
  spec->queue_sample_interval = *sample;
  return absl::OkStatus();
}

void LinkDynamicsToProto(const PathSpec& spec, v1::PathSpec* out) {
  const AqmSpec& a = spec.aqm;
  if (!(a == AqmSpec{})) {
    v1::Aqm* p = out->mutable_aqm();
    switch (a.kind) {
      case AqmSpec::Kind::kDropTail:
        p->set_kind(v1::Aqm::KIND_DROP_TAIL);
        break;
      case AqmSpec::Kind::kRed:
        p->set_kind(v1::Aqm::KIND_RED);
        break;
      case AqmSpec::Kind::kCodel:
        p->set_kind(v1::Aqm::KIND_CODEL);
        break;
      case AqmSpec::Kind::kFqCodel:
        p->set_kind(v1::Aqm::KIND_FQ_CODEL);
        break;
    }
    p->set_ecn(a.ecn);
    p->set_red_min_threshold(a.red_min_threshold);
    p->set_red_max_threshold(a.red_max_threshold);
    p->set_red_max_p(a.red_max_p);
    p->set_red_weight(a.red_weight);
    p->set_red_gentle(a.red_gentle);
    p->set_red_avpkt(a.red_avpkt);
    DurationToProto(a.codel_target, p->mutable_codel_target());
    DurationToProto(a.codel_interval, p->mutable_codel_interval());
    p->set_fq_flows(a.fq_flows);
    p->set_fq_quantum(a.fq_quantum);
  }
  if (spec.schedule != nullptr) {
    v1::LinkSchedule* s = out->mutable_schedule();
    for (const SchedulePoint& point : spec.schedule->points) {
      v1::SchedulePoint* q = s->add_points();
      DurationToProto(point.at, q->mutable_at());
      q->set_ramp(point.ramp);
      if (point.rate_bps) q->set_rate_bps(*point.rate_bps);
      if (point.delay) DurationToProto(*point.delay, q->mutable_delay());
      if (point.jitter) DurationToProto(*point.jitter, q->mutable_jitter());
      if (point.loss) q->set_loss(*point.loss);
      if (point.down) q->set_down(*point.down);
    }
    if (spec.schedule->repeat != 0) {
      DurationToProto(spec.schedule->repeat, s->mutable_repeat());
    }
    DurationToProto(spec.schedule->ramp_step, s->mutable_ramp_step());
  }
  if (spec.trace != nullptr) {
    v1::DeliveryTrace* t = out->mutable_trace();
    t->set_name(spec.trace->name);
    t->set_opportunities(
        static_cast<uint32_t>(spec.trace->opportunities_ms.size()));
    DurationToProto(
        static_cast<DurationNs>(spec.trace->opportunities_ms.back()) *
            kMillisecond,
        t->mutable_period());
  }
  if (spec.queue_sample_interval != 0) {
    DurationToProto(spec.queue_sample_interval,
                    out->mutable_queue_sample_interval());
  }
}

}  // namespace tcpemu::server
