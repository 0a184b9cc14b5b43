// A writer for classic libpcap capture files (the format of pcap-savefile(5)
// and draft-ietf-opsawg-pcap) with nanosecond timestamps, so that packets the
// engine sends and receives open in tcpdump and Wireshark.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/base/time.h"
#include "engine/wire/buffer.h"
#include "engine/wire/packet.h"

namespace tcpemu {

// The LINKTYPE_ values of the link-layer header types registry.
enum class PcapLinkType : uint32_t {
  kEthernet = 1,  // Ethernet II frames (TAP devices)
  kRaw = 101,     // bare IPv4 packets (emulated links, TUN devices)
};

// Writes a capture to a std::ostream, a FILE or its own memory buffer. The
// destination is not owned and must outlive the writer; errors on it are
// returned by the call that hit them.
//
// All fields are written little-endian whatever the host, so that the same
// packets give the same file on every machine (readers detect the order from
// the magic number).
class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanos = 0xa1b23c4d;
  static constexpr uint16_t kVersionMajor = 2;
  static constexpr uint16_t kVersionMinor = 4;
  static constexpr size_t kFileHeaderLen = 24;
  static constexpr size_t kRecordHeaderLen = 16;
  // The largest snapshot length tcpdump and libpcap accept (MAXIMUM_SNAPLEN);
  // a snaplen of 0 means this, as with tcpdump -s 0.
  static constexpr uint32_t kMaxSnaplen = 262144;

  // Writes into the writer's memory buffer (see buffer()).
  explicit PcapWriter(PcapLinkType link_type, uint32_t snaplen = kMaxSnaplen);
  PcapWriter(PcapLinkType link_type, uint32_t snaplen, std::ostream& out);
  PcapWriter(PcapLinkType link_type, uint32_t snaplen, std::FILE* out);

  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Writes the 24-byte file header. Must be called once, before any packet.
  absl::Status WriteHeader();

  // Writes one record for the packet made of `head` followed by `payload`, at
  // time `t` in nanoseconds (written as seconds and nanoseconds since the
  // Unix epoch, so pass wall time, or engine time for a capture that starts
  // in 1970). Only the first snaplen bytes are written; the record keeps the
  // original length. Payload slices are written where they lie, never first
  // gathered into one buffer.
  absl::Status WritePacket(TimeNs t, absl::Span<const uint8_t> head,
                           const Payload& payload) {
    return WriteRecord(t, head, &payload);
  }
  absl::Status WritePacket(TimeNs t, absl::Span<const uint8_t> bytes) {
    return WriteRecord(t, bytes, nullptr);
  }
  absl::Status WritePacket(TimeNs t, const Packet& p) {
    return WriteRecord(t, p.header_bytes(), &p.payload);
  }

  // Flushes the stream or FILE (nothing to do for the memory buffer).
  absl::Status Flush();

  PcapLinkType link_type() const { return link_type_; }
  uint32_t snaplen() const { return snaplen_; }
  uint64_t packets_written() const { return packets_written_; }
  uint64_t packets_truncated() const { return packets_truncated_; }

  // The bytes written so far when writing to memory; empty otherwise.
  const std::vector<uint8_t>& buffer() const { return buffer_; }
  // Hands over the memory buffer's bytes, leaving it empty; further packets
  // append to the new empty buffer.
  std::vector<uint8_t> TakeBuffer();

 private:
  // `payload` may be null for a packet held entirely in `head`.
  absl::Status WriteRecord(TimeNs t, absl::Span<const uint8_t> head,
                           const Payload* payload);
  absl::Status Write(absl::Span<const uint8_t> bytes);

  PcapLinkType link_type_;
  uint32_t snaplen_;
  std::ostream* stream_ = nullptr;
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> buffer_;
  bool header_written_ = false;
  uint64_t packets_written_ = 0;
  uint64_t packets_truncated_ = 0;
};

}  // namespace tcpemu
