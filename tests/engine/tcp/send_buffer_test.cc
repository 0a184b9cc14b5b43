// Tests for SendBuffer (RFC 9293 3.9.1 SEND): partial acceptance when full,
// peeking by offset across chunks, consuming acknowledged bytes and giving
// memory back when empty.
#include "engine/tcp/send_buffer.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

std::vector<uint8_t> Bytes(size_t n, size_t start = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((start + i) * 13);
  return v;
}

std::vector<uint8_t> ToVector(const Payload& p) {
  std::vector<uint8_t> v(p.size());
  p.CopyTo(absl::MakeSpan(v));
  return v;
}

TEST(SendBufferTest, EmptyBuffer) {
  SendBuffer b(1000);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 1000u);
  EXPECT_EQ(b.free_space(), 1000u);
  EXPECT_TRUE(b.Peek(0, 10).empty());
}

TEST(SendBufferTest, WriteAcceptsPartiallyWhenFull) {
  SendBuffer b(1000);
  EXPECT_EQ(b.Write(Bytes(600)), 600u);
  EXPECT_EQ(b.Write(Bytes(600, 600)), 400u);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.free_space(), 0u);
  EXPECT_EQ(b.Write(Bytes(1)), 0u);
  // Exactly the accepted prefixes, in order.
  EXPECT_EQ(ToVector(b.Peek(0, 1000)), Bytes(1000));
}

TEST(SendBufferTest, WriteFillIsAskedOnlyForAcceptedBytes) {
  SendBuffer b(100);
  size_t asked = 0;
  size_t n = b.WriteFill(250, [&](uint8_t* dst, size_t len) {
    for (size_t i = 0; i < len; ++i) dst[i] = static_cast<uint8_t>(asked + i);
    asked += len;
  });
  EXPECT_EQ(n, 100u);
  EXPECT_EQ(asked, 100u);
  std::vector<uint8_t> got = ToVector(b.Peek(0, 100));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i) << i;
}

TEST(SendBufferTest, PeekByOffsetAndConsume) {
  SendBuffer b(10000);
  ASSERT_EQ(b.Write(Bytes(5000)), 5000u);
  EXPECT_EQ(ToVector(b.Peek(1000, 1460)), Bytes(1460, 1000));
  EXPECT_EQ(b.Peek(4500, 1000).size(), 500u);  // clipped at the end
  b.Consume(1200);
  EXPECT_EQ(b.size(), 3800u);
  EXPECT_EQ(b.free_space(), 6200u);
  // Offsets now count from the oldest unacknowledged byte.
  EXPECT_EQ(ToVector(b.Peek(0, 100)), Bytes(100, 1200));
  ASSERT_EQ(b.Write(Bytes(1000, 5000)), 1000u);
  EXPECT_EQ(ToVector(b.Peek(0, 4800)), Bytes(4800, 1200));
}

TEST(SendBufferTest, LargeWritesSpanChunks) {
  SendBuffer b(100000);
  // Several small writes then a large one: more than one 16 KiB chunk.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(b.Write(Bytes(1000, 1000 * i)), 1000u);
  ASSERT_EQ(b.Write(Bytes(40000, 10000)), 40000u);
  EXPECT_EQ(b.size(), 50000u);
  EXPECT_EQ(ToVector(b.Peek(0, 50000)), Bytes(50000));
  EXPECT_EQ(ToVector(b.Peek(16000, 1000)), Bytes(1000, 16000));
}

TEST(SendBufferTest, PeekedPayloadSurvivesConsume) {
  SendBuffer b(1000);
  ASSERT_EQ(b.Write(Bytes(500)), 500u);
  Payload seg = b.Peek(100, 200);  // e.g. a segment still on a link
  b.Consume(500);
  EXPECT_EQ(ToVector(seg), Bytes(200, 100));
}

TEST(SendBufferTest, MemoryReleasedWhenEmpty) {
  const int64_t before = Chunk::LiveBytes();
  {
    SendBuffer b(64 * 1024);
    ASSERT_EQ(b.Write(Bytes(30000)), 30000u);
    EXPECT_GT(Chunk::LiveBytes(), before);
    b.Consume(10000);
    EXPECT_GT(Chunk::LiveBytes(), before);
    b.Consume(20000);
    EXPECT_EQ(b.size(), 0u);
    // An idle buffer holds no payload memory.
    EXPECT_EQ(Chunk::LiveBytes(), before);
    // And can be filled again.
    ASSERT_EQ(b.Write(Bytes(10)), 10u);
    EXPECT_EQ(ToVector(b.Peek(0, 10)), Bytes(10));
  }
  EXPECT_EQ(Chunk::LiveBytes(), before);
}

TEST(SendBufferTest, PeekAnywhereInAManyChunkBufferAndConsumeInSteps) {
  SendBuffer b(8 << 20);
  // Small writes, each its own chunk piece once a chunk fills.
  const std::vector<uint8_t> all = Bytes(5 << 20);
  size_t written = 0;
  while (written < all.size()) {
    const size_t n = std::min<size_t>(1000, all.size() - written);
    ASSERT_EQ(b.Write(absl::MakeConstSpan(all).subspan(written, n)), n);
    written += n;
  }
  size_t acked = 0;
  for (size_t step : {1u, 1459u, 70000u, 1000000u, 3u}) {
    for (size_t off : {size_t{0}, size_t{16383}, size_t{16384}, b.size() / 2,
                       b.size() - 1}) {
      const size_t len = std::min<size_t>(1460, b.size() - off);
      ASSERT_EQ(ToVector(b.Peek(off, len)),
                std::vector<uint8_t>(all.begin() + acked + off,
                                     all.begin() + acked + off + len))
          << "acked " << acked << " offset " << off;
    }
    b.Consume(step);
    acked += step;
    ASSERT_EQ(b.size(), all.size() - acked);
  }
  // Past the end, Peek gives what there is.
  EXPECT_EQ(b.Peek(b.size() - 10, 100).size(), 10u);
  b.Consume(b.size());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.Peek(0, 100).size(), 0u);
}

TEST(SendBufferTest, ZeroLengthWrite) {
  SendBuffer b(10);
  EXPECT_EQ(b.Write({}), 0u);
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace tcpemu
