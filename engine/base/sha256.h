// Streaming SHA-256 (FIPS 180-4) over OpenSSL's EVP interface: used to compare
// what was written with what was read, and to fingerprint event traces.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/types/span.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace tcpemu {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  ~Sha256();
  // Copies carry the state so far: finishing a copy gives the digest of the
  // bytes seen up to now while the original keeps going.
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);

  void Update(absl::Span<const uint8_t> data);
  void Update(std::string_view data);

  // Returns the digest of everything passed to Update since construction or
  // the previous Finish, and starts over.
  Digest Finish();

  // One-shot digest of `data`.
  static Digest Of(absl::Span<const uint8_t> data);
  static Digest Of(std::string_view data);

  // Lower-case hexadecimal, 64 characters.
  static std::string Hex(const Digest& digest);

 private:
  void Init();

  EVP_MD_CTX* ctx_;
};

}  // namespace tcpemu
