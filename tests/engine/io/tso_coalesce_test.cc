#include "engine/io/tso_coalesce.h"

#include <cstdint>
#include <random>
#include <vector>

#include "engine/io/gso_split.h"
#include "engine/io/vnet_header.h"
#include "engine/wire/byte_order.h"
#include "engine/wire/checksum.h"
#include "engine/wire/packet.h"
#include "engine/wire/tcp_header.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using wire_internal::Get16;
using wire_internal::Put16;
using wire_internal::Put32;

constexpr uint32_t kSrc = 0x0a070002;  // 10.7.0.2
constexpr uint32_t kDst = 0x0a070001;  // 10.7.0.1
constexpr size_t kEth = 14;
constexpr size_t kIp = 20;
constexpr size_t kTcp = 32;  // with NOP, NOP, timestamps
constexpr size_t kHeaders = kEth + kIp + kTcp;
constexpr size_t kMss = 1448;
constexpr uint8_t kAck = tcp_flags::kAck;

// One segment as the engine's interface hands it to the device: Ethernet,
// IPv4 and TCP headers with complete checksums, then the payload.
struct Seg {
  uint32_t seq = 1000;
  uint16_t id = 7;
  size_t len = kMss;
  uint8_t flags = kAck;
  uint32_t ack = 77;
  uint16_t window = 512;
  uint32_t tsval = 5000;
  uint8_t tos = 0;
  uint16_t sport = 40000;
  uint8_t ihl = 5;
  bool bad_tcp_checksum = false;
  bool bad_ip_checksum = false;
};

uint8_t PayloadByte(uint32_t seq) { return static_cast<uint8_t>(seq * 13 + 5); }

std::vector<uint8_t> Frame(const Seg& s) {
  const size_t ip_len = size_t{s.ihl} * 4;
  const size_t headers = kEth + ip_len + kTcp;
  std::vector<uint8_t> f(headers + s.len);
  for (int i = 0; i < 6; ++i) {
    f[i] = 0x02;
    f[6 + i] = 0x06;
  }
  Put16(&f[12], 0x0800);
  uint8_t* ip = &f[kEth];
  ip[0] = static_cast<uint8_t>(0x40 | s.ihl);
  ip[1] = s.tos;
  Put16(ip + 2, static_cast<uint16_t>(ip_len + kTcp + s.len));
  Put16(ip + 4, s.id);
  Put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  Put32(ip + 12, kSrc);
  Put32(ip + 16, kDst);
  for (size_t i = kIp; i < ip_len; ++i) ip[i] = 1;  // NOP options
  Put16(ip + 10, InternetChecksum(absl::MakeConstSpan(ip, ip_len)));
  if (s.bad_ip_checksum) ip[10] ^= 0x01;
  uint8_t* tcp = ip + ip_len;
  Put16(tcp, s.sport);
  Put16(tcp + 2, 5001);
  Put32(tcp + 4, s.seq);
  Put32(tcp + 8, s.ack);
  tcp[12] = (kTcp / 4) << 4;
  tcp[13] = s.flags;
  Put16(tcp + 14, s.window);
  tcp[20] = 1;
  tcp[21] = 1;
  tcp[22] = 8;
  tcp[23] = 10;
  Put32(tcp + 24, s.tsval);
  Put32(tcp + 28, 99);
  for (size_t i = 0; i < s.len; ++i) {
    tcp[kTcp + i] = PayloadByte(static_cast<uint32_t>(s.seq + i));
  }
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, kSrc, kDst, 6, static_cast<uint16_t>(kTcp + s.len));
  acc.Add(absl::MakeConstSpan(tcp, kTcp + s.len));
  Put16(tcp + 16, acc.Finish());
  if (s.bad_tcp_checksum) tcp[kTcp] ^= 0x40;  // a flipped payload bit
  return f;
}

// The payload in several slices of odd sizes, as a link's queue may hold it.
Payload Sliced(absl::Span<const uint8_t> bytes) {
  Payload p;
  size_t off = 0;
  size_t piece = 333;
  while (off < bytes.size()) {
    const size_t n = std::min(piece, bytes.size() - off);
    p.Append(Payload::Copy(bytes.subspan(off, n)));
    off += n;
    piece += 2;
  }
  return p;
}

bool Offer(TsoCoalescer& c, const std::vector<uint8_t>& frame) {
  const size_t ip_len = size_t{static_cast<uint8_t>(frame[kEth] & 0x0f)} * 4;
  const size_t headers = kEth + ip_len + kTcp;
  return c.Append(absl::MakeConstSpan(frame).subspan(0, headers),
                  Sliced(absl::MakeConstSpan(frame).subspan(headers)));
}

std::vector<uint8_t> TakeAll(TsoCoalescer& c) {
  absl::Span<const uint8_t> t = c.Take();
  return std::vector<uint8_t>(t.begin(), t.end());
}

// What the kernel's GSO makes of a written frame (virtio-net header first):
// the frames it stands for.
std::vector<std::vector<uint8_t>> Cut(std::vector<uint8_t> written) {
  absl::StatusOr<VnetHeader> h = DecodeVnetHeader(written);
  EXPECT_TRUE(h.ok());
  std::vector<std::vector<uint8_t>> out;
  if (!h.ok()) return out;
  GsoSplitter s;
  absl::Status st =
      s.Start(*h, absl::MakeSpan(written).subspan(kVnetHeaderLen));
  EXPECT_TRUE(st.ok()) << st;
  std::vector<uint8_t> buf(kEth + 65535);
  while (true) {
    absl::StatusOr<size_t> n = s.Next(absl::MakeSpan(buf));
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.emplace_back(buf.begin(), buf.begin() + *n);
  }
  return out;
}

TEST(TsoCoalesceTest, MergesRunIntoOneTsoFrameWithConsistentHeaders) {
  std::vector<std::vector<uint8_t>> sent;
  TsoCoalescer c;
  for (int i = 0; i < 5; ++i) {
    Seg s;
    s.seq = static_cast<uint32_t>(0xfffff000u + i * kMss);  // wraps
    s.id = static_cast<uint16_t>(0xfffe + i);               // wraps
    s.len = i == 4 ? 500 : kMss;
    s.flags = i == 4 ? (kAck | tcp_flags::kPsh) : kAck;
    sent.push_back(Frame(s));
    ASSERT_TRUE(Offer(c, sent.back())) << "segment " << i;
  }
  EXPECT_EQ(c.segments(), 5u);
  std::vector<uint8_t> w = TakeAll(c);
  EXPECT_FALSE(c.holding());
  EXPECT_EQ(c.last_taken_segments(), 5u);
  ASSERT_EQ(w.size(), kVnetHeaderLen + kHeaders + 4 * kMss + 500);

  absl::StatusOr<VnetHeader> h = DecodeVnetHeader(w);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->flags, kVnetNeedsCsum);
  EXPECT_EQ(h->gso_type, kVnetGsoTcpV4);
  EXPECT_EQ(h->gso_size, kMss);
  EXPECT_EQ(h->hdr_len, kHeaders);
  EXPECT_EQ(h->csum_start, kEth + kIp);
  EXPECT_EQ(h->csum_offset, 16);

  // One IPv4 packet over all of it, the first segment's id, its checksum
  // valid; PSH from the last segment.
  const absl::Span<uint8_t> frame = absl::MakeSpan(w).subspan(kVnetHeaderLen);
  const uint8_t* ip = frame.data() + kEth;
  EXPECT_EQ(Get16(ip + 2), kIp + kTcp + 4 * kMss + 500);
  EXPECT_EQ(Get16(ip + 4), 0xfffe);
  EXPECT_EQ(InternetChecksum(absl::MakeConstSpan(ip, kIp)), 0);
  EXPECT_EQ(ip[kIp + 13], kAck | tcp_flags::kPsh);

  // The checksum field holds the pseudo-header's sum: completing it (as a
  // device that checksums would) gives a valid TCP segment of it all.
  std::vector<uint8_t> completed(frame.begin(), frame.end());
  GsoSplitter complete;
  VnetHeader csum_only = *h;
  csum_only.gso_type = kVnetGsoNone;
  ASSERT_TRUE(complete.Start(csum_only, absl::MakeSpan(completed)).ok());
  absl::StatusOr<ParsedTcpPacket> whole =
      ParseTcpPacketBytes(absl::MakeConstSpan(completed).subspan(kEth));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(whole->checksum_ok);
  EXPECT_EQ(whole->payload.size(), 4 * kMss + 500);

  // The kernel's cut gives back exactly the segments sent.
  EXPECT_EQ(Cut(w), sent);
}

TEST(TsoCoalesceTest, OneSegmentComesBackAsItWasWithAnEmptyHeader) {
  TsoCoalescer c;
  const std::vector<uint8_t> f = Frame(Seg{});
  ASSERT_TRUE(Offer(c, f));
  std::vector<uint8_t> w = TakeAll(c);
  ASSERT_EQ(w.size(), kVnetHeaderLen + f.size());
  EXPECT_EQ(*DecodeVnetHeader(w), VnetHeader{});
  EXPECT_EQ(std::vector<uint8_t>(w.begin() + kVnetHeaderLen, w.end()), f);
  EXPECT_TRUE(TakeAll(c).empty());
}

// A segment the kernel's cut of the held frame could not give back, or one
// whose checksum is wrong, does not join; the held frame stays as it was.
TEST(TsoCoalesceTest, RefusesWhatTheCutWouldNotGiveBack) {
  const Seg first;
  Seg next;
  next.seq = first.seq + kMss;
  next.id = first.id + 1;
  struct Case {
    const char* what;
    Seg seg;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto change) {
    Seg s = next;
    change(s);
    cases.push_back({what, s});
  };
  add("a gap in sequence", [](Seg& s) { s.seq += 1; });
  add("a resent segment", [](Seg& s) { s.seq -= kMss; });
  add("an IPv4 id not one past", [](Seg& s) { s.id += 1; });
  add("another ACK number", [](Seg& s) { s.ack += 1; });
  add("another window", [](Seg& s) { s.window += 1; });
  add("another timestamp", [](Seg& s) { s.tsval += 1; });
  add("another TOS (a CE mark)", [](Seg& s) { s.tos = 3; });
  add("another port", [](Seg& s) { s.sport += 1; });
  add("more than gso_size", [](Seg& s) { s.len = kMss + 1; });
  add("ECE where the first had none",
      [](Seg& s) { s.flags |= tcp_flags::kEce; });
  add("CWR", [](Seg& s) { s.flags |= tcp_flags::kCwr; });
  add("URG", [](Seg& s) { s.flags |= tcp_flags::kUrg; });
  add("RST", [](Seg& s) { s.flags |= tcp_flags::kRst; });
  add("a bad TCP checksum", [](Seg& s) { s.bad_tcp_checksum = true; });
  add("a bad IPv4 checksum", [](Seg& s) { s.bad_ip_checksum = true; });
  add("no payload", [](Seg& s) { s.len = 0; });
  for (const Case& k : cases) {
    TsoCoalescer c;
    ASSERT_TRUE(Offer(c, Frame(first)));
    EXPECT_FALSE(Offer(c, Frame(k.seg))) << k.what;
    EXPECT_EQ(c.segments(), 1u) << k.what;
    const std::vector<uint8_t> w = TakeAll(c);
    EXPECT_EQ(std::vector<uint8_t>(w.begin() + kVnetHeaderLen, w.end()),
              Frame(first))
        << k.what;
  }
  // The control: unchanged, it joins.
  TsoCoalescer c;
  ASSERT_TRUE(Offer(c, Frame(first)));
  EXPECT_TRUE(Offer(c, Frame(next)));
}

TEST(TsoCoalesceTest, NeverMergesSegmentsLinuxWouldNotCutOrThatAreBroken) {
  struct Case {
    const char* what;
    Seg seg;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto change) {
    Seg s;
    change(s);
    cases.push_back({what, s});
  };
  add("SYN", [](Seg& s) { s.flags |= tcp_flags::kSyn; });
  add("RST", [](Seg& s) { s.flags |= tcp_flags::kRst; });
  add("no ACK", [](Seg& s) { s.flags = tcp_flags::kPsh; });
  add("URG", [](Seg& s) { s.flags |= tcp_flags::kUrg; });
  add("CWR", [](Seg& s) { s.flags |= tcp_flags::kCwr; });
  add("no payload", [](Seg& s) { s.len = 0; });
  add("IPv4 options", [](Seg& s) { s.ihl = 6; });
  add("a bad TCP checksum", [](Seg& s) { s.bad_tcp_checksum = true; });
  add("a bad IPv4 checksum", [](Seg& s) { s.bad_ip_checksum = true; });
  for (const Case& k : cases) {
    TsoCoalescer c;
    EXPECT_FALSE(Offer(c, Frame(k.seg))) << k.what;
    EXPECT_FALSE(c.holding()) << k.what;
  }
  // Not Ethernet/IPv4/TCP at all.
  TsoCoalescer c;
  std::vector<uint8_t> arp = Frame(Seg{});
  Put16(&arp[12], 0x0806);
  EXPECT_FALSE(Offer(c, arp));
  std::vector<uint8_t> udp = Frame(Seg{});
  udp[kEth + 9] = 17;
  EXPECT_FALSE(Offer(c, udp));
  EXPECT_FALSE(c.holding());
}

TEST(TsoCoalesceTest, PshFinOrAShortSegmentEndsTheFrame) {
  for (const uint8_t ending : {tcp_flags::kPsh, tcp_flags::kFin}) {
    TsoCoalescer c;
    Seg s;
    ASSERT_TRUE(Offer(c, Frame(s)));
    s.seq += kMss;
    s.id += 1;
    s.flags = kAck | ending;
    ASSERT_TRUE(Offer(c, Frame(s))) << int{ending};
    s.seq += kMss;
    s.id += 1;
    s.flags = kAck;
    EXPECT_FALSE(Offer(c, Frame(s))) << int{ending};
    EXPECT_EQ(c.segments(), 2u);
  }
  TsoCoalescer c;
  Seg s;
  ASSERT_TRUE(Offer(c, Frame(s)));
  s.seq += kMss;
  s.id += 1;
  s.len = 100;
  ASSERT_TRUE(Offer(c, Frame(s)));
  s.seq += 100;
  s.id += 1;
  EXPECT_FALSE(Offer(c, Frame(s)));
  EXPECT_EQ(c.segments(), 2u);
}

TEST(TsoCoalesceTest, StaysWithinOneIpv4Packet) {
  // 45 segments of 1448 bytes behind 52 header bytes fit 65535; 46 do not.
  TsoCoalescer c;
  Seg s;
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE(Offer(c, Frame(s))) << "segment " << i;
    s.seq += kMss;
    s.id += 1;
  }
  EXPECT_FALSE(Offer(c, Frame(s)));
  std::vector<uint8_t> w = TakeAll(c);
  EXPECT_EQ(Get16(w.data() + kVnetHeaderLen + kEth + 2),
            kIp + kTcp + 45 * kMss);
  EXPECT_EQ(Cut(w).size(), 45u);
  // A full frame taken, the segment starts the next one.
  EXPECT_TRUE(Offer(c, Frame(s)));
}

// Property: whatever the engine sends, what a device built on the coalescer
// writes, cut by the kernel's rules (GsoSplitter), is exactly what was sent,
// frame for frame, and runs of full-sized segments are coalesced.
TEST(TsoCoalesceTest, WrittenFramesCutBackToExactlyTheSegmentsSent) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto chance = [&](int percent) {
      return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
    };
    // Two flows on one device, ids from one counter, as a link numbers them.
    Seg flow[2];
    flow[1].sport = 40001;
    flow[1].seq = 900000;
    uint16_t id = static_cast<uint16_t>(rng());
    std::vector<std::vector<uint8_t>> sent;
    for (int i = 0; i < 300; ++i) {
      Seg& f = flow[chance(10) ? 1 : 0];
      Seg s = f;
      s.id = id++;
      s.len = chance(85) ? kMss
                         : std::uniform_int_distribution<size_t>(
                               chance(10) ? 0 : 1, kMss)(rng);
      s.flags = kAck;
      if (chance(5)) s.flags |= tcp_flags::kPsh;
      if (chance(2)) s.flags |= tcp_flags::kFin;
      if (chance(1)) s.flags |= tcp_flags::kCwr;
      if (chance(3)) s.bad_tcp_checksum = true;
      if (chance(1)) s.bad_ip_checksum = true;
      if (chance(2)) s.tos = 3;
      if (chance(3)) s.seq -= kMss;  // a resend
      if (chance(4)) ++f.tsval;
      if (chance(2)) f.window = static_cast<uint16_t>(f.window + 1);
      if (chance(2)) ++f.ack;
      if (chance(1)) ++id;  // a packet that went elsewhere
      sent.push_back(Frame(s));
      f.seq = s.seq + static_cast<uint32_t>(s.len);
    }
    // The device's rule: join, or write what is held and try again, or
    // write the segment alone.
    TsoCoalescer c;
    std::vector<std::vector<uint8_t>> written;
    for (const std::vector<uint8_t>& f : sent) {
      if (Offer(c, f)) continue;
      if (c.holding()) {
        written.push_back(TakeAll(c));
        if (Offer(c, f)) continue;
      }
      std::vector<uint8_t> plain(kVnetHeaderLen);
      plain.insert(plain.end(), f.begin(), f.end());
      written.push_back(plain);
    }
    if (c.holding()) written.push_back(TakeAll(c));

    std::vector<std::vector<uint8_t>> cut;
    size_t tso = 0;
    for (const std::vector<uint8_t>& w : written) {
      absl::StatusOr<VnetHeader> h = DecodeVnetHeader(w);
      ASSERT_TRUE(h.ok());
      if (h->gso_type != kVnetGsoNone) {
        ++tso;
        const uint8_t* ip = w.data() + kVnetHeaderLen + kEth;
        EXPECT_EQ(Get16(ip + 2), w.size() - kVnetHeaderLen - kEth);
        EXPECT_EQ(InternetChecksum(absl::MakeConstSpan(ip, kIp)), 0);
        EXPECT_LE(w.size() - kVnetHeaderLen - kEth, 65535u);
        EXPECT_EQ(h->flags, kVnetNeedsCsum);
      } else {
        EXPECT_EQ(*h, VnetHeader{});
      }
      for (std::vector<uint8_t>& f : Cut(w)) cut.push_back(std::move(f));
    }
    ASSERT_EQ(cut.size(), sent.size()) << "seed " << seed;
    for (size_t i = 0; i < sent.size(); ++i) {
      ASSERT_EQ(cut[i], sent[i]) << "seed " << seed << ", frame " << i;
    }
    EXPECT_GT(tso, 0u) << "seed " << seed;
    EXPECT_LT(written.size(), sent.size()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace tcpemu
