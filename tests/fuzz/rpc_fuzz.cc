// Fuzz target: request validation of every unary RPC of tcpemu.v1.Emulator.
// The input is a sequence of calls, each a method number, an id selector and
// the request's wire bytes (parsed with ParseFromArray, so every field,
// nested message and oneof the fuzzer reaches is exercised). The handlers are
// called in-process on an EmulatorService with one shard. Checks: no crash,
// no sanitizer report, no hang (libFuzzer's -timeout), and any non-OK status
// carries a canonical code (1..16) and a message.
//
// To make calls reach past "not found", each input starts with its own
// VIRTUAL network holding a link and a session, and the selector rewrites the
// request's network_id / link_id / session_id / interface_id fields (found by
// reflection) to those, to an unknown id, or leaves what was parsed. Anything
// an input creates is deleted at its end, so inputs do not depend on each
// other. Bounded here, so that one input cannot stall the fuzzer: waits
// (<= 20 ms), virtual time advanced (<= 2 s), generated write sizes
// (<= 1 MiB). WatchEvents (a server-streaming callback reactor) and
// ExportPcap (a ServerWriter) are not unary and are left out. Interfaces are
// capped at 0, so CreateInterface is validated but never opens a TAP device.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/notification.h"
#include "server/emulator_service.h"
#include "server/event_hub.h"
#include "tcpemu/v1/tcpemu.grpc.pb.h"
#include "tests/fuzz/fuzz_util.h"

namespace tcpemu::server {
namespace {

using fuzz::Reader;
using google::protobuf::Duration;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// A call's end for the waiting calls, run to completion in place.
struct Ended final : CallEnd {
  void OnCancelDo(absl::AnyInvocable<void()>) override {}
  void Complete(const absl::Status& s) override {
    status = s;
    done.Notify();
  }
  absl::Status status;
  absl::Notification done;
};

EmulatorService& Service() {
  static EventHub* hub = new EventHub(EventHub::Options{});
  static EmulatorService* service = [] {
    // Parse failures of fuzzed bytes (invalid UTF-8 in a string field) are
    // expected; their log lines would only drown libFuzzer's output.
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                       int, const std::string&) {});
    EmulatorOptions o;
    o.shards = 1;
    o.max_interfaces = 0;  // never open a TAP device
    o.default_seed = 1;
    return new EmulatorService(o, hub, nullptr);
  }();
  return *service;
}

void CheckStatus(const grpc::Status& s, const char* method) {
  if (s.ok()) return;
  const int code = static_cast<int>(s.error_code());
  FUZZ_CHECK_MSG(code >= 1 && code <= 16, "%s: non-canonical code %d", method,
                 code);
  FUZZ_CHECK_MSG(!s.error_message().empty(), "%s: code %d without a message",
                 method, code);
}

struct Fixture {
  uint32_t network = 0, link = 0, session = 0;
  std::vector<uint32_t> networks;  // created by this input, to delete
};

void Clamp(Duration* d, int64_t max_ns) {
  const int64_t ns = d->seconds() * 1000000000 + d->nanos();
  if (d->seconds() > 1000 || d->seconds() < -1000 || ns > max_ns) {
    d->set_seconds(max_ns / 1000000000);
    d->set_nanos(static_cast<int32_t>(max_ns % 1000000000));
  }
}

// Rewrites id fields of `m` (not nested messages: requests carry their ids at
// the top level) as the selector says, two bits per field kind.
void RewriteIds(Message* m, uint8_t sel, const Fixture& fx, bool read_only) {
  const auto* desc = m->GetDescriptor();
  const auto* refl = m->GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_UINT32 || f->is_repeated()) {
      continue;
    }
    uint32_t own = 0;
    int shift = 0;
    if (f->name() == "network_id") {
      own = fx.network;
      shift = 0;
    } else if (f->name() == "link_id" || f->name() == "interface_id") {
      own = fx.link;
      shift = 2;
    } else if (f->name() == "session_id") {
      own = fx.session;
      shift = 4;
    } else {
      continue;
    }
    // A field of a oneof keeps the oneof's choice.
    if (f->containing_oneof() != nullptr && !refl->HasField(*m, f)) continue;
    uint32_t v = refl->GetUInt32(*m, f);
    switch ((sel >> shift) & 3) {
      case 0:
        v = own;
        break;
      case 1:
        break;  // as parsed
      case 2:
        v = own + 1;  // the next one this input may create, or none
        break;
      default:
        v = 0;
        break;
    }
    // Changes stay inside this input's networks: only reads may name the
    // default network (0 or 1) or every network (0).
    if (f->name() == "network_id" && !read_only && v <= 1) v = own;
    refl->SetUInt32(m, f, v);
  }
}

class Driver {
 public:
  explicit Driver(Reader& in) : in_(in), svc_(Service()) {}

  void Run() {
    Setup();
    int calls = 0;
    while (!in_.empty() && calls++ < 64) Call();
    Teardown();
  }

 private:
  void Setup() {
    v1::CreateNetworkRequest nreq;
    nreq.set_clock(v1::CLOCK_KIND_VIRTUAL);
    nreq.set_seed(7);
    v1::Network net;
    CheckStatus(svc_.CreateNetwork(nullptr, &nreq, &net), "CreateNetwork");
    FUZZ_CHECK(net.id() != 0);
    fx_.network = net.id();
    fx_.networks.push_back(net.id());
    v1::CreateLinkRequest lreq;
    lreq.set_network_id(fx_.network);
    v1::Link link;
    grpc::Status s = svc_.CreateLink(nullptr, &lreq, &link);
    FUZZ_CHECK_MSG(s.ok(), "fixture link: %s", s.error_message().c_str());
    fx_.link = link.id();
    v1::OpenSessionRequest sreq;
    sreq.set_network_id(fx_.network);
    sreq.set_link_id(fx_.link);
    v1::Session session;
    s = svc_.OpenSession(nullptr, &sreq, &session);
    FUZZ_CHECK_MSG(s.ok(), "fixture session: %s", s.error_message().c_str());
    fx_.session = session.id();
  }

  void Teardown() {
    for (uint32_t id : fx_.networks) {
      v1::DeleteNetworkRequest req;
      req.set_network_id(id);
      google::protobuf::Empty e;
      grpc::Status s = svc_.DeleteNetwork(nullptr, &req, &e);
      FUZZ_CHECK_MSG(s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND,
                     "teardown of network %u: %s", id,
                     s.error_message().c_str());
    }
  }

  template <typename Req, typename Resp, typename Fn>
  void Do(const char* name, bool read_only, uint8_t sel,
          std::vector<uint8_t>& bytes, Fn&& fn) {
    Req req;
    if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return;
    }
    RewriteIds(&req, sel, fx_, read_only);
    Bound(&req);
    Resp resp;
    grpc::Status s = fn(&req, &resp);
    CheckStatus(s, name);
    if (s.ok()) After(name, resp);
  }

  // Keeps one call from running for long.
  void Bound(Message*) {}
  void Bound(v1::WriteRequest* r) {
    if (r->fill_bytes() > (1u << 20)) r->set_fill_bytes(1u << 20);
    if (r->has_wait()) Clamp(r->mutable_wait(), 20 * 1000000);
  }
  void Bound(v1::ReadRequest* r) {
    if (r->has_wait()) Clamp(r->mutable_wait(), 20 * 1000000);
  }
  void Bound(v1::AdvanceTimeRequest* r) {
    if (r->has_duration()) Clamp(r->mutable_duration(), 2000000000LL);
    if (r->until_idle() || r->has_limit()) {
      if (!r->has_limit()) {
        r->mutable_limit()->set_seconds(2);
      } else {
        Clamp(r->mutable_limit(), 2000000000LL);
      }
    }
  }
  // What an input creates is its own to delete.
  void After(const char*, const Message&) {}
  void After(const char* name, const v1::Network& n) {
    if (std::string_view(name) == "CreateNetwork") {
      fx_.networks.push_back(n.id());
    }
  }

  void Call() {
    const uint8_t method = in_.U8();
    const uint8_t sel = in_.U8();
    size_t len = in_.U8();
    if (len == 255) len += in_.U16() % 4096;
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < len && !in_.empty(); ++i) bytes.push_back(in_.U8());
    EmulatorService& s = svc_;
#define RPC(Name, Req, Resp, ro)           \
  Do<v1::Req, Resp>(#Name, ro, sel, bytes, \
                    [&](auto* q, auto* r) { return s.Name(nullptr, q, r); })
    // The calls that may wait run through their gRPC-free entry points.
#define WAITING_RPC(Name, Req, Resp, ...)                             \
  Do<v1::Req, Resp>(#Name, false, sel, bytes, [&](auto* q, auto* r) { \
    Ended end;                                                        \
    s.Start##Name(q, r, ##__VA_ARGS__, &end);                         \
    end.done.WaitForNotification();                                   \
    return ToGrpc(end.status);                                        \
  })
    switch (method % 24) {
      case 0:
        RPC(CreateNetwork, CreateNetworkRequest, v1::Network, false);
        break;
      case 1:
        RPC(GetNetwork, GetNetworkRequest, v1::Network, true);
        break;
      case 2:
        RPC(ListNetworks, ListNetworksRequest, v1::ListNetworksResponse, true);
        break;
      case 3:
        RPC(DeleteNetwork, DeleteNetworkRequest, google::protobuf::Empty,
            false);
        break;
      case 4:
        WAITING_RPC(AdvanceTime, AdvanceTimeRequest, v1::AdvanceTimeResponse);
        break;
      case 5:
        RPC(CreateLink, CreateLinkRequest, v1::Link, false);
        break;
      case 6:
        RPC(GetLink, GetLinkRequest, v1::Link, true);
        break;
      case 7:
        RPC(UpdateLink, UpdateLinkRequest, v1::Link, false);
        break;
      case 8:
        RPC(ListLinks, ListLinksRequest, v1::ListLinksResponse, true);
        break;
      case 9:
        RPC(DeleteLink, DeleteLinkRequest, google::protobuf::Empty, false);
        break;
      case 10:
        RPC(OpenSession, OpenSessionRequest, v1::Session, false);
        break;
      case 11:
        RPC(GetSession, GetSessionRequest, v1::Session, true);
        break;
      case 12:
        RPC(ListSessions, ListSessionsRequest, v1::ListSessionsResponse, true);
        break;
      case 13:
        RPC(DeleteSession, DeleteSessionRequest, google::protobuf::Empty,
            false);
        break;
      case 14:
        WAITING_RPC(Write, WriteRequest, v1::WriteResponse, "fuzz");
        break;
      case 15:
        WAITING_RPC(Read, ReadRequest, v1::ReadResponse, "fuzz");
        break;
      case 16:
        RPC(Close, CloseRequest, v1::CloseResponse, false);
        break;
      case 17:
        RPC(SetReader, SetReaderRequest, google::protobuf::Empty, false);
        break;
      case 18:
        RPC(InjectFault, InjectFaultRequest, v1::Fault, false);
        break;
      case 19:
        RPC(ClearFaults, ClearFaultsRequest, google::protobuf::Empty, false);
        break;
      case 20:
        RPC(CreateInterface, CreateInterfaceRequest, v1::Interface, false);
        break;
      case 21:
        RPC(GetInterface, GetInterfaceRequest, v1::Interface, true);
        break;
      case 22:
        RPC(ListInterfaces, ListInterfacesRequest, v1::ListInterfacesResponse,
            true);
        break;
      default:
        if (sel & 1) {
          RPC(Listen, ListenRequest, v1::Listener, false);
        } else {
          RPC(DeleteListener, DeleteListenerRequest, google::protobuf::Empty,
              false);
        }
        break;
    }
#undef RPC
  }

  Reader& in_;
  EmulatorService& svc_;
  Fixture fx_;
};

}  // namespace
}  // namespace tcpemu::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tcpemu::fuzz::Reader in(data, size);
  tcpemu::server::Driver d(in);
  d.Run();
  return 0;
}
