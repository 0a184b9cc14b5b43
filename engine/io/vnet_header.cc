// VnetHeader encoding; see vnet_header.h.
#include "engine/io/vnet_header.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tcpemu {
namespace {

uint16_t GetLe16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

absl::StatusOr<VnetHeader> DecodeVnetHeader(absl::Span<const uint8_t> in) {
  if (in.size() < kVnetHeaderLen) {
    return absl::InvalidArgumentError(absl::StrCat(
        "virtio-net header: ", in.size(), " bytes, need ", kVnetHeaderLen));
  }
  VnetHeader h;
  h.flags = in[0];
  h.gso_type = in[1];
  h.hdr_len = GetLe16(in.data() + 2);
  h.gso_size = GetLe16(in.data() + 4);
  h.csum_start = GetLe16(in.data() + 6);
  h.csum_offset = GetLe16(in.data() + 8);
  return h;
}

void EncodeVnetHeader(const VnetHeader& h, absl::Span<uint8_t> out) {
  out[0] = h.flags;
  out[1] = h.gso_type;
  PutLe16(out.data() + 2, h.hdr_len);
  PutLe16(out.data() + 4, h.gso_size);
  PutLe16(out.data() + 6, h.csum_start);
  PutLe16(out.data() + 8, h.csum_offset);
}

}  // namespace tcpemu
