// Classic libpcap capture file writer (pcap-savefile(5); the nanosecond
// variant with magic 0xa1b23c4d, version 2.4).
#include "engine/trace/pcap.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void PutLe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

uint32_t ClampSnaplen(uint32_t snaplen) {
  return snaplen == 0 ? PcapWriter::kMaxSnaplen
                      : std::min(snaplen, PcapWriter::kMaxSnaplen);
}

}  // namespace

PcapWriter::PcapWriter(PcapLinkType link_type, uint32_t snaplen)
    : link_type_(link_type), snaplen_(ClampSnaplen(snaplen)) {}

PcapWriter::PcapWriter(PcapLinkType link_type, uint32_t snaplen,
                       std::ostream& out)
    : link_type_(link_type), snaplen_(ClampSnaplen(snaplen)), stream_(&out) {}

PcapWriter::PcapWriter(PcapLinkType link_type, uint32_t snaplen, std::FILE* out)
    : link_type_(link_type), snaplen_(ClampSnaplen(snaplen)), file_(out) {}

absl::Status PcapWriter::Write(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return absl::OkStatus();
  if (stream_ != nullptr) {
    stream_->write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    if (!*stream_) {
      return absl::DataLossError(absl::StrCat("pcap: writing ", bytes.size(),
                                              " bytes to the stream failed"));
    }
    return absl::OkStatus();
  }
  if (file_ != nullptr) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      return absl::DataLossError(
          absl::StrCat("pcap: writing ", bytes.size(),
                       " bytes to the file failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return absl::OkStatus();
}

absl::Status PcapWriter::WriteHeader() {
  if (header_written_) {
    return absl::FailedPreconditionError(
        "pcap: the file header was already written");
  }
  uint8_t h[kFileHeaderLen];
  PutLe32(h, kMagicNanos);
  PutLe16(h + 4, kVersionMajor);
  PutLe16(h + 6, kVersionMinor);
  PutLe32(h + 8, 0);   // thiszone: timestamps are UTC
  PutLe32(h + 12, 0);  // sigfigs: always 0 in practice
  PutLe32(h + 16, snaplen_);
  PutLe32(h + 20, static_cast<uint32_t>(link_type_));
  absl::Status s = Write(h);
  if (!s.ok()) return s;
  header_written_ = true;
  return absl::OkStatus();
}

absl::Status PcapWriter::WriteRecord(TimeNs t, absl::Span<const uint8_t> head,
                                     const Payload* payload) {
  if (!header_written_) {
    return absl::FailedPreconditionError(
        "pcap: WriteHeader must be called before the first packet");
  }
  // The record stores unsigned 32-bit seconds: times before the epoch or
  // after 2106 cannot be represented.
  if (t < 0 || t / kSecond > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pcap: time ", t, " ns is outside [0, 2^32) seconds"));
  }
  const size_t payload_size = payload != nullptr ? payload->size() : 0;
  const size_t orig_len = head.size() + payload_size;
  if (orig_len > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pcap: packet of ", orig_len,
                     " bytes exceeds the 32-bit length field"));
  }
  const size_t cap_len = std::min<size_t>(orig_len, snaplen_);

  uint8_t rec[kRecordHeaderLen];
  PutLe32(rec, static_cast<uint32_t>(t / kSecond));
  PutLe32(rec + 4, static_cast<uint32_t>(t % kSecond));
  PutLe32(rec + 8, static_cast<uint32_t>(cap_len));
  PutLe32(rec + 12, static_cast<uint32_t>(orig_len));
  absl::Status s = Write(rec);
  if (!s.ok()) return s;

  size_t left = cap_len;
  const size_t from_head = std::min(head.size(), left);
  s = Write(head.first(from_head));
  if (!s.ok()) return s;
  left -= from_head;
  if (payload != nullptr) {
    for (const Slice& slice : payload->slices()) {
      if (left == 0) break;
      const size_t n = std::min<size_t>(slice.length, left);
      s = Write(slice.span().first(n));
      if (!s.ok()) return s;
      left -= n;
    }
  }
  ++packets_written_;
  if (cap_len < orig_len) ++packets_truncated_;
  return absl::OkStatus();
}

absl::Status PcapWriter::Flush() {
  if (stream_ != nullptr) {
    stream_->flush();
    if (!*stream_)
      return absl::DataLossError("pcap: flushing the stream failed");
  } else if (file_ != nullptr) {
    if (std::fflush(file_) != 0) {
      return absl::DataLossError(absl::StrCat(
          "pcap: flushing the file failed: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

std::vector<uint8_t> PcapWriter::TakeBuffer() {
  return std::exchange(buffer_, {});
}

}  // namespace tcpemu
