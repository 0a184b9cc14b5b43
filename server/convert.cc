// tcpemu.v1 <-> engine conversions; see convert.h.
#include "server/convert.h"

#include "absl/strings/str_cat.h"
#include "server/event_convert.h"
#include "server/link_dynamics_convert.h"

namespace tcpemu::server {
namespace {

absl::Status Invalid(const std::string& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Applies an optional Duration field when set.
absl::Status SetDuration(const google::protobuf::Duration& d, bool present,
                         const std::string& field, DurationNs* out) {
  if (!present) return absl::OkStatus();
  absl::StatusOr<DurationNs> v = DurationFromProto(d, field);
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

}  // namespace

std::string LinkLimitMessage(uint32_t max_links) {
  return absl::StrCat("link limit reached: --max_links is ", max_links,
                      " (links and interfaces held); delete links first");
}

std::string SessionLimitMessage(uint32_t max_sessions) {
  return absl::StrCat("session limit reached: --max_sessions is ", max_sessions,
                      " (sessions held, live or finished); delete finished "
                      "sessions first");
}

std::string BufferLimitMessage(absl::string_view field, uint32_t value,
                               uint32_t max_buffer) {
  return absl::StrCat(field, " ", value,
                      " exceeds the buffer limit: --max_buffer is ", max_buffer,
                      " bytes");
}

std::string Quoted(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  if (text.size() <= kMaxShown) return absl::StrCat("\"", text, "\"");
  return absl::StrCat("\"", text.substr(0, kMaxShown), "\"... (", text.size(),
                      " bytes)");
}

absl::StatusOr<DurationNs> DurationFromProto(
    const google::protobuf::Duration& d, const std::string& field) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() >= 1'000'000'000) {
    return Invalid(field, "a duration must be >= 0 with nanos in [0, 1e9)");
  }
  if (d.seconds() > 10LL * 365 * 86400) {
    return Invalid(field,
                   absl::StrCat(d.seconds(), "s out of range [0, 10 years]"));
  }
  return d.seconds() * kSecond + d.nanos();
}

void DurationToProto(DurationNs ns, google::protobuf::Duration* out) {
  out->set_seconds(ns / kSecond);
  out->set_nanos(static_cast<int32_t>(ns % kSecond));
}

absl::StatusOr<TcpConfig> FromProto(const v1::TcpConfig& p,
                                    const std::string& field,
                                    uint32_t max_buffer) {
  TcpConfig c;
  if (p.has_send_buffer()) {
    if (p.send_buffer() > max_buffer) {
      return absl::ResourceExhaustedError(BufferLimitMessage(
          field + ".send_buffer", p.send_buffer(), max_buffer));
    }
    c.send_buffer = p.send_buffer();
  }
  if (p.has_recv_buffer()) {
    if (p.recv_buffer() > max_buffer) {
      return absl::ResourceExhaustedError(BufferLimitMessage(
          field + ".recv_buffer", p.recv_buffer(), max_buffer));
    }
    c.recv_buffer = p.recv_buffer();
  }
  if (p.has_mtu()) c.mtu = p.mtu();
  if (p.has_nodelay()) c.nodelay = p.nodelay();
  if (p.has_cork()) c.cork = p.cork();
  if (p.has_max_retransmissions()) {
    c.max_retransmissions = p.max_retransmissions();
  }
  if (p.has_syn_retries()) c.syn_retries = p.syn_retries();
  if (p.has_synack_retries()) c.synack_retries = p.synack_retries();
  if (p.has_delayed_ack()) c.delayed_ack = p.delayed_ack();
  if (p.has_limited_transmit()) c.limited_transmit = p.limited_transmit();
  if (p.has_timestamps()) c.timestamps = p.timestamps();
  if (p.has_sack()) c.sack = p.sack();
  if (p.has_rack()) c.rack = p.rack();
  if (p.has_hystart()) c.hystart = p.hystart();
  if (p.has_pacing()) c.pacing = p.pacing();
  if (p.has_ecn()) c.ecn = p.ecn();
  if (p.has_ecn_syn_retries()) c.ecn_syn_retries = p.ecn_syn_retries();
  if (p.has_rfc5961_rst()) c.rfc5961_rst = p.rfc5961_rst();
  if (p.has_rfc5961_syn()) c.rfc5961_syn = p.rfc5961_syn();
  if (p.has_challenge_ack_limit()) {
    c.challenge_ack_limit = p.challenge_ack_limit();
  }
  if (p.has_window_scaling()) c.window_scaling = p.window_scaling();
  if (p.has_window_scale()) c.window_scale = p.window_scale();
  if (p.has_keepalive()) c.keepalive = p.keepalive();
  if (p.has_keepalive_probes()) c.keepalive_probes = p.keepalive_probes();
  if (p.has_initial_window()) c.initial_window = p.initial_window();
  switch (p.congestion_control()) {
    case v1::CONGESTION_CONTROL_UNSPECIFIED:
    case v1::CONGESTION_CONTROL_NEWRENO:
      c.cc = CcAlgorithm::kNewReno;
      break;
    case v1::CONGESTION_CONTROL_CUBIC:
      c.cc = CcAlgorithm::kCubic;
      break;
    case v1::CONGESTION_CONTROL_BBR:
      c.cc = CcAlgorithm::kBbr;
      break;
    default:
      return Invalid(field + ".congestion_control",
                     "allowed: CONGESTION_CONTROL_NEWRENO, "
                     "CONGESTION_CONTROL_CUBIC, CONGESTION_CONTROL_BBR");
  }
  switch (p.flavor()) {
    case v1::STACK_FLAVOR_UNSPECIFIED:
    case v1::STACK_FLAVOR_LINUX:
      c.flavor = StackFlavor::kLinux;
      break;
    case v1::STACK_FLAVOR_FREEBSD:
      c.flavor = StackFlavor::kFreeBsd;
      break;
    default:
      return Invalid(field + ".flavor",
                     absl::StrCat(p.flavor(),
                                  " is not valid; allowed: "
                                  "STACK_FLAVOR_LINUX, STACK_FLAVOR_FREEBSD"));
  }
  struct D {
    bool present;
    const google::protobuf::Duration& d;
    const char* name;
    DurationNs* out;
  };
  for (const D& d : {
           D{p.has_cork_timeout(), p.cork_timeout(), "cork_timeout",
             &c.cork_timeout},
           D{p.has_rto_initial(), p.rto_initial(), "rto_initial",
             &c.rto_initial},
           D{p.has_rto_min(), p.rto_min(), "rto_min", &c.rto_min},
           D{p.has_rto_max(), p.rto_max(), "rto_max", &c.rto_max},
           D{p.has_delayed_ack_timeout(), p.delayed_ack_timeout(),
             "delayed_ack_timeout", &c.delayed_ack_timeout},
           D{p.has_msl(), p.msl(), "msl", &c.msl},
           D{p.has_keepalive_idle(), p.keepalive_idle(), "keepalive_idle",
             &c.keepalive_idle},
           D{p.has_keepalive_interval(), p.keepalive_interval(),
             "keepalive_interval", &c.keepalive_interval},
           D{p.has_persist_min(), p.persist_min(), "persist_min",
             &c.persist_min},
           D{p.has_persist_max(), p.persist_max(), "persist_max",
             &c.persist_max},
           D{p.has_invalid_ack_interval(), p.invalid_ack_interval(),
             "invalid_ack_interval", &c.invalid_ack_interval},
       }) {
    absl::Status s =
        SetDuration(d.d, d.present, absl::StrCat(field, ".", d.name), d.out);
    if (!s.ok()) return s;
  }
  if (absl::Status s = c.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".", s.message()));
  }
  return c;
}

absl::StatusOr<PathSpec> PathSpecFromProto(const v1::PathSpec& p,
                                           const std::string& field) {
  PathSpec s;
  absl::StatusOr<DurationNs> delay =
      DurationFromProto(p.delay(), field + ".delay");
  if (!delay.ok()) return delay.status();
  s.delay = *delay;
  absl::StatusOr<DurationNs> jitter =
      DurationFromProto(p.jitter().jitter(), field + ".jitter.jitter");
  if (!jitter.ok()) return jitter.status();
  s.jitter.jitter = *jitter;
  switch (p.jitter().distribution()) {
    case v1::Jitter::DISTRIBUTION_UNSPECIFIED:
    case v1::Jitter::DISTRIBUTION_UNIFORM:
      s.jitter.distribution = JitterSpec::Distribution::kUniform;
      break;
    case v1::Jitter::DISTRIBUTION_NORMAL:
      s.jitter.distribution = JitterSpec::Distribution::kNormal;
      break;
    default:
      return Invalid(field + ".jitter.distribution",
                     "allowed: DISTRIBUTION_UNIFORM, DISTRIBUTION_NORMAL");
  }
  s.jitter.correlation = p.jitter().correlation();
  s.jitter.keep_order = p.jitter().keep_order();
  s.rate_bps = p.rate_bps();
  if (p.has_queue_limit_packets()) {
    s.queue_limit_packets = p.queue_limit_packets();
  }
  s.queue_limit_bytes = p.queue_limit_bytes();
  switch (p.loss().model_case()) {
    case v1::Loss::kRandom:
      s.loss.model = LossSpec::Model::kRandom;
      s.loss.p = p.loss().random();
      break;
    case v1::Loss::kGilbertElliott:
      s.loss.model = LossSpec::Model::kGilbertElliott;
      s.loss.p = p.loss().gilbert_elliott().p();
      s.loss.r = p.loss().gilbert_elliott().r();
      s.loss.h = p.loss().gilbert_elliott().h();
      s.loss.k = p.loss().gilbert_elliott().k();
      break;
    case v1::Loss::MODEL_NOT_SET:
      break;
  }
  s.duplicate = p.duplicate();
  s.reorder = p.reorder();
  s.reorder_gap = p.reorder_gap();
  s.corrupt = p.corrupt();
  if (p.has_mtu()) s.mtu = p.mtu();
  if (absl::Status st = LinkDynamicsFromProto(p, field, &s); !st.ok()) {
    return st;
  }
  return s;
}

absl::StatusOr<ValidPathSpec> ValidatePath(const PathSpec& s,
                                           const std::string& field) {
  absl::StatusOr<ValidPathSpec> valid = ValidPathSpec::Check(s);
  if (!valid.ok()) {
    // The engine names loss parameters p, r, h, k; the API nests them.
    std::string msg(valid.status().message());
    if (msg.rfind("loss.", 0) == 0) {
      msg = s.loss.model == LossSpec::Model::kRandom
                ? "loss.random" + msg.substr(msg.find(' '))
                : "loss.gilbert_elliott." + msg.substr(5);
    }
    return absl::InvalidArgumentError(absl::StrCat(field, ".", msg));
  }
  return valid;
}

absl::StatusOr<ValidPathSpec> FromProto(const v1::PathSpec& p,
                                        const std::string& field) {
  absl::StatusOr<PathSpec> s = PathSpecFromProto(p, field);
  if (!s.ok()) return s.status();
  return ValidatePath(*s, field);
}

absl::StatusOr<ReaderSpec> FromProto(const v1::Reader& p,
                                     const std::string& field) {
  ReaderSpec r;
  switch (p.mode()) {
    case v1::Reader::MODE_UNSPECIFIED:
    case v1::Reader::MODE_AUTO:
      r.mode = ReaderMode::kAuto;
      break;
    case v1::Reader::MODE_RATE:
      r.mode = ReaderMode::kRate;
      if (p.rate_bytes_per_sec() == 0 ||
          p.rate_bytes_per_sec() > 100'000'000'000ULL) {
        return Invalid(field + ".rate_bytes_per_sec",
                       absl::StrCat(p.rate_bytes_per_sec(),
                                    " out of range [1, 100000000000]"));
      }
      r.rate_bytes_per_sec = p.rate_bytes_per_sec();
      break;
    case v1::Reader::MODE_MANUAL:
      r.mode = ReaderMode::kManual;
      break;
    default:
      return Invalid(field + ".mode",
                     "allowed: MODE_AUTO, MODE_RATE, MODE_MANUAL");
  }
  if (p.has_close_on_eof()) r.close_on_eof = p.close_on_eof();
  return r;
}

absl::StatusOr<Endpoint> EndpointFromProto(v1::Endpoint e,
                                           const std::string& field) {
  switch (e) {
    case v1::ENDPOINT_CLIENT:
      return Endpoint::kClient;
    case v1::ENDPOINT_SERVER:
      return Endpoint::kServer;
    default:
      return Invalid(field, "must be ENDPOINT_CLIENT or ENDPOINT_SERVER");
  }
}

void ToProto(const PathSpec& s, v1::PathSpec* out) {
  DurationToProto(s.delay, out->mutable_delay());
  if (s.jitter.jitter > 0) {
    v1::Jitter* j = out->mutable_jitter();
    DurationToProto(s.jitter.jitter, j->mutable_jitter());
    j->set_distribution(s.jitter.distribution ==
                                JitterSpec::Distribution::kNormal
                            ? v1::Jitter::DISTRIBUTION_NORMAL
                            : v1::Jitter::DISTRIBUTION_UNIFORM);
    j->set_correlation(s.jitter.correlation);
    j->set_keep_order(s.jitter.keep_order);
  }
  out->set_rate_bps(s.rate_bps);
  out->set_queue_limit_packets(s.queue_limit_packets);
  out->set_queue_limit_bytes(s.queue_limit_bytes);
  switch (s.loss.model) {
    case LossSpec::Model::kNone:
      break;
    case LossSpec::Model::kRandom:
      out->mutable_loss()->set_random(s.loss.p);
      break;
    case LossSpec::Model::kGilbertElliott: {
      v1::GilbertElliott* ge = out->mutable_loss()->mutable_gilbert_elliott();
      ge->set_p(s.loss.p);
      ge->set_r(s.loss.r);
      ge->set_h(s.loss.h);
      ge->set_k(s.loss.k);
      break;
    }
  }
  out->set_duplicate(s.duplicate);
  out->set_reorder(s.reorder);
  out->set_reorder_gap(s.reorder_gap);
  out->set_corrupt(s.corrupt);
  out->set_mtu(s.mtu);
  LinkDynamicsToProto(s, out);
}

void ToProto(const PathCounters& c, const Path& path, v1::PathCounters* out) {
  out->set_packets_sent(c.packets_sent);
  out->set_bytes_sent(c.bytes_sent);
  out->set_packets_delivered(c.packets_delivered);
  out->set_bytes_delivered(c.bytes_delivered);
  out->set_dropped_loss(c.dropped_loss);
  out->set_dropped_queue(c.dropped_queue);
  out->set_dropped_fault(c.dropped_fault);
  out->set_dropped_mtu(c.dropped_mtu);
  out->set_duplicated(c.duplicated);
  out->set_corrupted(c.corrupted);
  out->set_reordered(c.reordered);
  out->set_fault_hits(c.fault_hits);
  out->set_queued_packets(path.queued_packets());
  out->set_queued_bytes(path.queued_bytes());
  out->set_dropped_aqm(c.dropped_aqm);
  out->set_ce_marked(c.ce_marked);
  out->set_link_changes(c.link_changes);
  out->set_dequeued(c.dequeued);
  out->set_sojourn_ns_total(c.sojourn_ns_total);
}

void ToProto(const ConnectionCounters& c, v1::EndpointCounters* out) {
  out->set_segments_sent(c.segments_sent);
  out->set_segments_received(c.segments_received);
  out->set_bytes_sent(c.bytes_sent);
  out->set_bytes_retransmitted(c.bytes_retransmitted);
  out->set_retransmits_rto(c.retransmits_rto);
  out->set_retransmits_fast(c.retransmits_fast);
  out->set_pure_acks_sent(c.pure_acks_sent);
  out->set_window_probes_sent(c.window_probes_sent);
  out->set_window_updates_sent(c.window_updates_sent);
  out->set_dup_acks_received(c.dup_acks_received);
  out->set_bytes_written(c.bytes_written);
  out->set_bytes_delivered(c.bytes_delivered);
  out->set_bytes_read(c.bytes_read);
  out->set_out_of_order_segments(c.out_of_order_segments);
  out->set_duplicate_segments(c.duplicate_segments);
  out->set_bad_checksum_segments(c.bad_checksum_segments);
  out->set_outside_window_segments(c.outside_window_segments);
  out->set_challenge_acks_sent(c.challenge_acks_sent);
  out->set_fast_recoveries(c.fast_recoveries);
  out->set_timeouts(c.timeouts);
  out->set_challenge_acks_suppressed(c.challenge_acks_suppressed);
  out->set_paws_rejected(c.paws_rejected);
  out->set_invalid_acks_suppressed(c.invalid_acks_suppressed);
  out->set_dsacks_received(c.dsacks_received);
  out->set_rack_losses(c.rack_losses);
  out->set_tail_loss_probes(c.tail_loss_probes);
  out->set_ce_received(c.ce_received);
  out->set_ece_received(c.ece_received);
  out->set_ecn_reductions(c.ecn_reductions);
  out->set_cwr_sent(c.cwr_sent);
}

v1::ErrorCode ToProto(ErrorCode e) {
  switch (e) {
    case ErrorCode::kNone:
      return v1::ERROR_CODE_UNSPECIFIED;
    case ErrorCode::kTimedOut:
      return v1::ERROR_CODE_TIMED_OUT;
    case ErrorCode::kReset:
      return v1::ERROR_CODE_RESET;
    case ErrorCode::kRefused:
      return v1::ERROR_CODE_REFUSED;
    case ErrorCode::kAborted:
      return v1::ERROR_CODE_ABORTED;
  }
  return v1::ERROR_CODE_UNSPECIFIED;
}

}  // namespace tcpemu::server
