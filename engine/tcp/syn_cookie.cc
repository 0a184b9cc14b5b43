// SYN cookies; see syn_cookie.h.
#include "engine/tcp/syn_cookie.h"

#include <algorithm>

#include "engine/base/sha256.h"

namespace tcpemu {
namespace {

// MSS values a cookie can carry: common Ethernet, tunnel and jumbo sizes.
// A peer's MSS is rounded down to the largest entry not above it.
constexpr std::array<uint16_t, 8> kMssTable = {536,  1200, 1360, 1440,
                                               1460, 4312, 8960, 9000};

uint32_t MssIndex(uint16_t mss) {
  uint32_t index = 0;
  for (uint32_t i = 0; i < kMssTable.size(); ++i) {
    if (kMssTable[i] <= mss) index = i;
  }
  return index;
}

uint32_t Counter(TimeNs now) {
  return static_cast<uint32_t>(now / SynCookies::kPeriod);
}

}  // namespace

uint32_t SynCookies::Mac(const FourTuple& t, Seq peer_isn, uint32_t counter,
                         uint32_t mss_index) const {
  uint8_t in[24];
  auto put32 = [&in](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      in[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put32(0, t.local_addr);
  put32(4, t.remote_addr);
  put32(8, (static_cast<uint32_t>(t.local_port) << 16) | t.remote_port);
  put32(12, peer_isn.value());
  put32(16, counter);
  put32(20, mss_index);
  // The label keeps these hashes apart from the ISN generator's, which
  // shares the secret.
  static constexpr uint8_t kLabel[] = {'s', 'y', 'n', '-', 'c',
                                       'o', 'o', 'k', 'i', 'e'};
  Sha256 h;
  h.Update(absl::MakeConstSpan(kLabel));
  h.Update(absl::MakeConstSpan(secret_));
  h.Update(absl::MakeConstSpan(in, sizeof(in)));
  h.Update(absl::MakeConstSpan(secret_));
  Sha256::Digest d = h.Finish();
  return (uint32_t{d[0]} << 16) | (uint32_t{d[1]} << 8) | uint32_t{d[2]};
}

Seq SynCookies::Make(TimeNs now, const FourTuple& t, Seq peer_isn,
                     uint16_t peer_mss) const {
  const uint32_t counter = Counter(now);
  const uint32_t index = MssIndex(peer_mss == 0 ? 536 : peer_mss);
  return Seq(((counter & 31u) << 27) | (index << 24) |
             Mac(t, peer_isn, counter, index));
}

std::optional<uint16_t> SynCookies::Check(TimeNs now, const FourTuple& t,
                                          Seq peer_isn, Seq cookie) const {
  const uint32_t v = cookie.value();
  const uint32_t low5 = v >> 27;
  const uint32_t index = (v >> 24) & 7u;
  const uint32_t current = Counter(now);
  for (uint32_t age = 0; age < 2 && age <= current; ++age) {
    const uint32_t counter = current - age;
    if ((counter & 31u) != low5) continue;
    if (Mac(t, peer_isn, counter, index) == (v & 0xffffffu)) {
      return kMssTable[index];
    }
  }
  return std::nullopt;
}

}  // namespace tcpemu
