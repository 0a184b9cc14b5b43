// GsoSplitter; see gso_split.h.
#include "engine/io/gso_split.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;
using wire_internal::Put32;

constexpr size_t kEthLen = 14;
constexpr uint16_t kEtherTypeIpv4Value = 0x0800;
constexpr uint8_t kProtoTcp = 6;

}  // namespace

absl::Status GsoSplitter::Start(const VnetHeader& h,
                                absl::Span<uint8_t> frame) {
  frame_ = frame;
  count_ = 0;
  next_ = 0;
  gso_ = false;
  const uint8_t gso_type = h.gso_type & ~kVnetGsoEcn;
  if (gso_type != kVnetGsoNone) return StartGso(h);
  if ((h.flags & kVnetNeedsCsum) != 0) {
    const size_t start = h.csum_start;
    const size_t field = start + h.csum_offset;
    if (field + 2 > frame.size() || field < start) {
      return absl::InvalidArgumentError(absl::StrCat(
          "virtio-net header: checksum at ", start, "+", h.csum_offset,
          " is outside the ", frame.size(), "-byte frame"));
    }
    // The field holds the pseudo-header's sum; the sum over the rest
    // completes it.
    size_t end = frame.size();
    if (frame.size() >= kEthLen + 20 &&
        Get16(frame.data() + 12) == kEtherTypeIpv4Value) {
      end = std::min(end, kEthLen + Get16(frame.data() + kEthLen + 2));
    }
    if (end < field + 2) end = frame.size();
    const uint16_t sum = InternetChecksum(frame.subspan(start, end - start));
    Put16(frame.data() + field, sum);
  }
  count_ = 1;
  return absl::OkStatus();
}

absl::Status GsoSplitter::StartGso(const VnetHeader& h) {
  const uint8_t gso_type = h.gso_type & ~kVnetGsoEcn;
  if (gso_type != kVnetGsoTcpV4) {
    return absl::UnimplementedError(
        absl::StrCat("virtio-net header: gso_type ", int{gso_type},
                     " (only TCP over IPv4, 1, is cut)"));
  }
  if (h.gso_size == 0) {
    return absl::InvalidArgumentError("virtio-net header: gso_size 0");
  }
  const absl::Span<uint8_t> f = frame_;
  if (f.size() < kEthLen + 20 || Get16(f.data() + 12) != kEtherTypeIpv4Value) {
    return absl::InvalidArgumentError(
        "virtio-net header: TCP/IPv4 GSO over a frame that is not IPv4");
  }
  ip_off_ = kEthLen;
  const uint8_t* ip = f.data() + ip_off_;
  ip_len_ = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ip_len_ < 20 || ip[9] != kProtoTcp ||
      ip_off_ + ip_len_ + 20 > f.size()) {
    return absl::InvalidArgumentError(
        "virtio-net header: TCP/IPv4 GSO over a frame that is not TCP/IPv4");
  }
  const uint8_t* tcp = ip + ip_len_;
  tcp_len_ = static_cast<size_t>(tcp[12] >> 4) * 4;
  const size_t headers = ip_off_ + ip_len_ + tcp_len_;
  if (tcp_len_ < 20 || headers > f.size()) {
    return absl::InvalidArgumentError(
        "virtio-net header: TCP header runs past the frame");
  }
  payload_ = f.size() - headers;
  mss_ = h.gso_size;
  ip_id_ = Get16(ip + 4);
  seq_ = Get32(tcp + 4);
  gso_ = true;
  count_ = payload_ == 0 ? 1 : (payload_ + mss_ - 1) / mss_;
  return absl::OkStatus();
}

absl::StatusOr<size_t> GsoSplitter::Next(absl::Span<uint8_t> out) {
  if (next_ >= count_) return 0;
  const size_t i = next_++;
  size_t need = frame_.size();
  if (gso_) {
    need = ip_off_ + ip_len_ + tcp_len_ +
           std::min(mss_, payload_ - std::min(payload_, i * mss_));
  }
  if (need > out.size()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("frame of ", need, " bytes does not fit a ", out.size(),
                     "-byte buffer"));
  }
  if (!gso_) {
    std::memcpy(out.data(), frame_.data(), frame_.size());
    return frame_.size();
  }
  return Segment(i, out);
}

size_t GsoSplitter::Segment(size_t i, absl::Span<uint8_t> out) const {
  const size_t headers = ip_off_ + ip_len_ + tcp_len_;
  const size_t off = i * mss_;
  const size_t len = std::min(mss_, payload_ - off);
  const bool first = i == 0;
  const bool last = i + 1 == count_;
  uint8_t* o = out.data();
  std::memcpy(o, frame_.data(), headers);
  std::memcpy(o + headers, frame_.data() + headers + off, len);

  uint8_t* ip = o + ip_off_;
  Put16(ip + 2, static_cast<uint16_t>(ip_len_ + tcp_len_ + len));
  Put16(ip + 4, static_cast<uint16_t>(ip_id_ + i));
  Put16(ip + 10, 0);
  Put16(ip + 10, InternetChecksum(absl::MakeConstSpan(ip, ip_len_)));

  uint8_t* tcp = ip + ip_len_;
  Put32(tcp + 4, static_cast<uint32_t>(seq_ + off));
  if (!last)
    tcp[13] &= static_cast<uint8_t>(~(tcp_flags::kFin | tcp_flags::kPsh));
  if (!first) tcp[13] &= static_cast<uint8_t>(~tcp_flags::kCwr);
  Put16(tcp + 16, 0);
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, Get32(ip + 12), Get32(ip + 16), kProtoTcp,
                  static_cast<uint16_t>(tcp_len_ + len));
  acc.Add(absl::MakeConstSpan(tcp, tcp_len_ + len));
  Put16(tcp + 16, acc.Finish());
  return headers + len;
}

}  // namespace tcpemu
