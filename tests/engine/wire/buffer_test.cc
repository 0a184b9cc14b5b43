// Tests for refcounted payload memory: slicing shares chunks, FlipBit copies
// on write, and all chunk memory is released.
#include "engine/wire/buffer.h"

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

std::vector<uint8_t> Iota(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::vector<uint8_t> Bytes(const Payload& p) {
  std::vector<uint8_t> v(p.size());
  EXPECT_EQ(p.CopyTo(absl::MakeSpan(v)), p.size());
  return v;
}

// Three slices from two chunks: [0..10) of A, [0..5) of B, [10..20) of A.
Payload ThreeSlices(const ChunkRef& a, const ChunkRef& b) {
  Payload p;
  p.Append(Slice{a, 0, 10});
  p.Append(Slice{b, 0, 5});
  p.Append(Slice{a, 10, 10});
  return p;
}

ChunkRef ChunkWith(const std::vector<uint8_t>& bytes) {
  ChunkRef c = Chunk::Allocate(bytes.size());
  std::memcpy(c->data(), bytes.data(), bytes.size());
  return c;
}

class BufferTest : public ::testing::Test {
 protected:
  void SetUp() override { live_at_start_ = Chunk::LiveBytes(); }
  void TearDown() override { EXPECT_EQ(Chunk::LiveBytes(), live_at_start_); }
  int64_t live_at_start_ = 0;
};

TEST_F(BufferTest, CopyAndCopyTo) {
  std::vector<uint8_t> src = Iota(100);
  Payload p = Payload::Copy(src);
  EXPECT_EQ(p.size(), 100u);
  EXPECT_EQ(p.slices().size(), 1u);
  EXPECT_EQ(Bytes(p), src);

  // A short destination takes a prefix.
  std::vector<uint8_t> out(7);
  EXPECT_EQ(p.CopyTo(absl::MakeSpan(out)), 7u);
  EXPECT_EQ(out, Iota(7));

  // A longer destination takes everything and reports the count.
  std::vector<uint8_t> big(150, 0xee);
  EXPECT_EQ(p.CopyTo(absl::MakeSpan(big)), 100u);
  EXPECT_EQ(big[100], 0xee);

  EXPECT_TRUE(Payload::Copy({}).empty());
}

TEST_F(BufferTest, AppendMergesAdjacentSlicesOfOneChunk) {
  ChunkRef c = ChunkWith(Iota(20));
  Payload p;
  p.Append(Slice{c, 0, 10});
  p.Append(Slice{c, 10, 10});
  EXPECT_EQ(p.slices().size(), 1u);
  EXPECT_EQ(p.size(), 20u);
  p.Append(Slice{c, 0, 0});  // empty slices are ignored
  EXPECT_EQ(p.slices().size(), 1u);
}

TEST_F(BufferTest, SubSharesChunks) {
  ChunkRef a = ChunkWith(Iota(20));
  ChunkRef b = ChunkWith(Iota(5, 100));
  Payload p = ThreeSlices(a, b);
  ASSERT_EQ(p.size(), 25u);
  const uint32_t refs_before = a->refs();

  Payload sub = p.Sub(8, 9);  // 2 bytes of A, 5 of B, 2 of A
  EXPECT_EQ(sub.size(), 9u);
  EXPECT_EQ(sub.slices().size(), 3u);
  EXPECT_EQ(Bytes(sub),
            (std::vector<uint8_t>{8, 9, 100, 101, 102, 103, 104, 10, 11}));
  EXPECT_EQ(sub.slices()[0].chunk.get(), a.get());
  EXPECT_EQ(a->refs(), refs_before + 2);

  EXPECT_TRUE(p.Sub(25, 10).empty());
  EXPECT_EQ(p.Sub(20, 100).size(), 5u);  // clipped at the end
  EXPECT_EQ(p.Sub(0, 25), p);
}

TEST_F(BufferTest, RemovePrefix) {
  ChunkRef a = ChunkWith(Iota(20));
  ChunkRef b = ChunkWith(Iota(5, 100));
  Payload p = ThreeSlices(a, b);

  p.RemovePrefix(3);
  EXPECT_EQ(p.size(), 22u);
  EXPECT_EQ(p.slices().size(), 3u);
  EXPECT_EQ(Bytes(p)[0], 3);

  p.RemovePrefix(7 + 5);  // exactly the rest of A's first slice and all of B
  EXPECT_EQ(p.size(), 10u);
  EXPECT_EQ(p.slices().size(), 1u);
  EXPECT_EQ(Bytes(p), Iota(10, 10));

  p.RemovePrefix(1000);  // more than held
  EXPECT_TRUE(p.empty());
  EXPECT_TRUE(p.slices().empty());
}

TEST_F(BufferTest, RemovePrefixInSmallStepsKeepsEveryByte) {
  // A long payload of many slices read from the front a little at a time
  // (a receive queue): every byte arrives in order, and chunks are released
  // as they are passed.
  std::vector<ChunkRef> chunks;
  Payload p;
  std::vector<uint8_t> want;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> bytes = Iota(7, static_cast<uint8_t>(i));
    chunks.push_back(ChunkWith(bytes));
    p.Append(Slice{chunks.back(), 0, 7});
    want.insert(want.end(), bytes.begin(), bytes.end());
  }
  chunks.clear();  // p holds the only references
  std::vector<uint8_t> got;
  while (!p.empty()) {
    Payload head = p.Sub(0, 5);
    std::vector<uint8_t> b = Bytes(head);
    got.insert(got.end(), b.begin(), b.end());
    p.RemovePrefix(5);
    EXPECT_EQ(p.size(), want.size() - got.size());
    EXPECT_EQ(Bytes(p),
              std::vector<uint8_t>(want.begin() + got.size(), want.end()));
  }
  EXPECT_EQ(got, want);
  EXPECT_TRUE(p.slices().empty());
  // Removed slices gave their chunks back (TearDown checks the rest).
  EXPECT_EQ(Chunk::LiveBytes(), live_at_start_);
}

TEST_F(BufferTest, FlipBitCopiesOnWrite) {
  ChunkRef a = ChunkWith(Iota(20));
  ChunkRef b = ChunkWith(Iota(5, 100));
  Payload original = ThreeSlices(a, b);
  Payload copy = original;  // another holder of the same chunks
  const std::vector<uint8_t> before = Bytes(original);

  // Bit 3 of byte 12 lies in B.
  copy.FlipBit(12 * 8 + 3);
  std::vector<uint8_t> want = before;
  want[12] ^= 0x08;
  EXPECT_EQ(Bytes(copy), want);
  EXPECT_EQ(Bytes(original), before);
  EXPECT_EQ(b->data()[2], 102);  // the shared chunk is untouched
  EXPECT_NE(copy.slices()[1].chunk.get(), b.get());
  EXPECT_EQ(copy.slices()[0].chunk.get(), a.get());  // others still shared
  EXPECT_FALSE(copy == original);

  // Flipping the same bit again restores the bytes (in a private copy).
  copy.FlipBit(12 * 8 + 3);
  EXPECT_EQ(copy, original);

  // First and last bits.
  Payload edge = original;
  edge.FlipBit(0);
  edge.FlipBit(original.size() * 8 - 1);
  want = before;
  want.front() ^= 0x01;
  want.back() ^= 0x80;
  EXPECT_EQ(Bytes(edge), want);
  EXPECT_EQ(Bytes(original), before);
}

TEST_F(BufferTest, EqualityIgnoresSliceBoundaries) {
  std::vector<uint8_t> bytes = Iota(30);
  Payload one = Payload::Copy(bytes);
  Payload pieces;
  pieces.Append(Payload::Copy(absl::MakeSpan(bytes).subspan(0, 7)));
  pieces.Append(Payload::Copy(absl::MakeSpan(bytes).subspan(7, 20)));
  pieces.Append(Payload::Copy(absl::MakeSpan(bytes).subspan(27)));
  EXPECT_EQ(pieces.slices().size(), 3u);
  EXPECT_EQ(one, pieces);
  EXPECT_EQ(pieces, one);
  EXPECT_FALSE(one == one.Sub(0, 29));
  EXPECT_EQ(Payload(), Payload());
}

TEST_F(BufferTest, ClearAndAppendPayload) {
  Payload p = Payload::Copy(Iota(10));
  Payload q;
  q.Append(p);
  q.Append(p);
  EXPECT_EQ(q.size(), 20u);
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.slices().empty());
}

TEST(ChunkTest, LiveBytesReturnsToZero) {
  const int64_t start = Chunk::LiveBytes();
  {
    ChunkRef c = Chunk::Allocate(1000);
    EXPECT_EQ(Chunk::LiveBytes(), start + 1000);
    EXPECT_EQ(c->capacity(), 1000u);
    EXPECT_EQ(c->refs(), 1u);
    Payload p;
    p.Append(Slice{c, 0, 500});
    Payload q = p.Sub(100, 100);
    EXPECT_EQ(c->refs(), 3u);
    q.FlipBit(0);  // allocates a 100-byte private copy
    EXPECT_EQ(Chunk::LiveBytes(), start + 1100);
    EXPECT_EQ(c->refs(), 2u);
    ChunkRef moved = std::move(c);
    EXPECT_FALSE(c);
    EXPECT_EQ(moved->refs(), 2u);
  }
  EXPECT_EQ(Chunk::LiveBytes(), start);
}

}  // namespace
}  // namespace tcpemu
