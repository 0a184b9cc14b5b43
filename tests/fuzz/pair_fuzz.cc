// Fuzz target: two Connections wired back to back through an emulated path,
// one queue of packets per direction. The input decides, step by step, which
// packet is delivered next (in order or out of order), which are lost,
// duplicated or corrupted, when time passes, and what each application does
// (write, read, close). Packets cross as bytes: built with BuildTcpPacket and
// parsed again on arrival, a corrupted one failing its checksum.
//
// Each side writes a known stream (byte i is PatternByte(i, salt of the
// side)), so the model checks that what the other side reads is an exact
// prefix of what was written: every byte at its stream offset, nothing past
// the end of what was accepted, and end of file only after the writer's
// close and every byte. Both connections are also checked after every step
// for snd_una <= snd_nxt <= snd_max and buffers within their capacity. At the
// end the path turns lossless and the model drains it: unless a connection
// failed (reset or timed out), every byte written must arrive.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/base/event.h"
#include "engine/tcp/connection.h"
#include "engine/tcp/tcp_config.h"
#include "engine/trace/jsonl.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/packet.h"
#include "engine/wire/seq.h"
#include "engine/wire/tcp_header.h"
#include "tests/fuzz/fuzz_util.h"

namespace tcpemu {
namespace {

using fuzz::PatternByte;
using fuzz::Reader;
namespace tf = tcp_flags;

constexpr uint32_t kAddrA = 0x0a000001, kAddrB = 0x0a000002;
constexpr uint16_t kPortA = 40000, kPortB = 80;
constexpr uint32_t kSalt[2] = {0x5eed0a, 0x5eed0b};
constexpr size_t kMaxQueue = 4096;
constexpr uint64_t kMaxWritten = 16 * 1024;  // per side

// One endpoint: its connection, the queue of packets it has sent towards the
// other side, and what its application has written and read.
// FUZZ_TRACE=1 in the environment prints every event and step (to replay a
// failing input).
bool Tracing() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

struct Side : public SegmentOutput, public EventSink {
  void OnEvent(const Event& e) override {
    std::fprintf(stderr, "  [%d] %s\n", index, EventToJson(e).c_str());
  }
  void Transmit(TimeNs now, const TcpHeader& h,
                const Payload& payload) override {
    if (!h.has(tf::kRst)) {
      Seq end = h.seq + static_cast<int64_t>(payload.size()) +
                (h.has(tf::kSyn) ? 1 : 0) + (h.has(tf::kFin) ? 1 : 0);
      if (!snd_max || *snd_max < end) snd_max = end;
    }
    // New data stays inside the receive window the other side has
    // advertised (whose right edge never moves left), give or take the one
    // byte of a zero-window probe.
    if (!payload.empty() && !h.has(tf::kSyn) && peer != nullptr &&
        peer->synchronized && peer->conn->Snapshot().irs == iss.value()) {
      const TcbSnapshot r = peer->conn->Snapshot();
      const Seq edge = Seq(r.rcv_nxt) + static_cast<int64_t>(r.rcv_wnd);
      const Seq end = h.seq + static_cast<int64_t>(payload.size());
      FUZZ_CHECK_MSG(end <= edge + 1,
                     "side %d sent up to %u, beyond the receive window's "
                     "right edge %u",
                     index, end.value(), edge.value());
    }
    Ipv4Header ip;
    ip.src = self_addr;
    ip.dst = peer_addr;
    absl::StatusOr<Packet> p = BuildTcpPacket(ip, h, payload);
    FUZZ_CHECK(p.ok());
    if (payload.empty() && (h.flags & ~(tf::kAck | tf::kPsh)) == 0) {
      ++pure_acks_sent;
    } else {
      ++other_sent;
    }
    if (queue.size() < kMaxQueue) queue.push_back({std::move(*p), false});
  }

  int index = 0;
  Side* peer = nullptr;
  Seq iss;
  uint32_t self_addr = 0, peer_addr = 0;
  TcpConfig config;
  std::unique_ptr<Connection> conn;
  struct InFlight {
    Packet packet;
    bool corrupted = false;
  };
  std::deque<InFlight> queue;  // sent, not yet delivered
  std::optional<Seq> snd_max;
  uint64_t written = 0;  // stream bytes accepted by Write
  uint64_t read = 0;     // stream bytes of the other side read
  bool closed = false;   // Close succeeded
  // The connection reached ESTABLISHED (or a later synchronized state).
  bool synchronized = false;
  TcpState last_state = TcpState::kClosed;
  std::optional<Seq> right_edge;  // of the receive window, once synchronized
  uint64_t pure_acks_sent = 0;    // no data, no SYN, FIN or RST
  uint64_t other_sent = 0;
};

TcpConfig PickConfig(Reader& in) {
  TcpConfig c;
  const uint8_t f = in.U8();
  const uint8_t g = in.U8();
  c.nodelay = (f & 1) != 0;
  c.delayed_ack = (f & 2) != 0;
  c.window_scaling = (f & 4) != 0;
  c.cork = (f & 8) != 0;
  c.limited_transmit = (f & 16) != 0;
  c.cc = (f & 32) != 0 ? CcAlgorithm::kCubic : CcAlgorithm::kNewReno;
  static constexpr uint32_t kSizes[] = {1,    100,   1000,   2920,
                                        8192, 65535, 262144, 1 << 20};
  c.send_buffer = kSizes[g & 7];
  c.recv_buffer = kSizes[(g >> 3) & 7];
  static constexpr uint32_t kMtus[] = {68, 576, 1040, 1500};
  c.mtu = kMtus[g >> 6];
  c.max_retransmissions = 3 + in.U8() % 13;
  c.syn_retries = 2 + in.U8() % 5;
  c.synack_retries = c.syn_retries;
  c.msl = (in.U8() % 3) * kSecond;
  c.initial_window = 1 + in.U8() % 16;
  FUZZ_CHECK(c.Validate().ok());
  return c;
}

class Pair {
 public:
  explicit Pair(Reader& in) : in_(in) {
    for (int i = 0; i < 2; ++i) {
      Side& s = side_[i];
      s.index = i;
      s.self_addr = i == 0 ? kAddrA : kAddrB;
      s.peer_addr = i == 0 ? kAddrB : kAddrA;
      s.config = PickConfig(in_);
      FourTuple t;
      t.local_addr = s.self_addr;
      t.local_port = i == 0 ? kPortA : kPortB;
      t.remote_addr = s.peer_addr;
      t.remote_port = i == 0 ? kPortB : kPortA;
      Connection::Context ctx;
      ctx.session_id = 1;
      ctx.endpoint = i == 0 ? Endpoint::kClient : Endpoint::kServer;
      ctx.output = &s;
      if (Tracing()) ctx.events = &s;
      s.peer = &side_[1 - i];
      s.iss = Seq(in_.U32());
      s.conn = std::make_unique<Connection>(s.config, t, s.iss, ctx);
    }
    FUZZ_CHECK(side_[1].conn->Listen(now_).ok());
    FUZZ_CHECK(side_[0].conn->Connect(now_).ok());
    CheckAll();
  }

  void Run() {
    int steps = 0;
    while (!in_.empty() && steps++ < 3000) {
      Step();
      CheckAll();
    }
    Drain();
  }

 private:
  Side& other(const Side& s) { return side_[1 - s.index]; }

  // Hands packet `p` (sent by `from`) to the other side, as a network does:
  // unparseable packets are dropped, a bad checksum is reported as such.
  void Deliver(Side& from, const Packet& p) {
    Side& to = other(from);
    absl::StatusOr<ParsedTcpPacket> parsed = ParseTcpPacket(p);
    if (!parsed.ok()) return;
    if (parsed->ip.dst != to.self_addr ||
        parsed->tcp.dst_port != to.conn->tuple().local_port ||
        parsed->tcp.src_port != to.conn->tuple().remote_port) {
      return;  // corrupted into another connection's address
    }
    if (parsed->checksum_ok) {
      to.conn->OnSegment(now_, parsed->tcp, parsed->payload);
    } else {
      to.conn->OnBadChecksum(now_, parsed->tcp,
                             static_cast<uint32_t>(parsed->payload.size()));
    }
  }

  void DeliverAt(Side& from, size_t i) {
    Packet p = std::move(from.queue[i].packet);
    from.queue.erase(from.queue.begin() + static_cast<ptrdiff_t>(i));
    Deliver(from, p);
  }

  void Step() {
    const uint8_t op = in_.U8();
    Side& s = side_[(op >> 7) & 1];
    if (Tracing()) {
      std::fprintf(stderr, "t=%lld op %d side %d queues %zu/%zu\n",
                   static_cast<long long>(now_), op % 16, s.index,
                   side_[0].queue.size(), side_[1].queue.size());
    }
    switch (op % 16) {
      case 0:
      case 1:
      case 2:
      case 3:  // the next packet arrives
        if (!s.queue.empty()) DeliverAt(s, 0);
        break;
      case 4:  // a later packet overtakes the ones before it
        if (!s.queue.empty()) DeliverAt(s, in_.U8() % s.queue.size());
        break;
      case 5:  // a packet is lost
        if (!s.queue.empty()) {
          s.queue.erase(s.queue.begin() + in_.U8() % s.queue.size());
        }
        break;
      case 6:  // a packet is duplicated
        if (!s.queue.empty() && s.queue.size() < kMaxQueue) {
          s.queue.push_back(s.queue[in_.U8() % s.queue.size()]);
        }
        break;
      case 7:  // a packet is corrupted in flight
        if (!s.queue.empty()) {
          // One bit per packet: the Internet checksum catches every single
          // bit error, but two flips can cancel out, and the model could no
          // longer tell a receiver's fault from an undetectable corruption.
          Side::InFlight& f = s.queue[in_.U8() % s.queue.size()];
          const uint16_t bit = in_.U16();
          if (!f.corrupted) {
            f.packet.FlipBit(bit % (f.packet.size() * 8));
            f.corrupted = true;
          }
        }
        break;
      case 8:
      case 9:
        Write(s, (in_.U16() % 12000) + 1, in_.Bit());
        break;
      case 10:
      case 11:
        Read(s, in_.U16());
        break;
      case 12:
        if (in_.U8() < 32) Close(s);
        break;
      case 13:
      case 14: {  // time passes
        const uint16_t v = in_.U16();
        Advance((v & 0x8000) ? (v & 0x7fff) * kMillisecond * 10
                             : (v & 0x7fff) * kMicrosecond * 10);
        break;
      }
      default:  // every queued packet arrives, in order
        while (!s.queue.empty()) DeliverAt(s, 0);
        break;
    }
  }

  void Write(Side& s, size_t n, bool push) {
    // Bounded, so that draining a small window stays quick.
    if (s.written >= kMaxWritten) return;
    std::vector<uint8_t> d(n);
    for (size_t i = 0; i < n; ++i) {
      d[i] = PatternByte(static_cast<uint32_t>(s.written + i), kSalt[s.index]);
    }
    const bool could = s.conn->can_write();
    absl::StatusOr<size_t> w = s.conn->Write(now_, d, push);
    if (!w.ok()) {
      FUZZ_CHECK(!w.status().message().empty());
      FUZZ_CHECK_MSG(!could, "Write failed while can_write(): %s",
                     std::string(w.status().message()).c_str());
      return;
    }
    FUZZ_CHECK(*w <= n);
    s.written += *w;
  }

  void Read(Side& s, size_t max) {
    Side& w = other(s);
    const size_t readable = s.conn->readable();
    std::vector<uint8_t> buf(std::min(max, readable));
    const size_t n = s.conn->Read(now_, absl::MakeSpan(buf));
    FUZZ_CHECK(n == buf.size());
    for (size_t i = 0; i < n; ++i) {
      const uint64_t off = s.read + i;
      FUZZ_CHECK_MSG(off < w.written,
                     "side %d read stream byte %llu, only %llu were written",
                     s.index, static_cast<unsigned long long>(off),
                     static_cast<unsigned long long>(w.written));
      const uint8_t want =
          PatternByte(static_cast<uint32_t>(off), kSalt[w.index]);
      FUZZ_CHECK_MSG(buf[i] == want,
                     "side %d read %u at stream offset %llu, %u was written",
                     s.index, buf[i], static_cast<unsigned long long>(off),
                     want);
    }
    s.read += n;
    if (s.conn->eof()) {
      FUZZ_CHECK_MSG(w.closed,
                     "side %d saw end of file, the writer did not close",
                     s.index);
      FUZZ_CHECK_MSG(s.read == w.written,
                     "side %d saw end of file after %llu of %llu bytes",
                     s.index, static_cast<unsigned long long>(s.read),
                     static_cast<unsigned long long>(w.written));
    }
  }

  void Close(Side& s) {
    absl::Status st = s.conn->Close(now_);
    if (st.ok()) {
      s.closed = true;
    } else {
      FUZZ_CHECK(!st.message().empty());
    }
  }

  TimeNs NextDeadline() const {
    return std::min(side_[0].conn->NextDeadline(),
                    side_[1].conn->NextDeadline());
  }

  // Fires the timers of both sides up to `d` from now, in time order.
  void Advance(DurationNs d) {
    const TimeNs until = now_ + d;
    TimeNs last = -1;
    int same = 0;
    for (int guard = 0; guard < 100000; ++guard) {
      const TimeNs next = NextDeadline();
      if (next == kNever || next > until) break;
      if (next > now_) now_ = next;
      same = now_ == last ? same + 1 : 0;
      FUZZ_CHECK_MSG(same < 1000, "timers fire at %lld without progress",
                     static_cast<long long>(now_));
      last = now_;
      for (Side& s : side_) {
        if (s.conn->NextDeadline() <= now_) s.conn->OnTimer(now_);
      }
      CheckAll();
    }
    if (until > now_) now_ = until;
  }

  // The path turns perfect: everything queued and sent from now on arrives
  // in order, both applications read all they can, and time runs on until
  // nothing is left to do.
  void Drain() {
    // A round delivers everything queued and reads everything readable; when
    // nothing moved, time skips to the next deadline. A drain that makes no
    // progress for kStall rounds while packets still move is a livelock; one
    // that needs more than kMaxRounds is slow but not wrong (a tiny window),
    // and gets no verdict.
    constexpr int kMaxRounds = 5000, kStall = 2000;
    auto progress = [&] {
      std::vector<uint64_t> v;
      for (const Side& s : side_) {
        const TcbSnapshot t = s.conn->Snapshot();
        v.insert(v.end(), {s.read, static_cast<uint64_t>(t.state), t.snd_una,
                           t.rcv_nxt});
      }
      return v;
    };
    std::vector<uint64_t> last = progress();
    int last_change = 0;
    uint64_t other_at_change = side_[0].other_sent + side_[1].other_sent;
    int round = 0;
    for (; round < kMaxRounds; ++round) {
      bool moved = false;
      for (Side& s : side_) {
        while (!s.queue.empty()) {
          DeliverAt(s, 0);
          moved = true;
        }
      }
      for (Side& s : side_) {
        const uint64_t before = s.read;
        Read(s, 1 << 20);
        moved |= s.read != before;
      }
      CheckAll();
      if (std::vector<uint64_t> now = progress(); now != last) {
        last = std::move(now);
        last_change = round;
        other_at_change = side_[0].other_sent + side_[1].other_sent;
      }
      // Only pure ACKs moving without progress is the ACK war of
      // tests/engine/tcp/fuzz_regression_test.cc: say so.
      const bool ack_war =
          side_[0].other_sent + side_[1].other_sent == other_at_change;
      FUZZ_CHECK_MSG(round - last_change < kStall,
                     "no progress in %d rounds of a lossless path%s", kStall,
                     ack_war ? " (pure ACKs only: an ACK war)" : "");
      if (moved) continue;
      const TimeNs next = NextDeadline();
      if (next == kNever || next > now_ + 4 * 3600 * kSecond) break;
      Advance(std::max<DurationNs>(next - now_, 0));
    }
    if (round == kMaxRounds) return;
    for (Side& s : side_) {
      FUZZ_CHECK(s.queue.empty());
    }
    const bool failed = side_[0].conn->error() != ErrorCode::kNone ||
                        side_[1].conn->error() != ErrorCode::kNone;
    if (failed) return;
    // A connection closed or reset before both ends synchronized never
    // carried data (Close in SYN-SENT, say, deletes it at once).
    if (!side_[0].synchronized || !side_[1].synchronized) return;
    for (Side& s : side_) {
      const Side& w = other(s);
      FUZZ_CHECK_MSG(s.read == w.written,
                     "after draining, side %d read %llu of the %llu bytes "
                     "written (states %s / %s)",
                     s.index, static_cast<unsigned long long>(s.read),
                     static_cast<unsigned long long>(w.written),
                     std::string(ToString(side_[0].conn->state())).c_str(),
                     std::string(ToString(side_[1].conn->state())).c_str());
    }
  }

  void Check(Side& s) {
    const TcbSnapshot t = s.conn->Snapshot();
    switch (t.state) {
      case TcpState::kClosed:
      case TcpState::kListen:
      case TcpState::kSynSent:
      case TcpState::kSynReceived:
        break;
      default:
        s.synchronized = true;
    }
    if (t.state == TcpState::kListen && s.last_state != TcpState::kListen &&
        s.last_state != TcpState::kClosed) {
      // A passive open reset in SYN-RECEIVED returns to LISTEN and drops
      // what was written (RFC 9293 3.10.7.4): the next incarnation's stream
      // starts again at offset 0.
      FUZZ_CHECK(!s.synchronized);
      s.written = 0;
      s.closed = false;
    }
    s.last_state = t.state;
    // The receive window's right edge never moves left (RFC 9293 3.8.6.2.2).
    if (s.synchronized && t.state != TcpState::kClosed) {
      const Seq edge = Seq(t.rcv_nxt) + static_cast<int64_t>(t.rcv_wnd);
      if (s.right_edge) {
        FUZZ_CHECK_MSG(*s.right_edge <= edge,
                       "side %d: receive window's right edge moved left, "
                       "from %u to %u",
                       s.index, s.right_edge->value(), edge.value());
      }
      s.right_edge = edge;
    }
    const Seq una(t.snd_una), nxt(t.snd_nxt);
    FUZZ_CHECK_MSG(una <= nxt, "side %d: snd_una %u > snd_nxt %u", s.index,
                   t.snd_una, t.snd_nxt);
    if (s.snd_max) {
      FUZZ_CHECK_MSG(nxt <= *s.snd_max,
                     "side %d: snd_nxt %u beyond the highest sequence sent %u",
                     s.index, t.snd_nxt, s.snd_max->value());
      if (una <= *s.snd_max) {
        FUZZ_CHECK(static_cast<uint64_t>(*s.snd_max - una) <=
                   uint64_t{s.config.send_buffer} + 2);
      }
    }
    FUZZ_CHECK(s.conn->send_buffer_free() <= s.config.send_buffer);
    FUZZ_CHECK_MSG(s.conn->readable() <= s.config.recv_buffer,
                   "side %d: %zu bytes readable, receive buffer %u", s.index,
                   s.conn->readable(), s.config.recv_buffer);
    // Bytes readable now are bytes the writer has handed over.
    FUZZ_CHECK(s.read + s.conn->readable() <= other(s).written);
    FUZZ_CHECK(s.conn->counters().bytes_read == s.read);
  }
  void CheckAll() {
    Check(side_[0]);
    Check(side_[1]);
  }

  Reader& in_;
  Side side_[2];
  TimeNs now_ = 0;
};

}  // namespace
}  // namespace tcpemu

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpemu::fuzz::Reader in(data, size);
  tcpemu::Pair p(in);
  p.Run();
  return 0;
}
