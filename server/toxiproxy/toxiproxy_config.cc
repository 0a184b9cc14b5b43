// tcpemud --proxies FILE; see toxiproxy_config.h.
#include "server/toxiproxy/toxiproxy_config.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/toxiproxy/toxiproxy_json.h"
#include "server/toxiproxy/toxiproxy_ops.h"

namespace tcpemu::server {
namespace {

// A config of thousands of proxies stays far below this.
constexpr size_t kMaxConfigBytes = 4 << 20;

// The file's errors are not a request's: "bad request body: " goes.
absl::Status Prefixed(const std::string& path, const absl::Status& s) {
  absl::string_view message = s.message();
  absl::ConsumePrefix(&message, "bad request body: ");
  return absl::Status(s.code(),
                      absl::StrCat("--proxies ", path, ": ", message));
}

absl::StatusOr<std::string> ReadConfig(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(std::strerror(errno));
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxConfigBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          absl::StrCat("larger than ", kMaxConfigBytes, " bytes"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return absl::InvalidArgumentError(std::strerror(err));
  return text;
}

}  // namespace

absl::Status LoadToxiproxyConfig(const std::string& path,
                                 tcpemu::v1::Emulator::StubInterface* stub) {
  absl::StatusOr<std::string> text = ReadConfig(path);
  if (!text.ok()) return Prefixed(path, text.status());
  absl::StatusOr<toxiproxy::Json> json = toxiproxy::ParseBody(*text);
  if (!json.ok()) return Prefixed(path, json.status());
  absl::StatusOr<std::vector<toxiproxy::ProxyFields>> entries =
      toxiproxy::PopulateFromJson(*json);
  if (!entries.ok()) return Prefixed(path, entries.status());
  toxiproxy::ToxiproxyOps ops(stub);
  toxiproxy::PopulateResult result = ops.Populate(*entries);
  if (!result.status.ok()) {
    const size_t failed = result.proxies.size();
    return Prefixed(path,
                    absl::Status(result.status.code(),
                                 absl::StrCat("proxy ", failed + 1, " (",
                                              *(*entries)[failed].name,
                                              "): ", result.status.message())));
  }
  return absl::OkStatus();
}

}  // namespace tcpemu::server
