#include "tests/packetdrill/tcp_host.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/wire/ecn.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"

namespace tcpemu::packetdrill {

class TcpHost::Output : public SegmentOutput {
 public:
  Output(TcpHost* host, uint32_t dst) : host_(host), dst_(dst) {}
  void Transmit(TimeNs now, const TcpHeader& header,
                const Payload& payload) override {
    host_->Emit(now, header, payload, 0, dst_, host_->addr_);
  }
  void TransmitEcn(TimeNs now, const TcpHeader& header, const Payload& payload,
                   Ecn ecn) override {
    host_->Emit(now, header, payload, static_cast<uint8_t>(ecn), dst_,
                host_->addr_);
  }

 private:
  TcpHost* host_;
  uint32_t dst_;
};

struct TcpHost::Entry {
  std::unique_ptr<Output> output;
  std::unique_ptr<Connection> connection;
  bool released = false;
};

TcpHost::TcpHost(uint32_t addr) : addr_(addr) {}
TcpHost::~TcpHost() = default;

void TcpHost::Emit(TimeNs now, const TcpHeader& h, const Payload& payload,
                   uint8_t tos, uint32_t dst, uint32_t src) {
  Ipv4Header ip;
  ip.src = src;
  ip.dst = dst;
  ip.tos = tos;
  ip.id = ip_id_++;
  absl::StatusOr<Packet> p = BuildTcpPacket(ip, h, payload);
  if (!p.ok()) return;  // the engine built a header that cannot be encoded
  OutboundPacket out;
  out.sent_at = now;
  out.bytes.resize(p->size());
  std::memcpy(out.bytes.data(), p->header.data(), p->header_len);
  p->payload.CopyTo(absl::MakeSpan(out.bytes).subspan(p->header_len));
  outbound_.push_back(std::move(out));
}

OutboundPacket TcpHost::PopOutbound() {
  OutboundPacket p = std::move(outbound_.front());
  outbound_.pop_front();
  return p;
}

TcpHost::Entry& TcpHost::Make(const FourTuple& tuple, const TcpConfig& config) {
  auto e = std::make_unique<Entry>();
  e->output = std::make_unique<Output>(this, tuple.remote_addr);
  // ISNs only need to differ between connections (packetdrill maps them).
  const uint32_t iss = static_cast<uint32_t>(
      (++isn_counter_ * 0x9E3779B97F4A7C15ull + now_) >> 17);
  Connection::Context ctx;
  ctx.output = e->output.get();
  e->connection = std::make_unique<Connection>(config, tuple, Seq(iss), ctx);
  Entry& ref = *e;
  connections_[tuple] = std::move(e);
  return ref;
}

void TcpHost::ForEachConnection(
    absl::FunctionRef<void(const Connection&, bool released)> f) const {
  for (const auto& [tuple, e] : connections_) {
    f(*e->connection, e->released || IsPending(e->connection.get()));
  }
}

bool TcpHost::IsPending(const Connection* c) const {
  for (const auto& [port, l] : listeners_) {
    for (const Connection* p : l.pending) {
      if (p == c) return true;
    }
  }
  return false;
}

uint16_t TcpHost::EphemeralPort() {
  for (int i = 0; i < 65536; ++i) {
    uint16_t p = next_port_++;
    if (next_port_ == 0 || next_port_ < 40000) next_port_ = 40000;
    if (!port_in_use(p)) return p;
  }
  return 0;
}

bool TcpHost::port_in_use(uint16_t port) const {
  if (listeners_.contains(port)) return true;
  for (const auto& [tuple, e] : connections_) {
    if (tuple.local_port == port) return true;
  }
  return false;
}

absl::StatusOr<Connection*> TcpHost::Connect(FourTuple tuple,
                                             const TcpConfig& config) {
  tuple.local_addr = addr_;
  if (tuple.local_port == 0) tuple.local_port = EphemeralPort();
  if (connections_.contains(tuple)) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "a connection from port %d to %s:%d exists", tuple.local_port,
        Ipv4ToString(tuple.remote_addr), tuple.remote_port));
  }
  Entry& e = Make(tuple, config);
  if (absl::Status s = e.connection->Connect(now_); !s.ok()) {
    connections_.erase(tuple);
    return s;
  }
  return e.connection.get();
}

absl::Status TcpHost::Listen(uint16_t port, const TcpConfig& config,
                             uint32_t backlog) {
  Listener& l = listeners_[port];
  l.config = config;
  l.backlog = std::max<uint32_t>(1, backlog);
  return absl::OkStatus();
}

void TcpHost::Unlisten(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  Listener l = std::move(it->second);
  listeners_.erase(it);
  for (Connection* c : l.pending) {
    c->Abort(now_);
    Release(c);
  }
  for (Connection* c : l.ready) {
    c->Abort(now_);
    Release(c);
  }
}

Connection* TcpHost::Accept(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end() || it->second.ready.empty()) return nullptr;
  Connection* c = it->second.ready.front();
  it->second.ready.pop_front();
  return c;
}

size_t TcpHost::accept_queue_length(uint16_t port) const {
  auto it = listeners_.find(port);
  return it == listeners_.end() ? 0 : it->second.ready.size();
}

void TcpHost::Release(Connection* c) {
  auto it = connections_.find(c->tuple());
  if (it == connections_.end()) return;
  it->second->released = true;
  Tidy();
}

absl::Status TcpHost::Inject(absl::Span<const uint8_t> ipv4) {
  absl::StatusOr<ParsedTcpPacket> p = ParseTcpPacketBytes(ipv4);
  if (!p.ok()) return p.status();
  if (p->ip.dst != addr_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("packet for %s, but this host is %s",
                        Ipv4ToString(p->ip.dst), Ipv4ToString(addr_)));
  }
  const FourTuple tuple{addr_, p->tcp.dst_port, p->ip.src, p->tcp.src_port};
  const Ecn ecn = static_cast<Ecn>(p->ip.tos & kEcnMask);
  const TcpHeader& h = p->tcp;
  if (drop_syn_fin_ && h.has(tcp_flags::kSyn) && h.has(tcp_flags::kFin)) {
    return absl::OkStatus();
  }
  auto it = connections_.find(tuple);
  if (it == connections_.end()) {
    if (!p->checksum_ok) return absl::OkStatus();
    auto l = listeners_.find(h.dst_port);
    if (l != listeners_.end()) {
      // RFC 9293 3.10.7.2, LISTEN: an RST is ignored, anything carrying an
      // ACK is answered with RST (below), a SYN opens a connection, and
      // anything else is dropped.
      if (h.has(tcp_flags::kRst)) return absl::OkStatus();
      if (!h.has(tcp_flags::kAck)) {
        if (h.has(tcp_flags::kSyn)) Open(l->second, tuple, *p, ecn);
        return absl::OkStatus();
      }
    }
    if (std::optional<TcpHeader> rst =
            ResetForUnmatched(h, static_cast<uint32_t>(p->payload.size()))) {
      // From the address the packet was sent to.
      Emit(now_, *rst, Payload(), 0, p->ip.src, p->ip.dst);
    }
    return absl::OkStatus();
  }
  Connection& c = *it->second->connection;
  if (p->checksum_ok) {
    c.OnSegment(now_, p->tcp, p->payload, ecn);
  } else {
    c.OnBadChecksum(now_, p->tcp, static_cast<uint32_t>(p->payload.size()));
  }
  Tidy();
  return absl::OkStatus();
}

void TcpHost::Open(Listener& l, const FourTuple& tuple,
                   const ParsedTcpPacket& syn, Ecn ecn) {
  // A listener holds at most `backlog` connections that are not yet
  // accepted; a SYN beyond that is dropped, and the peer retries.
  if (l.pending.size() + l.ready.size() >= l.backlog) return;
  Entry& e = Make(tuple, l.config);
  (void)e.connection->Listen(now_);
  l.pending.push_back(e.connection.get());
  e.connection->OnSegment(now_, syn.tcp, syn.payload, ecn);
  Tidy();
}

TimeNs TcpHost::NextDeadline() const {
  TimeNs next = kNever;
  for (const auto& [tuple, e] : connections_) {
    next = std::min(next, e->connection->NextDeadline());
  }
  return next;
}

void TcpHost::AdvanceTo(TimeNs t) {
  while (true) {
    Connection* due = nullptr;
    TimeNs when = kNever;
    for (const auto& [tuple, e] : connections_) {
      TimeNs d = e->connection->NextDeadline();
      if (d < when) {
        when = d;
        due = e->connection.get();
      }
    }
    if (due == nullptr || when > t) break;
    now_ = std::max(now_, when);
    due->OnTimer(now_);
    Tidy();
  }
  now_ = std::max(now_, t);
}

void TcpHost::Tidy() {
  for (auto& [port, l] : listeners_) {
    for (size_t i = 0; i < l.pending.size();) {
      Connection* c = l.pending[i];
      const TcpState s = c->state();
      if (s == TcpState::kSynReceived) {
        ++i;
        continue;
      }
      l.pending.erase(l.pending.begin() + static_cast<ptrdiff_t>(i));
      if (s == TcpState::kClosed || s == TcpState::kListen || c->finished()) {
        // The handshake failed (reset, timed out, or the SYN was refused):
        // nobody will accept it.
        connections_.find(c->tuple())->second->released = true;
      } else {
        l.ready.push_back(c);
      }
    }
  }
  for (auto it = connections_.begin(); it != connections_.end();) {
    const Entry& e = *it->second;
    const TcpState s = e.connection->state();
    if (e.released && (e.connection->finished() || s == TcpState::kClosed ||
                       s == TcpState::kListen)) {
      connections_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace tcpemu::packetdrill
