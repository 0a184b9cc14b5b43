#include "engine/io/vnet_header.h"

#include <array>
#include <cstdint>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(VnetHeaderTest, EncodesLittleEndianFieldsInKernelOrder) {
  VnetHeader h;
  h.flags = kVnetNeedsCsum;
  h.gso_type = kVnetGsoTcpV4 | kVnetGsoEcn;
  h.hdr_len = 0x0102;
  h.gso_size = 0x05a8;
  h.csum_start = 0x0022;
  h.csum_offset = 0x0010;
  std::array<uint8_t, kVnetHeaderLen> out{};
  EncodeVnetHeader(h, absl::MakeSpan(out));
  const std::array<uint8_t, kVnetHeaderLen> want = {
      0x01, 0x81, 0x02, 0x01, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00};
  EXPECT_EQ(out, want);
  absl::StatusOr<VnetHeader> back = DecodeVnetHeader(out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(VnetHeaderTest, ShortInputIsAnError) {
  std::array<uint8_t, kVnetHeaderLen - 1> in{};
  absl::StatusOr<VnetHeader> h = DecodeVnetHeader(in);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(h.status().message().find("need 10"), absl::string_view::npos)
      << h.status();
}

}  // namespace
}  // namespace tcpemu
