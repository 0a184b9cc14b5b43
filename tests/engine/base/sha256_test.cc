// Tests for engine/trace/sha256: NIST FIPS 180-4 example vectors, streaming
// equals one-shot, Finish restarts, copies fork the state.
#include "engine/base/sha256.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tcpemu {
namespace {

TEST(Sha256Test, EmptyInput) {
  EXPECT_EQ(Sha256::Hex(Sha256::Of(std::string_view())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(Sha256::Hex(Sha256::Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessage) {
  EXPECT_EQ(Sha256::Hex(Sha256::Of(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, MillionAs) {
  Sha256 h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(chunk);
  EXPECT_EQ(Sha256::Hex(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, StreamingEqualsOneShot) {
  std::vector<uint8_t> data(10'000);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  const Sha256::Digest one_shot = Sha256::Of(data);
  // Uneven piece sizes cross the 64-byte block boundary in every way.
  Sha256 h;
  size_t pos = 0;
  for (size_t piece = 1; pos < data.size(); piece = piece % 97 + 1) {
    const size_t n = std::min(piece, data.size() - pos);
    h.Update(absl::MakeConstSpan(data).subspan(pos, n));
    pos += n;
  }
  EXPECT_EQ(h.Finish(), one_shot);
}

TEST(Sha256Test, FinishStartsOver) {
  Sha256 h;
  h.Update("abc");
  h.Finish();
  h.Update("abc");
  EXPECT_EQ(h.Finish(), Sha256::Of("abc"));
}

TEST(Sha256Test, CopyForksTheState) {
  Sha256 h;
  h.Update("ab");
  Sha256 copy = h;
  copy.Update("c");
  EXPECT_EQ(copy.Finish(), Sha256::Of("abc"));
  h.Update("x");
  EXPECT_EQ(h.Finish(), Sha256::Of("abx"));

  Sha256 assigned;
  assigned.Update("junk");
  assigned = copy;
  assigned.Update("abc");
  EXPECT_EQ(assigned.Finish(), Sha256::Of("abc"));
}

TEST(Sha256Test, HexIsLowerCase64Chars) {
  Sha256::Digest d{};
  d[0] = 0xAB;
  d[31] = 0x0F;
  const std::string hex = Sha256::Hex(d);
  ASSERT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.substr(0, 2), "ab");
  EXPECT_EQ(hex.substr(62), "0f");
}

}  // namespace
}  // namespace tcpemu
