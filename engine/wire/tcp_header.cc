// TCP header and option codec (RFC 9293 3.1; MSS RFC 9293 3.7.1; window
// scale and timestamps RFC 7323; SACK RFC 2018). Options are written in the
// same layout as Linux's tcp_options_write so captures look familiar.
#include "engine/wire/tcp_header.h"

#include <array>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "engine/wire/byte_order.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;
using wire_internal::Put32;

constexpr uint8_t kOptEol = 0;
constexpr uint8_t kOptNop = 1;
constexpr uint8_t kOptMss = 2;
constexpr uint8_t kOptWindowScale = 3;
constexpr uint8_t kOptSackPermitted = 4;
constexpr uint8_t kOptSack = 5;
constexpr uint8_t kOptTimestamps = 8;

constexpr uint8_t kLenMss = 4;
constexpr uint8_t kLenWindowScale = 3;
constexpr uint8_t kLenSackPermitted = 2;
constexpr uint8_t kLenTimestamps = 10;
constexpr size_t kSackBlockLen = 8;
constexpr size_t kMaxSackBlocks = 4;

// RFC 7323 2.3: a shift count above 14 is used as 14.
constexpr uint8_t kMaxWindowScale = 14;

constexpr size_t kMaxOptionBytes = kTcpMaxHeaderLen - kTcpMinHeaderLen;

std::string OptionName(uint8_t kind) {
  switch (kind) {
    case kOptMss:
      return "mss";
    case kOptWindowScale:
      return "window scale";
    case kOptSackPermitted:
      return "sack-permitted";
    case kOptSack:
      return "sack";
    case kOptTimestamps:
      return "timestamps";
    default:
      return absl::StrFormat("kind %d", kind);
  }
}

// Bytes the canonical layout takes. Every piece is already a multiple of 4
// (that is why Linux pads with NOPs in front of the short options), so no
// trailing padding is ever needed.
// FreeBSD's layout (tcp_addoptions): MSS; NOPs to an odd offset, window
// scale; NOPs to an even one, SACK-permitted; NOPs to 2 mod 4, timestamps;
// NOPs to 2 mod 4, SACK; EOLs to a multiple of 4. Writes into `out` (room
// for kMaxOptionBytes plus the largest overrun) and returns the length.
size_t EncodeFreeBsdOptions(const TcpOptions& o, uint8_t* out) {
  size_t n = 0;
  auto pad_until = [&](auto done) {
    while (!done(n)) out[n++] = kOptNop;
  };
  if (o.mss) {
    out[n++] = kOptMss;
    out[n++] = kLenMss;
    Put16(out + n, *o.mss);
    n += 2;
  }
  if (o.window_scale) {
    pad_until([](size_t k) { return k % 2 == 1; });
    out[n++] = kOptWindowScale;
    out[n++] = kLenWindowScale;
    out[n++] = *o.window_scale;
  }
  if (o.sack_permitted) {
    pad_until([](size_t k) { return k % 2 == 0; });
    out[n++] = kOptSackPermitted;
    out[n++] = kLenSackPermitted;
  }
  if (o.timestamp) {
    pad_until([](size_t k) { return k % 4 == 2; });
    out[n++] = kOptTimestamps;
    out[n++] = kLenTimestamps;
    Put32(out + n, o.timestamp->value);
    Put32(out + n + 4, o.timestamp->echo_reply);
    n += 8;
  }
  if (o.sack_count > 0) {
    pad_until([](size_t k) { return k % 4 == 2; });
    out[n++] = kOptSack;
    out[n++] = static_cast<uint8_t>(2 + kSackBlockLen * o.sack_count);
    for (size_t i = 0; i < o.sack_count; ++i) {
      Put32(out + n, o.sack[i].left.value());
      Put32(out + n + 4, o.sack[i].right.value());
      n += kSackBlockLen;
    }
  }
  while (n % 4 != 0) out[n++] = kOptEol;
  return n;
}

// Room EncodeFreeBsdOptions may write: every option at its largest with
// its padding.
constexpr size_t kFreeBsdScratch = 4 + 4 + 3 + 12 + 4 + 2 + 4 * 8 + 4;

size_t OptionBytes(const TcpOptions& o) {
  if (o.layout == OptionLayout::kFreeBsd) {
    std::array<uint8_t, kFreeBsdScratch> scratch;
    return EncodeFreeBsdOptions(o, scratch.data());
  }
  size_t n = 0;
  if (o.mss) n += 4;
  if (o.timestamp) {
    n += 12;  // [SACK-permitted | NOP NOP] + timestamps
  } else if (o.sack_permitted) {
    n += 4;  // NOP NOP SACK-permitted
  }
  if (o.window_scale) n += 4;  // NOP window-scale
  if (o.sack_count > 0) n += 4 + kSackBlockLen * o.sack_count;  // NOP NOP SACK
  return n;
}

}  // namespace

size_t TcpHeaderLength(const TcpOptions& options) {
  size_t n = kTcpMinHeaderLen + OptionBytes(options);
  return n < kTcpMaxHeaderLen ? n : kTcpMaxHeaderLen;
}

absl::StatusOr<size_t> EncodeTcpHeader(const TcpHeader& h,
                                       absl::Span<uint8_t> out) {
  const TcpOptions& o = h.options;
  if (o.window_scale && *o.window_scale > kMaxWindowScale) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tcp option window scale %d out of range [0, %d]",
                        *o.window_scale, kMaxWindowScale));
  }
  if (o.sack_count > kMaxSackBlocks) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tcp option sack block count %d out of range [0, %d]",
                        o.sack_count, kMaxSackBlocks));
  }
  const size_t opt_len = OptionBytes(o);
  if (opt_len > kMaxOptionBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tcp options need %d bytes but at most %d fit in the header (send "
        "fewer sack blocks)",
        opt_len, kMaxOptionBytes));
  }
  const size_t len = kTcpMinHeaderLen + opt_len;
  if (out.size() < len) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tcp encode buffer of %d bytes is too small (need %d)",
                        out.size(), len));
  }

  uint8_t* p = out.data();
  Put16(p + 0, h.src_port);
  Put16(p + 2, h.dst_port);
  Put32(p + 4, h.seq.value());
  Put32(p + 8, h.ack.value());
  p[12] = static_cast<uint8_t>((len / 4) << 4);
  p[13] = h.flags;
  Put16(p + 14, h.window);
  Put16(p + 16, h.checksum);
  Put16(p + 18, h.urgent);

  uint8_t* q = p + kTcpMinHeaderLen;
  if (o.layout == OptionLayout::kFreeBsd) {
    std::array<uint8_t, kFreeBsdScratch> scratch;
    const size_t n = EncodeFreeBsdOptions(o, scratch.data());
    std::memcpy(q, scratch.data(), n);
    return len;
  }
  if (o.mss) {
    q[0] = kOptMss;
    q[1] = kLenMss;
    Put16(q + 2, *o.mss);
    q += 4;
  }
  if (o.timestamp) {
    // Linux puts SACK-permitted in the two bytes that would otherwise be
    // NOPs aligning the timestamps.
    if (o.sack_permitted) {
      q[0] = kOptSackPermitted;
      q[1] = kLenSackPermitted;
    } else {
      q[0] = kOptNop;
      q[1] = kOptNop;
    }
    q[2] = kOptTimestamps;
    q[3] = kLenTimestamps;
    Put32(q + 4, o.timestamp->value);
    Put32(q + 8, o.timestamp->echo_reply);
    q += 12;
  } else if (o.sack_permitted) {
    q[0] = kOptNop;
    q[1] = kOptNop;
    q[2] = kOptSackPermitted;
    q[3] = kLenSackPermitted;
    q += 4;
  }
  if (o.window_scale) {
    q[0] = kOptNop;
    q[1] = kOptWindowScale;
    q[2] = kLenWindowScale;
    q[3] = *o.window_scale;
    q += 4;
  }
  if (o.sack_count > 0) {
    q[0] = kOptNop;
    q[1] = kOptNop;
    q[2] = kOptSack;
    q[3] = static_cast<uint8_t>(2 + kSackBlockLen * o.sack_count);
    q += 4;
    for (size_t i = 0; i < o.sack_count; ++i) {
      Put32(q, o.sack[i].left.value());
      Put32(q + 4, o.sack[i].right.value());
      q += kSackBlockLen;
    }
  }
  return len;
}

absl::StatusOr<TcpHeader> DecodeTcpHeader(absl::Span<const uint8_t> in,
                                          size_t* header_len) {
  if (in.size() < kTcpMinHeaderLen) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tcp header truncated: %d bytes, need at least %d",
                        in.size(), kTcpMinHeaderLen));
  }
  const uint8_t* p = in.data();
  const size_t data_offset = p[12] >> 4;
  if (data_offset < 5) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tcp data offset %d out of range [5, 15]", data_offset));
  }
  const size_t len = data_offset * 4;
  if (len > in.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tcp data offset %d (%d bytes) exceeds the %d bytes "
                        "available",
                        data_offset, len, in.size()));
  }

  TcpHeader h;
  h.src_port = Get16(p + 0);
  h.dst_port = Get16(p + 2);
  h.seq = Seq(Get32(p + 4));
  h.ack = Seq(Get32(p + 8));
  h.flags = p[13];
  h.window = Get16(p + 14);
  h.checksum = Get16(p + 16);
  h.urgent = Get16(p + 18);

  TcpOptions& o = h.options;
  size_t i = kTcpMinHeaderLen;
  while (i < len) {
    const uint8_t kind = p[i];
    if (kind == kOptEol) break;  // the rest of the header is padding
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= len) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tcp option %s has no length byte before the header end",
          OptionName(kind)));
    }
    const size_t opt_len = p[i + 1];
    if (opt_len < 2) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tcp option %s length %d invalid (must be >= 2)",
                          OptionName(kind), opt_len));
    }
    if (i + opt_len > len) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tcp option %s length %d runs past the header end (%d bytes left)",
          OptionName(kind), opt_len, len - i));
    }
    auto wrong_length = [&](size_t want) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tcp option %s length %d invalid (must be %d)",
                          OptionName(kind), opt_len, want));
    };
    const uint8_t* v = p + i + 2;  // option value
    switch (kind) {
      case kOptMss:
        if (opt_len != kLenMss) return wrong_length(kLenMss);
        o.mss = Get16(v);
        break;
      case kOptWindowScale:
        if (opt_len != kLenWindowScale) return wrong_length(kLenWindowScale);
        o.window_scale = v[0] > kMaxWindowScale ? kMaxWindowScale : v[0];
        break;
      case kOptSackPermitted:
        if (opt_len != kLenSackPermitted) {
          return wrong_length(kLenSackPermitted);
        }
        o.sack_permitted = true;
        break;
      case kOptTimestamps:
        if (opt_len != kLenTimestamps) return wrong_length(kLenTimestamps);
        o.timestamp = TcpTimestamp{Get32(v), Get32(v + 4)};
        break;
      case kOptSack: {
        // 40 option bytes cap n at 4, so only the shape needs checking.
        const size_t n = (opt_len - 2) / kSackBlockLen;
        if ((opt_len - 2) % kSackBlockLen != 0 || n < 1 || n > kMaxSackBlocks) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "tcp option sack length %d invalid (must be 2+8n, n in [1, %d])",
              opt_len, kMaxSackBlocks));
        }
        o.sack = {};
        for (size_t b = 0; b < n; ++b) {
          o.sack[b] = SackBlock{Seq(Get32(v + b * kSackBlockLen)),
                                Seq(Get32(v + b * kSackBlockLen + 4))};
        }
        o.sack_count = static_cast<uint8_t>(n);
        break;
      }
      default:
        break;  // unknown option with a sane length: skip it (RFC 9293 3.1)
    }
    i += opt_len;
  }

  if (header_len != nullptr) *header_len = len;
  return h;
}

}  // namespace tcpemu
