// Scripted segment-level test harness for tcpemu::Connection: a connection
// wired to a recording SegmentOutput and EventSink on a virtual clock, with
// helpers to inject peer segments, inspect what was sent and run the timers.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/base/event.h"
#include "engine/tcp/connection.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ecn.h"
#include "engine/wire/tcp_header.h"
#include "gtest/gtest.h"

namespace tcpemu {

// Readable enum names in assertion messages.
inline void PrintTo(TcpState v, std::ostream* os) { *os << ToString(v); }
inline void PrintTo(ErrorCode v, std::ostream* os) { *os << ToString(v); }
inline void PrintTo(SendReason v, std::ostream* os) { *os << ToString(v); }
inline void PrintTo(Disposition v, std::ostream* os) { *os << ToString(v); }
inline void PrintTo(TimerKind v, std::ostream* os) { *os << ToString(v); }

namespace tcp_test {

using namespace tcp_flags;  // NOLINT(build/namespaces): flag names read best

// "SYN|ACK" style rendering of TCP flags.
inline std::string FlagsString(uint8_t flags) {
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kNames[] = {{kSyn, "SYN"}, {kFin, "FIN"}, {kRst, "RST"}, {kPsh, "PSH"},
                {kAck, "ACK"}, {kUrg, "URG"}, {kEce, "ECE"}, {kCwr, "CWR"}};
  std::string out;
  for (const auto& n : kNames) {
    if ((flags & n.bit) == 0) continue;
    if (!out.empty()) out += "|";
    out += n.name;
  }
  return out.empty() ? "none" : out;
}

// Deterministic bytes for payloads: byte i of the stream is (i * 7 + seed).
inline std::vector<uint8_t> Pattern(size_t n, size_t start = 0,
                                    uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>((start + i) * 7 + seed);
  }
  return v;
}

// One segment handed to the SegmentOutput, with the reason from its
// SEGMENT_SENT event.
struct SentSegment {
  TimeNs time = 0;
  TcpHeader h;
  std::vector<uint8_t> payload;
  SendReason reason = SendReason::kNone;
  // The ECN codepoint the IP header was to carry (RFC 3168).
  Ecn ecn = Ecn::kNotEct;

  size_t len() const { return payload.size(); }
};

inline std::ostream& operator<<(std::ostream& os, const SentSegment& s) {
  os << "{t=" << s.time << "ns " << FlagsString(s.h.flags)
     << " seq=" << s.h.seq.value();
  if (s.h.has(kAck)) os << " ack=" << s.h.ack.value();
  os << " win=" << s.h.window << " len=" << s.len()
     << " reason=" << ToString(s.reason);
  if (s.h.options.mss) os << " mss=" << *s.h.options.mss;
  if (s.h.options.window_scale) {
    os << " wscale=" << int{*s.h.options.window_scale};
  }
  return os << "}";
}

// Records every event and every transmitted segment.
class Recorder : public SegmentOutput, public EventSink {
 public:
  void OnEvent(const Event& e) override {
    events.push_back(e);
    // SEGMENT_SENT is emitted just before the segment is transmitted.
    if (e.kind == EventKind::kSegmentSent) pending_reason_ = e.send_reason;
  }
  void Transmit(TimeNs now, const TcpHeader& h,
                const Payload& payload) override {
    SentSegment s;
    s.time = now;
    s.h = h;
    s.payload.resize(payload.size());
    payload.CopyTo(absl::MakeSpan(s.payload));
    s.reason = pending_reason_;
    pending_reason_ = SendReason::kNone;
    sent.push_back(std::move(s));
  }
  void TransmitEcn(TimeNs now, const TcpHeader& h, const Payload& payload,
                   Ecn ecn) override {
    Transmit(now, h, payload);
    sent.back().ecn = ecn;
  }

  std::deque<SentSegment> sent;
  std::vector<Event> events;

 private:
  SendReason pending_reason_ = SendReason::kNone;
};

// What the scripted peer puts in its SYN or SYN-ACK, and how long the
// handshake takes.
struct PeerSyn {
  uint16_t window = 65535;
  std::optional<uint16_t> mss = 1000;
  std::optional<uint8_t> wscale;
  DurationNs rtt = 0;
};

class TcpHarness {
 public:
  static constexpr uint32_t kDefaultIss = 1000;
  static constexpr uint32_t kDefaultPeerIss = 50000;
  static constexpr uint16_t kLocalPort = 40000;
  static constexpr uint16_t kPeerPort = 80;

  // MSS 1000, no window scaling, no timestamps and a receive buffer that the
  // 16-bit window field can advertise whole keep the numbers in tests readable.
  static TcpConfig TestConfig() {
    TcpConfig c;
    c.mtu = 1040;
    c.window_scaling = false;
    c.timestamps = false;
    c.recv_buffer = 65535;
    return c;
  }

  explicit TcpHarness(const TcpConfig& config = TestConfig(),
                      uint32_t iss = kDefaultIss,
                      uint32_t peer_iss = kDefaultPeerIss,
                      FourTuple tuple = DefaultTuple())
      : config_(config), iss_(iss), peer_iss_(peer_iss), tuple_(tuple) {
    absl::Status s = config_.Validate();
    EXPECT_TRUE(s.ok()) << s;
    Connection::Context ctx;
    ctx.session_id = 1;
    ctx.events = &rec_;
    ctx.output = &rec_;
    conn_ = std::make_unique<Connection>(config_, tuple_, Seq(iss_), ctx);
  }

  static FourTuple DefaultTuple() {
    FourTuple t;
    t.local_addr = 0x0a000001;
    t.local_port = kLocalPort;
    t.remote_addr = 0x0a000002;
    t.remote_port = kPeerPort;
    return t;
  }

  Connection& conn() { return *conn_; }
  const TcpConfig& config() const { return config_; }
  TimeNs now() const { return now_; }
  TcbSnapshot tcb() const { return conn_->Snapshot(); }
  uint32_t iss() const { return iss_; }
  uint32_t peer_iss() const { return peer_iss_; }
  // Sequence number of our data byte `off` / the peer's data byte `off`.
  uint32_t Our(int64_t off) const {
    return static_cast<uint32_t>(iss_ + 1 + off);
  }
  uint32_t Peer(int64_t off) const {
    return static_cast<uint32_t>(peer_iss_ + 1 + off);
  }

  // ------------------------------------------------------------ input

  TcpHeader PeerHeader(uint8_t flags, uint32_t seq, uint32_t ack,
                       uint16_t window) const {
    TcpHeader h;
    h.src_port = tuple_.remote_port;
    h.dst_port = tuple_.local_port;
    h.seq = Seq(seq);
    h.ack = Seq(ack);
    h.flags = flags;
    h.window = window;
    return h;
  }

  void Inject(const TcpHeader& h, absl::Span<const uint8_t> payload = {},
              Ecn ecn = Ecn::kNotEct) {
    conn_->OnSegment(now_, h, Payload::Copy(payload), ecn);
  }
  // A segment from the peer.
  void Send(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t window = 65535,
            absl::Span<const uint8_t> payload = {}) {
    Inject(PeerHeader(flags, seq, ack, window), payload);
  }
  // Peer data at its stream offset `off` (pattern bytes), acknowledging `ack`.
  void SendData(int64_t off, size_t len, uint32_t ack, uint16_t window = 65535,
                uint8_t extra_flags = 0) {
    std::vector<uint8_t> d = Pattern(len, static_cast<size_t>(off), 0x55);
    Send(kAck | extra_flags, Peer(off), ack, window, d);
  }
  // A pure ACK from the peer for our byte offset `off`.
  void Ack(int64_t off, uint16_t window = 65535, int64_t peer_off = 0) {
    Send(kAck, Peer(peer_off), Our(off), window);
  }
  // Delivers a segment recorded from another harness (for two connections
  // wired to each other).
  void Deliver(const SentSegment& s) { Inject(s.h, s.payload, s.ecn); }

  absl::StatusOr<size_t> Write(size_t n, size_t stream_off = 0,
                               bool push = false) {
    std::vector<uint8_t> d = Pattern(n, stream_off);
    return conn_->Write(now_, d, push);
  }
  std::vector<uint8_t> Read(size_t max) {
    std::vector<uint8_t> out(max);
    out.resize(conn_->Read(now_, absl::MakeSpan(out)));
    return out;
  }

  // ------------------------------------------------------------ time

  // Fires every deadline up to and including `t`, each at its own time.
  void AdvanceTo(TimeNs t) {
    for (int guard = 0; guard < 100000; ++guard) {
      TimeNs d = conn_->NextDeadline();
      if (d == kNever || d > t) break;
      if (d > now_) now_ = d;
      conn_->OnTimer(now_);
    }
    if (t > now_) now_ = t;
  }
  void Advance(DurationNs d) { AdvanceTo(now_ + d); }
  // Moves the clock without firing timers (for input at an exact time).
  void SetNow(TimeNs t) { now_ = t; }

  // ------------------------------------------------------------ output

  std::deque<SentSegment>& sent() { return rec_.sent; }
  std::vector<SentSegment> TakeSent() {
    std::vector<SentSegment> v(rec_.sent.begin(), rec_.sent.end());
    rec_.sent.clear();
    return v;
  }
  // Removes and returns the oldest unexamined segment.
  SentSegment PopSent() {
    if (rec_.sent.empty()) {
      ADD_FAILURE() << "expected a segment, none was sent";
      return SentSegment{};
    }
    SentSegment s = std::move(rec_.sent.front());
    rec_.sent.pop_front();
    last_ = s;
    return s;
  }
  // The segment the last NextSent/PopSent examined.
  const SentSegment& last() const { return last_; }

  // Pops the oldest segment and checks it field by field. `ack` is checked
  // only when ACK is set.
  ::testing::AssertionResult NextSent(uint8_t flags, uint32_t seq, uint32_t ack,
                                      size_t len, SendReason reason) {
    if (rec_.sent.empty()) {
      return ::testing::AssertionFailure()
             << "expected " << FlagsString(flags) << " seq=" << seq
             << " len=" << len << " reason=" << ToString(reason)
             << ", nothing was sent";
    }
    SentSegment s = PopSent();
    bool ok = s.h.flags == flags && s.h.seq.value() == seq &&
              (!(flags & kAck) || s.h.ack.value() == ack) && s.len() == len &&
              s.reason == reason;
    if (ok) return ::testing::AssertionSuccess() << s;
    return ::testing::AssertionFailure()
           << "expected {" << FlagsString(flags) << " seq=" << seq
           << ((flags & kAck) ? " ack=" + std::to_string(ack) : "")
           << " len=" << len << " reason=" << ToString(reason) << "}, got "
           << s;
  }
  ::testing::AssertionResult NothingSent() {
    if (rec_.sent.empty()) return ::testing::AssertionSuccess();
    auto r = ::testing::AssertionFailure() << "unexpected segments:";
    for (const SentSegment& s : rec_.sent) r << " " << s;
    return r;
  }

  // ------------------------------------------------------------ events

  const std::vector<Event>& events() const { return rec_.events; }
  void ClearEvents() { rec_.events.clear(); }
  std::vector<Event> EventsOf(EventKind k) const {
    std::vector<Event> v;
    for (const Event& e : rec_.events) {
      if (e.kind == k) v.push_back(e);
    }
    return v;
  }
  // new_state of every STATE_CHANGED event, in order.
  std::vector<TcpState> States() const {
    std::vector<TcpState> v;
    for (const Event& e : rec_.events) {
      if (e.kind == EventKind::kStateChanged) v.push_back(e.new_state);
    }
    return v;
  }
  // Times at which TIMER_FIRED was reported for `k`.
  std::vector<TimeNs> FiredAt(TimerKind k) const {
    std::vector<TimeNs> v;
    for (const Event& e : rec_.events) {
      if (e.kind == EventKind::kTimerFired && e.timer == k) v.push_back(e.time);
    }
    return v;
  }
  // Deadline of the most recent TIMER_ARMED for `k`, or kNever.
  TimeNs LastArmed(TimerKind k) const {
    for (auto it = rec_.events.rbegin(); it != rec_.events.rend(); ++it) {
      if (it->kind == EventKind::kTimerArmed && it->timer == k) return it->a;
    }
    return kNever;
  }
  // Disposition of the most recent SEGMENT_RECEIVED.
  Disposition LastDisposition() const {
    for (auto it = rec_.events.rbegin(); it != rec_.events.rend(); ++it) {
      if (it->kind == EventKind::kSegmentReceived) return it->disposition;
    }
    return Disposition::kNone;
  }

  // ------------------------------------------------------------ setup

  // Active open: our SYN, the peer's SYN-ACK after `syn.rtt`, our ACK.
  // Leaves no recorded segments or events behind.
  void EstablishActive(const PeerSyn& syn = {}) {
    ASSERT_TRUE(conn_->Connect(now_).ok());
    ASSERT_TRUE(NextSent(kSyn, iss_, 0, 0, SendReason::kSyn));
    SetNow(now_ + syn.rtt);
    TcpHeader h = PeerHeader(kSyn | kAck, peer_iss_, iss_ + 1, syn.window);
    h.options.mss = syn.mss;
    h.options.window_scale = syn.wscale;
    Inject(h);
    ASSERT_TRUE(NextSent(kAck, iss_ + 1, peer_iss_ + 1, 0, SendReason::kAck));
    ASSERT_EQ(conn_->state(), TcpState::kEstablished);
    ASSERT_TRUE(NothingSent());
    ClearEvents();
  }

  // Passive open: the peer's SYN, our SYN-ACK, the peer's ACK after
  // `syn.rtt` carrying `ack_window`.
  void EstablishPassive(const PeerSyn& syn = {}, uint16_t ack_window = 65535) {
    ASSERT_TRUE(conn_->Listen(now_).ok());
    TcpHeader h = PeerHeader(kSyn, peer_iss_, 0, syn.window);
    h.options.mss = syn.mss;
    h.options.window_scale = syn.wscale;
    Inject(h);
    ASSERT_TRUE(
        NextSent(kSyn | kAck, iss_, peer_iss_ + 1, 0, SendReason::kSynAck));
    SetNow(now_ + syn.rtt);
    Send(kAck, peer_iss_ + 1, iss_ + 1, ack_window);
    ASSERT_EQ(conn_->state(), TcpState::kEstablished);
    ASSERT_TRUE(NothingSent());
    ClearEvents();
  }

 private:
  TcpConfig config_;
  uint32_t iss_;
  uint32_t peer_iss_;
  FourTuple tuple_;
  Recorder rec_;
  std::unique_ptr<Connection> conn_;
  TimeNs now_ = 0;
  SentSegment last_;
};

}  // namespace tcp_test
}  // namespace tcpemu
