// Listeners: the listening ports of an interface and their SYN cookies; see
// listeners.h.
#include "engine/sim/listeners.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tcpemu {

absl::Status Listeners::Listen(const ListenSpec& spec, uint32_t if_mtu,
                               uint32_t link_id) {
  if (spec.port == 0) {
    return absl::InvalidArgumentError("port 0 out of range [1, 65535]");
  }
  if (spec.backlog < 1 || spec.backlog > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("backlog ", spec.backlog, " out of range [1, 65535]"));
  }
  ListenSpec checked = spec;
  checked.config.mtu =
      checked.config.mtu == 0 ? if_mtu : std::min(checked.config.mtu, if_mtu);
  if (absl::Status s = checked.config.Validate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("config.", s.message()));
  }
  if (absl::Status s = ValidateReaderSpec(spec.reader); !s.ok()) return s;
  if (by_port_.contains(spec.port)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "port ", spec.port, " already listens on interface ", link_id));
  }
  auto listener = std::make_unique<Listener>();
  listener->spec = checked;
  listener->info.port = spec.port;
  by_port_.emplace(spec.port, std::move(listener));
  return absl::OkStatus();
}

absl::Status Listeners::Unlisten(uint16_t port, uint32_t link_id) {
  if (by_port_.erase(port) == 0) {
    return absl::NotFoundError(
        absl::StrCat("port ", port, " does not listen on interface ", link_id));
  }
  return absl::OkStatus();
}

Listener* Listeners::Find(uint16_t port) {
  auto it = by_port_.find(port);
  return it == by_port_.end() ? nullptr : it->second.get();
}

std::vector<ListenerInfo> Listeners::Infos() const {
  std::vector<ListenerInfo> out;
  out.reserve(by_port_.size());
  for (const auto& [port, listener] : by_port_) out.push_back(listener->info);
  std::sort(out.begin(), out.end(),
            [](const ListenerInfo& a, const ListenerInfo& b) {
              return a.port < b.port;
            });
  return out;
}

void Listeners::ReleasePending(uint16_t port) {
  Listener* l = Find(port);
  if (l != nullptr && l->info.pending > 0) --l->info.pending;
}

CookieAnswer Listeners::AnswerWithCookie(TimeNs now, uint32_t link_id,
                                         Listener& listener,
                                         const ParsedTcpPacket& p) const {
  const FourTuple t{p.ip.dst, p.tcp.dst_port, p.ip.src, p.tcp.src_port};
  const TcpConfig& config = listener.spec.config;
  CookieAnswer a;
  TcpHeader& h = a.reply;
  h.src_port = t.local_port;
  h.dst_port = t.remote_port;
  h.seq = cookies_->Make(now, t, p.tcp.seq, p.tcp.options.mss.value_or(0));
  h.ack = p.tcp.seq + 1;
  h.flags = tcp_flags::kSyn | tcp_flags::kAck;
  h.options.mss =
      static_cast<uint16_t>(std::min<uint32_t>(config.mss(), 65535));
  h.window =
      static_cast<uint16_t>(std::min<uint32_t>(config.recv_buffer, 65535));
  ++listener.info.syn_cookies_sent;
  Event ev;
  ev.time = now;
  ev.kind = EventKind::kSegmentReceived;
  ev.endpoint = Endpoint::kServer;
  ev.link_id = link_id;
  ev.disposition = Disposition::kSynCookie;
  ev.seg.seq = p.tcp.seq.value();
  ev.seg.src_port = p.tcp.src_port;
  ev.seg.dst_port = p.tcp.dst_port;
  ev.seg.flags = p.tcp.flags;
  ev.seg.window = p.tcp.window;
  a.received = ev;
  ev.kind = EventKind::kSegmentSent;
  ev.disposition = Disposition::kNone;
  ev.send_reason = SendReason::kSynCookie;
  ev.seg.seq = h.seq.value();
  ev.seg.ack = h.ack.value();
  ev.seg.src_port = h.src_port;
  ev.seg.dst_port = h.dst_port;
  ev.seg.flags = h.flags;
  ev.seg.window = h.window;
  a.sent = ev;
  return a;
}

std::optional<CookieAck> Listeners::CheckCookie(
    TimeNs now, const ParsedTcpPacket& p) const {
  const FourTuple t{p.ip.dst, p.tcp.dst_port, p.ip.src, p.tcp.src_port};
  CookieAck ack;
  ack.iss = p.tcp.ack - 1;
  ack.irs = p.tcp.seq - 1;
  std::optional<uint16_t> mss = cookies_->Check(now, t, ack.irs, ack.iss);
  if (!mss.has_value()) return std::nullopt;
  ack.mss = *mss;
  return ack;
}

}  // namespace tcpemu
