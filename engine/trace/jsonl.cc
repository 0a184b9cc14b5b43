// JSON Lines encoding of events. Every string written comes from a fixed name
// table (no escaping needed) and numbers are integers, so the encoder is a
// sequence of StrAppend calls into one reused buffer.
#include "engine/trace/jsonl.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

// Debian's Abseil has its own string_view type, which std::string_view does
// not convert to implicitly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

void AppendOptions(const SegmentInfo& s, std::string* out) {
  out->append(",\"options\":{");
  bool first = true;
  auto sep = [&] {
    if (!first) out->push_back(',');
    first = false;
  };
  if (s.opt_mss != 0) {
    sep();
    absl::StrAppend(out, "\"mss\":", s.opt_mss);
  }
  if (s.opt_wscale != 0xff) {
    sep();
    absl::StrAppend(out, "\"wscale\":", s.opt_wscale);
  }
  if (s.opt_sack_permitted != 0) {
    sep();
    out->append("\"sack_permitted\":true");
  }
  if (s.opt_sack_blocks != 0) {
    sep();
    absl::StrAppend(out, "\"sack_blocks\":", s.opt_sack_blocks);
  }
  if (s.opt_timestamp != 0) {
    sep();
    out->append("\"timestamp\":true");
  }
  out->push_back('}');
}

// The SACK blocks as [[left,right],...], each edge less `base`.
void AppendSackBlocks(std::string_view key, const SegmentInfo& s, int n,
                      uint32_t base, std::string* out) {
  absl::StrAppend(out, ",\"", Sv(key), "\":[");
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(out, i == 0 ? "[" : ",[",
                    static_cast<uint32_t>(s.sack_left[i] - base), ",",
                    static_cast<uint32_t>(s.sack_right[i] - base), "]");
  }
  out->push_back(']');
}

// seq and ack; the relative pair only when the event comes with a TCB. SACK
// blocks acknowledge the receiver's sequence space, so their relative form
// shares rel_ack's base.
void AppendSegment(const SegmentInfo& s, bool with_rel, uint32_t seq_base,
                   uint32_t ack_base, std::string* out) {
  absl::StrAppend(out, ",\"seq\":", s.seq, ",\"ack\":", s.ack);
  if (with_rel) {
    absl::StrAppend(out,
                    ",\"rel_seq\":", static_cast<uint32_t>(s.seq - seq_base),
                    ",\"rel_ack\":", static_cast<uint32_t>(s.ack - ack_base));
  }
  absl::StrAppend(out, ",\"flags\":\"", TcpFlagsString(s.flags),
                  "\",\"len\":", s.len, ",\"window\":", s.window,
                  ",\"window_bytes\":", s.window_bytes);
  const int blocks = std::min<int>(s.opt_sack_blocks, std::size(s.sack_left));
  if (blocks > 0) {
    AppendSackBlocks("sack", s, blocks, 0, out);
    if (with_rel) AppendSackBlocks("rel_sack", s, blocks, ack_base, out);
  }
  if (s.opt_timestamp != 0) {
    absl::StrAppend(out, ",\"ts_val\":", s.ts_val, ",\"ts_ecr\":", s.ts_ecr);
  }
  AppendOptions(s, out);
}

void AppendTcb(const TcbSnapshot& t, std::string* out) {
  absl::StrAppend(out, ",\"tcb\":{\"state\":\"", Sv(ToString(t.state)),
                  "\",\"iss\":", t.iss, ",\"irs\":", t.irs,
                  ",\"snd_una\":", t.snd_una, ",\"snd_nxt\":", t.snd_nxt,
                  ",\"snd_wnd\":", t.snd_wnd, ",\"rcv_nxt\":", t.rcv_nxt,
                  ",\"rcv_wnd\":", t.rcv_wnd, ",\"cwnd\":", t.cwnd);
  absl::StrAppend(out, ",\"ssthresh\":", t.ssthresh,
                  ",\"bytes_in_flight\":", t.bytes_in_flight,
                  ",\"srtt_ns\":", t.srtt, ",\"rttvar_ns\":", t.rttvar,
                  ",\"rto_ns\":", t.rto);
  absl::StrAppend(out, ",\"snd_wscale\":", int{t.snd_wscale},
                  ",\"rcv_wscale\":", int{t.rcv_wscale},
                  ",\"ts_ok\":", t.ts_ok ? "true" : "false",
                  ",\"sack_ok\":", t.sack_ok ? "true" : "false",
                  ",\"ts_recent\":", t.ts_recent);
  absl::StrAppend(out, ",\"sacked_bytes\":", t.sacked_bytes,
                  ",\"lost_bytes\":", t.lost_bytes,
                  ",\"retrans_bytes\":", t.retrans_bytes, ",\"pipe\":", t.pipe);
  absl::StrAppend(out, ",\"pacing_rate\":", t.pacing_rate, ",\"cc_phase\":\"",
                  Sv(ToString(t.cc_phase)),
                  "\",\"bandwidth_estimate\":", t.bandwidth_estimate,
                  ",\"min_rtt_ns\":", t.min_rtt,
                  ",\"ecn_ok\":", t.ecn_ok ? "true" : "false", "}");
}

void AppendName(std::string_view key, std::string_view value,
                std::string* out) {
  absl::StrAppend(out, ",\"", Sv(key), "\":\"", Sv(value), "\"");
}

void AppendInt(std::string_view key, int64_t value, std::string* out) {
  absl::StrAppend(out, ",\"", Sv(key), "\":", value);
}

}  // namespace

std::string TcpFlagsString(uint8_t flags) {
  static constexpr char kLetters[] = "FSRPAUEC";
  std::string out;
  for (int bit = 0; bit < 8; ++bit) {
    if (flags & (1u << bit)) out.push_back(kLetters[bit]);
  }
  return out;
}

void AppendEventJson(const Event& e, std::string* out) {
  absl::StrAppend(out, "{\"time_ns\":", e.time, ",\"kind\":\"",
                  Sv(ToString(e.kind)), "\",\"endpoint\":\"",
                  Sv(ToString(e.endpoint)), "\",\"session_id\":", e.session_id,
                  ",\"link_id\":", e.link_id);
  switch (e.kind) {
    case EventKind::kSegmentSent:
      AppendName("reason", ToString(e.send_reason), out);
      AppendSegment(e.seg, true, RelativeBasesOf(e).seq, RelativeBasesOf(e).ack,
                    out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kSegmentReceived:
      AppendName("disposition", ToString(e.disposition), out);
      AppendSegment(e.seg, true, RelativeBasesOf(e).seq, RelativeBasesOf(e).ack,
                    out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kSegmentDropped:
      AppendName("reason", ToString(e.drop_reason), out);
      AppendSegment(e.seg, false, 0, 0, out);
      break;
    case EventKind::kSegmentMangled:
      AppendName("mangle", ToString(e.mangle), out);
      AppendSegment(e.seg, false, 0, 0, out);
      break;
    case EventKind::kStateChanged:
      AppendName("old_state", ToString(e.old_state), out);
      AppendName("new_state", ToString(e.new_state), out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kTimerArmed:
      AppendName("timer", ToString(e.timer), out);
      AppendInt("deadline_ns", e.a, out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kTimerFired:
      AppendName("timer", ToString(e.timer), out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kAppWrite:
      AppendInt("requested", e.a, out);
      AppendInt("accepted", e.b, out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kAppRead:
      AppendInt("bytes", e.a, out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kRttSample:
      AppendInt("rtt_ns", e.a, out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kCwndChanged:
      AppendInt("old_cwnd", e.a, out);
      AppendInt("new_cwnd", e.b, out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kConnectionError:
      AppendName("error", ToString(e.error), out);
      AppendTcb(e.tcb, out);
      break;
    case EventKind::kSessionDestroyed:
      break;
    case EventKind::kSessionAccepted:
      AppendName("remote",
                 absl::StrCat((e.a >> 24) & 0xff, ".", (e.a >> 16) & 0xff, ".",
                              (e.a >> 8) & 0xff, ".", e.a & 0xff),
                 out);
      AppendInt("remote_port", e.seg.src_port, out);
      AppendInt("local_port", e.seg.dst_port, out);
      break;
    case EventKind::kClockBehind:
      AppendInt("lag_ns", e.a, out);
      break;
    case EventKind::kClockCaughtUp:
      AppendInt("max_lag_ns", e.a, out);
      AppendInt("behind_ns", e.b, out);
      break;
    case EventKind::kLinkChanged:
      AppendInt("rate_bps", e.a, out);
      AppendInt("delay_ns", e.b, out);
      break;
    case EventKind::kQueueSample:
      AppendInt("queue_bytes", e.a, out);
      AppendInt("sojourn_ns", e.b, out);
      break;
  }
  out->push_back('}');
}

std::string EventToJson(const Event& e) {
  std::string out;
  out.reserve(512);
  AppendEventJson(e, &out);
  return out;
}

JsonlWriter::JsonlWriter(FILE* out, size_t buffer_bytes)
    : JsonlWriter(out, /*owned=*/false, "", buffer_bytes) {}

JsonlWriter::JsonlWriter(FILE* out, bool owned, std::string path,
                         size_t buffer_bytes)
    : out_(out),
      owned_(owned),
      path_(std::move(path)),
      buffer_bytes_(buffer_bytes) {
  buffer_.reserve(buffer_bytes_ + 1024);
}

absl::StatusOr<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(
    const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<JsonlWriter>(new JsonlWriter(
        stdout, /*owned=*/false, "<stdout>", kDefaultBufferBytes));
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open events file ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<JsonlWriter>(
      new JsonlWriter(f, /*owned=*/true, path, kDefaultBufferBytes));
}

JsonlWriter::~JsonlWriter() {
  Flush().IgnoreError();
  if (owned_) std::fclose(out_);
}

void JsonlWriter::OnEvent(const Event& e) {
  AppendEventJson(e, &buffer_);
  buffer_.push_back('\n');
  ++events_;
  if (buffer_.size() >= buffer_bytes_) WriteBuffer();
}

void JsonlWriter::WriteBuffer() {
  if (buffer_.empty()) return;
  if (status_.ok() &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size()) {
    status_ = absl::DataLossError(
        absl::StrCat("writing events to ", path_.empty() ? "<FILE*>" : path_,
                     ": ", std::strerror(errno)));
  }
  buffer_.clear();
}

absl::Status JsonlWriter::Flush() {
  WriteBuffer();
  if (status_.ok() && std::fflush(out_) != 0) {
    status_ = absl::DataLossError(
        absl::StrCat("flushing events to ", path_.empty() ? "<FILE*>" : path_,
                     ": ", std::strerror(errno)));
  }
  return status_;
}

}  // namespace tcpemu
