// Tests for ARP (RFC 826): golden request and reply frames laid out by hand
// from the RFC's packet format, each validation with its reason, the reply and
// request builders, the ArpCache (lifetime, eviction, pending queues), and a
// random-input property test.
#include "engine/wire/arp.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

constexpr MacAddress kMac1 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr MacAddress kMac2 = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr uint32_t kIp1 = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kIp2 = 0x0a000002;  // 10.0.0.2

// 10.0.0.1 (02:00:00:00:00:01) asks who has 10.0.0.2.
const std::vector<uint8_t> kGoldenRequest = {
    // Ethernet II
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // destination: broadcast
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // source
    0x08, 0x06,                          // EtherType ARP
    // RFC 826 packet
    0x00, 0x01,                          // ar$hrd: Ethernet
    0x08, 0x00,                          // ar$pro: IPv4
    0x06,                                // ar$hln
    0x04,                                // ar$pln
    0x00, 0x01,                          // ar$op: request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // ar$sha
    0x0a, 0x00, 0x00, 0x01,              // ar$spa: 10.0.0.1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // ar$tha: unknown
    0x0a, 0x00, 0x00, 0x02,              // ar$tpa: 10.0.0.2
};

// 10.0.0.2 answers that it is at 02:00:00:00:00:02.
const std::vector<uint8_t> kGoldenReply = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // destination: the asker
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // source
    0x08, 0x06,                          // EtherType ARP
    0x00, 0x01,                          // ar$hrd
    0x08, 0x00,                          // ar$pro
    0x06, 0x04,                          // ar$hln, ar$pln
    0x00, 0x02,                          // ar$op: reply
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // ar$sha
    0x0a, 0x00, 0x00, 0x02,              // ar$spa: 10.0.0.2
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // ar$tha
    0x0a, 0x00, 0x00, 0x01,              // ar$tpa: 10.0.0.1
};

absl::Span<const uint8_t> ArpPart(const std::vector<uint8_t>& frame) {
  return absl::MakeConstSpan(frame).subspan(kEthernetHeaderLen);
}

TEST(ArpTest, GoldenRequestDecodes) {
  auto eth = DecodeEthernetHeader(kGoldenRequest);
  ASSERT_TRUE(eth.ok()) << eth.status();
  EXPECT_EQ(eth->ether_type, kEtherTypeArp);
  auto arp = DecodeArp(ArpPart(kGoldenRequest));
  ASSERT_TRUE(arp.ok()) << arp.status();
  EXPECT_EQ(arp->op, ArpOp::kRequest);
  EXPECT_EQ(arp->sender_mac, kMac1);
  EXPECT_EQ(arp->sender_ip, kIp1);
  EXPECT_EQ(arp->target_mac, kZeroMac);
  EXPECT_EQ(arp->target_ip, kIp2);
}

TEST(ArpTest, GoldenRequestBuilt) {
  const ArpPacket req = MakeArpRequest(kMac1, kIp1, kIp2);
  std::vector<uint8_t> frame(64, 0xee);
  auto n = EncodeArpFrame(req, absl::MakeSpan(frame));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 42u);
  frame.resize(*n);
  EXPECT_EQ(frame, kGoldenRequest);
}

TEST(ArpTest, GoldenReplyBuiltFromGoldenRequest) {
  auto req = DecodeArp(ArpPart(kGoldenRequest));
  ASSERT_TRUE(req.ok()) << req.status();
  auto reply = MakeArpReply(*req, kMac2, kIp2);
  ASSERT_TRUE(reply.ok()) << reply.status();
  std::vector<uint8_t> frame(42);
  auto n = EncodeArpFrame(*reply, absl::MakeSpan(frame));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(frame, kGoldenReply);

  auto back = DecodeArp(ArpPart(kGoldenReply));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *reply);
  EXPECT_EQ(back->op, ArpOp::kReply);
  EXPECT_EQ(back->sender_mac, kMac2);
  EXPECT_EQ(back->target_mac, kMac1);
}

TEST(ArpTest, EncodeArpAloneIs28Bytes) {
  std::vector<uint8_t> out(28);
  auto n = EncodeArp(MakeArpRequest(kMac1, kIp1, kIp2), absl::MakeSpan(out));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, kArpPacketLen);
  EXPECT_EQ(out, std::vector<uint8_t>(kGoldenRequest.begin() + 14,
                                      kGoldenRequest.end()));
}

TEST(ArpTest, EthernetPaddingIgnored) {
  // A minimum-size frame pads the 28-byte packet to 46 bytes.
  std::vector<uint8_t> padded = kGoldenRequest;
  padded.resize(60, 0);
  auto arp = DecodeArp(ArpPart(padded));
  ASSERT_TRUE(arp.ok()) << arp.status();
  EXPECT_EQ(arp->target_ip, kIp2);
}

TEST(ArpTest, RejectsWithReasons) {
  struct Case {
    size_t offset;  // into the ARP packet
    uint8_t value;
    const char* reason;
  };
  const Case cases[] = {
      {1, 0x06, "hardware type 6 is not ethernet"},
      {2, 0x86, "protocol type 0x86dd is not ipv4"},
      {4, 8, "hardware address length 8 is not 6"},
      {5, 16, "protocol address length 16 is not 4"},
      {7, 3, "opcode 3 is neither request (1) nor reply (2)"},
      {7, 0, "opcode 0"},
      {8, 0x01, "sender hardware address 01:00:00:00:00:01 is a group"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> b(kGoldenRequest.begin() + 14, kGoldenRequest.end());
    b[c.offset] = c.value;
    if (c.offset == 2) b[3] = 0xdd;
    auto arp = DecodeArp(b);
    ASSERT_FALSE(arp.ok()) << c.reason;
    EXPECT_THAT(arp.status().message(), HasSubstr(c.reason));
  }
  // A broadcast sender is a group address too.
  std::vector<uint8_t> b(kGoldenRequest.begin() + 14, kGoldenRequest.end());
  std::fill(b.begin() + 8, b.begin() + 14, 0xff);
  EXPECT_FALSE(DecodeArp(b).ok());
}

TEST(ArpTest, RejectsShortInput) {
  for (size_t n = 0; n < kArpPacketLen; ++n) {
    auto arp = DecodeArp(ArpPart(kGoldenRequest).subspan(0, n));
    ASSERT_FALSE(arp.ok()) << n;
    EXPECT_THAT(arp.status().message(),
                HasSubstr("arp packet truncated: " + std::to_string(n)));
  }
}

TEST(ArpTest, EncodeRejects) {
  std::vector<uint8_t> small(27);
  auto n = EncodeArp(ArpPacket{}, absl::MakeSpan(small));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("too small"));
  std::vector<uint8_t> frame_small(41);
  n = EncodeArpFrame(ArpPacket{}, absl::MakeSpan(frame_small));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("need 42"));

  ArpPacket bad;
  bad.op = static_cast<ArpOp>(9);
  std::vector<uint8_t> out(42);
  n = EncodeArp(bad, absl::MakeSpan(out));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("opcode 9"));
}

TEST(ArpTest, ReplyOnlyToRequestsForMe) {
  const ArpPacket req = MakeArpRequest(kMac1, kIp1, kIp2);
  auto r = MakeArpReply(req, kMac2, 0x0a000003);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("request for 10.0.0.2 is not for this address "
                        "10.0.0.3"));
  ArpPacket not_request = req;
  not_request.op = ArpOp::kReply;
  r = MakeArpReply(not_request, kMac2, kIp2);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a request"));
}

// --- ArpCache ---------------------------------------------------------------

// A TCP packet told apart from others by its sequence number.
Packet Tagged(uint32_t seq) {
  Ipv4Header ip;
  ip.src = kIp1;
  ip.dst = kIp2;
  TcpHeader tcp;
  tcp.src_port = 1000;
  tcp.dst_port = 80;
  tcp.seq = Seq(seq);
  tcp.flags = tcp_flags::kAck;
  auto p = BuildTcpPacket(ip, tcp, Payload::Copy(std::vector<uint8_t>{1, 2}));
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

uint32_t SeqOf(const Packet& p) { return PeekTcp(p).seq.value(); }

TEST(ArpCacheTest, InsertLookupAndLifetime) {
  ArpCacheOptions o;
  o.entry_lifetime = 10 * kSecond;
  ArpCache cache(o);
  EXPECT_FALSE(cache.Lookup(kIp2, 0).has_value());
  EXPECT_TRUE(cache.Insert(kIp2, kMac2, 5 * kSecond).empty());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Lookup(kIp2, 5 * kSecond), kMac2);
  EXPECT_EQ(cache.Lookup(kIp2, 15 * kSecond - 1), kMac2);
  // Refreshing restarts the lifetime and may change the address.
  cache.Insert(kIp2, kMac1, 14 * kSecond);
  EXPECT_EQ(cache.Lookup(kIp2, 23 * kSecond), kMac1);
  EXPECT_FALSE(cache.Lookup(kIp2, 24 * kSecond).has_value());
  EXPECT_EQ(cache.size(), 0u);  // the expired entry is gone
  EXPECT_FALSE(cache.Lookup(kIp1, 0).has_value());
}

TEST(ArpCacheTest, EvictsOldestWhenFull) {
  ArpCacheOptions o;
  o.max_entries = 3;
  ArpCache cache(o);
  cache.Insert(1, kMac1, 100);
  cache.Insert(2, kMac1, 200);
  cache.Insert(3, kMac1, 300);
  cache.Insert(1, kMac2, 400);  // a refresh makes 1 the newest
  cache.Insert(4, kMac1, 500);  // evicts 2, now the oldest
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_FALSE(cache.Lookup(2, 500).has_value());
  EXPECT_EQ(cache.Lookup(1, 500), kMac2);
  EXPECT_TRUE(cache.Lookup(3, 500).has_value());
  EXPECT_TRUE(cache.Lookup(4, 500).has_value());
  // Equal times: the one inserted first goes first.
  cache.Insert(5, kMac1, 300);
  EXPECT_FALSE(cache.Lookup(3, 500).has_value());
  EXPECT_TRUE(cache.Lookup(5, 500).has_value());
  EXPECT_EQ(cache.stats().evictions, 2u);
}

TEST(ArpCacheTest, PendingQueueReleasedInOrderOnInsert) {
  ArpCache cache;
  EXPECT_EQ(cache.Enqueue(kIp2, Tagged(1), 0),
            ArpEnqueueResult::kQueuedSendRequest);
  EXPECT_EQ(cache.Enqueue(kIp2, Tagged(2), 1), ArpEnqueueResult::kQueued);
  EXPECT_EQ(cache.Enqueue(kIp2, Tagged(3), 2), ArpEnqueueResult::kQueued);
  EXPECT_EQ(cache.pending(kIp2), 3u);
  EXPECT_EQ(cache.pending(kIp1), 0u);
  // Another address does not release them.
  EXPECT_TRUE(cache.Insert(kIp1, kMac1, 3).empty());

  std::vector<Packet> out = cache.Insert(kIp2, kMac2, 4);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(SeqOf(out[0]), 1u);
  EXPECT_EQ(SeqOf(out[1]), 2u);
  EXPECT_EQ(SeqOf(out[2]), 3u);
  EXPECT_EQ(cache.pending(kIp2), 0u);
  EXPECT_EQ(cache.NextDeadline(), kNever);
  // Released packets still hold their payload.
  auto parsed = ParseTcpPacket(out[2]);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->checksum_ok);
  EXPECT_EQ(parsed->payload.size(), 2u);
  // A later miss starts a new request.
  EXPECT_EQ(cache.Enqueue(kIp2, Tagged(9), 5),
            ArpEnqueueResult::kQueuedSendRequest);
}

TEST(ArpCacheTest, PendingQueueBoundedWithCountedDrops) {
  ArpCacheOptions o;
  o.max_pending_per_ip = 2;
  o.max_pending_ips = 2;
  ArpCache cache(o);
  EXPECT_EQ(cache.Enqueue(1, Tagged(1), 0),
            ArpEnqueueResult::kQueuedSendRequest);
  EXPECT_EQ(cache.Enqueue(1, Tagged(2), 0), ArpEnqueueResult::kQueued);
  EXPECT_EQ(cache.Enqueue(1, Tagged(3), 0),
            ArpEnqueueResult::kDroppedQueueFull);
  EXPECT_EQ(cache.Enqueue(1, Tagged(4), 0),
            ArpEnqueueResult::kDroppedQueueFull);
  EXPECT_EQ(cache.pending(1), 2u);
  EXPECT_EQ(cache.stats().pending_dropped, 2u);

  EXPECT_EQ(cache.Enqueue(2, Tagged(5), 0),
            ArpEnqueueResult::kQueuedSendRequest);
  EXPECT_EQ(cache.Enqueue(3, Tagged(6), 0),
            ArpEnqueueResult::kDroppedTooManyAddresses);
  EXPECT_EQ(cache.pending(3), 0u);
  EXPECT_EQ(cache.stats().pending_dropped, 3u);

  // The drop-tail queue kept the first two.
  std::vector<Packet> out = cache.Insert(1, kMac1, 1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(SeqOf(out[0]), 1u);
  EXPECT_EQ(SeqOf(out[1]), 2u);
  // Resolving one address makes room for another.
  EXPECT_EQ(cache.Enqueue(3, Tagged(7), 2),
            ArpEnqueueResult::kQueuedSendRequest);
}

TEST(ArpCacheTest, PendingExpires) {
  ArpCacheOptions o;
  o.pending_timeout = 3 * kSecond;
  ArpCache cache(o);
  EXPECT_EQ(cache.NextDeadline(), kNever);
  cache.Enqueue(1, Tagged(1), 1 * kSecond);
  cache.Enqueue(1, Tagged(2), 2 * kSecond);
  cache.Enqueue(2, Tagged(3), 2 * kSecond);
  // Measured from the first packet, when the request went out.
  EXPECT_EQ(cache.NextDeadline(), 4 * kSecond);
  EXPECT_EQ(cache.ExpirePending(4 * kSecond - 1), 0u);
  EXPECT_EQ(cache.ExpirePending(4 * kSecond), 2u);
  EXPECT_EQ(cache.pending(1), 0u);
  EXPECT_EQ(cache.pending(2), 1u);
  EXPECT_EQ(cache.NextDeadline(), 5 * kSecond);
  EXPECT_EQ(cache.ExpirePending(5 * kSecond), 1u);
  EXPECT_EQ(cache.stats().pending_expired, 3u);
  EXPECT_EQ(cache.stats().pending_dropped, 0u);
  EXPECT_EQ(cache.NextDeadline(), kNever);
}

TEST(ArpCacheTest, ZeroBoundsMeanOne) {
  ArpCacheOptions o;
  o.max_entries = 0;
  o.max_pending_per_ip = 0;
  o.max_pending_ips = 0;
  ArpCache cache(o);
  EXPECT_EQ(cache.options().max_entries, 1u);
  cache.Insert(1, kMac1, 0);
  cache.Insert(2, kMac2, 1);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Lookup(2, 1), kMac2);
  EXPECT_EQ(cache.Enqueue(3, Tagged(1), 0),
            ArpEnqueueResult::kQueuedSendRequest);
  EXPECT_EQ(cache.Enqueue(3, Tagged(2), 0),
            ArpEnqueueResult::kDroppedQueueFull);
}

// Random bytes never crash the decoder; a success re-encodes to the same 28
// bytes and carries only valid field values.
TEST(ArpTest, RandomInputProperty) {
  std::mt19937_64 rng(0xa4b);
  int ok = 0;
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> b(rng() % 40);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Make most inputs pass the fixed fields so later checks are reached.
    if (b.size() >= 8 && i % 4 != 0) {
      const uint8_t fixed[] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00};
      std::copy(std::begin(fixed), std::end(fixed), b.begin());
      b[7] &= 0x03;
    }
    auto arp = DecodeArp(b);
    if (!arp.ok()) {
      EXPECT_FALSE(arp.status().message().empty());
      continue;
    }
    ++ok;
    EXPECT_TRUE(arp->op == ArpOp::kRequest || arp->op == ArpOp::kReply);
    EXPECT_FALSE(IsMulticastMac(arp->sender_mac));
    std::vector<uint8_t> out(kArpPacketLen);
    ASSERT_TRUE(EncodeArp(*arp, absl::MakeSpan(out)).ok());
    EXPECT_EQ(out, std::vector<uint8_t>(b.begin(), b.begin() + kArpPacketLen));
    // Answering a random request never fails for its own target.
    if (arp->op == ArpOp::kRequest) {
      EXPECT_TRUE(MakeArpReply(*arp, kMac2, arp->target_ip).ok());
    }
  }
  EXPECT_GT(ok, 1000);
}

}  // namespace
}  // namespace tcpemu
