// Protobuf wire format by hand
// (https://protobuf.dev/programming-guides/encoding/): fields in field-number
// order as protobuf's C++ serializer writes them, proto3 scalars only when not
// zero, `optional` ones when present, sub-messages with their length first.
#include "server/event_wire.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "server/event_convert.h"

namespace tcpemu::server {
namespace {

constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

// Sub-messages are written into stack buffers first, then copied behind their
// length; these bound them (every field at its widest).
constexpr size_t kMaxTcbBytes = 28 * 12;
constexpr size_t kMaxSackBlockBytes = 4 * 6;
constexpr size_t kMaxSegmentBytes = 18 * 7 + 4 * (2 + kMaxSackBlockBytes);
constexpr size_t kMaxReasonBytes = 64;
constexpr size_t kMaxEventBodyBytes = 11 * 12 + (2 + kMaxReasonBytes) +
                                      (3 + kMaxSegmentBytes) +
                                      (3 + kMaxTcbBytes);
static_assert(kMaxEventBodyBytes + 4 <= kMaxEncodedEventBytes);

inline char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

template <uint32_t kField, uint32_t kWireType>
inline char* PutTag(char* p) {
  constexpr uint32_t kTag = (kField << 3) | kWireType;
  static_assert(kTag < (1u << 14));
  if constexpr (kTag < 0x80) {
    *p++ = static_cast<char>(kTag);
  } else {
    *p++ = static_cast<char>(kTag | 0x80);
    *p++ = static_cast<char>(kTag >> 7);
  }
  return p;
}

// A varint field, always written (`optional` fields that are present).
template <uint32_t kField>
inline char* PutField(uint64_t v, char* p) {
  return PutVarint(v, PutTag<kField, kVarint>(p));
}

// proto3 implicit presence: written only when not zero. Signed values widen
// to 64 bits first, as protobuf does for int32/int64 and enums.
template <uint32_t kField>
inline char* PutU(uint64_t v, char* p) {
  return v == 0 ? p : PutField<kField>(v, p);
}
template <uint32_t kField>
inline char* PutI(int64_t v, char* p) {
  return PutU<kField>(static_cast<uint64_t>(v), p);
}

template <uint32_t kField>
inline char* PutBytes(const char* data, size_t n, char* p) {
  p = PutTag<kField, kLengthDelimited>(p);
  p = PutVarint(n, p);
  std::memcpy(p, data, n);
  return p + n;
}

char* EncodeTcb(const TcbSnapshot& t, char* p) {
  p = PutI<1>(ToProto(t.state), p);
  p = PutU<2>(t.iss, p);
  p = PutU<3>(t.irs, p);
  p = PutU<4>(t.snd_una, p);
  p = PutU<5>(t.snd_nxt, p);
  p = PutU<6>(t.snd_wnd, p);
  p = PutU<7>(t.rcv_nxt, p);
  p = PutU<8>(t.rcv_wnd, p);
  p = PutU<9>(t.cwnd, p);
  p = PutU<10>(t.ssthresh, p);
  p = PutU<11>(t.bytes_in_flight, p);
  p = PutI<12>(t.srtt, p);
  p = PutI<13>(t.rttvar, p);
  p = PutI<14>(t.rto, p);
  p = PutU<15>(t.snd_wscale, p);
  p = PutU<16>(t.rcv_wscale, p);
  p = PutU<17>(t.ts_ok ? 1 : 0, p);
  p = PutU<18>(t.sack_ok ? 1 : 0, p);
  p = PutU<19>(t.ts_recent, p);
  p = PutU<20>(t.sacked_bytes, p);
  p = PutU<21>(t.lost_bytes, p);
  p = PutU<22>(t.retrans_bytes, p);
  p = PutU<23>(t.pipe, p);
  p = PutU<24>(t.pacing_rate, p);
  p = PutI<25>(ToProto(t.cc_phase), p);
  p = PutU<26>(t.bandwidth_estimate, p);
  p = PutI<27>(t.min_rtt, p);
  p = PutU<28>(t.ecn_ok ? 1 : 0, p);
  return p;
}

// As FillSegment in event_convert.cc.
char* EncodeSegment(const SegmentInfo& s, bool rel, uint32_t seq_base,
                    uint32_t ack_base, char* p) {
  p = PutU<1>(s.seq, p);
  p = PutU<2>(s.ack, p);
  p = PutU<3>(rel ? s.seq - seq_base : 0, p);
  p = PutU<4>(rel ? s.ack - ack_base : 0, p);
  p = PutU<5>(s.len, p);
  p = PutU<6>(s.window, p);
  p = PutU<7>(s.flags, p);
  p = PutU<8>(s.opt_mss, p);
  if (s.opt_wscale != 0xff) p = PutField<9>(s.opt_wscale, p);
  p = PutU<10>(s.opt_sack_permitted != 0 ? 1 : 0, p);
  p = PutU<11>(s.opt_sack_blocks, p);
  p = PutU<12>(s.opt_timestamp != 0 ? 1 : 0, p);
  p = PutU<13>(s.src_port, p);
  p = PutU<14>(s.dst_port, p);
  const int n = std::min<int>(s.opt_sack_blocks, std::size(s.sack_left));
  for (int i = 0; i < n; ++i) {
    char block[kMaxSackBlockBytes];
    char* b = block;
    b = PutU<1>(s.sack_left[i], b);
    b = PutU<2>(s.sack_right[i], b);
    b = PutU<3>(rel ? s.sack_left[i] - ack_base : 0, b);
    b = PutU<4>(rel ? s.sack_right[i] - ack_base : 0, b);
    p = PutBytes<15>(block, static_cast<size_t>(b - block), p);
  }
  if (s.opt_timestamp != 0) {
    p = PutField<16>(s.ts_val, p);
    p = PutField<17>(s.ts_ecr, p);
  }
  p = PutU<18>(s.window_bytes, p);
  return p;
}

}  // namespace

char* WireBuffer::Reserve(size_t n) {
  if (capacity_ - size_ < n) {
    const size_t grown = std::max(size_ + n, capacity_ * 2);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = grown;
  }
  return data_.get() + size_;
}

char* EncodeEvent(const NetworkEvent& ne, char* p) {
  const Event& e = ne.event;
  p = PutI<1>(e.time, p);
  p = PutI<2>(ToProto(e.kind), p);
  p = PutU<3>(ne.network_id, p);
  p = PutU<4>(e.session_id, p);
  p = PutU<5>(e.link_id, p);
  p = PutI<6>(ToProto(e.endpoint), p);
  const EventShape sh = ShapeOf(e);
  if (!sh.reason.empty()) {
    p = PutBytes<7>(sh.reason.data(),
                    std::min(sh.reason.size(), kMaxReasonBytes), p);
  }
  p = PutI<8>(sh.old_state, p);
  p = PutI<9>(sh.new_state, p);
  p = PutI<10>(sh.a, p);
  p = PutI<11>(sh.b, p);
  if (sh.segment) {
    char seg[kMaxSegmentBytes];
    char* end = EncodeSegment(e.seg, sh.rel, sh.seq_base, sh.ack_base, seg);
    p = PutBytes<12>(seg, static_cast<size_t>(end - seg), p);
  }
  if (sh.tcb) {
    char tcb[kMaxTcbBytes];
    char* end = EncodeTcb(e.tcb, tcb);
    p = PutBytes<13>(tcb, static_cast<size_t>(end - tcb), p);
  }
  return p;
}

char* EncodeEventEntry(const NetworkEvent& ne, char* p) {
  char body[kMaxEventBodyBytes];
  char* end = EncodeEvent(ne, body);
  return PutBytes<1>(body, static_cast<size_t>(end - body), p);
}

char* EncodeEventsLost(uint64_t events_lost, char* p) {
  return events_lost == 0 ? p : PutField<2>(events_lost, p);
}

void AppendEventBatch(std::span<const NetworkEvent> events,
                      uint64_t events_lost, WireBuffer* out) {
  for (const NetworkEvent& ne : events) {
    char* p = out->Reserve(kMaxEncodedEventBytes);
    out->Commit(EncodeEventEntry(ne, p));
  }
  if (events_lost != 0) {
    char* p = out->Reserve(kMaxEventsLostBytes);
    out->Commit(EncodeEventsLost(events_lost, p));
  }
}

size_t EventBatchBytes(std::span<const EventRun> runs, uint64_t events_lost) {
  size_t n = 0;
  for (const EventRun& r : runs) n += r.size_bytes();
  char lost[kMaxEventsLostBytes];
  return n + static_cast<size_t>(EncodeEventsLost(events_lost, lost) - lost);
}

char* CopyEventBatch(std::span<const EventRun> runs, uint64_t events_lost,
                     char* p) {
  for (const EventRun& r : runs) {
    const size_t n = r.size_bytes();
    std::memcpy(p, r.data(), n);
    p += n;
  }
  return EncodeEventsLost(events_lost, p);
}

}  // namespace tcpemu::server
