// Transport security and bearer tokens of tcpemud: token file parsing, the
// constant-time check, and an in-process daemon on port 0 over plaintext, TLS
// and mutual TLS with certificates the test generates (openssl CLI).
#include "server/auth.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"

namespace tcpemu::server {
namespace {

namespace fs = std::filesystem;

constexpr char kToken[] = "s3cret-token-0123456789abcdef";
constexpr char kHealth[] = "/grpc.health.v1.Health/Check";
constexpr char kReflection[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// ---------------------------------------------------------------- parsing

TEST(ParseTokensTest, SkipsCommentsBlankLinesAndWhitespace) {
  auto tokens = ParseTokens(
      "# tokens of the lab\n\n  alpha-1  \r\n\t# indented comment\nbeta/2==\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(*tokens, (std::vector<std::string>{"alpha-1", "beta/2=="}));
}

TEST(ParseTokensTest, NoTokenIsAnError) {
  auto tokens = ParseTokens("# only a comment\n\n   \n");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(tokens.status().message(), "no token"))
      << tokens.status();
}

TEST(ParseTokensTest, SpaceInsideATokenNamesTheLineNotTheToken) {
  auto tokens = ParseTokens("good\n# c\nhalf secret\n");
  ASSERT_FALSE(tokens.ok());
  EXPECT_TRUE(absl::StrContains(tokens.status().message(), "line 3"))
      << tokens.status();
  EXPECT_FALSE(absl::StrContains(tokens.status().message(), "secret"));
  EXPECT_FALSE(ParseTokens("tab\tinside\n").ok());
  EXPECT_FALSE(ParseTokens("caf\xc3\xa9\n").ok());
}

// ---------------------------------------------------------------- checker

TEST(TokenCheckerTest, AcceptsOnlyKnownBearerTokens) {
  const std::vector<std::string> tokens = {"first", "second-token"};
  TokenChecker checker(tokens, false, false);
  const char* m = "/tcpemu.v1.Emulator/ListNetworks";
  EXPECT_TRUE(checker.Check(m, {"Bearer first"}).ok());
  EXPECT_TRUE(checker.Check(m, {"Bearer second-token"}).ok());
  EXPECT_TRUE(checker.Check(m, {"bearer first"}).ok());  // scheme: any case
  EXPECT_TRUE(checker.Check(m, {"Basic Zm9v", "Bearer first"}).ok());

  absl::Status s = checker.Check(m, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "missing bearer token");
  EXPECT_EQ(checker.Check(m, {"Basic Zm9v"}).message(), "missing bearer token");
  EXPECT_EQ(checker.Check(m, {"Bearer "}).message(), "missing bearer token");
  EXPECT_EQ(checker.Check(m, {"first"}).message(), "missing bearer token");

  for (const char* wrong :
       {"Bearer firs", "Bearer first2", "Bearer First", "Bearer second"}) {
    s = checker.Check(m, {wrong});
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << wrong;
    EXPECT_EQ(s.message(), "invalid bearer token") << wrong;
  }
}

TEST(TokenCheckerTest, HealthAndReflectionOpenUnlessAsked) {
  const std::vector<std::string> tokens = {"t"};
  TokenChecker open(tokens, false, false);
  EXPECT_TRUE(open.Check(kHealth, {}).ok());
  EXPECT_TRUE(open.Check("/grpc.health.v1.Health/Watch", {}).ok());
  EXPECT_TRUE(open.Check(kReflection, {}).ok());
  EXPECT_TRUE(
      open.Check("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                 {})
          .ok());
  EXPECT_FALSE(open.Check("/tcpemu.v1.Emulator/ListNetworks", {}).ok());
  // A look-alike service is not the health service.
  EXPECT_FALSE(open.Check("/grpc.health.v1.HealthX/Check", {}).ok());
  EXPECT_FALSE(open.Check("", {}).ok());

  TokenChecker health(tokens, true, false);
  EXPECT_FALSE(health.Check(kHealth, {}).ok());
  EXPECT_TRUE(health.Check(kHealth, {"Bearer t"}).ok());
  EXPECT_TRUE(health.Check(kReflection, {}).ok());

  TokenChecker reflection(tokens, false, true);
  EXPECT_TRUE(reflection.Check(kHealth, {}).ok());
  EXPECT_FALSE(reflection.Check(kReflection, {}).ok());
  EXPECT_TRUE(reflection.Check(kReflection, {"Bearer t"}).ok());
}

// ---------------------------------------------------------------- files

// A temporary directory with a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate, and a second CA with its own client
// certificate; removed at the end.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/tcpemu-auth-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    dir_ = d;
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the openssl commands; false (with the output) on failure.
  bool Generate(std::string* why) {
    WriteAll(dir_ / "server.ext",
             "basicConstraints=critical,CA:FALSE\n"
             "keyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth\n"
             "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    WriteAll(dir_ / "client.ext",
             "basicConstraints=critical,CA:FALSE\n"
             "keyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=clientAuth\n");
    const std::string script = absl::StrCat(
        "set -e; cd '", dir_.string(), "'\n",
        "ca() { openssl req -x509 -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -days 2 -subj \"/CN=$1\" "
        "-addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign,cRLSign "
        "-keyout \"$1.key\" -out \"$1.pem\"; }\n",
        "leaf() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
        "-nodes -subj \"/CN=$1\" -keyout \"$1.key\" -out \"$1.csr\"; "
        "openssl x509 -req -in \"$1.csr\" -CA \"$2.pem\" -CAkey \"$2.key\" "
        "-CAcreateserial -days 2 -extfile \"$3\" -out \"$1.pem\"; }\n",
        "ca ca; ca other-ca\n", "leaf server ca server.ext\n",
        "leaf client ca client.ext\n", "leaf stranger other-ca client.ext\n");
    WriteAll(dir_ / "gen.sh", script);
    const std::string cmd =
        absl::StrCat("sh '", (dir_ / "gen.sh").string(), "' > '",
                     (dir_ / "gen.log").string(), "' 2>&1");
    if (std::system(cmd.c_str()) != 0) {
      *why = absl::StrCat("openssl failed:\n", ReadAll(dir_ / "gen.log"));
      return false;
    }
    return true;
  }

  std::string path(const std::string& name) const {
    return (dir_ / name).string();
  }
  std::string pem(const std::string& name) const {
    return ReadAll(dir_ / name);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

class LoadSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(pki_.Generate(&why)) << why;
    WriteAll(pki_.dir() / "tokens", "# lab\nabc\n");
  }

  // The message of a LoadSecurity failure ("" when it succeeds).
  std::string Error(const SecurityFlags& f) {
    auto c = LoadSecurity(f);
    if (c.ok()) return "";
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  }

  Pki pki_;
};

TEST_F(LoadSecurityTest, NothingSetIsPlaintextWithoutTokens) {
  auto c = LoadSecurity({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->tls());
  EXPECT_TRUE(c->tokens.empty());
}

TEST_F(LoadSecurityTest, ReadsEverything) {
  SecurityFlags f;
  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("server.key");
  f.tls_client_ca = pki_.path("ca.pem");
  f.auth_tokens = pki_.path("tokens");
  f.auth_health = true;
  auto c = LoadSecurity(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->tls());
  EXPECT_EQ(c->tls_cert_pem, pki_.pem("server.pem"));
  EXPECT_EQ(c->tls_client_ca_pem, pki_.pem("ca.pem"));
  EXPECT_EQ(c->tokens, std::vector<std::string>{"abc"});
  EXPECT_TRUE(c->auth_health);
  EXPECT_FALSE(c->auth_reflection);
}

TEST_F(LoadSecurityTest, ErrorsNameTheFlag) {
  SecurityFlags f;
  f.tls_cert = pki_.path("server.pem");
  EXPECT_TRUE(absl::StrContains(Error(f), "--tls_cert and --tls_key"));

  f = {};
  f.tls_client_ca = pki_.path("ca.pem");
  EXPECT_TRUE(absl::StrContains(Error(f), "--tls_client_ca needs"));

  f = {};
  f.auth_health = true;
  EXPECT_TRUE(absl::StrContains(Error(f), "--auth_health needs --auth_tokens"));
  f = {};
  f.auth_reflection = true;
  EXPECT_TRUE(
      absl::StrContains(Error(f), "--auth_reflection needs --auth_tokens"));

  f = {};
  f.auth_tokens = pki_.path("missing");
  std::string e = Error(f);
  EXPECT_TRUE(absl::StrContains(e, "--auth_tokens "));
  EXPECT_TRUE(absl::StrContains(e, "No such file")) << e;

  WriteAll(pki_.dir() / "empty-tokens", "# nothing yet\n");
  f.auth_tokens = pki_.path("empty-tokens");
  EXPECT_TRUE(absl::StrContains(Error(f), "--auth_tokens "));
  f.auth_tokens = pki_.dir().string();  // a directory
  EXPECT_TRUE(absl::StrContains(Error(f), "--auth_tokens "));

  f = {};
  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("nope.key");
  EXPECT_TRUE(absl::StrContains(Error(f), "--tls_key "));

  f.tls_key = pki_.path("server.pem");  // a certificate, not a key
  e = Error(f);
  EXPECT_TRUE(absl::StrContains(e, "--tls_key ") &&
              absl::StrContains(e, "private key"))
      << e;

  f.tls_cert = pki_.path("server.key");  // a key, not a certificate
  f.tls_key = pki_.path("server.key");
  e = Error(f);
  EXPECT_TRUE(absl::StrContains(e, "--tls_cert ") &&
              absl::StrContains(e, "no PEM certificate"))
      << e;

  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("client.key");  // another certificate's key
  e = Error(f);
  EXPECT_TRUE(absl::StrContains(e, "not the key")) << e;

  f.tls_key = pki_.path("server.key");
  f.tls_client_ca = pki_.path("tokens");  // not PEM at all
  e = Error(f);
  EXPECT_TRUE(absl::StrContains(e, "--tls_client_ca ")) << e;
  EXPECT_EQ(Error({.tls_cert = f.tls_cert, .tls_key = f.tls_key}), "");
}

// ---------------------------------------------------------------- over gRPC

// One call of any method through a generic stream (unary methods accept one
// message and a half-close too): its status, and whether a reply came.
struct CallResult {
  grpc::Status status;
  bool replied = false;
};

CallResult GenericCall(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& method, const std::string& body,
                       const std::string& token) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  grpc::CompletionQueue cq;
  void* tag;
  bool ok;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(nullptr);
  cq.Next(&tag, &ok);
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, nullptr);
  cq.Next(&tag, &ok);
  call->WritesDone(nullptr);
  cq.Next(&tag, &ok);
  CallResult r;
  for (;;) {
    grpc::ByteBuffer reply;
    call->Read(&reply, nullptr);
    cq.Next(&tag, &ok);
    if (!ok) break;
    r.replied = true;
  }
  call->Finish(&r.status, nullptr);
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return r;
}

CallResult Health(const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& token) {
  return GenericCall(channel, kHealth, "", token);
}

CallResult Reflection(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& token) {
  google::protobuf::UnknownFieldSet req;  // ServerReflectionRequest
  req.AddLengthDelimited(7, "");          // list_services
  std::string body;
  req.SerializeToString(&body);
  return GenericCall(channel, kReflection, body, token);
}

grpc::Status ListNetworks(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& token,
                          v1::ListNetworksResponse* resp = nullptr) {
  auto stub = v1::Emulator::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  v1::ListNetworksResponse ignored;
  return stub->ListNetworks(&ctx, {}, resp ? resp : &ignored);
}

grpc::Status CreateNetwork(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& token) {
  auto stub = v1::Emulator::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  v1::CreateNetworkRequest req;
  req.set_clock(v1::CLOCK_KIND_VIRTUAL);
  v1::Network net;
  return stub->CreateNetwork(&ctx, req, &net);
}

class DaemonSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(pki_.Generate(&why)) << why;
    WriteAll(pki_.dir() / "tokens",
             absl::StrCat("# tokens\n", kToken, "\nsecond-token\n"));
  }

  // Starts a daemon on 127.0.0.1 port 0 with these flags.
  void Start(const SecurityFlags& flags) {
    auto config = LoadSecurity(flags);
    ASSERT_TRUE(config.ok()) << config.status();
    DaemonOptions o;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.emulator.shards = 1;
    o.security = *std::move(config);
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    target_ = absl::StrCat("127.0.0.1:", daemon_->port());
  }

  SecurityFlags Tokens(bool auth_health = false, bool auth_reflection = false) {
    SecurityFlags f;
    f.auth_tokens = pki_.path("tokens");
    f.auth_health = auth_health;
    f.auth_reflection = auth_reflection;
    return f;
  }

  std::shared_ptr<grpc::Channel> Plaintext() {
    return grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  }

  // A TLS channel trusting `ca`, with a client certificate when `client` is
  // set ("client" or "stranger"), checking the server's name "localhost".
  std::shared_ptr<grpc::Channel> Tls(const std::string& ca,
                                     const std::string& client = "") {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = pki_.pem(ca + ".pem");
    if (!client.empty()) {
      o.pem_private_key = pki_.pem(client + ".key");
      o.pem_cert_chain = pki_.pem(client + ".pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(target_, grpc::SslCredentials(o), args);
  }

  Pki pki_;
  std::unique_ptr<Daemon> daemon_;
  std::string target_;
};

TEST_F(DaemonSecurityTest, PlaintextWithoutFlagsNeedsNoToken) {
  Start({});
  EXPECT_TRUE(ListNetworks(Plaintext(), "").ok());
  EXPECT_TRUE(ListNetworks(Plaintext(), "anything").ok());
}

TEST_F(DaemonSecurityTest, PlaintextTokens) {
  Start(Tokens());
  auto ch = Plaintext();
  grpc::Status s = ListNetworks(ch, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "missing bearer token");
  s = ListNetworks(ch, "s3cret-token-0123456789abcdeX");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "invalid bearer token");
  EXPECT_EQ(ListNetworks(ch, "second").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListNetworks(ch, kToken).ok());
  EXPECT_TRUE(ListNetworks(ch, "second-token").ok());

  // A rejected call never reaches the service: no network was created.
  EXPECT_EQ(CreateNetwork(ch, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CreateNetwork(ch, "wrong").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ListNetworksResponse nets;
  ASSERT_TRUE(ListNetworks(ch, kToken, &nets).ok());
  EXPECT_EQ(nets.networks_size(), 1);  // the default network only
  ASSERT_TRUE(CreateNetwork(ch, kToken).ok());
  ASSERT_TRUE(ListNetworks(ch, kToken, &nets).ok());
  EXPECT_EQ(nets.networks_size(), 2);

  // Health and reflection stay open.
  CallResult h = Health(ch, "");
  EXPECT_TRUE(h.status.ok()) << h.status.error_message();
  EXPECT_TRUE(h.replied);
  CallResult r = Reflection(ch, "");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.replied);
}

TEST_F(DaemonSecurityTest, StreamsNeedTheTokenToo) {
  Start(Tokens());
  auto ch = Plaintext();
  v1::WatchEventsRequest req;
  std::string body;
  req.SerializeToString(&body);
  CallResult w = GenericCall(ch, "/tcpemu.v1.Emulator/WatchEvents", body, "");
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(w.replied);
  w = GenericCall(ch, "/tcpemu.v1.Emulator/WatchEvents", body, "nope");
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(DaemonSecurityTest, HealthAndReflectionBehindTheTokenWhenAsked) {
  Start(Tokens(/*auth_health=*/true, /*auth_reflection=*/false));
  auto ch = Plaintext();
  EXPECT_EQ(Health(ch, "").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Health(ch, "wrong").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Health(ch, kToken).status.ok());
  EXPECT_TRUE(Reflection(ch, "").status.ok());
  daemon_.reset();

  Start(Tokens(/*auth_health=*/false, /*auth_reflection=*/true));
  ch = Plaintext();
  EXPECT_TRUE(Health(ch, "").status.ok());
  EXPECT_EQ(Reflection(ch, "").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  CallResult r = Reflection(ch, kToken);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.replied);
}

TEST_F(DaemonSecurityTest, Tls) {
  SecurityFlags f;
  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("server.key");
  Start(f);
  grpc::Status s = ListNetworks(Tls("ca"), "");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Health(Tls("ca"), "").status.ok());
  // A client certificate is not asked for, and does no harm.
  EXPECT_TRUE(ListNetworks(Tls("ca", "client"), "").ok());
  // Plaintext to a TLS port, or a server the client's CA did not sign.
  EXPECT_EQ(ListNetworks(Plaintext(), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListNetworks(Tls("other-ca"), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(DaemonSecurityTest, MutualTls) {
  SecurityFlags f;
  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("server.key");
  f.tls_client_ca = pki_.path("ca.pem");
  Start(f);
  grpc::Status s = ListNetworks(Tls("ca", "client"), "");
  EXPECT_TRUE(s.ok()) << s.error_message();
  // No client certificate, or one another CA signed: the handshake fails.
  EXPECT_EQ(ListNetworks(Tls("ca"), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListNetworks(Tls("ca", "stranger"), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Health(Tls("ca"), "").status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListNetworks(Plaintext(), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(DaemonSecurityTest, MutualTlsAndTokens) {
  SecurityFlags f = Tokens();
  f.tls_cert = pki_.path("server.pem");
  f.tls_key = pki_.path("server.key");
  f.tls_client_ca = pki_.path("ca.pem");
  Start(f);
  auto ch = Tls("ca", "client");
  grpc::Status s = ListNetworks(ch, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "missing bearer token");
  EXPECT_EQ(ListNetworks(ch, "wrong").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  s = ListNetworks(ch, kToken);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Health(ch, "").status.ok());
  // The token does not stand in for the certificate.
  EXPECT_EQ(ListNetworks(Tls("ca"), kToken).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace tcpemu::server
