// Fuzz target: one Connection driven by a scripted peer whose segments
// (flags, sequence and acknowledgment numbers, window, options, payload
// length), and the application's calls (write, read, close, abort, timer
// advance) are decoded from the input. After every step the model checks:
//   - snd_una <= snd_nxt <= snd_max in sequence space, where snd_max is the
//     highest sequence number the connection has put on the wire;
//   - the bytes in flight never exceed the send buffer plus SYN and FIN;
//   - the send and receive buffers stay within their configured capacity;
//   - every byte the application reads is the peer's byte at that sequence
//     number (the peer's payload is a function of sequence number, so a
//     duplicate, a hole or a shift shows up as a wrong byte), and the read
//     counter matches;
//   - firing timers makes progress (no deadline that fires without moving).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/base/event.h"
#include "engine/tcp/connection.h"
#include "engine/tcp/tcp_config.h"
#include "engine/wire/buffer.h"
#include "engine/wire/seq.h"
#include "engine/wire/tcp_header.h"
#include "tests/fuzz/fuzz_util.h"

namespace tcpemu {
namespace {

using fuzz::PatternByte;
using fuzz::Reader;
namespace tf = tcp_flags;

constexpr uint16_t kLocalPort = 40000;
constexpr uint16_t kPeerPort = 80;

// Tracks the highest sequence number transmitted (snd_max as seen on the
// wire) and checks each outgoing segment's basic shape.
class Output : public SegmentOutput, public EventSink {
 public:
  void Transmit(TimeNs now, const TcpHeader& h,
                const Payload& payload) override {
    FUZZ_CHECK(h.src_port == kLocalPort && h.dst_port == kPeerPort);
    FUZZ_CHECK(!(h.has(tf::kSyn) && h.has(tf::kRst)));
    ++segments;
    last = h;
    last_len = static_cast<uint32_t>(payload.size());
    if (h.has(tf::kRst)) return;
    Seq end = h.seq + static_cast<int64_t>(payload.size()) +
              (h.has(tf::kSyn) ? 1 : 0) + (h.has(tf::kFin) ? 1 : 0);
    if (!snd_max || *snd_max < end) snd_max = end;
  }
  void OnEvent(const Event&) override { ++events; }

  std::optional<Seq> snd_max;
  TcpHeader last;
  uint32_t last_len = 0;
  uint64_t segments = 0;
  uint64_t events = 0;
};

uint32_t PickBuffer(uint8_t b) {
  static constexpr uint32_t kSizes[] = {1,    100,   1000,   2920,
                                        4096, 65535, 262144, 1 << 20};
  return kSizes[b % 8];
}

class Driver {
 public:
  explicit Driver(Reader& in) : in_(in) {
    const uint8_t f = in_.U8();
    const uint8_t g = in_.U8();
    passive_ = (f & 1) != 0;
    config_.nodelay = (f & 2) != 0;
    config_.delayed_ack = (f & 4) != 0;
    config_.window_scaling = (f & 8) != 0;
    config_.cork = (f & 16) != 0;
    config_.limited_transmit = (f & 32) != 0;
    config_.keepalive = (f & 64) != 0;
    config_.cc = (f & 128) != 0 ? CcAlgorithm::kCubic : CcAlgorithm::kNewReno;
    config_.send_buffer = PickBuffer(g);
    config_.recv_buffer = PickBuffer(g >> 3);
    static constexpr uint32_t kMtus[] = {68, 576, 1040, 1500};
    config_.mtu = kMtus[(g >> 6) & 3];
    config_.keepalive_idle = kSecond;
    config_.keepalive_interval = kSecond;
    config_.max_retransmissions = 1 + in_.U8() % 8;
    config_.syn_retries = in_.U8() % 4;
    config_.synack_retries = config_.syn_retries;
    config_.msl = (in_.U8() % 4) * kSecond;
    config_.initial_window = 1 + in_.U8() % 16;
    FUZZ_CHECK(config_.Validate().ok());
    iss_ = Seq(in_.U32());
    peer_iss_ = Seq(in_.U32());

    FourTuple t;
    t.local_addr = 0x0a000001;
    t.local_port = kLocalPort;
    t.remote_addr = 0x0a000002;
    t.remote_port = kPeerPort;
    Connection::Context ctx;
    ctx.session_id = 1;
    ctx.events = &out_;
    ctx.output = &out_;
    conn_ = std::make_unique<Connection>(config_, t, iss_, ctx);
    absl::Status s = passive_ ? conn_->Listen(now_) : conn_->Connect(now_);
    FUZZ_CHECK(s.ok());
    last_irs_ = conn_->Snapshot().irs;
    Check();
  }

  void Run() {
    int steps = 0;
    while (!in_.empty() && steps++ < 2000) {
      Step();
      Check();
    }
    // Let every timer run out: the connection must settle.
    Advance(3600 * kSecond);
    Check();
  }

 private:
  Seq PeerSeq() {
    const uint8_t mode = in_.U8();
    const int64_t delta = static_cast<int16_t>(in_.U16());
    switch (mode % 4) {
      case 0:
        return peer_iss_ + 1 + delta;
      case 1:
        return Seq(conn_->Snapshot().rcv_nxt) + delta;
      case 2:
        return Seq(conn_->Snapshot().rcv_nxt) + (delta & 0xff);
      default:
        return Seq(in_.U32());
    }
  }
  Seq PeerAck() {
    const uint8_t mode = in_.U8();
    const int64_t delta = static_cast<int16_t>(in_.U16());
    TcbSnapshot t = conn_->Snapshot();
    switch (mode % 5) {
      case 0:
        return Seq(t.snd_una) + delta;
      case 1:
        return Seq(t.snd_nxt) + delta;
      case 2:
        return out_.snd_max ? *out_.snd_max : Seq(t.snd_nxt);
      case 3:
        return iss_ + 1 + delta;
      default:
        return Seq(in_.U32());
    }
  }

  TcpOptions PeerOptions(bool syn) {
    TcpOptions o;
    const uint8_t m = in_.U8();
    if (m & 1) o.mss = in_.U16();
    if (m & 2) o.window_scale = static_cast<uint8_t>(in_.U8() % 15);
    if (m & 4) o.sack_permitted = true;
    if (m & 8) o.timestamp = TcpTimestamp{in_.U32(), in_.U32()};
    if (m & 16) {
      o.sack_count = static_cast<uint8_t>(1 + in_.U8() % 3);
      Seq base = Seq(conn_->Snapshot().snd_una);
      for (int i = 0; i < o.sack_count; ++i) {
        Seq l = base + static_cast<int16_t>(in_.U16());
        o.sack[i] = SackBlock{l, l + (in_.U16() % 4096)};
      }
    }
    (void)syn;
    return o;
  }

  // A peer segment whose payload byte at sequence number s is PatternByte(s).
  void PeerSegment(uint8_t flags, Seq seq, Seq ack, uint16_t window, size_t len,
                   const TcpOptions& options, bool bad_checksum) {
    TcpHeader h;
    h.src_port = kPeerPort;
    h.dst_port = kLocalPort;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.window = window;
    h.options = options;
    const Seq data = seq + (h.has(tf::kSyn) ? 1 : 0);
    std::vector<uint8_t> bytes(len);
    for (size_t i = 0; i < len; ++i) {
      bytes[i] = PatternByte((data + static_cast<int64_t>(i)).value());
    }
    if (bad_checksum) {
      conn_->OnBadChecksum(now_, h, static_cast<uint32_t>(len));
    } else {
      conn_->OnSegment(now_, h, Payload::Copy(bytes));
    }
  }

  void Step() {
    const uint8_t op = in_.U8();
    switch (op % 12) {
      case 0:
      case 1: {  // an arbitrary peer segment
        const uint8_t flags = in_.U8();
        const Seq seq = PeerSeq();
        const Seq ack = PeerAck();
        const uint16_t window = in_.U16();
        const size_t len = (in_.U8() % 64) * 37;
        PeerSegment(flags, seq, ack, window, len,
                    PeerOptions((flags & tf::kSyn) != 0), false);
        break;
      }
      case 2: {  // in-order data that acknowledges everything sent
        TcbSnapshot t = conn_->Snapshot();
        const size_t len = (in_.U8() % 32) * 97;
        const uint8_t extra = in_.U8() & (tf::kFin | tf::kPsh);
        PeerSegment(tf::kAck | extra, Seq(t.rcv_nxt),
                    out_.snd_max ? *out_.snd_max : Seq(t.snd_nxt),
                    in_.U16() | 0x100, len, {}, false);
        break;
      }
      case 3: {  // the peer's handshake segment
        TcbSnapshot t = conn_->Snapshot();
        const bool ack = in_.Bit();
        PeerSegment(tf::kSyn | (ack ? tf::kAck : 0), peer_iss_,
                    ack ? Seq(t.snd_nxt) : Seq(0), in_.U16(), 0,
                    PeerOptions(true), false);
        break;
      }
      case 4: {  // application write
        const size_t n = in_.U16() % 20000;
        std::vector<uint8_t> d(n, static_cast<uint8_t>(op));
        auto w = conn_->Write(now_, d, in_.Bit());
        if (w.ok()) {
          FUZZ_CHECK(*w <= n);
        } else {
          FUZZ_CHECK(!w.status().message().empty());
        }
        break;
      }
      case 5:
      case 6:
        Read(in_.U16());
        break;
      case 7: {
        absl::Status s = conn_->Close(now_);
        if (!s.ok()) FUZZ_CHECK(!s.message().empty());
        break;
      }
      case 8:
        if (in_.U8() == 0xa5) conn_->Abort(now_);
        break;
      case 9: {  // time passes
        const uint16_t v = in_.U16();
        const DurationNs unit = (v & 0x8000) ? kSecond : kMillisecond;
        Advance((v & 0x7fff) * unit);
        break;
      }
      case 10: {  // a segment that failed its checksum
        PeerSegment(in_.U8(), PeerSeq(), PeerAck(), in_.U16(), in_.U8() % 64,
                    {}, true);
        break;
      }
      default: {  // receive batching
        const uint8_t m = in_.U8();
        if (m & 1) conn_->SetAckDeferral((m & 2) != 0);
        if (m & 4) conn_->FlushDeferredAck(now_);
        break;
      }
    }
  }

  void Read(size_t max) {
    std::vector<uint8_t> buf(max);
    const size_t before = conn_->readable();
    const size_t n = conn_->Read(now_, absl::MakeSpan(buf));
    FUZZ_CHECK(n <= max);
    FUZZ_CHECK(n == std::min(before, max));
    const Seq first = Seq(conn_->Snapshot().irs) + 1;
    for (size_t i = 0; i < n; ++i) {
      const Seq s = first + static_cast<int64_t>(read_ + i);
      FUZZ_CHECK_MSG(buf[i] == PatternByte(s.value()),
                     "byte %zu of the stream (seq %u) is %u, expected %u",
                     read_ + i, s.value(), buf[i], PatternByte(s.value()));
    }
    read_ += n;
    read_total_ += n;
  }

  void Advance(DurationNs d) {
    const TimeNs until = now_ + d;
    TimeNs last = -1;
    int same = 0;
    for (int guard = 0; guard < 200000; ++guard) {
      const TimeNs next = conn_->NextDeadline();
      if (next == kNever || next > until) break;
      if (next > now_) now_ = next;
      same = (now_ == last) ? same + 1 : 0;
      FUZZ_CHECK_MSG(same < 1000, "a timer fires at %lld without progress",
                     static_cast<long long>(now_));
      last = now_;
      conn_->OnTimer(now_);
      Check();
    }
    if (until > now_) now_ = until;
  }

  void Check() {
    const TcbSnapshot t = conn_->Snapshot();
    if (t.irs != last_irs_) {
      // A new incarnation (a SYN accepted after a return to LISTEN): its
      // stream starts afresh; a byte left from the old one would fail the
      // pattern check at its new offset.
      last_irs_ = t.irs;
      read_ = 0;
    }
    // Once synchronized, the receive window's right edge never moves left
    // (RFC 9293 3.8.6.2.2) within one incarnation.
    switch (t.state) {
      case TcpState::kClosed:
      case TcpState::kListen:
      case TcpState::kSynSent:
      case TcpState::kSynReceived:
        right_edge_.reset();
        break;
      default: {
        const Seq edge = Seq(t.rcv_nxt) + static_cast<int64_t>(t.rcv_wnd);
        if (right_edge_) {
          FUZZ_CHECK_MSG(*right_edge_ <= edge,
                         "receive window's right edge moved left, from %u to "
                         "%u (state %s)",
                         right_edge_->value(), edge.value(),
                         std::string(ToString(t.state)).c_str());
        }
        right_edge_ = edge;
      }
    }
    const Seq una(t.snd_una), nxt(t.snd_nxt);
    FUZZ_CHECK_MSG(una <= nxt, "snd_una %u > snd_nxt %u (state %s)", t.snd_una,
                   t.snd_nxt, std::string(ToString(t.state)).c_str());
    if (out_.snd_max) {
      FUZZ_CHECK_MSG(nxt <= *out_.snd_max,
                     "snd_nxt %u beyond the highest sequence sent %u",
                     t.snd_nxt, out_.snd_max->value());
      if (una <= *out_.snd_max) {
        FUZZ_CHECK_MSG(static_cast<uint64_t>(*out_.snd_max - una) <=
                           uint64_t{config_.send_buffer} + 2,
                       "%d bytes in flight, send buffer %u",
                       *out_.snd_max - una, config_.send_buffer);
      }
    }
    FUZZ_CHECK(conn_->send_buffer_free() <= config_.send_buffer);
    FUZZ_CHECK_MSG(conn_->readable() <= config_.recv_buffer,
                   "%zu bytes readable, receive buffer %u", conn_->readable(),
                   config_.recv_buffer);
    const ConnectionCounters& c = conn_->counters();
    FUZZ_CHECK(c.bytes_read == read_total_);
    FUZZ_CHECK(c.bytes_delivered >= c.bytes_read);
    FUZZ_CHECK(c.bytes_delivered - c.bytes_read >= conn_->readable());
    if (conn_->eof()) FUZZ_CHECK(conn_->readable() == 0);
  }

  Reader& in_;
  TcpConfig config_;
  bool passive_ = false;
  Seq iss_, peer_iss_;
  Output out_;
  std::unique_ptr<Connection> conn_;
  TimeNs now_ = 0;
  uint32_t last_irs_ = 0;
  uint64_t read_ = 0;  // bytes read in the current incarnation
  std::optional<Seq> right_edge_;
  uint64_t read_total_ = 0;  // bytes read over all incarnations
};

}  // namespace
}  // namespace tcpemu

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpemu::fuzz::Reader in(data, size);
  tcpemu::Driver d(in);
  d.Run();
  return 0;
}
