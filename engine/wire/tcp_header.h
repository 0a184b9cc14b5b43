// TCP header and options (RFC 9293 3.1; MSS RFC 9293 3.7.1; window scale and
// timestamps RFC 7323; SACK RFC 2018). Decoding skips unknown options and
// rejects malformed lengths with a reason.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/wire/seq.h"

namespace tcpemu {

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flags

struct SackBlock {
  Seq left;
  Seq right;
  bool operator==(const SackBlock&) const = default;
};

struct TcpTimestamp {
  uint32_t value = 0;
  uint32_t echo_reply = 0;
  bool operator==(const TcpTimestamp&) const = default;
};

// The order and padding of the options in a header: the same options as
// Linux's tcp_options_write lays them out (MSS, SACK-permitted in the
// timestamps' alignment bytes, window scale last), or as FreeBSD's
// tcp_addoptions does (MSS, window scale, SACK-permitted, timestamps, SACK,
// each aligned by NOPs in front and the end padded with EOLs).
enum class OptionLayout : uint8_t { kLinux, kFreeBsd };

struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;  // shift count, 0..14
  bool sack_permitted = false;
  std::array<SackBlock, 4> sack{};
  uint8_t sack_count = 0;  // 0..4 blocks used in `sack`
  std::optional<TcpTimestamp> timestamp;
  // How Encode lays them out; Decode reads either.
  OptionLayout layout = OptionLayout::kLinux;

  bool operator==(const TcpOptions&) const = default;
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  Seq seq;
  Seq ack;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t checksum = 0;
  uint16_t urgent = 0;
  TcpOptions options;

  bool has(uint8_t f) const { return (flags & f) != 0; }
  bool operator==(const TcpHeader&) const = default;
};

inline constexpr size_t kTcpMinHeaderLen = 20;
inline constexpr size_t kTcpMaxHeaderLen = 60;

// Bytes the encoded header with `options` takes: 20 plus options padded to a
// multiple of 4. Never more than 60 (options beyond the space are an error at
// encode time).
size_t TcpHeaderLength(const TcpOptions& options);

// Encodes `h` (checksum field as given in h.checksum) into `out`.
// Returns the header length. Fails if options do not fit in 40 bytes, if
// window_scale > 14, sack_count > 4, or `out` is too small.
absl::StatusOr<size_t> EncodeTcpHeader(const TcpHeader& h,
                                       absl::Span<uint8_t> out);

// Decodes the header at the start of `in`. `header_len` receives the data
// offset in bytes. Fails (InvalidArgument, naming what is wrong) on a short
// buffer, a data offset < 5 or beyond the buffer, or a malformed option
// (length < 2, running past the header, wrong fixed length for a known kind).
absl::StatusOr<TcpHeader> DecodeTcpHeader(absl::Span<const uint8_t> in,
                                          size_t* header_len = nullptr);

}  // namespace tcpemu
