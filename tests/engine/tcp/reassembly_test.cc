// Tests for Reassembly (RFC 9293 3.10.7.4, segment text): out-of-order blocks
// held with overlaps trimmed, duplicates ignored, bytes already held kept as
// first received, contiguous delivery, and sequence wrap-around near 2^32.
#include "engine/tcp/reassembly.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

// n bytes, each equal to `fill`, so that which copy was kept is visible.
Payload Fill(size_t n, uint8_t fill) {
  return Payload::Copy(std::vector<uint8_t>(n, fill));
}

std::vector<uint8_t> ToVector(const Payload& p) {
  std::vector<uint8_t> v(p.size());
  p.CopyTo(absl::MakeSpan(v));
  return v;
}

// What a byte range should read as: pieces of (length, fill).
std::vector<uint8_t> Expect(
    std::initializer_list<std::pair<size_t, uint8_t>> pieces) {
  std::vector<uint8_t> v;
  for (auto [n, f] : pieces) v.insert(v.end(), n, f);
  return v;
}

TEST(ReassemblyTest, EmptyAndSingleBlock) {
  Reassembly r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
  EXPECT_EQ(r.Insert(Seq(100), Fill(10, 1)), 10u);
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(r.first(), Seq(100));
  EXPECT_EQ(r.bytes(), 10u);
  EXPECT_EQ(r.blocks(), 1u);
  // Not contiguous with 90: nothing comes out.
  EXPECT_TRUE(r.PopContiguous(Seq(90)).empty());
  EXPECT_EQ(r.bytes(), 10u);
  Payload p = r.PopContiguous(Seq(100));
  EXPECT_EQ(ToVector(p), Expect({{10, 1}}));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(ReassemblyTest, EmptyInsertStoresNothing) {
  Reassembly r;
  EXPECT_EQ(r.Insert(Seq(5), Payload()), 0u);
  EXPECT_TRUE(r.empty());
}

TEST(ReassemblyTest, ExactDuplicateIgnored) {
  Reassembly r;
  EXPECT_EQ(r.Insert(Seq(100), Fill(10, 1)), 10u);
  EXPECT_EQ(r.Insert(Seq(100), Fill(10, 2)), 0u);
  EXPECT_EQ(r.Insert(Seq(103), Fill(4, 3)), 0u);  // inside
  EXPECT_EQ(r.bytes(), 10u);
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(100))), Expect({{10, 1}}));
}

TEST(ReassemblyTest, OverlapsKeepFirstCopyAndStoreOnlyNewBytes) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(10), Fill(10, 1)), 10u);  // [10, 20)
  ASSERT_EQ(r.Insert(Seq(30), Fill(10, 2)), 10u);  // [30, 40)
  // [5, 45) covers both: only [5,10), [20,30), [40,45) are new.
  EXPECT_EQ(r.Insert(Seq(5), Fill(40, 9)), 20u);
  EXPECT_EQ(r.bytes(), 40u);
  EXPECT_EQ(r.first(), Seq(5));
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(5))),
            Expect({{5, 9}, {10, 1}, {10, 9}, {10, 2}, {5, 9}}));
  EXPECT_TRUE(r.empty());
}

TEST(ReassemblyTest, OverlapAtFrontAndBack) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(100), Fill(10, 1)), 10u);  // [100, 110)
  EXPECT_EQ(r.Insert(Seq(95), Fill(10, 2)), 5u);    // [95, 100) new
  EXPECT_EQ(r.Insert(Seq(105), Fill(10, 3)), 5u);   // [110, 115) new
  EXPECT_EQ(r.bytes(), 20u);
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(95))),
            Expect({{5, 2}, {10, 1}, {5, 3}}));
}

TEST(ReassemblyTest, FillsGapBetweenBlocks) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(0), Fill(10, 1)), 10u);
  ASSERT_EQ(r.Insert(Seq(20), Fill(10, 3)), 10u);
  EXPECT_EQ(r.blocks(), 2u);
  EXPECT_EQ(r.Insert(Seq(8), Fill(14, 2)), 10u);  // [10, 20) new
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(0))),
            Expect({{10, 1}, {10, 2}, {10, 3}}));
}

TEST(ReassemblyTest, PopStopsAtGap) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(0), Fill(10, 1)), 10u);
  ASSERT_EQ(r.Insert(Seq(10), Fill(10, 2)), 10u);
  ASSERT_EQ(r.Insert(Seq(30), Fill(10, 3)), 10u);
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(0))), Expect({{10, 1}, {10, 2}}));
  EXPECT_EQ(r.bytes(), 10u);
  EXPECT_EQ(r.first(), Seq(30));
}

TEST(ReassemblyTest, PopFromInsideABlockDropsDeliveredPart) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(100), Fill(10, 1)), 10u);
  // Bytes up to 104 arrived in order some other way.
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(104))), Expect({{6, 1}}));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(ReassemblyTest, DropBefore) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(10), Fill(10, 1)), 10u);
  ASSERT_EQ(r.Insert(Seq(30), Fill(10, 2)), 10u);
  r.DropBefore(Seq(15));
  EXPECT_EQ(r.first(), Seq(15));
  EXPECT_EQ(r.bytes(), 15u);
  r.DropBefore(Seq(35));
  EXPECT_EQ(r.first(), Seq(35));
  EXPECT_EQ(r.bytes(), 5u);
  EXPECT_EQ(r.blocks(), 1u);
  r.DropBefore(Seq(50));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(ReassemblyTest, WrapAroundNear2To32) {
  Reassembly r;
  const Seq base(0xfffffe00u);
  // [base+0x200, base+0x300) = [0, 0x100) after the wrap.
  ASSERT_EQ(r.Insert(Seq(0), Fill(0x100, 3)), 0x100u);
  // A block that straddles 2^32: [0xffffff00, 0x100), overlapping the one
  // above by 0x100 bytes.
  EXPECT_EQ(r.Insert(Seq(0xffffff00u), Fill(0x200, 2)), 0x100u);
  EXPECT_EQ(r.first(), Seq(0xffffff00u));
  ASSERT_EQ(r.Insert(base, Fill(0x100, 1)), 0x100u);
  EXPECT_EQ(r.first(), base);
  EXPECT_EQ(r.bytes(), 0x300u);
  // A duplicate across the wrap stores nothing.
  EXPECT_EQ(r.Insert(Seq(0xfffffff0u), Fill(0x20, 7)), 0u);
  EXPECT_EQ(ToVector(r.PopContiguous(base)),
            Expect({{0x100, 1}, {0x100, 2}, {0x100, 3}}));
  EXPECT_TRUE(r.empty());
}

TEST(ReassemblyTest, DropBeforeAcrossWrap) {
  Reassembly r;
  ASSERT_EQ(r.Insert(Seq(0xfffffff0u), Fill(0x20, 1)), 0x20u);
  r.DropBefore(Seq(0x8));
  EXPECT_EQ(r.first(), Seq(0x8));
  EXPECT_EQ(r.bytes(), 0x8u);
  EXPECT_EQ(ToVector(r.PopContiguous(Seq(0x8))), Expect({{0x8, 1}}));
}

TEST(ReassemblyTest, RunAroundMergesAdjacentBlocks) {
  Reassembly r;
  r.Insert(Seq(100), Fill(10, 1));
  r.Insert(Seq(110), Fill(10, 2));  // adjacent: one run [100, 120)
  r.Insert(Seq(130), Fill(5, 3));
  using Run = std::optional<std::pair<Seq, Seq>>;
  EXPECT_EQ(r.RunAround(Seq(105)), Run(std::make_pair(Seq(100), Seq(120))));
  EXPECT_EQ(r.RunAround(Seq(119)), Run(std::make_pair(Seq(100), Seq(120))));
  EXPECT_EQ(r.RunAround(Seq(130)), Run(std::make_pair(Seq(130), Seq(135))));
  EXPECT_EQ(r.RunAround(Seq(120)), std::nullopt);
  EXPECT_EQ(r.RunAround(Seq(99)), std::nullopt);
  EXPECT_TRUE(r.Holds(Seq(100), Seq(120)));
  EXPECT_FALSE(r.Holds(Seq(100), Seq(121)));
  EXPECT_FALSE(r.Holds(Seq(120), Seq(130)));
}

TEST(ReassemblyTest, RunsFollowFillsDeliveryAndDrops) {
  Reassembly r;
  using Run = std::optional<std::pair<Seq, Seq>>;
  // Many blocks apart, then the gaps between them filled in any order.
  for (uint32_t i = 0; i < 50; ++i) r.Insert(Seq(1000 + 20 * i), Fill(10, 1));
  EXPECT_EQ(r.RunAround(Seq(1000)), Run(std::make_pair(Seq(1000), Seq(1010))));
  for (uint32_t i = 49; i-- > 0;) r.Insert(Seq(1010 + 20 * i), Fill(10, 2));
  EXPECT_EQ(r.blocks(), 99u);
  EXPECT_EQ(r.RunAround(Seq(1500)), Run(std::make_pair(Seq(1000), Seq(1990))));
  EXPECT_TRUE(r.Holds(Seq(1000), Seq(1990)));
  // Delivered in part: the run starts where delivery stopped.
  r.DropBefore(Seq(1205));
  EXPECT_EQ(r.RunAround(Seq(1500)), Run(std::make_pair(Seq(1205), Seq(1990))));
  EXPECT_EQ(r.RunAround(Seq(1204)), std::nullopt);
  EXPECT_EQ(r.PopContiguous(Seq(1205)).size(), 785u);
  EXPECT_EQ(r.RunAround(Seq(1500)), std::nullopt);
  EXPECT_TRUE(r.empty());
  // A block overlapping two runs joins them.
  r.Insert(Seq(3000), Fill(10, 1));
  r.Insert(Seq(3020), Fill(10, 1));
  r.Insert(Seq(3005), Fill(20, 2));
  EXPECT_EQ(r.RunAround(Seq(3029)), Run(std::make_pair(Seq(3000), Seq(3030))));
}

TEST(ReassemblyTest, FirstHeldWithin) {
  Reassembly r;
  r.Insert(Seq(200), Fill(100, 1));  // [200, 300)
  r.Insert(Seq(400), Fill(50, 2));   // [400, 450)
  using Run = std::optional<std::pair<Seq, Seq>>;
  // Nothing held in the range, before, between and after the runs.
  EXPECT_EQ(r.FirstHeldWithin(Seq(100), Seq(200)), std::nullopt);
  EXPECT_EQ(r.FirstHeldWithin(Seq(300), Seq(400)), std::nullopt);
  EXPECT_EQ(r.FirstHeldWithin(Seq(450), Seq(1000)), std::nullopt);
  // Overlapping a run's left end.
  EXPECT_EQ(r.FirstHeldWithin(Seq(100), Seq(275)),
            Run(std::make_pair(Seq(200), Seq(275))));
  // Starting inside a run.
  EXPECT_EQ(r.FirstHeldWithin(Seq(250), Seq(350)),
            Run(std::make_pair(Seq(250), Seq(300))));
  // Inside a run.
  EXPECT_EQ(r.FirstHeldWithin(Seq(210), Seq(220)),
            Run(std::make_pair(Seq(210), Seq(220))));
  // Spanning two runs: the first.
  EXPECT_EQ(r.FirstHeldWithin(Seq(150), Seq(500)),
            Run(std::make_pair(Seq(200), Seq(300))));
  EXPECT_EQ(r.FirstHeldWithin(Seq(299), Seq(500)),
            Run(std::make_pair(Seq(299), Seq(300))));
}

TEST(ReassemblyTest, FirstHeldWithinAcrossWrap) {
  Reassembly r;
  r.Insert(Seq(0xfffffff0u), Fill(32, 1));  // [2^32 - 16, 16)
  using Run = std::optional<std::pair<Seq, Seq>>;
  EXPECT_EQ(r.FirstHeldWithin(Seq(0xffffff00u), Seq(8)),
            Run(std::make_pair(Seq(0xfffffff0u), Seq(8))));
  EXPECT_EQ(r.FirstHeldWithin(Seq(4), Seq(100)),
            Run(std::make_pair(Seq(4), Seq(16))));
  EXPECT_EQ(r.FirstHeldWithin(Seq(16), Seq(100)), std::nullopt);
}

}  // namespace
}  // namespace tcpemu
