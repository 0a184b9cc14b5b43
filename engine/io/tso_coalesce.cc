// TsoCoalescer; see tso_coalesce.h.
#include "engine/io/tso_coalesce.h"

#include <cstring>

#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"
#include "engine/wire/tcp_header.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Get32;
using wire_internal::Put16;

constexpr size_t kEthLen = 14;
constexpr size_t kIpLen = 20;  // IPv4 options are never merged
constexpr uint16_t kEtherTypeIpv4Value = 0x0800;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kPshFin = tcp_flags::kPsh | tcp_flags::kFin;
constexpr uint8_t kNeverMerged =
    tcp_flags::kSyn | tcp_flags::kRst | tcp_flags::kUrg | tcp_flags::kCwr;

bool Same(const uint8_t* a, const uint8_t* b, size_t from, size_t to) {
  return std::memcmp(a + from, b + from, to - from) == 0;
}

}  // namespace

TsoCoalescer::TsoCoalescer() : buf_(kVnetHeaderLen + kEthLen + kMaxIpv4Bytes) {}

bool TsoCoalescer::Eligible(absl::Span<const uint8_t> head,
                            const Payload& payload) {
  if (payload.empty() || head.size() < kEthLen + kIpLen + 20) return false;
  const uint8_t* ip = head.data() + kEthLen;
  if (Get16(head.data() + 12) != kEtherTypeIpv4Value || ip[0] != 0x45 ||
      ip[9] != kProtoTcp || (Get16(ip + 6) & 0x3fff) != 0) {
    return false;  // not IPv4 without options, not TCP, or a fragment
  }
  const uint8_t* tcp = ip + kIpLen;
  const size_t tcp_len = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (tcp_len < 20 || head.size() != kEthLen + kIpLen + tcp_len ||
      Get16(ip + 2) != kIpLen + tcp_len + payload.size()) {
    return false;
  }
  const uint8_t flags = tcp[13];
  if ((flags & tcp_flags::kAck) == 0 || (flags & kNeverMerged) != 0) {
    return false;
  }
  if (InternetChecksum(absl::MakeConstSpan(ip, kIpLen)) != 0) return false;
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, Get32(ip + 12), Get32(ip + 16), kProtoTcp,
                  static_cast<uint16_t>(tcp_len + payload.size()));
  acc.Add(absl::MakeConstSpan(tcp, tcp_len));
  payload.ForEachSpan([&](absl::Span<const uint8_t> s) { acc.Add(s); });
  if (acc.Finish() != 0) return false;
  seg_tcp_len_ = tcp_len;
  return true;
}

bool TsoCoalescer::JoinsHeld(absl::Span<const uint8_t> head,
                             size_t payload) const {
  if (last_payload_ != gso_size_ || (last_flags_ & kPshFin) != 0 ||
      payload > gso_size_ || head.size() != headers_ ||
      (len_ - kVnetHeaderLen - kEthLen) + payload > kMaxIpv4Bytes) {
    return false;
  }
  const uint8_t* held = buf_.data() + kVnetHeaderLen;
  if (!Same(held, head.data(), 0, kEthLen)) return false;
  const uint8_t* hip = held + kEthLen;
  const uint8_t* ip = head.data() + kEthLen;
  // Version, length and TOS; flags, fragment offset, TTL and protocol;
  // addresses. Not the total length, id or checksum.
  if (!Same(hip, ip, 0, 2) || !Same(hip, ip, 6, 10) || !Same(hip, ip, 12, 20) ||
      Get16(ip + 4) != next_id_) {
    return false;
  }
  const uint8_t* htcp = hip + kIpLen;
  const uint8_t* tcp = ip + kIpLen;
  // Ports; ACK number and data offset; window, (checksum,) urgent pointer
  // and options. Flags but PSH and FIN.
  return Same(htcp, tcp, 0, 4) && Get32(tcp + 4) == next_seq_ &&
         Same(htcp, tcp, 8, 13) && ((htcp[13] ^ tcp[13]) & ~kPshFin) == 0 &&
         Same(htcp, tcp, 14, 16) && Same(htcp, tcp, 18, tcp_len_);
}

bool TsoCoalescer::Append(absl::Span<const uint8_t> head,
                          const Payload& payload) {
  if (!Eligible(head, payload)) return false;
  const size_t n = payload.size();
  if (segments_ == 0) {
    uint8_t* f = buf_.data() + kVnetHeaderLen;
    std::memcpy(f, head.data(), head.size());
    payload.CopyTo(absl::MakeSpan(f + head.size(), n));
    len_ = kVnetHeaderLen + head.size() + n;
    segments_ = 1;
    headers_ = head.size();
    ip_len_ = kIpLen;
    tcp_len_ = seg_tcp_len_;
    gso_size_ = n;
    const uint8_t* ip = head.data() + kEthLen;
    next_id_ = static_cast<uint16_t>(Get16(ip + 4) + 1);
    next_seq_ = static_cast<uint32_t>(Get32(ip + kIpLen + 4) + n);
  } else {
    if (!JoinsHeld(head, n)) return false;
    payload.CopyTo(absl::MakeSpan(buf_.data() + len_, n));
    len_ += n;
    ++segments_;
    ++next_id_;
    next_seq_ += static_cast<uint32_t>(n);
  }
  last_payload_ = n;
  last_flags_ = head[kEthLen + kIpLen + 13];
  return true;
}

absl::Span<const uint8_t> TsoCoalescer::Take() {
  if (segments_ == 0) return {};
  const size_t count = segments_;
  segments_ = 0;
  last_taken_ = count;
  VnetHeader h;
  if (count > 1) {
    uint8_t* ip = buf_.data() + kVnetHeaderLen + kEthLen;
    const size_t ip_total = len_ - kVnetHeaderLen - kEthLen;
    Put16(ip + 2, static_cast<uint16_t>(ip_total));
    Put16(ip + 10, 0);
    Put16(ip + 10, InternetChecksum(absl::MakeConstSpan(ip, ip_len_)));
    uint8_t* tcp = ip + ip_len_;
    tcp[13] |= static_cast<uint8_t>(last_flags_ & kPshFin);
    // The pseudo-header's sum over the whole TCP length, not complemented:
    // the rest is summed by whoever completes it (the kernel's GSO, or
    // nobody: a frame it takes whole counts as checked).
    ChecksumAccumulator acc;
    AddPseudoHeader(acc, Get32(ip + 12), Get32(ip + 16), kProtoTcp,
                    static_cast<uint16_t>(ip_total - ip_len_));
    Put16(tcp + 16, acc.Sum());
    h.flags = kVnetNeedsCsum;
    h.gso_type = kVnetGsoTcpV4;
    h.hdr_len = static_cast<uint16_t>(headers_);
    h.gso_size = static_cast<uint16_t>(gso_size_);
    h.csum_start = static_cast<uint16_t>(kEthLen + ip_len_);
    h.csum_offset = 16;
  }
  EncodeVnetHeader(h, absl::MakeSpan(buf_.data(), kVnetHeaderLen));
  return absl::MakeConstSpan(buf_.data(), len_);
}

}  // namespace tcpemu
