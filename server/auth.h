// Who may call tcpemud: TLS on the gRPC port (mutual when a client CA is
// given) and bearer tokens (RFC 6750 §2.1, `authorization: Bearer <token>`)
// checked on every call before it reaches a service.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace tcpemu::server {

// The security flags as given: file paths, empty when unset.
struct SecurityFlags {
  std::string tls_cert;       // --tls_cert
  std::string tls_key;        // --tls_key
  std::string tls_client_ca;  // --tls_client_ca
  std::string auth_tokens;    // --auth_tokens
  bool auth_health = false;
  bool auth_reflection = false;
};

// What the gRPC port serves with, read and checked. All empty: plaintext and
// no token check, as tcpemud has always been by default.
struct SecurityConfig {
  std::string tls_cert_pem;  // with tls_key_pem: TLS
  std::string tls_key_pem;
  std::string tls_client_ca_pem;    // set: clients must present a certificate
                                    // signed by one of these CAs
  std::vector<std::string> tokens;  // set: every call needs one of them
  bool auth_health = false;         // grpc.health.v1 needs a token too
  bool auth_reflection = false;     // grpc.reflection.* needs a token too

  bool tls() const { return !tls_cert_pem.empty(); }
};

// Reads the files the flags name and checks them: PEM that parses, a key that
// matches its certificate, flags that go together, at least one token.
// InvalidArgument naming the flag otherwise.
absl::StatusOr<SecurityConfig> LoadSecurity(const SecurityFlags& flags);

// The tokens of a token file: one per line, surrounding whitespace ignored,
// blank lines and lines starting with '#' skipped. A token is printable
// ASCII without spaces (it travels in an HTTP/2 header). Errors name the line,
// never the token.
absl::StatusOr<std::vector<std::string>> ParseTokens(absl::string_view text);

// Decides whether one call may proceed, from its method path and the values of
// its `authorization` metadata.
class TokenChecker {
 public:
  TokenChecker(absl::Span<const std::string> tokens, bool auth_health,
               bool auth_reflection);

  // OK, or Unauthenticated: "missing bearer token" when no value carries a
  // Bearer token, "invalid bearer token" when none of them is known.
  // Compares SHA-256 digests with CRYPTO_memcmp against every known token,
  // so neither the time nor the outcome depends on where two tokens differ
  // or on their lengths.
  absl::Status Check(absl::string_view method,
                     absl::Span<const absl::string_view> authorization) const;

  // Whether `method` ("/package.Service/Method") is served without a token.
  bool IsOpen(absl::string_view method) const;

 private:
  using Digest = std::array<uint8_t, 32>;
  std::vector<Digest> digests_;
  bool auth_health_;
  bool auth_reflection_;
};

// The credentials of the gRPC port: TLS or plaintext per `config`, with the
// token check on every call when it has tokens (on plaintext too).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const SecurityConfig& config);

}  // namespace tcpemu::server
