// TLS credentials and the bearer-token check of tcpemud; see auth.h.
//
// The check is a grpc::AuthMetadataProcessor: gRPC runs it in the server's
// auth filter, before any handler, and fails the call with its status. The C++
// API accepts one on TLS credentials only, but gRPC 1.51's core runs the same
// filter for plaintext ports, so the plaintext credentials below install the
// processor through the C API.
#include "server/auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tcpemu::server {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr absl::string_view kHealthPrefix = "/grpc.health.v1.Health/";
constexpr absl::string_view kReflectionPrefix = "/grpc.reflection.";

absl::StatusOr<std::string> ReadFile(absl::string_view flag,
                                     const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": ", std::strerror(errno)));
  }
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMaxFileBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", path, ": larger than 1 MiB"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": ", std::strerror(err)));
  }
  return out;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Never prompts for a passphrase: an encrypted key is an error.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The first certificate of a PEM bundle, and how many there are.
std::pair<X509Ptr, int> ReadCertificates(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  X509Ptr first;
  int count = 0;
  while (X509* x =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    if (count++ == 0) {
      first.reset(x);
    } else {
      X509_free(x);
    }
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  return {std::move(first), count};
}

absl::Status CheckTlsFiles(const SecurityFlags& flags,
                           const SecurityConfig& config) {
  auto [cert, count] = ReadCertificates(config.tls_cert_pem);
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert ", flags.tls_cert,
                     ": no PEM certificate (BEGIN CERTIFICATE) in it"));
  }
  BioPtr bio = MemBio(config.tls_key_pem);
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key ", flags.tls_key,
        ": no unencrypted PEM private key (BEGIN PRIVATE KEY) in it"));
  }
  const int matches = X509_check_private_key(cert.get(), key.get());
  ERR_clear_error();
  if (matches != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key ", flags.tls_key,
                     ": not the key of the first certificate in --tls_cert ",
                     flags.tls_cert));
  }
  if (!config.tls_client_ca_pem.empty() &&
      ReadCertificates(config.tls_client_ca_pem).second == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_client_ca ", flags.tls_client_ca,
                     ": no PEM certificate (BEGIN CERTIFICATE) in it"));
  }
  return absl::OkStatus();
}

// The Bearer token of one `authorization` value (RFC 6750 §2.1; the scheme
// is case-insensitive, RFC 7235 §2.1), or nothing.
bool BearerToken(absl::string_view value, absl::string_view* token) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  *token = absl::StripLeadingAsciiWhitespace(value.substr(kScheme.size()));
  return !token->empty();
}

absl::string_view View(const grpc_slice& s) {
  return absl::string_view(
      reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)),
      GRPC_SLICE_LENGTH(s));
}

// For TLS credentials, through the C++ API.
class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenAuthProcessor(std::shared_ptr<const TokenChecker> checker)
      : checker_(std::move(checker)) {}

  // Hashing a few tokens is quick: run inline, not on a separate thread.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override {
    absl::string_view method;
    std::vector<absl::string_view> authorization;
    for (const auto& [key, value] : auth_metadata) {
      const absl::string_view k(key.data(), key.size());
      const absl::string_view v(value.data(), value.size());
      if (k == ":path") {
        method = v;
      } else if (k == "authorization") {
        authorization.push_back(v);
        // Handlers never see the token.
        consumed_auth_metadata->emplace("authorization", std::string(v));
      }
    }
    absl::Status s = checker_->Check(method, authorization);
    if (s.ok()) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        std::string(s.message()));
  }

 private:
  std::shared_ptr<const TokenChecker> checker_;
};

// For plaintext ports, through the C API (see the top of this file).
void ProcessPlaintext(const TokenChecker* checker, const grpc_metadata* md,
                      size_t num_md, grpc_process_auth_metadata_done_cb done,
                      void* user_data) {
  absl::string_view method;
  std::vector<absl::string_view> authorization;
  std::vector<grpc_metadata> consumed;
  for (size_t i = 0; i < num_md; ++i) {
    const absl::string_view k = View(md[i].key);
    if (k == ":path") {
      method = View(md[i].value);
    } else if (k == "authorization") {
      authorization.push_back(View(md[i].value));
      consumed.push_back(md[i]);
    }
  }
  absl::Status s = checker->Check(method, authorization);
  if (s.ok()) {
    done(user_data, consumed.data(), consumed.size(), nullptr, 0,
         GRPC_STATUS_OK, nullptr);
  } else {
    const std::string message(s.message());
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
         message.c_str());
  }
}

// Plaintext with the token check. gRPC 1.51's InsecureServerCredentials()
// aborts on SetAuthMetadataProcessor; these bind the port the way it does
// (insecure core credentials) with the processor set on them.
class PlaintextTokenCredentials final : public grpc::ServerCredentials {
 public:
  explicit PlaintextTokenCredentials(
      std::shared_ptr<const TokenChecker> checker)
      : checker_(std::move(checker)) {}

  // The processor is built in; there is nothing else to set.
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds = grpc_insecure_server_credentials_create();
    // The port's channel stack keeps `creds` (and the state) alive; the
    // destroy callback drops this reference to the checker.
    auto* state = new std::shared_ptr<const TokenChecker>(checker_);
    grpc_auth_metadata_processor processor;
    processor.process = [](void* st, grpc_auth_context*,
                           const grpc_metadata* md, size_t n,
                           grpc_process_auth_metadata_done_cb cb, void* ud) {
      ProcessPlaintext(
          static_cast<std::shared_ptr<const TokenChecker>*>(st)->get(), md, n,
          cb, ud);
    };
    processor.destroy = [](void* st) {
      delete static_cast<std::shared_ptr<const TokenChecker>*>(st);
    };
    processor.state = state;
    grpc_server_credentials_set_auth_metadata_processor(creds, processor);
    const int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }

  std::shared_ptr<const TokenChecker> checker_;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseTokens(absl::string_view text) {
  std::vector<std::string> tokens;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    for (char c : line) {
      if (c < 0x21 || c > 0x7e) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_no,
            ": a token is printable ASCII without spaces, one per line"));
      }
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(
        "no token in it (one per line; blank lines and # comments are "
        "skipped)");
  }
  return tokens;
}

absl::StatusOr<SecurityConfig> LoadSecurity(const SecurityFlags& flags) {
  SecurityConfig config;
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both (TLS) or neither "
        "(plaintext)");
  }
  if (!flags.tls_client_ca.empty() && flags.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key (mutual TLS is TLS)");
  }
  if (flags.auth_tokens.empty() &&
      (flags.auth_health || flags.auth_reflection)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flags.auth_health ? "--auth_health" : "--auth_reflection",
        " needs --auth_tokens (the tokens health or reflection calls need)"));
  }
  if (!flags.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile("--tls_cert", flags.tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("--tls_key", flags.tls_key);
    if (!key.ok()) return key.status();
    config.tls_cert_pem = *std::move(cert);
    config.tls_key_pem = *std::move(key);
    if (!flags.tls_client_ca.empty()) {
      absl::StatusOr<std::string> ca =
          ReadFile("--tls_client_ca", flags.tls_client_ca);
      if (!ca.ok()) return ca.status();
      config.tls_client_ca_pem = *std::move(ca);
    }
    if (absl::Status s = CheckTlsFiles(flags, config); !s.ok()) return s;
  }
  if (!flags.auth_tokens.empty()) {
    absl::StatusOr<std::string> text =
        ReadFile("--auth_tokens", flags.auth_tokens);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<std::string>> tokens = ParseTokens(*text);
    if (!tokens.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth_tokens ", flags.auth_tokens, ": ",
                       tokens.status().message()));
    }
    config.tokens = *std::move(tokens);
    config.auth_health = flags.auth_health;
    config.auth_reflection = flags.auth_reflection;
  }
  return config;
}

TokenChecker::TokenChecker(absl::Span<const std::string> tokens,
                           bool auth_health, bool auth_reflection)
    : auth_health_(auth_health), auth_reflection_(auth_reflection) {
  digests_.reserve(tokens.size());
  for (const std::string& t : tokens) {
    Digest d;
    SHA256(reinterpret_cast<const unsigned char*>(t.data()), t.size(),
           d.data());
    digests_.push_back(d);
  }
}

bool TokenChecker::IsOpen(absl::string_view method) const {
  return (!auth_health_ && absl::StartsWith(method, kHealthPrefix)) ||
         (!auth_reflection_ && absl::StartsWith(method, kReflectionPrefix));
}

absl::Status TokenChecker::Check(
    absl::string_view method,
    absl::Span<const absl::string_view> authorization) const {
  if (IsOpen(method)) return absl::OkStatus();
  bool presented = false;
  int matched = 0;
  for (absl::string_view value : authorization) {
    absl::string_view token;
    if (!BearerToken(value, &token)) continue;
    presented = true;
    Digest d;
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
           d.data());
    // Every known token is compared, whichever matches.
    for (const Digest& known : digests_) {
      matched |= CRYPTO_memcmp(d.data(), known.data(), d.size()) == 0;
    }
  }
  if (!presented) return absl::UnauthenticatedError("missing bearer token");
  if (matched == 0) return absl::UnauthenticatedError("invalid bearer token");
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const SecurityConfig& config) {
  std::shared_ptr<const TokenChecker> checker;
  if (!config.tokens.empty()) {
    checker = std::make_shared<const TokenChecker>(
        config.tokens, config.auth_health, config.auth_reflection);
  }
  if (!config.tls()) {
    if (checker == nullptr) return grpc::InsecureServerCredentials();
    return std::make_shared<PlaintextTokenCredentials>(std::move(checker));
  }
  grpc::SslServerCredentialsOptions options(
      config.tls_client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = config.tls_client_ca_pem;
  options.pem_key_cert_pairs.push_back(
      {config.tls_key_pem, config.tls_cert_pem});
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::SslServerCredentials(options);
  if (checker != nullptr) {
    creds->SetAuthMetadataProcessor(
        std::make_shared<TokenAuthProcessor>(std::move(checker)));
  }
  return creds;
}

}  // namespace tcpemu::server
