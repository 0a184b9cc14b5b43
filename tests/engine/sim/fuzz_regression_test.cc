// Regression tests for inputs the fuzz targets in tests/fuzz found; each
// names its target and the seed kept in tests/fuzz/corpus.
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/sim/interface.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/ethernet.h"
#include "engine/wire/ipv4.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

class FrameLog final : public FrameSink {
 public:
  bool SendFrame(absl::Span<const uint8_t> head,
                 const Payload& payload) override {
    frames.emplace_back(head.begin(), head.end());
    return true;
  }
  std::deque<std::vector<uint8_t>> frames;
};

constexpr MacAddress kOurMac = {0x02, 0, 0, 0, 0, 0x0a};
constexpr MacAddress kPeerMac = {0x02, 0, 0, 0, 0, 0x0b};

// fuzz_wire, corpus/wire/regress-ipv4-total-length-zero: an IPv4 header
// whose total length is below 20 (0 in the fuzz input) left an empty packet
// whose first byte was then read for the IHL: an out-of-bounds read, and an
// abort in Abseil's hardened Span.
TEST(InterfaceFuzzRegressionTest, DropsIpv4TotalLengthBelowTheMinimumHeader) {
  InterfaceSpec spec;
  spec.address = *ParseIpv4("10.9.0.1");
  spec.mac = kOurMac;
  FrameLog log;
  Interface iface(spec, &log);
  for (uint16_t total : {0, 1, 19}) {
    std::vector<uint8_t> frame(kEthernetHeaderLen + 40, 0);
    EthernetHeader eth;
    eth.dst = kOurMac;
    eth.src = kPeerMac;
    ASSERT_TRUE(EncodeEthernetHeader(eth, absl::MakeSpan(frame)).ok());
    Ipv4Header ip;
    ip.src = *ParseIpv4("10.9.0.2");
    ip.dst = spec.address;
    ip.total_length = 40;
    absl::Span<uint8_t> body =
        absl::MakeSpan(frame).subspan(kEthernetHeaderLen);
    ASSERT_TRUE(EncodeIpv4Header(ip, body).ok());
    wire_internal::Put16(body.data() + 2, total);
    EXPECT_FALSE(iface.OnFrame(0, frame)) << "total length " << total;
  }
  EXPECT_EQ(iface.counters().dropped_malformed, 3u);
  EXPECT_TRUE(log.frames.empty());
}

// The exact frame the fuzzer found.
TEST(InterfaceFuzzRegressionTest, FuzzFrameWithZeroTotalLength) {
  const std::vector<uint8_t> frame = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xfb, 0xff, 0xff, 0xff,
      0x08, 0x00, 0x4a, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x55, 0x08, 0x00, 0x01, 0x00, 0x00, 0xfb,
      0x4c, 0x61, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57, 0x57};
  InterfaceSpec spec;
  spec.address = 0x0a000001;
  spec.mac = {0x02, 0, 0, 0, 0, 1};
  FrameLog log;
  Interface iface(spec, &log);
  EXPECT_FALSE(iface.OnFrame(1000, frame));
  EXPECT_EQ(iface.counters().dropped_malformed, 1u);
}

}  // namespace
}  // namespace tcpemu
