// Engine event -> tcpemu.v1.Event. The switches list every enumerator without
// a default, so -Wswitch flags a new engine value that has no proto mapping.
#include "server/event_convert.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;

void SetReason(std::string_view reason, v1::Event* out) {
  // assign() keeps the string's buffer when the message is reused.
  out->mutable_reason()->assign(reason.data(), reason.size());
}

// rel_seq/rel_ack are relative to the sender's and the receiver's ISS; the
// endpoint's TCB gives both (iss is its own, irs its peer's). SACK blocks
// acknowledge the receiver's sequence space, so they share rel_ack's base.
void FillSegment(const SegmentInfo& s, bool with_rel, uint32_t seq_base,
                 uint32_t ack_base, v1::Segment* out) {
  out->set_seq(s.seq);
  out->set_ack(s.ack);
  out->set_rel_seq(with_rel ? s.seq - seq_base : 0);
  out->set_rel_ack(with_rel ? s.ack - ack_base : 0);
  out->set_len(s.len);
  out->set_window(s.window);
  out->set_flags(s.flags);
  out->set_opt_mss(s.opt_mss);
  if (s.opt_wscale != 0xff) {
    out->set_opt_wscale(s.opt_wscale);
  } else {
    out->clear_opt_wscale();
  }
  out->set_opt_sack_permitted(s.opt_sack_permitted != 0);
  out->set_opt_sack_blocks(s.opt_sack_blocks);
  out->set_opt_timestamp(s.opt_timestamp != 0);
  out->set_src_port(s.src_port);
  out->set_dst_port(s.dst_port);
  // As with events, RemoveLast keeps the blocks for a reused message.
  auto* blocks = out->mutable_sack_blocks();
  const int n = std::min<int>(s.opt_sack_blocks, std::size(s.sack_left));
  while (blocks->size() > n) blocks->RemoveLast();
  while (blocks->size() < n) blocks->Add();
  for (int i = 0; i < n; ++i) {
    v1::SackBlock* b = blocks->Mutable(i);
    b->set_left(s.sack_left[i]);
    b->set_right(s.sack_right[i]);
    b->set_rel_left(with_rel ? s.sack_left[i] - ack_base : 0);
    b->set_rel_right(with_rel ? s.sack_right[i] - ack_base : 0);
  }
  if (s.opt_timestamp != 0) {
    out->set_ts_val(s.ts_val);
    out->set_ts_ecr(s.ts_ecr);
  } else {
    out->clear_ts_val();
    out->clear_ts_ecr();
  }
  out->set_window_bytes(s.window_bytes);
}

}  // namespace

v1::TcpState ToProto(TcpState state) {
  switch (state) {
    case TcpState::kClosed:
      return v1::TCP_STATE_CLOSED;
    case TcpState::kListen:
      return v1::TCP_STATE_LISTEN;
    case TcpState::kSynSent:
      return v1::TCP_STATE_SYN_SENT;
    case TcpState::kSynReceived:
      return v1::TCP_STATE_SYN_RECEIVED;
    case TcpState::kEstablished:
      return v1::TCP_STATE_ESTABLISHED;
    case TcpState::kFinWait1:
      return v1::TCP_STATE_FIN_WAIT_1;
    case TcpState::kFinWait2:
      return v1::TCP_STATE_FIN_WAIT_2;
    case TcpState::kCloseWait:
      return v1::TCP_STATE_CLOSE_WAIT;
    case TcpState::kClosing:
      return v1::TCP_STATE_CLOSING;
    case TcpState::kLastAck:
      return v1::TCP_STATE_LAST_ACK;
    case TcpState::kTimeWait:
      return v1::TCP_STATE_TIME_WAIT;
  }
  return v1::TCP_STATE_UNSPECIFIED;
}

v1::CcPhase ToProto(CcPhase phase) {
  switch (phase) {
    case CcPhase::kNone:
      return v1::CC_PHASE_UNSPECIFIED;
    case CcPhase::kSlowStart:
      return v1::CC_PHASE_SLOW_START;
    case CcPhase::kCongestionAvoidance:
      return v1::CC_PHASE_CONGESTION_AVOIDANCE;
    case CcPhase::kRecovery:
      return v1::CC_PHASE_RECOVERY;
    case CcPhase::kStartup:
      return v1::CC_PHASE_STARTUP;
    case CcPhase::kDrain:
      return v1::CC_PHASE_DRAIN;
    case CcPhase::kProbeBw:
      return v1::CC_PHASE_PROBE_BW;
    case CcPhase::kProbeRtt:
      return v1::CC_PHASE_PROBE_RTT;
  }
  return v1::CC_PHASE_UNSPECIFIED;
}

v1::Endpoint ToProto(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kClient:
      return v1::ENDPOINT_CLIENT;
    case Endpoint::kServer:
      return v1::ENDPOINT_SERVER;
  }
  return v1::ENDPOINT_UNSPECIFIED;
}

v1::EventKind ToProto(EventKind kind) {
  switch (kind) {
    case EventKind::kSegmentSent:
      return v1::EVENT_KIND_SEGMENT_SENT;
    case EventKind::kSegmentReceived:
      return v1::EVENT_KIND_SEGMENT_RECEIVED;
    case EventKind::kSegmentDropped:
      return v1::EVENT_KIND_SEGMENT_DROPPED;
    case EventKind::kSegmentMangled:
      return v1::EVENT_KIND_SEGMENT_MANGLED;
    case EventKind::kStateChanged:
      return v1::EVENT_KIND_STATE_CHANGED;
    case EventKind::kTimerArmed:
      return v1::EVENT_KIND_TIMER_ARMED;
    case EventKind::kTimerFired:
      return v1::EVENT_KIND_TIMER_FIRED;
    case EventKind::kAppWrite:
      return v1::EVENT_KIND_APP_WRITE;
    case EventKind::kAppRead:
      return v1::EVENT_KIND_APP_READ;
    case EventKind::kRttSample:
      return v1::EVENT_KIND_RTT_SAMPLE;
    case EventKind::kCwndChanged:
      return v1::EVENT_KIND_CWND_CHANGED;
    case EventKind::kConnectionError:
      return v1::EVENT_KIND_CONNECTION_ERROR;
    case EventKind::kSessionDestroyed:
      return v1::EVENT_KIND_SESSION_DESTROYED;
    case EventKind::kSessionAccepted:
      return v1::EVENT_KIND_SESSION_ACCEPTED;
    case EventKind::kClockBehind:
      return v1::EVENT_KIND_CLOCK_BEHIND;
    case EventKind::kClockCaughtUp:
      return v1::EVENT_KIND_CLOCK_CAUGHT_UP;
    case EventKind::kLinkChanged:
      return v1::EVENT_KIND_LINK_CHANGED;
    case EventKind::kQueueSample:
      return v1::EVENT_KIND_QUEUE_SAMPLE;
  }
  return v1::EVENT_KIND_UNSPECIFIED;
}

std::optional<Endpoint> FromProto(v1::Endpoint endpoint) {
  switch (endpoint) {
    case v1::ENDPOINT_CLIENT:
      return Endpoint::kClient;
    case v1::ENDPOINT_SERVER:
      return Endpoint::kServer;
    default:
      return std::nullopt;
  }
}

std::optional<EventKind> FromProto(v1::EventKind kind) {
  switch (kind) {
    case v1::EVENT_KIND_SEGMENT_SENT:
      return EventKind::kSegmentSent;
    case v1::EVENT_KIND_SEGMENT_RECEIVED:
      return EventKind::kSegmentReceived;
    case v1::EVENT_KIND_SEGMENT_DROPPED:
      return EventKind::kSegmentDropped;
    case v1::EVENT_KIND_SEGMENT_MANGLED:
      return EventKind::kSegmentMangled;
    case v1::EVENT_KIND_STATE_CHANGED:
      return EventKind::kStateChanged;
    case v1::EVENT_KIND_TIMER_ARMED:
      return EventKind::kTimerArmed;
    case v1::EVENT_KIND_TIMER_FIRED:
      return EventKind::kTimerFired;
    case v1::EVENT_KIND_APP_WRITE:
      return EventKind::kAppWrite;
    case v1::EVENT_KIND_APP_READ:
      return EventKind::kAppRead;
    case v1::EVENT_KIND_RTT_SAMPLE:
      return EventKind::kRttSample;
    case v1::EVENT_KIND_CWND_CHANGED:
      return EventKind::kCwndChanged;
    case v1::EVENT_KIND_CONNECTION_ERROR:
      return EventKind::kConnectionError;
    case v1::EVENT_KIND_SESSION_DESTROYED:
      return EventKind::kSessionDestroyed;
    case v1::EVENT_KIND_SESSION_ACCEPTED:
      return EventKind::kSessionAccepted;
    case v1::EVENT_KIND_CLOCK_BEHIND:
      return EventKind::kClockBehind;
    case v1::EVENT_KIND_CLOCK_CAUGHT_UP:
      return EventKind::kClockCaughtUp;
    case v1::EVENT_KIND_LINK_CHANGED:
      return EventKind::kLinkChanged;
    case v1::EVENT_KIND_QUEUE_SAMPLE:
      return EventKind::kQueueSample;
    default:
      return std::nullopt;
  }
}

void ToProto(const TcbSnapshot& tcb, v1::Tcb* out) {
  out->set_state(ToProto(tcb.state));
  out->set_iss(tcb.iss);
  out->set_irs(tcb.irs);
  out->set_snd_una(tcb.snd_una);
  out->set_snd_nxt(tcb.snd_nxt);
  out->set_snd_wnd(tcb.snd_wnd);
  out->set_rcv_nxt(tcb.rcv_nxt);
  out->set_rcv_wnd(tcb.rcv_wnd);
  out->set_cwnd(tcb.cwnd);
  out->set_ssthresh(tcb.ssthresh);
  out->set_bytes_in_flight(tcb.bytes_in_flight);
  out->set_srtt_ns(tcb.srtt);
  out->set_rttvar_ns(tcb.rttvar);
  out->set_rto_ns(tcb.rto);
  out->set_snd_wscale(tcb.snd_wscale);
  out->set_rcv_wscale(tcb.rcv_wscale);
  out->set_ts_ok(tcb.ts_ok);
  out->set_sack_ok(tcb.sack_ok);
  out->set_ts_recent(tcb.ts_recent);
  out->set_sacked_bytes(tcb.sacked_bytes);
  out->set_lost_bytes(tcb.lost_bytes);
  out->set_retrans_bytes(tcb.retrans_bytes);
  out->set_pipe(tcb.pipe);
  out->set_pacing_rate(tcb.pacing_rate);
  out->set_cc_phase(ToProto(tcb.cc_phase));
  out->set_bandwidth_estimate(tcb.bandwidth_estimate);
  out->set_min_rtt_ns(tcb.min_rtt);
  out->set_ecn_ok(tcb.ecn_ok);
}

EventShape ShapeOf(const Event& e) {
  EventShape sh;
  switch (e.kind) {
    case EventKind::kSegmentSent:
      sh.reason = ToString(e.send_reason);
      sh.segment = sh.rel = true;
      sh.seq_base = RelativeBasesOf(e).seq;
      sh.ack_base = RelativeBasesOf(e).ack;
      break;
    case EventKind::kSegmentReceived:
      sh.reason = ToString(e.disposition);
      sh.segment = sh.rel = true;
      sh.seq_base = RelativeBasesOf(e).seq;
      sh.ack_base = RelativeBasesOf(e).ack;
      break;
    case EventKind::kSegmentDropped:
      sh.reason = ToString(e.drop_reason);
      sh.segment = true;
      sh.tcb = false;
      break;
    case EventKind::kSegmentMangled:
      sh.reason = ToString(e.mangle);
      sh.segment = true;
      sh.tcb = false;
      break;
    case EventKind::kStateChanged:
      sh.old_state = ToProto(e.old_state);
      sh.new_state = ToProto(e.new_state);
      break;
    case EventKind::kTimerArmed:
      sh.reason = ToString(e.timer);
      sh.a = e.a;
      break;
    case EventKind::kTimerFired:
      sh.reason = ToString(e.timer);
      break;
    case EventKind::kAppWrite:
    case EventKind::kCwndChanged:
      sh.a = e.a;
      sh.b = e.b;
      break;
    case EventKind::kAppRead:
    case EventKind::kRttSample:
      sh.a = e.a;
      break;
    case EventKind::kConnectionError:
      sh.reason = ToString(e.error);
      break;
    case EventKind::kSessionDestroyed:
      sh.tcb = false;
      break;
    case EventKind::kSessionAccepted:
      sh.a = e.a;
      sh.segment = true;
      sh.tcb = false;
      break;
    case EventKind::kClockBehind:
    case EventKind::kClockCaughtUp:
    case EventKind::kLinkChanged:
    case EventKind::kQueueSample:
      sh.a = e.a;
      sh.b = e.b;
      sh.tcb = false;
      break;
  }
  return sh;
}

void ToProto(const NetworkEvent& ne, v1::Event* out) {
  const Event& e = ne.event;
  out->set_time_ns(e.time);
  out->set_kind(ToProto(e.kind));
  out->set_network_id(ne.network_id);
  out->set_session_id(e.session_id);
  out->set_link_id(e.link_id);
  out->set_endpoint(ToProto(e.endpoint));

  const EventShape sh = ShapeOf(e);
  SetReason(sh.reason, out);
  out->set_old_state(sh.old_state);
  out->set_new_state(sh.new_state);
  out->set_a(sh.a);
  out->set_b(sh.b);
  if (sh.segment) {
    FillSegment(e.seg, sh.rel, sh.seq_base, sh.ack_base,
                out->mutable_segment());
  } else {
    out->clear_segment();
  }
  if (sh.tcb) {
    ToProto(e.tcb, out->mutable_tcb());
  } else {
    out->clear_tcb();
  }
}

void ToProto(std::span<const NetworkEvent> events, uint64_t events_lost,
             v1::EventBatch* out) {
  auto* list = out->mutable_events();
  const int n = static_cast<int>(events.size());
  // RemoveLast keeps the removed messages for later Add calls to reuse.
  while (list->size() > n) list->RemoveLast();
  const int reused = list->size();
  for (int i = 0; i < n; ++i) {
    ToProto(events[i], i < reused ? list->Mutable(i) : list->Add());
  }
  out->set_events_lost(events_lost);
}

absl::StatusOr<EventFilter> EventFilterFromProto(
    const v1::WatchEventsRequest& request) {
  EventFilter filter;
  filter.network_id = request.network_id();
  filter.session_ids.insert(request.session_ids().begin(),
                            request.session_ids().end());
  for (int i = 0; i < request.kinds_size(); ++i) {
    const std::optional<EventKind> kind = FromProto(request.kinds(i));
    if (!kind.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kinds[", i, "]: ", static_cast<int>(request.kinds(i)),
          " is not an event kind; use EVENT_KIND_SEGMENT_SENT (1) through "
          "EVENT_KIND_SESSION_DESTROYED (13), or no kinds for all"));
    }
    filter.kinds_mask |= EventFilter::KindBit(*kind);
  }
  if (request.endpoint() != v1::ENDPOINT_UNSPECIFIED) {
    filter.endpoint = FromProto(request.endpoint());
    if (!filter.endpoint.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "endpoint: ", static_cast<int>(request.endpoint()),
          " is not an endpoint; use ENDPOINT_CLIENT (1), ENDPOINT_SERVER (2) "
          "or ENDPOINT_UNSPECIFIED (0) for both"));
    }
  }
  return filter;
}

}  // namespace tcpemu::server
