// Tests for the Ethernet II header codec and MAC addresses (IEEE 802.3
// Ethernet II framing, IEEE 802.1Q tags): golden bytes, VLAN handling, each
// rejection with its reason, and a random-input property test.
#include "engine/wire/ethernet.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

constexpr MacAddress kMac1 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr MacAddress kMac2 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

TEST(MacAddressTest, FormatAndParse) {
  EXPECT_EQ(MacToString(kMac1), "02:00:00:00:00:01");
  EXPECT_EQ(MacToString(kBroadcastMac), "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(MacToString(kZeroMac), "00:00:00:00:00:00");

  auto m = ParseMac("02:00:00:00:00:01");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, kMac1);
  m = ParseMac("DE-AD-be-ef-00-9A");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, (MacAddress{0xde, 0xad, 0xbe, 0xef, 0x00, 0x9a}));
  EXPECT_EQ(MacToString(*m), "de:ad:be:ef:00:9a");
  m = ParseMac("ff:ff:ff:ff:ff:ff");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, kBroadcastMac);
}

TEST(MacAddressTest, ParseRejects) {
  for (const char* bad :
       {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02:00:00:00:00:1",
        "2:00:00:00:00:01", "02:00-00:00:00:01", "02.00.00.00.00.01",
        "0g:00:00:00:00:01", " 02:00:00:00:00:1", "02:00:00:00:00:01 ",
        "020000000001"}) {
    auto m = ParseMac(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_THAT(m.status().message(), HasSubstr("mac address")) << bad;
  }
}

TEST(MacAddressTest, Multicast) {
  EXPECT_TRUE(IsMulticastMac(kBroadcastMac));
  EXPECT_TRUE(IsMulticastMac({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}));
  EXPECT_FALSE(IsMulticastMac(kMac1));
  EXPECT_FALSE(IsMulticastMac(kZeroMac));
}

// The header of a broadcast ARP request from 02:00:00:00:00:01.
const std::vector<uint8_t> kGoldenArpHeader = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // destination: broadcast
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // source
    0x08, 0x06,                          // EtherType ARP
};

TEST(EthernetTest, GoldenDecode) {
  auto h = DecodeEthernetHeader(kGoldenArpHeader);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->dst, kBroadcastMac);
  EXPECT_EQ(h->src, kMac1);
  EXPECT_EQ(h->ether_type, kEtherTypeArp);
  EXPECT_FALSE(h->vlan_tci.has_value());
  EXPECT_EQ(h->length(), 14u);
  EXPECT_EQ(h->vlan_id(), 0);
}

TEST(EthernetTest, GoldenEncode) {
  EthernetHeader h;
  h.dst = kBroadcastMac;
  h.src = kMac1;
  h.ether_type = kEtherTypeArp;
  std::vector<uint8_t> out(20, 0xee);
  auto n = EncodeEthernetHeader(h, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 14u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 14),
            kGoldenArpHeader);
  EXPECT_EQ(out[14], 0xee);  // nothing written past the header
}

TEST(EthernetTest, VlanTagDecodesToInnerType) {
  const std::vector<uint8_t> tagged = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // destination
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // source
      0x81, 0x00,                          // 802.1Q TPID
      0x20, 0x64,                          // PCP 1, DEI 0, VLAN 100
      0x08, 0x00,                          // inner EtherType IPv4
      0x45,                                // first payload byte
  };
  auto h = DecodeEthernetHeader(tagged);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->dst, kMac2);
  EXPECT_EQ(h->src, kMac1);
  EXPECT_EQ(h->ether_type, kEtherTypeIpv4);
  ASSERT_TRUE(h->vlan_tci.has_value());
  EXPECT_EQ(*h->vlan_tci, 0x2064);
  EXPECT_EQ(h->vlan_id(), 100);
  EXPECT_EQ(h->length(), 18u);
  EXPECT_EQ(tagged[h->length()], 0x45);

  // Encoding the decoded header gives the same bytes back.
  std::vector<uint8_t> out(18);
  auto n = EncodeEthernetHeader(*h, absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 18u);
  EXPECT_EQ(out, std::vector<uint8_t>(tagged.begin(), tagged.begin() + 18));
}

TEST(EthernetTest, RoundTrip) {
  for (bool tagged : {false, true}) {
    EthernetHeader h;
    h.dst = kMac2;
    h.src = kMac1;
    h.ether_type = 0x86dd;
    if (tagged) h.vlan_tci = 0xefff;
    std::vector<uint8_t> out(h.length());
    ASSERT_TRUE(EncodeEthernetHeader(h, absl::MakeSpan(out)).ok());
    auto d = DecodeEthernetHeader(out);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->dst, h.dst);
    EXPECT_EQ(d->src, h.src);
    EXPECT_EQ(d->ether_type, h.ether_type);
    EXPECT_EQ(d->vlan_tci, h.vlan_tci);
  }
}

TEST(EthernetTest, RejectsShortInput) {
  for (size_t n = 0; n < 14; ++n) {
    auto h = DecodeEthernetHeader(
        absl::MakeConstSpan(kGoldenArpHeader).subspan(0, n));
    ASSERT_FALSE(h.ok()) << n;
    EXPECT_THAT(h.status().message(),
                HasSubstr("ethernet header truncated: " + std::to_string(n)));
  }
  std::vector<uint8_t> tagged = kGoldenArpHeader;
  tagged[12] = 0x81;
  tagged[13] = 0x00;
  for (size_t extra = 0; extra < 4; ++extra) {
    auto h = DecodeEthernetHeader(tagged);
    ASSERT_FALSE(h.ok()) << extra;
    EXPECT_THAT(h.status().message(),
                HasSubstr("802.1Q tagged header truncated"));
    tagged.push_back(0x08);
  }
}

TEST(EthernetTest, RejectsStackedTags) {
  std::vector<uint8_t> qinq = kGoldenArpHeader;
  qinq[12] = 0x88;
  qinq[13] = 0xa8;
  qinq.insert(qinq.end(), {0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00});
  auto h = DecodeEthernetHeader(qinq);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("802.1ad"));

  std::vector<uint8_t> double_q = kGoldenArpHeader;
  double_q[12] = 0x81;
  double_q[13] = 0x00;
  double_q.insert(double_q.end(),
                  {0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00});
  h = DecodeEthernetHeader(double_q);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("stacked VLAN tags"));
}

TEST(EthernetTest, RejectsIeee8023Length) {
  std::vector<uint8_t> b = kGoldenArpHeader;
  b[12] = 0x05;
  b[13] = 0xdc;  // 1500: a length field
  auto h = DecodeEthernetHeader(b);
  ASSERT_FALSE(h.ok());
  EXPECT_THAT(h.status().message(), HasSubstr("802.3 length"));
  // The boundary is an EtherType.
  b[12] = 0x06;
  b[13] = 0x00;
  EXPECT_TRUE(DecodeEthernetHeader(b).ok());
}

TEST(EthernetTest, EncodeRejects) {
  EthernetHeader h;
  std::vector<uint8_t> small(13);
  auto n = EncodeEthernetHeader(h, absl::MakeSpan(small));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("too small"));
  h.vlan_tci = 1;
  std::vector<uint8_t> untagged_size(14);
  n = EncodeEthernetHeader(h, absl::MakeSpan(untagged_size));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("need 18"));

  std::vector<uint8_t> out(18);
  for (uint16_t type : {uint16_t{0x0040}, kEtherTypeVlan, kEtherTypeQinQ}) {
    EthernetHeader bad;
    bad.ether_type = type;
    n = EncodeEthernetHeader(bad, absl::MakeSpan(out));
    ASSERT_FALSE(n.ok()) << type;
    EXPECT_THAT(n.status().message(), HasSubstr("not a payload EtherType"));
  }
}

// Random bytes never crash the decoder; every success re-encodes to the bytes
// it came from and respects the header invariants.
TEST(EthernetTest, RandomInputProperty) {
  std::mt19937_64 rng(0xe7e7);
  int ok = 0;
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> b(rng() % 32);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Steer a share of the inputs into the tag paths.
    if (b.size() >= 14 && i % 3 == 0) {
      b[12] = 0x81;
      b[13] = 0x00;
    }
    auto h = DecodeEthernetHeader(b);
    if (!h.ok()) {
      EXPECT_FALSE(h.status().message().empty());
      continue;
    }
    ++ok;
    ASSERT_LE(h->length(), b.size());
    EXPECT_GE(h->ether_type, kEtherTypeMin);
    EXPECT_NE(h->ether_type, kEtherTypeVlan);
    EXPECT_NE(h->ether_type, kEtherTypeQinQ);
    std::vector<uint8_t> out(h->length());
    ASSERT_TRUE(EncodeEthernetHeader(*h, absl::MakeSpan(out)).ok());
    EXPECT_EQ(out, std::vector<uint8_t>(b.begin(), b.begin() + out.size()));
  }
  EXPECT_GT(ok, 1000);  // the property was exercised, not vacuous
}

}  // namespace
}  // namespace tcpemu
