// Canonical event serialization for TraceHasher, and FanoutSink. When a field
// is added to Event, add it to Serialize (and grow kRecordBytes if needed).
#include "engine/trace/trace_hash.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace tcpemu {
namespace {

// Little-endian writer into a fixed record. Running past the end means a
// field was added without growing kRecordBytes: a bug, so it aborts.
class Writer {
 public:
  Writer(uint8_t* out, size_t size) : p_(out), end_(out + size) {}

  void U8(uint8_t v) { Put(v, 1); }
  void U16(uint16_t v) { Put(v, 2); }
  void U32(uint32_t v) { Put(v, 4); }
  void I64(int64_t v) { Put(static_cast<uint64_t>(v), 8); }
  template <typename Enum>
  void E(Enum v) {
    U8(static_cast<uint8_t>(v));
  }

 private:
  void Put(uint64_t v, int bytes) {
    if (end_ - p_ < bytes) {
      std::fprintf(stderr, "tcpemu: TraceHasher record overflow\n");
      std::abort();
    }
    for (int i = 0; i < bytes; ++i) *p_++ = static_cast<uint8_t>(v >> (8 * i));
  }

  uint8_t* p_;
  uint8_t* end_;
};

}  // namespace

void TraceHasher::Serialize(const Event& e, uint8_t (&out)[kRecordBytes]) {
  std::memset(out, 0, kRecordBytes);
  Writer w(out, kRecordBytes);
  w.I64(e.time);
  w.E(e.kind);
  w.E(e.endpoint);
  w.U32(e.session_id);
  w.U32(e.link_id);
  w.E(e.send_reason);
  w.E(e.disposition);
  w.E(e.drop_reason);
  w.E(e.mangle);
  w.E(e.timer);
  w.E(e.error);
  w.E(e.old_state);
  w.E(e.new_state);
  w.I64(e.a);
  w.I64(e.b);

  const SegmentInfo& s = e.seg;
  w.U32(s.seq);
  w.U32(s.ack);
  w.U32(s.len);
  w.U16(s.window);
  w.U8(s.flags);
  w.U16(s.opt_mss);
  w.U8(s.opt_wscale);
  w.U8(s.opt_sack_permitted);
  w.U8(s.opt_sack_blocks);
  w.U8(s.opt_timestamp);
  for (size_t i = 0; i < std::size(s.sack_left); ++i) {
    w.U32(s.sack_left[i]);
    w.U32(s.sack_right[i]);
  }
  w.U32(s.ts_val);
  w.U32(s.ts_ecr);
  w.U32(s.window_bytes);

  const TcbSnapshot& t = e.tcb;
  w.E(t.state);
  w.U32(t.iss);
  w.U32(t.irs);
  w.U32(t.snd_una);
  w.U32(t.snd_nxt);
  w.U32(t.snd_wnd);
  w.U32(t.rcv_nxt);
  w.U32(t.rcv_wnd);
  w.U32(t.cwnd);
  w.U32(t.ssthresh);
  w.U32(t.bytes_in_flight);
  w.I64(t.srtt);
  w.I64(t.rttvar);
  w.I64(t.rto);
  w.U8(t.snd_wscale);
  w.U8(t.rcv_wscale);
  w.U8(t.ts_ok);
  w.U8(t.sack_ok);
  w.U32(t.ts_recent);
  w.U32(t.sacked_bytes);
  w.U32(t.lost_bytes);
  w.U32(t.retrans_bytes);
  w.U32(t.pipe);
}

void TraceHasher::OnEvent(const Event& e) {
  uint8_t record[kRecordBytes];
  Serialize(e, record);
  sha_.Update(absl::Span<const uint8_t>(record, kRecordBytes));
  ++count_;
}

Sha256::Digest TraceHasher::Digest() const {
  Sha256 copy = sha_;
  return copy.Finish();
}

std::string TraceHasher::HexDigest() const { return Sha256::Hex(Digest()); }

FanoutSink::FanoutSink(std::initializer_list<EventSink*> sinks) {
  for (EventSink* s : sinks) Add(s);
}

void FanoutSink::Add(EventSink* sink) {
  if (sink != nullptr) sinks_.push_back(sink);
}

void FanoutSink::OnEvent(const Event& e) {
  for (EventSink* s : sinks_) s->OnEvent(e);
}

}  // namespace tcpemu
