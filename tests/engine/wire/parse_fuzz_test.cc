// Property test for the wire parsers: random and mutated inputs never crash
// and always end in either a parse or an error; when a parse succeeds its
// results respect the header invariants. Seeded, so failures reproduce.
#include <cstdint>
#include <random>
#include <vector>

#include "engine/wire/checksum.h"
#include "engine/wire/packet.h"
#include "engine/wire/tcp_header.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

constexpr int kRandomInputs = 200000;
constexpr int kMutatedInputs = 50000;

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Gives random bytes a plausible IPv4 header (version 4, IHL 5, protocol TCP,
// total_length = size, right checksum) so that the TCP decoder and the
// option parser see the random part instead of failing at the IP layer.
void MakeIpPlausible(std::vector<uint8_t>& b) {
  if (b.size() < 20) return;
  b[0] = 0x45;
  b[2] = static_cast<uint8_t>(b.size() >> 8);
  b[3] = static_cast<uint8_t>(b.size());
  b[6] &= 0x40;  // DF at most: no fragment
  b[7] = 0;
  b[9] = kIpProtoTcp;
  b[10] = b[11] = 0;
  const uint16_t c = InternetChecksum({b.data(), 20});
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
}

void CheckInvariants(const TcpHeader& h, size_t header_len) {
  EXPECT_GE(header_len, kTcpMinHeaderLen);
  EXPECT_LE(header_len, kTcpMaxHeaderLen);
  EXPECT_EQ(header_len % 4, 0u);
  EXPECT_LE(h.options.sack_count, 4);
  if (h.options.window_scale) {
    EXPECT_LE(*h.options.window_scale, 14);
  }
}

// Parses `bytes` contiguously and as a Packet split at `split`; both must
// agree, and a success must be self-consistent.
void ParseBoth(const std::vector<uint8_t>& bytes, size_t split) {
  auto flat = ParseTcpPacketBytes(bytes);
  Packet p;
  split = std::min({split, bytes.size(), Packet::kMaxHeaderBytes});
  std::copy(bytes.begin(), bytes.begin() + split, p.header.begin());
  p.header_len = static_cast<uint8_t>(split);
  p.payload = Payload::Copy({bytes.data() + split, bytes.size() - split});
  auto sliced = ParseTcpPacket(p);

  ASSERT_EQ(flat.ok(), sliced.ok());
  if (!flat.ok()) {
    EXPECT_EQ(flat.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(flat.status().message().empty());
    EXPECT_EQ(flat.status(), sliced.status());
    return;
  }
  EXPECT_EQ(flat->tcp, sliced->tcp);
  EXPECT_EQ(flat->ip.total_length, sliced->ip.total_length);
  EXPECT_EQ(flat->checksum_ok, sliced->checksum_ok);
  EXPECT_EQ(flat->payload, sliced->payload);
  EXPECT_LE(flat->ip.total_length, bytes.size());
  size_t tcp_len = 0;
  auto tcp = DecodeTcpHeader(
      absl::MakeConstSpan(bytes).subspan(flat->ip.header_length), &tcp_len);
  ASSERT_TRUE(tcp.ok());
  CheckInvariants(*tcp, tcp_len);
  EXPECT_EQ(flat->payload.size(),
            flat->ip.total_length - flat->ip.header_length - tcp_len);
}

TEST(ParseFuzzTest, RandomBytes) {
  std::mt19937_64 rng(0x7c9e0001);
  int parsed = 0, tcp_parsed = 0;
  for (int i = 0; i < kRandomInputs; ++i) {
    std::vector<uint8_t> b = RandomBytes(rng, rng() % 160);
    if (i % 2 == 0) MakeIpPlausible(b);

    size_t tcp_len = 0;
    auto tcp = DecodeTcpHeader(b, &tcp_len);
    if (tcp.ok()) {
      ++tcp_parsed;
      CheckInvariants(*tcp, tcp_len);
      EXPECT_LE(tcp_len, b.size());
    } else {
      ASSERT_EQ(tcp.status().code(), absl::StatusCode::kInvalidArgument);
    }

    ParseBoth(b, rng() % 130);
    if (HasFailure()) {
      FAIL() << "input " << i;
    }
    if (ParseTcpPacketBytes(b).ok()) ++parsed;
  }
  // Random option bytes are mostly malformed, but the plausible half must
  // still reach a full parse often enough to exercise that path (about 2.5%
  // with this seed).
  EXPECT_GT(parsed, kRandomInputs / 100);
  EXPECT_GT(tcp_parsed, kRandomInputs / 20);
}

TEST(ParseFuzzTest, MutatedValidPackets) {
  std::mt19937_64 rng(0x7c9e0002);
  int ok_with_bad_checksum = 0;
  for (int i = 0; i < kMutatedInputs; ++i) {
    TcpHeader t;
    t.seq = Seq(static_cast<uint32_t>(rng()));
    t.flags = static_cast<uint8_t>(rng());
    if (rng() % 2) t.options.mss = static_cast<uint16_t>(rng());
    if (rng() % 2) t.options.window_scale = static_cast<uint8_t>(rng() % 15);
    t.options.sack_permitted = rng() % 2;
    if (rng() % 2) t.options.timestamp = TcpTimestamp{1, 2};
    t.options.sack_count = static_cast<uint8_t>(rng() % 3);
    auto built = BuildTcpPacket(Ipv4Header{}, t,
                                Payload::Copy(RandomBytes(rng, rng() % 64)));
    ASSERT_TRUE(built.ok()) << built.status();
    std::vector<uint8_t> b(built->header.begin(),
                           built->header.begin() + built->header_len);
    std::vector<uint8_t> pay(built->payload.size());
    built->payload.CopyTo(absl::MakeSpan(pay));
    b.insert(b.end(), pay.begin(), pay.end());

    switch (rng() % 4) {
      case 0:  // flip a few bits
        for (int k = 1 + rng() % 4; k > 0; --k) {
          const size_t bit = rng() % (b.size() * 8);
          b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        }
        break;
      case 1:  // overwrite a TCP option or header byte, keep IP valid
        b[20 + rng() % (b.size() - 20)] = static_cast<uint8_t>(rng());
        break;
      case 2:  // truncate
        b.resize(rng() % b.size());
        break;
      default:  // random data offset, IP header kept valid
        b[32] = static_cast<uint8_t>((rng() % 16) << 4);
        break;
    }
    ParseBoth(b, rng() % 2 ? built->header_len : rng() % 130);
    auto r = ParseTcpPacketBytes(b);
    if (r.ok() && !r->checksum_ok) ++ok_with_bad_checksum;
    size_t len = 0;
    if (b.size() > 20) {
      auto tcp = DecodeTcpHeader(absl::MakeConstSpan(b).subspan(20), &len);
      if (tcp.ok()) CheckInvariants(*tcp, len);
    }
    if (HasFailure()) {
      FAIL() << "input " << i;
    }
  }
  EXPECT_GT(ok_with_bad_checksum, kMutatedInputs / 10);
}

}  // namespace
}  // namespace tcpemu
