// Tests for the TCP header and option codec (RFC 9293 3.1, RFC 7323,
// RFC 2018): round trips of every option combination, the Linux-like layout,
// and rejection of each malformed option with its name in the message.
#include "engine/wire/tcp_header.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tcpemu {
namespace {

using ::testing::HasSubstr;

TcpHeader BaseHeader() {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 80;
  h.seq = Seq(0xfedcba98u);
  h.ack = Seq(0x01234567u);
  h.flags = tcp_flags::kAck | tcp_flags::kPsh;
  h.window = 65535;
  h.checksum = 0xabcd;
  h.urgent = 7;
  return h;
}

std::vector<uint8_t> Encode(const TcpHeader& h) {
  std::vector<uint8_t> out(kTcpMaxHeaderLen, 0xee);
  auto n = EncodeTcpHeader(h, absl::MakeSpan(out));
  EXPECT_TRUE(n.ok()) << n.status();
  out.resize(n.ok() ? *n : 0);
  return out;
}

// A header whose options are exactly `opts` (padded with EOL to 4 bytes).
std::vector<uint8_t> WithOptions(std::vector<uint8_t> opts) {
  while (opts.size() % 4 != 0) opts.push_back(0);
  std::vector<uint8_t> b = Encode(BaseHeader());
  b[12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
  b.insert(b.end(), opts.begin(), opts.end());
  return b;
}

TEST(TcpHeaderTest, FixedFieldsLayoutAndRoundTrip) {
  TcpHeader h = BaseHeader();
  h.flags = 0xff;  // every flag, including ECE and CWR
  std::vector<uint8_t> b = Encode(h);
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(b, (std::vector<uint8_t>{0x9c, 0x40, 0x00, 0x50, 0xfe, 0xdc, 0xba,
                                     0x98, 0x01, 0x23, 0x45, 0x67, 0x50, 0xff,
                                     0xff, 0xff, 0xab, 0xcd, 0x00, 0x07}));
  size_t len = 0;
  auto d = DecodeTcpHeader(b, &len);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(len, 20u);
  EXPECT_EQ(*d, h);
  EXPECT_TRUE(d->has(tcp_flags::kCwr));
  EXPECT_TRUE(d->has(tcp_flags::kFin));
}

TEST(TcpHeaderTest, EveryOptionCombinationRoundTrips) {
  int encoded = 0, rejected = 0;
  for (int mss = 0; mss < 2; ++mss) {
    for (int ws : {-1, 0, 7, 14}) {
      for (int sack_ok = 0; sack_ok < 2; ++sack_ok) {
        for (int ts = 0; ts < 2; ++ts) {
          for (int blocks = 0; blocks <= 4; ++blocks) {
            TcpHeader h = BaseHeader();
            if (mss) h.options.mss = 1460;
            if (ws >= 0) h.options.window_scale = static_cast<uint8_t>(ws);
            h.options.sack_permitted = sack_ok;
            if (ts) h.options.timestamp = TcpTimestamp{0x11223344, 0xa0b0c0d0};
            h.options.sack_count = static_cast<uint8_t>(blocks);
            for (int i = 0; i < blocks; ++i) {
              h.options.sack[i] = {Seq(0xfffffff0u + 1000u * i),
                                   Seq(0xfffffff0u + 1000u * i + 500)};
            }
            const size_t opt_bytes = (mss ? 4 : 0) +
                                     (ts        ? 12
                                      : sack_ok ? 4
                                                : 0) +
                                     (ws >= 0 ? 4 : 0) +
                                     (blocks ? 4 + 8 * blocks : 0);
            std::vector<uint8_t> out(kTcpMaxHeaderLen);
            auto n = EncodeTcpHeader(h, absl::MakeSpan(out));
            if (opt_bytes > 40) {
              ++rejected;
              EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
              EXPECT_THAT(n.status().message(), HasSubstr("at most 40"));
              continue;
            }
            ++encoded;
            ASSERT_TRUE(n.ok()) << n.status();
            EXPECT_EQ(*n, 20 + opt_bytes);
            EXPECT_EQ(*n, TcpHeaderLength(h.options));
            EXPECT_EQ(*n % 4, 0u);
            EXPECT_EQ(out[12] >> 4, *n / 4);
            size_t len = 0;
            auto d = DecodeTcpHeader(absl::MakeSpan(out).subspan(0, *n), &len);
            ASSERT_TRUE(d.ok()) << d.status();
            EXPECT_EQ(len, *n);
            EXPECT_EQ(*d, h) << "mss " << mss << " ws " << ws << " sack_ok "
                             << sack_ok << " ts " << ts << " blocks " << blocks;
          }
        }
      }
    }
  }
  EXPECT_GT(encoded, 100);
  EXPECT_GT(rejected, 0);
}

TEST(TcpHeaderTest, LinuxSynLayout) {
  // A Linux SYN: MSS, SACK-permitted packed before the timestamps, NOP +
  // window scale.
  TcpHeader h = BaseHeader();
  h.flags = tcp_flags::kSyn;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamp = TcpTimestamp{0x01020304, 0};
  h.options.window_scale = 7;
  std::vector<uint8_t> b = Encode(h);
  ASSERT_EQ(b.size(), 40u);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
                                  3, 4, 0,    0,    0, 0, 1, 3,  3, 7}));
}

TEST(TcpHeaderTest, LinuxLayoutWithoutTimestamps) {
  TcpHeader h = BaseHeader();
  h.options.mss = 536;
  h.options.sack_permitted = true;
  h.options.window_scale = 0;
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{2, 4, 0x02, 0x18, 1, 1, 4, 2, 1, 3, 3, 0}));
}

TEST(TcpHeaderTest, LinuxAckWithTimestampAndSack) {
  TcpHeader h = BaseHeader();
  h.options.timestamp = TcpTimestamp{5, 6};
  h.options.sack_count = 1;
  h.options.sack[0] = {Seq(0x100), Seq(0x200)};
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(std::vector<uint8_t>(b.begin() + 20, b.end()),
            (std::vector<uint8_t>{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6,
                                  1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0}));
}

TcpHeader FreeBsdHeader() {
  TcpHeader h = BaseHeader();
  h.options.layout = OptionLayout::kFreeBsd;
  return h;
}

std::vector<uint8_t> OptionBytesOf(const std::vector<uint8_t>& b) {
  return std::vector<uint8_t>(b.begin() + 20, b.end());
}

TEST(TcpHeaderTest, FreeBsdSynLayout) {
  // FreeBSD's tcp_addoptions: MSS, NOP + window scale, SACK-permitted,
  // timestamps: 20 bytes where Linux takes the same.
  TcpHeader h = FreeBsdHeader();
  h.flags = tcp_flags::kSyn;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamp = TcpTimestamp{0x01020304, 0};
  h.options.window_scale = 6;
  std::vector<uint8_t> b = Encode(h);
  ASSERT_EQ(b.size(), 40u);
  EXPECT_EQ(OptionBytesOf(b),
            (std::vector<uint8_t>{2, 4,  0x05, 0xb4, 1, 3, 3, 6, 4, 2,
                                  8, 10, 1,    2,    3, 4, 0, 0, 0, 0}));
}

TEST(TcpHeaderTest, FreeBsdMssAndSackPermittedPadWithEol) {
  TcpHeader h = FreeBsdHeader();
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(OptionBytesOf(b),
            (std::vector<uint8_t>{2, 4, 0x05, 0xb4, 4, 2, 0, 0}));
}

TEST(TcpHeaderTest, FreeBsdTimestampsAlignedWithNops) {
  TcpHeader h = FreeBsdHeader();
  h.options.mss = 536;
  h.options.window_scale = 3;
  h.options.timestamp = TcpTimestamp{5, 6};
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(OptionBytesOf(b),
            (std::vector<uint8_t>{2, 4,  0x02, 0x18, 1, 3, 3, 3, 1, 1,
                                  8, 10, 0,    0,    0, 5, 0, 0, 0, 6}));
}

TEST(TcpHeaderTest, FreeBsdSackWithoutTimestampsIsShorterThanLinux) {
  // SACK-permitted (a SYN's) and a SACK block without timestamps: FreeBSD
  // needs no NOPs between them, Linux pads each.
  TcpHeader h = FreeBsdHeader();
  h.options.sack_permitted = true;
  h.options.sack_count = 1;
  h.options.sack[0] = {Seq(0x100), Seq(0x200)};
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(OptionBytesOf(b),
            (std::vector<uint8_t>{4, 2, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0}));
  EXPECT_EQ(TcpHeaderLength(h.options), 32u);
  TcpHeader linux_h = h;
  linux_h.options.layout = OptionLayout::kLinux;
  EXPECT_EQ(TcpHeaderLength(linux_h.options), 36u);
}

TEST(TcpHeaderTest, FreeBsdAckWithTimestampAndSackMatchesLinux) {
  TcpHeader h = FreeBsdHeader();
  h.options.timestamp = TcpTimestamp{5, 6};
  h.options.sack_count = 1;
  h.options.sack[0] = {Seq(0x100), Seq(0x200)};
  std::vector<uint8_t> b = Encode(h);
  EXPECT_EQ(OptionBytesOf(b),
            (std::vector<uint8_t>{1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6,
                                  1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0}));
  TcpHeader linux_h = h;
  linux_h.options.layout = OptionLayout::kLinux;
  EXPECT_EQ(b, Encode(linux_h));
}

TEST(TcpHeaderTest, FreeBsdEveryOptionCombinationRoundTrips) {
  // Every combination of MSS, window scale, SACK-permitted and timestamps,
  // with 0..3 SACK blocks: the length TcpHeaderLength predicts is the one
  // encoded, and the header decodes back to what was encoded.
  int encoded = 0, rejected = 0;
  for (int bits = 0; bits < 16; ++bits) {
    for (int blocks = 0; blocks <= 3; ++blocks) {
      TcpHeader h = FreeBsdHeader();
      if (bits & 1) h.options.mss = 1460;
      if (bits & 2) h.options.window_scale = 9;
      h.options.sack_permitted = (bits & 4) != 0;
      if (bits & 8) h.options.timestamp = TcpTimestamp{0x11223344, 0xa0b0c0d0};
      h.options.sack_count = static_cast<uint8_t>(blocks);
      for (int i = 0; i < blocks; ++i) {
        h.options.sack[i] = {Seq(0xfffffff0u + 1000u * i),
                             Seq(0xfffffff0u + 1000u * i + 500)};
      }
      SCOPED_TRACE(testing::Message()
                   << "options " << bits << " blocks " << blocks);
      // Bytes the encoder does not write would spoil the decode.
      std::vector<uint8_t> out(kTcpMaxHeaderLen, 0xee);
      auto n = EncodeTcpHeader(h, absl::MakeSpan(out));
      if (!n.ok()) {
        ++rejected;
        EXPECT_THAT(n.status().message(), HasSubstr("at most 40"));
        EXPECT_GT(TcpHeaderLength(h.options), 20u + 32u);
        continue;
      }
      ++encoded;
      EXPECT_EQ(*n, TcpHeaderLength(h.options));
      EXPECT_EQ(*n % 4, 0u);
      EXPECT_EQ(out[12] >> 4, *n / 4);
      size_t len = 0;
      auto d = DecodeTcpHeader(absl::MakeSpan(out).subspan(0, *n), &len);
      ASSERT_TRUE(d.ok()) << d.status();
      EXPECT_EQ(len, *n);
      d->options.layout = OptionLayout::kFreeBsd;  // Decode reads either
      EXPECT_EQ(*d, h);
    }
  }
  // Three blocks with timestamps and MSS or window scale overflow the 40
  // option bytes.
  EXPECT_EQ(rejected, 6);
  EXPECT_EQ(encoded, 58);
}

TEST(TcpHeaderTest, EncodeRejectsOutOfRange) {
  std::vector<uint8_t> out(kTcpMaxHeaderLen);
  TcpHeader h = BaseHeader();
  h.options.window_scale = 15;
  auto n = EncodeTcpHeader(h, absl::MakeSpan(out));
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(n.status().message(),
              HasSubstr("window scale 15 out of range [0, 14]"));

  h = BaseHeader();
  h.options.sack_count = 5;
  n = EncodeTcpHeader(h, absl::MakeSpan(out));
  EXPECT_THAT(n.status().message(),
              HasSubstr("sack block count 5 out of range [0, 4]"));

  h = BaseHeader();
  h.options.mss = 1000;
  std::vector<uint8_t> small(23);
  n = EncodeTcpHeader(h, absl::MakeSpan(small));
  EXPECT_THAT(n.status().message(), HasSubstr("too small (need 24)"));

  // Too many options for 40 bytes: TcpHeaderLength stays within 60.
  h = BaseHeader();
  h.options.mss = 1000;
  h.options.timestamp = TcpTimestamp{};
  h.options.sack_count = 4;
  EXPECT_EQ(TcpHeaderLength(h.options), kTcpMaxHeaderLen);
  n = EncodeTcpHeader(h, absl::MakeSpan(out));
  EXPECT_THAT(n.status().message(), HasSubstr("tcp options need 52 bytes"));
}

TEST(TcpHeaderTest, WindowScaleAbove14IsClampedOnDecode) {
  auto d = DecodeTcpHeader(WithOptions({3, 3, 15}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->options.window_scale, 14);
  d = DecodeTcpHeader(WithOptions({3, 3, 255}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->options.window_scale, 14);
}

TEST(TcpHeaderTest, UnknownOptionsAreSkipped) {
  // Kind 30 (MPTCP) with 6 bytes, kind 253 (experimental) with 2 bytes, then
  // MSS.
  auto d = DecodeTcpHeader(
      WithOptions({30, 6, 0xaa, 0xbb, 0xcc, 0xdd, 253, 2, 2, 4, 0x05, 0xb4}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->options.mss, 1460);
  EXPECT_FALSE(d->options.window_scale.has_value());
}

TEST(TcpHeaderTest, NopsAnywhereAndEolEndsOptions) {
  auto d =
      DecodeTcpHeader(WithOptions({1, 1, 1, 2, 4, 0x01, 0x00, 1, 3, 3, 2}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->options.mss, 256);
  EXPECT_EQ(d->options.window_scale, 2);

  // After EOL the rest is padding, even if it looks like a malformed option.
  d = DecodeTcpHeader(WithOptions({2, 4, 0x01, 0x00, 0, 2, 1, 99}));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->options.mss, 256);
}

TEST(TcpHeaderTest, DecodedSackBlocks) {
  auto d =
      DecodeTcpHeader(WithOptions({1, 1, 5,    18,   0,    0,    0, 1, 0, 0,
                                   0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9}));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->options.sack_count, 2);
  EXPECT_EQ(d->options.sack[0], (SackBlock{Seq(1), Seq(2)}));
  EXPECT_EQ(d->options.sack[1], (SackBlock{Seq(0xffffffffu), Seq(9)}));
}

struct Malformed {
  std::vector<uint8_t> options;
  std::string message;
};

TEST(TcpHeaderTest, MalformedOptionsAreRejectedNamingTheOption) {
  const Malformed cases[] = {
      {{2, 3, 5}, "tcp option mss length 3 invalid (must be 4)"},
      {{2, 1}, "tcp option mss length 1 invalid (must be >= 2)"},
      {{2, 0}, "tcp option mss length 0 invalid (must be >= 2)"},
      {{3, 4, 1, 1}, "tcp option window scale length 4 invalid (must be 3)"},
      {{3, 2}, "tcp option window scale length 2 invalid (must be 3)"},
      {{4, 3, 0}, "tcp option sack-permitted length 3 invalid (must be 2)"},
      {{8, 8, 0, 0, 0, 0, 0, 0}, "tcp option timestamps length 8 invalid"},
      {{5, 2}, "tcp option sack length 2 invalid (must be 2+8n, n in [1, 4])"},
      {{5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "tcp option sack length 11 invalid"},
      {{30, 1}, "tcp option kind 30 length 1 invalid"},
      // Runs past the end: 4 option bytes, MSS starting at the third.
      {{1, 1, 2, 4},
       "tcp option mss length 4 runs past the header end "
       "(2 bytes left)"},
      {{1, 1, 1, 8}, "tcp option timestamps has no length byte"},
      {{8, 40, 0, 0}, "tcp option timestamps length 40 runs past"},
      {{99, 200, 0, 0}, "tcp option kind 99 length 200 runs past"},
  };
  for (const Malformed& c : cases) {
    std::vector<uint8_t> b = WithOptions(c.options);
    auto d = DecodeTcpHeader(b);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_THAT(d.status().message(), HasSubstr(c.message));
  }
}

TEST(TcpHeaderTest, OptionsLimitedToDataOffsetNotBuffer) {
  // The buffer holds a valid MSS option after the header, but the data offset
  // says 5 words: it is payload, not an option.
  std::vector<uint8_t> b = Encode(BaseHeader());
  b.insert(b.end(), {2, 4, 1, 0});
  size_t len = 0;
  auto d = DecodeTcpHeader(b, &len);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(len, 20u);
  EXPECT_FALSE(d->options.mss.has_value());
}

TEST(TcpHeaderTest, BadDataOffsetAndTruncation) {
  std::vector<uint8_t> b = Encode(BaseHeader());
  b[12] = 0x40;
  EXPECT_THAT(DecodeTcpHeader(b).status().message(),
              HasSubstr("tcp data offset 4 out of range [5, 15]"));
  b[12] = 0x60;
  EXPECT_THAT(DecodeTcpHeader(b).status().message(),
              HasSubstr("tcp data offset 6 (24 bytes) exceeds the 20 bytes "
                        "available"));
  b[12] = 0x50;
  EXPECT_THAT(
      DecodeTcpHeader(absl::MakeSpan(b).subspan(0, 19)).status().message(),
      HasSubstr("tcp header truncated: 19 bytes, need at least 20"));
  EXPECT_FALSE(DecodeTcpHeader({}).ok());
}

}  // namespace
}  // namespace tcpemu
