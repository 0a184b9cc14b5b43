// Streaming SHA-256 over OpenSSL EVP. EVP failures for SHA-256 only happen on
// allocation failure; they abort rather than return a wrong digest.
#include "engine/base/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace tcpemu {
namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tcpemu: OpenSSL SHA-256 failure in %s\n", what);
    std::abort();
  }
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  Require(ctx_ != nullptr, "EVP_MD_CTX_new");
  Init();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256::Sha256(const Sha256& other) : ctx_(EVP_MD_CTX_new()) {
  Require(ctx_ != nullptr, "EVP_MD_CTX_new");
  Require(EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "EVP_MD_CTX_copy_ex");
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this != &other) {
    Require(EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "EVP_MD_CTX_copy_ex");
  }
  return *this;
}

void Sha256::Init() {
  Require(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1,
          "EVP_DigestInit_ex");
}

void Sha256::Update(absl::Span<const uint8_t> data) {
  if (data.empty()) return;
  Require(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1,
          "EVP_DigestUpdate");
}

void Sha256::Update(std::string_view data) {
  Update(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Sha256::Digest Sha256::Finish() {
  Digest out;
  unsigned int len = 0;
  Require(EVP_DigestFinal_ex(ctx_, out.data(), &len) == 1 && len == out.size(),
          "EVP_DigestFinal_ex");
  Init();
  return out;
}

Sha256::Digest Sha256::Of(absl::Span<const uint8_t> data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

Sha256::Digest Sha256::Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

std::string Sha256::Hex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace tcpemu
