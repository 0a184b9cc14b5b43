// An IPv4/TCP packet as it crosses an emulated link or a TAP device: encoded
// header bytes held inline plus a payload that shares the sender's chunks.
#pragma once

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "engine/wire/buffer.h"
#include "engine/wire/ipv4.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {

struct Packet {
  static constexpr size_t kMaxHeaderBytes = 120;  // IPv4 (<=60) + TCP (<=60)
  std::array<uint8_t, kMaxHeaderBytes> header{};
  uint8_t header_len = 0;  // IPv4 + TCP header bytes in `header`
  Payload payload;
  // The engine session that sent it (0: unknown, e.g. read from a device).
  // Not part of the bytes; the link names its events with it.
  uint32_t session_id = 0;
  // The one's-complement sum of `payload` (ChecksumAccumulator::Sum), kept
  // from when the packet was built so that a receiver checks the checksum
  // without reading the payload again; dropped when a bit of it flips.
  uint16_t payload_sum = 0;
  bool payload_sum_known = false;

  size_t size() const { return header_len + payload.size(); }
  absl::Span<const uint8_t> header_bytes() const {
    return {header.data(), header_len};
  }
  // Flips bit `bit` of the whole packet (header bytes first, then payload).
  void FlipBit(size_t bit);
};

// Builds an IPv4 + TCP packet: encodes both headers and fills in the TCP
// checksum over pseudo-header, header and payload. `ip.total_length` and the
// checksums are computed here; `tcp.checksum` is ignored.
absl::StatusOr<Packet> BuildTcpPacket(const Ipv4Header& ip,
                                      const TcpHeader& tcp, Payload payload);

struct ParsedTcpPacket {
  Ipv4Header ip;
  TcpHeader tcp;
  Payload payload;
  bool checksum_ok = false;  // the TCP checksum verified
};

// Parses a packet built by BuildTcpPacket or received from a device. Fails
// with a reason on malformed IPv4/TCP headers or a non-TCP protocol; a bad TCP
// checksum is reported in `checksum_ok`, not as an error, so that the receiver
// can count it.
absl::StatusOr<ParsedTcpPacket> ParseTcpPacket(const Packet& p);

// Parses a packet held in one contiguous buffer (e.g. read from a TAP
// device); the payload is copied into a new chunk.
absl::StatusOr<ParsedTcpPacket> ParseTcpPacketBytes(
    absl::Span<const uint8_t> bytes);

// Fast accessors used by link fault rules: read TCP fields at fixed offsets of
// an encoded packet without a full decode. Valid only for packets that came
// from BuildTcpPacket.
struct TcpPeek {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t flags = 0;
  Seq seq;
  Seq ack;
  uint32_t payload_len = 0;
};
TcpPeek PeekTcp(const Packet& p);

}  // namespace tcpemu
