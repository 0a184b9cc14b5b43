// A server interceptor that answers a request body that is not a valid
// protobuf with INVALID_ARGUMENT ("request is not a valid tcpemu.v1.X")
// instead of gRPC's bare INTERNAL (sync methods) or UNIMPLEMENTED (callback
// methods), and counts it in grpc_server_handled_total like any other call.
#pragma once

#include <grpcpp/support/server_interceptor.h>

namespace tcpemu::server {

class Metrics;

class InvalidRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InvalidRequestInterceptorFactory(Metrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* metrics_;
};

}  // namespace tcpemu::server
