// Tests for the RFC 1071 Internet checksum: published vectors, agreement with
// a word-by-word reference over odd splits, and the TCP pseudo-header.
#include "engine/wire/checksum.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

// Straightforward RFC 1071 reference: 16-bit big-endian words, an odd last
// byte padded with zero, 32-bit sum folded at the end.
uint16_t ReferenceChecksum(const std::vector<uint8_t>& b) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.size() % 2 == 1) sum += b.back() << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const std::vector<uint8_t> b = {0x00, 0x01, 0xf2, 0x03,
                                  0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(InternetChecksum(b), static_cast<uint16_t>(~0xddf2));
  EXPECT_EQ(InternetChecksum(b), 0x220d);
}

TEST(ChecksumTest, Ipv4HeaderVector) {
  // A UDP/IPv4 header with checksum b861 (a widely used worked example).
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                            0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
                            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(InternetChecksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  // A header carrying its own checksum sums to zero.
  EXPECT_EQ(InternetChecksum(h), 0);
}

TEST(ChecksumTest, EdgeValues) {
  EXPECT_EQ(InternetChecksum({}), 0xffff);
  EXPECT_EQ(InternetChecksum(std::vector<uint8_t>(64, 0)), 0xffff);
  // All-ones words sum to 0xffff (negative zero): the checksum is 0.
  EXPECT_EQ(InternetChecksum(std::vector<uint8_t>(100000, 0xff)), 0);
  // An odd byte is the high half of a word padded with zero.
  EXPECT_EQ(InternetChecksum(std::vector<uint8_t>{0x12}),
            static_cast<uint16_t>(~0x1200));
  EXPECT_EQ(InternetChecksum(std::vector<uint8_t>{0x12, 0x34, 0x56}),
            static_cast<uint16_t>(~(0x1234 + 0x5600)));
}

TEST(ChecksumTest, MatchesReferenceForAllSmallLengths) {
  std::mt19937_64 rng(1071);
  for (size_t n = 0; n < 300; ++n) {
    auto b = RandomBytes(rng, n);
    EXPECT_EQ(InternetChecksum(b), ReferenceChecksum(b)) << "length " << n;
  }
}

TEST(ChecksumTest, MatchesReferenceWithHeavyCarries) {
  // Mostly 0xff bytes make every 64-bit add carry.
  std::mt19937_64 rng(7);
  for (size_t n : {31u, 32u, 33u, 4096u, 65537u, 1u << 20}) {
    std::vector<uint8_t> b(n, 0xff);
    for (size_t i = 0; i < n; i += 97) b[i] = static_cast<uint8_t>(rng());
    EXPECT_EQ(InternetChecksum(b), ReferenceChecksum(b)) << "length " << n;
  }
}

TEST(ChecksumTest, OddSplitsEqualContiguous) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 2000; ++iter) {
    const size_t n = rng() % 200;
    auto b = RandomBytes(rng, n);
    ChecksumAccumulator acc;
    size_t pos = 0;
    while (pos < n) {
      // Pieces of 0..9 bytes, so boundaries fall at every parity.
      size_t len = std::min<size_t>(rng() % 10, n - pos);
      acc.Add({b.data() + pos, len});
      pos += len;
    }
    ASSERT_EQ(acc.Finish(), InternetChecksum(b)) << "iteration " << iter;
  }
}

TEST(ChecksumTest, ByteAtATime) {
  std::mt19937_64 rng(3);
  auto b = RandomBytes(rng, 1001);
  ChecksumAccumulator acc;
  for (uint8_t byte : b) acc.Add({&byte, 1});
  EXPECT_EQ(acc.Finish(), ReferenceChecksum(b));
}

TEST(ChecksumTest, WordsAtOddOffsetsEqualTheirBytes) {
  // AddU16/AddU32 after an odd number of bytes must act like adding their
  // big-endian bytes.
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> bytes;
    ChecksumAccumulator acc;
    for (int step = 0; step < 8; ++step) {
      switch (rng() % 3) {
        case 0: {
          auto piece = RandomBytes(rng, rng() % 5);
          acc.Add(piece);
          bytes.insert(bytes.end(), piece.begin(), piece.end());
          break;
        }
        case 1: {
          uint16_t v = static_cast<uint16_t>(rng());
          acc.AddU16(v);
          bytes.push_back(static_cast<uint8_t>(v >> 8));
          bytes.push_back(static_cast<uint8_t>(v));
          break;
        }
        default: {
          uint32_t v = static_cast<uint32_t>(rng());
          acc.AddU32(v);
          for (int s = 24; s >= 0; s -= 8) {
            bytes.push_back(static_cast<uint8_t>(v >> s));
          }
          break;
        }
      }
    }
    ASSERT_EQ(acc.Finish(), ReferenceChecksum(bytes)) << "iteration " << iter;
  }
}

TEST(ChecksumTest, FinishIsRepeatable) {
  ChecksumAccumulator acc;
  const uint8_t b[3] = {1, 2, 3};
  acc.Add(b);
  EXPECT_EQ(acc.Finish(), acc.Finish());
}

TEST(ChecksumTest, PseudoHeaderEqualsItsBytes) {
  // RFC 9293 3.1: src(4) dst(4) zero(1) ptcl(1) tcp length(2).
  const uint32_t src = 0xc0a80001, dst = 0x0a000002;
  ChecksumAccumulator acc;
  AddPseudoHeader(acc, src, dst, 6, 0x0123);
  const std::vector<uint8_t> bytes = {0xc0, 0xa8, 0x00, 0x01, 0x0a, 0x00,
                                      0x00, 0x02, 0x00, 0x06, 0x01, 0x23};
  EXPECT_EQ(acc.Finish(), ReferenceChecksum(bytes));
  EXPECT_EQ(acc.Finish(), InternetChecksum(bytes));
}

TEST(ChecksumTest, TcpSegmentVerifiesToZero) {
  // Compute a TCP checksum over pseudo-header + segment, store it in the
  // segment, and check that the receiver's sum comes out as zero.
  std::mt19937_64 rng(9);
  for (size_t payload : {0u, 1u, 2u, 7u, 1460u}) {
    auto seg = RandomBytes(rng, 20 + payload);
    seg[16] = seg[17] = 0;
    ChecksumAccumulator tx;
    AddPseudoHeader(tx, 0x01020304, 0x05060708, 6,
                    static_cast<uint16_t>(seg.size()));
    tx.Add(seg);
    const uint16_t c = tx.Finish();
    seg[16] = static_cast<uint8_t>(c >> 8);
    seg[17] = static_cast<uint8_t>(c);
    ChecksumAccumulator rx;
    // The receiver sums in another order, split at an even offset (sums of
    // whole words commute): the result must agree.
    rx.Add({seg.data(), 4});
    AddPseudoHeader(rx, 0x01020304, 0x05060708, 6,
                    static_cast<uint16_t>(seg.size()));
    rx.Add({seg.data() + 4, seg.size() - 4});
    EXPECT_EQ(rx.Finish(), 0) << "payload " << payload;
  }
}

}  // namespace
}  // namespace tcpemu
