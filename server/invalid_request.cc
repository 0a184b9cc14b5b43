// Undecodable requests become INVALID_ARGUMENT; see invalid_request.h.
#include "server/invalid_request.h"

#include <string>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "server/metrics.h"
#include "server/shard.h"

namespace tcpemu::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

class InvalidRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  // `method` is gRPC's, alive as long as the call (and so this interceptor).
  InvalidRequestInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics), method_(method), start_ns_(SteadyNowNs()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    // Only these two hooks touch the interceptor's state: the completion
    // op's hook (POST_RECV_CLOSE) may run while the call is being torn down.
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        m->GetRecvMessage() == nullptr) {
      undecodable_ = true;
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        undecodable_) {
      m->ModifySendStatus(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("request is not a valid ", RequestType())));
      Count();
    }
    m->Proceed();
  }

 private:
  // "/tcpemu.v1.Emulator/Write" -> "tcpemu.v1.WriteRequest".
  std::string RequestType() const {
    size_t slash = method_.rfind('/');
    if (slash == 0 || slash == absl::string_view::npos) {
      return "request message";
    }
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            std::string(method_.substr(1, slash - 1)));
    const auto* method =
        service
            ? service->FindMethodByName(std::string(method_.substr(slash + 1)))
            : nullptr;
    return method ? method->input_type()->full_name() : "request message";
  }

  void Count() {
    if (metrics_ == nullptr ||
        !absl::StartsWith(method_, "/tcpemu.v1.Emulator/")) {
      return;
    }
    const absl::string_view name = method_.substr(method_.rfind('/') + 1);
    metrics_->ObserveRpc(std::string_view(name.data(), name.size()),
                         static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT),
                         static_cast<double>(SteadyNowNs() - start_ns_) / 1e9);
  }

  Metrics* metrics_;
  absl::string_view method_;
  int64_t start_ns_;
  bool undecodable_ = false;
};

}  // namespace

grpc::experimental::Interceptor*
InvalidRequestInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Health checking and reflection keep gRPC's own answers.
  if (!absl::StartsWith(info->method(), "/tcpemu.v1.")) return nullptr;
  return new InvalidRequestInterceptor(metrics_, info->method());
}

}  // namespace tcpemu::server
