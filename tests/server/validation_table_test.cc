// Every RPC of tcpemu.v1.Emulator against a table of bad (and extreme but
// valid) requests over real gRPC: each field missing, out of range, an id of
// the wrong kind or of nothing, huge numbers and 10 MB strings. Each case
// expects a canonical code and, for an error, a message naming the field;
// never a crash. The table must cover every method of the service descriptor
// and every field of its request, so a new RPC or field fails the test until
// it has cases. Meanwhile a session on a REALTIME link moves 8 MB and must
// deliver it intact (SHA-256 of what was written against read_sha256).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/base/sha256.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "server/daemon.h"
#include "tests/server/service_test_util.h"

namespace tcpemu::server {
namespace {

using google::protobuf::Message;
using grpc::StatusCode;
using testutil::Call;
using testutil::SetDuration;
using testutil::Stub;

constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kTenMB = 10 * 1000 * 1000;
constexpr uint64_t kTransferBytes = 8 * 1024 * 1024;
constexpr uint32_t kMaxBuffer = 8 * 1024 * 1024;

// Ids of live resources the cases refer to, created before the table runs.
struct Ids {
  uint32_t rnet = 0;      // the default REALTIME network
  uint32_t vnet = 0;      // a VIRTUAL network
  uint32_t rlink = 0;     // REALTIME link carrying the transfer
  uint32_t vlink = 0;     // VIRTUAL link for cases that succeed
  uint32_t tsid = 0;      // the transfer's session (never altered)
  uint32_t vsid = 0;      // an established session on vlink
  uint32_t dead = 0;      // a destroyed session (its SYN met an RST)
  uint32_t capsid = 0;    // a session with a capture
  uint32_t not_net = 0;   // a link id that is no network id
  uint32_t not_link = 0;  // a session id that is no link id
  uint32_t not_sess = 0;  // a link id that is no session id
};

// One row: a request built from scratch, the codes it may end with and, for
// an error, a text the message must contain (the field).
struct Case {
  std::string method;
  std::string field;  // top-level request field this case is about
  std::string what;   // e.g. "unknown", "max uint32", "10 MB"
  std::function<std::unique_ptr<Message>(const Ids&)> request;
  std::set<StatusCode> codes;
  std::string names;  // the error message must contain this
};

using Invoker = std::function<grpc::Status(Stub*, const Message&)>;

template <typename Req, typename Resp>
Invoker Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                           Resp*)) {
  return [method](Stub* stub, const Message& m) {
    Resp resp;
    return Call(stub, method, dynamic_cast<const Req&>(m), &resp,
                absl::Seconds(30));
  };
}

// A server stream: its final status, or OK if the server accepted it. A
// valid WatchEvents sends headers marked "tcpemu-subscribed" once the request
// passed validation and then stays open: the invoker waits for the headers
// (however long that takes), ends such a stream itself and reads that as OK.
// Anything else (a refusal, a finite ExportPcap, a deadline) is read to its
// end and reported as it is; a deadline is never taken for success.
template <typename Req, typename Resp>
Invoker Streaming(std::unique_ptr<grpc::ClientReader<Resp>> (Stub::*method)(
    grpc::ClientContext*, const Req&)) {
  return [method](Stub* stub, const Message& m) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(120));
    auto reader = (stub->*method)(&ctx, dynamic_cast<const Req&>(m));
    reader->WaitForInitialMetadata();
    const bool subscribed =
        ctx.GetServerInitialMetadata().count("tcpemu-subscribed") > 0;
    if (subscribed) ctx.TryCancel();
    Resp resp;
    while (reader->Read(&resp)) {
    }
    grpc::Status s = reader->Finish();
    if (subscribed && s.error_code() == StatusCode::CANCELLED) {
      return grpc::Status();
    }
    return s;
  };
}

std::map<std::string, Invoker> Invokers() {
  return {
      {"CreateNetwork", Unary(&Stub::CreateNetwork)},
      {"GetNetwork", Unary(&Stub::GetNetwork)},
      {"ListNetworks", Unary(&Stub::ListNetworks)},
      {"DeleteNetwork", Unary(&Stub::DeleteNetwork)},
      {"AdvanceTime", Unary(&Stub::AdvanceTime)},
      {"CreateLink", Unary(&Stub::CreateLink)},
      {"GetLink", Unary(&Stub::GetLink)},
      {"UpdateLink", Unary(&Stub::UpdateLink)},
      {"ListLinks", Unary(&Stub::ListLinks)},
      {"DeleteLink", Unary(&Stub::DeleteLink)},
      {"OpenSession", Unary(&Stub::OpenSession)},
      {"OpenSessions", Unary(&Stub::OpenSessions)},
      {"GetSession", Unary(&Stub::GetSession)},
      {"ListSessions", Unary(&Stub::ListSessions)},
      {"DeleteSession", Unary(&Stub::DeleteSession)},
      {"Write", Unary(&Stub::Write)},
      {"Read", Unary(&Stub::Read)},
      {"Close", Unary(&Stub::Close)},
      {"SetReader", Unary(&Stub::SetReader)},
      {"InjectFault", Unary(&Stub::InjectFault)},
      {"ClearFaults", Unary(&Stub::ClearFaults)},
      {"WatchEvents", Streaming(&Stub::WatchEvents)},
      {"CreateInterface", Unary(&Stub::CreateInterface)},
      {"GetInterface", Unary(&Stub::GetInterface)},
      {"ListInterfaces", Unary(&Stub::ListInterfaces)},
      {"DeleteInterface", Unary(&Stub::DeleteInterface)},
      {"Listen", Unary(&Stub::Listen)},
      {"DeleteListener", Unary(&Stub::DeleteListener)},
      {"ExportPcap", Streaming(&Stub::ExportPcap)},
      {"CreateProxy", Unary(&Stub::CreateProxy)},
      {"GetProxy", Unary(&Stub::GetProxy)},
      {"ListProxies", Unary(&Stub::ListProxies)},
      {"UpdateProxy", Unary(&Stub::UpdateProxy)},
      {"DeleteProxy", Unary(&Stub::DeleteProxy)},
      {"RunScenario", Streaming(&Stub::RunScenario)},
  };
}

const std::set<StatusCode> kInvalid = {StatusCode::INVALID_ARGUMENT};
const std::set<StatusCode> kNotFound = {StatusCode::NOT_FOUND};
const std::set<StatusCode> kOk = {StatusCode::OK};
const std::set<StatusCode> kExhausted = {StatusCode::RESOURCE_EXHAUSTED};
const std::set<StatusCode> kPrecondition = {StatusCode::FAILED_PRECONDITION};
// A zero id: "required" or "not found" are both right.
const std::set<StatusCode> kZeroId = {StatusCode::INVALID_ARGUMENT,
                                      StatusCode::NOT_FOUND};

// Builds the table. `R` is the request type; `fill` sets a valid base and
// `mutate` the case's change.
class Table {
 public:
  template <typename R>
  void Add(const std::string& method, const std::string& field,
           const std::string& what, std::function<void(R&, const Ids&)> build,
           std::set<StatusCode> codes, std::string names = "") {
    if (names.empty() && !codes.contains(StatusCode::OK)) names = field;
    cases_.push_back(Case{method, field, what,
                          [build](const Ids& ids) {
                            auto r = std::make_unique<R>();
                            build(*r, ids);
                            return std::unique_ptr<Message>(std::move(r));
                          },
                          std::move(codes), std::move(names)});
  }
  const std::vector<Case>& cases() const { return cases_; }

 private:
  std::vector<Case> cases_;
};

std::string Big() { return std::string(kTenMB, 'x'); }

void Dur(google::protobuf::Duration* d, int64_t seconds, int32_t nanos = 0) {
  d->set_seconds(seconds);
  d->set_nanos(nanos);
}

// Bad values of one PathSpec, under `prefix` ("forward", "egress", ...).
template <typename R>
void PathCases(Table& t, const std::string& method, const std::string& prefix,
               std::function<void(R&, const Ids&)> base,
               std::function<v1::PathSpec*(R&)> path) {
  auto add = [&](const std::string& sub, const std::string& what,
                 std::function<void(v1::PathSpec&)> set,
                 std::set<StatusCode> codes = kInvalid) {
    t.Add<R>(
        method, prefix, sub + " " + what,
        [base, path, set](R& r, const Ids& ids) {
          base(r, ids);
          set(*path(r));
        },
        codes, codes.contains(StatusCode::OK) ? "" : prefix + "." + sub);
  };
  using P = v1::PathSpec;
  add("delay", "negative", [](P& p) { Dur(p.mutable_delay(), -1); });
  add("delay", "nanos 1e9", [](P& p) { Dur(p.mutable_delay(), 0, 1e9); });
  add("delay", "max int64 s", [](P& p) { Dur(p.mutable_delay(), kI64Max); });
  add("delay", "2 h", [](P& p) { Dur(p.mutable_delay(), 7200); });
  add("jitter.jitter", "negative",
      [](P& p) { Dur(p.mutable_jitter()->mutable_jitter(), 0, -1); });
  add("jitter.distribution", "99", [](P& p) {
    p.mutable_jitter()->set_distribution(
        static_cast<v1::Jitter::Distribution>(99));
  });
  add("jitter.correlation", "NaN",
      [](P& p) { p.mutable_jitter()->set_correlation(kNaN); });
  add("jitter.correlation", "-inf",
      [](P& p) { p.mutable_jitter()->set_correlation(-kInf); });
  add("rate_bps", "max uint64", [](P& p) { p.set_rate_bps(kU64Max); });
  add("loss.random", "1.5", [](P& p) { p.mutable_loss()->set_random(1.5); });
  add("loss.random", "NaN", [](P& p) { p.mutable_loss()->set_random(kNaN); });
  add("loss.random", "-1e-9",
      [](P& p) { p.mutable_loss()->set_random(-1e-9); });
  add("loss.gilbert_elliott.p", "inf",
      [](P& p) { p.mutable_loss()->mutable_gilbert_elliott()->set_p(kInf); });
  add("loss.gilbert_elliott.k", "NaN",
      [](P& p) { p.mutable_loss()->mutable_gilbert_elliott()->set_k(kNaN); });
  add("duplicate", "NaN", [](P& p) { p.set_duplicate(kNaN); });
  add("reorder", "2", [](P& p) { p.set_reorder(2); });
  add("corrupt", "-inf", [](P& p) { p.set_corrupt(-kInf); });
  add("mtu", "0", [](P& p) { p.set_mtu(0); });
  add("mtu", "max uint32", [](P& p) { p.set_mtu(kU32Max); });
  // Extreme but meaningful: accepted (and bounded: queues hold what is
  // queued, not their limit).
  add(
      "queue_limit_packets", "max uint32",
      [](P& p) { p.set_queue_limit_packets(kU32Max); }, kOk);
  add(
      "queue_limit_bytes", "max uint64",
      [](P& p) { p.set_queue_limit_bytes(kU64Max); }, kOk);
  add(
      "reorder_gap", "max uint32", [](P& p) { p.set_reorder_gap(kU32Max); },
      kOk);
}

// Bad values of one TcpConfig under `prefix` ("client", "server", "config").
template <typename R>
void TcpConfigCases(Table& t, const std::string& method,
                    const std::string& prefix,
                    std::function<void(R&, const Ids&)> base,
                    std::function<v1::TcpConfig*(R&)> cfg) {
  auto add = [&](const std::string& sub, const std::string& what,
                 std::function<void(v1::TcpConfig&)> set,
                 std::set<StatusCode> codes = kInvalid) {
    t.Add<R>(
        method, prefix, sub + " " + what,
        [base, cfg, set](R& r, const Ids& ids) {
          base(r, ids);
          set(*cfg(r));
        },
        codes, prefix + "." + sub);
  };
  using C = v1::TcpConfig;
  add("send_buffer", "0", [](C& c) { c.set_send_buffer(0); });
  add(
      "send_buffer", "max uint32", [](C& c) { c.set_send_buffer(kU32Max); },
      kExhausted);
  add(
      "recv_buffer", "above --max_buffer",
      [](C& c) { c.set_recv_buffer(kMaxBuffer + 1); }, kExhausted);
  add("mtu", "max uint32", [](C& c) { c.set_mtu(kU32Max); });
  add("mtu", "10", [](C& c) { c.set_mtu(10); });
  add("rto_min", "max int64 s",
      [](C& c) { Dur(c.mutable_rto_min(), kI64Max); });
  add("rto_max", "0", [](C& c) { Dur(c.mutable_rto_max(), 0); });
  add("rto_initial", "nanos -1",
      [](C& c) { Dur(c.mutable_rto_initial(), 1, -1); });
  add("cork_timeout", "1 h", [](C& c) { Dur(c.mutable_cork_timeout(), 3600); });
  add("delayed_ack_timeout", "1 s",
      [](C& c) { Dur(c.mutable_delayed_ack_timeout(), 1); });
  add("msl", "1 h", [](C& c) { Dur(c.mutable_msl(), 3600); });
  add("keepalive_idle", "0", [](C& c) { Dur(c.mutable_keepalive_idle(), 0); });
  add("keepalive_interval", "2 days",
      [](C& c) { Dur(c.mutable_keepalive_interval(), 2 * 86400); });
  add("persist_min", "0", [](C& c) { Dur(c.mutable_persist_min(), 0); });
  add("persist_max", "max int64 s",
      [](C& c) { Dur(c.mutable_persist_max(), kI64Max); });
  add("max_retransmissions", "max uint32",
      [](C& c) { c.set_max_retransmissions(kU32Max); });
  add("syn_retries", "max uint32", [](C& c) { c.set_syn_retries(kU32Max); });
  add("synack_retries", "256", [](C& c) { c.set_synack_retries(256); });
  add("keepalive_probes", "0", [](C& c) { c.set_keepalive_probes(0); });
  add("initial_window", "max uint32",
      [](C& c) { c.set_initial_window(kU32Max); });
  add("congestion_control", "99", [](C& c) {
    c.set_congestion_control(static_cast<v1::CongestionControl>(99));
  });
  add("window_scale", "15", [](C& c) { c.set_window_scale(15); });
  add("window_scale", "-2", [](C& c) { c.set_window_scale(-2); });
  add("ecn_syn_retries", "256", [](C& c) { c.set_ecn_syn_retries(256); });
  add("flavor", "9",
      [](C& c) { c.set_flavor(static_cast<v1::StackFlavor>(9)); });
}

template <typename R>
void ReaderCases(Table& t, const std::string& method, const std::string& prefix,
                 std::function<void(R&, const Ids&)> base,
                 std::function<v1::Reader*(R&)> reader) {
  auto add = [&](const std::string& sub, const std::string& what,
                 std::function<void(v1::Reader&)> set) {
    t.Add<R>(
        method, prefix, sub + " " + what,
        [base, reader, set](R& r, const Ids& ids) {
          base(r, ids);
          set(*reader(r));
        },
        kInvalid, prefix + "." + sub);
  };
  using Rd = v1::Reader;
  add("mode", "99",
      [](Rd& r) { r.set_mode(static_cast<v1::Reader::Mode>(99)); });
  add("mode", "-1",
      [](Rd& r) { r.set_mode(static_cast<v1::Reader::Mode>(-1)); });
  add("rate_bytes_per_sec", "0 with MODE_RATE",
      [](Rd& r) { r.set_mode(v1::Reader::MODE_RATE); });
  add("rate_bytes_per_sec", "max uint64", [](Rd& r) {
    r.set_mode(v1::Reader::MODE_RATE);
    r.set_rate_bytes_per_sec(kU64Max);
  });
}

// Ids of every kind for a field that takes one kind: zero, absent, max and
// an id of another kind.
template <typename R>
void IdCases(Table& t, const std::string& method, const std::string& field,
             std::function<void(R&, const Ids&)> base,
             std::function<void(R&, uint32_t)> set,
             std::function<uint32_t(const Ids&)> wrong_kind,
             std::set<StatusCode> zero = kZeroId) {
  t.Add<R>(
      method, field, "0",
      [base, set](R& r, const Ids& ids) {
        base(r, ids);
        set(r, 0);
      },
      zero);
  t.Add<R>(
      method, field, "max uint32 (absent)",
      [base, set](R& r, const Ids& ids) {
        base(r, ids);
        set(r, kU32Max);
      },
      kNotFound);
  t.Add<R>(
      method, field, "an id of another kind",
      [base, set, wrong_kind](R& r, const Ids& ids) {
        base(r, ids);
        set(r, wrong_kind(ids));
      },
      kNotFound);
}

uint32_t NotNet(const Ids& i) { return i.not_net; }
uint32_t NotLink(const Ids& i) { return i.not_link; }
uint32_t NotSess(const Ids& i) { return i.not_sess; }

Table BuildTable() {
  Table t;
  auto none = [](auto&, const Ids&) {};

  // ------------------------------------------------------------- networks
  using CN = v1::CreateNetworkRequest;
  t.Add<CN>(
      "CreateNetwork", "clock", "99",
      [](CN& r, const Ids&) { r.set_clock(static_cast<v1::ClockKind>(99)); },
      kInvalid);
  t.Add<CN>(
      "CreateNetwork", "clock", "-1",
      [](CN& r, const Ids&) { r.set_clock(static_cast<v1::ClockKind>(-1)); },
      kInvalid);
  t.Add<CN>(
      "CreateNetwork", "seed", "max uint64",
      [](CN& r, const Ids&) {
        r.set_clock(v1::CLOCK_KIND_VIRTUAL);
        r.set_seed(kU64Max);
      },
      kOk);

  using GN = v1::GetNetworkRequest;
  IdCases<GN>(t, "GetNetwork", "network_id", none,
              [](GN& r, uint32_t id) { r.set_network_id(id); }, NotNet,
              {StatusCode::OK});  // 0 names the default network
  using LN = v1::ListNetworksRequest;
  t.Add<LN>("ListNetworks", "", "empty", none, kOk);
  using DN = v1::DeleteNetworkRequest;
  IdCases<DN>(
      t, "DeleteNetwork", "network_id", none,
      [](DN& r, uint32_t id) { r.set_network_id(id); }, NotNet, kPrecondition);
  t.Add<DN>(
      "DeleteNetwork", "network_id", "the default network",
      [](DN& r, const Ids& ids) { r.set_network_id(ids.rnet); }, kPrecondition);

  using AT = v1::AdvanceTimeRequest;
  auto at_base = [](AT& r, const Ids& ids) {
    r.set_network_id(ids.vnet);
    Dur(r.mutable_duration(), 0, 1000);
  };
  IdCases<AT>(
      t, "AdvanceTime", "network_id", at_base,
      [](AT& r, uint32_t id) { r.set_network_id(id); }, NotNet, kPrecondition);
  t.Add<AT>(
      "AdvanceTime", "network_id", "a REALTIME network",
      [at_base](AT& r, const Ids& ids) {
        at_base(r, ids);
        r.set_network_id(ids.rnet);
      },
      kPrecondition);
  t.Add<AT>(
      "AdvanceTime", "duration", "missing target",
      [](AT& r, const Ids& ids) { r.set_network_id(ids.vnet); }, kInvalid,
      "target");
  for (auto [what, s, n] : std::vector<std::tuple<std::string, int64_t, int>>{
           {"negative", -1, 0},
           {"nanos -1", 0, -1},
           {"nanos 1e9", 0, 1'000'000'000},
           {"31 days", 31LL * 86400, 0},
           {"max int64 s", kI64Max, 0},
           {"min int64 s", std::numeric_limits<int64_t>::min(), 0}}) {
    t.Add<AT>(
        "AdvanceTime", "duration", what,
        [s, n](AT& r, const Ids& ids) {
          r.set_network_id(ids.vnet);
          Dur(r.mutable_duration(), s, n);
        },
        kInvalid);
  }
  t.Add<AT>(
      "AdvanceTime", "until_idle", "false",
      [](AT& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        r.set_until_idle(false);
      },
      kInvalid, "target");
  t.Add<AT>(
      "AdvanceTime", "until_idle", "true",
      [](AT& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        r.set_until_idle(true);
        Dur(r.mutable_limit(), 10);
      },
      kOk);
  t.Add<AT>(
      "AdvanceTime", "limit", "negative",
      [](AT& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        r.set_until_idle(true);
        Dur(r.mutable_limit(), -5);
      },
      kInvalid);
  t.Add<AT>(
      "AdvanceTime", "limit", "max int64 s",
      [](AT& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        r.set_until_idle(true);
        Dur(r.mutable_limit(), kI64Max);
      },
      kInvalid);

  // ------------------------------------------------------------- links
  using CL = v1::CreateLinkRequest;
  auto cl_base = [](CL& r, const Ids& ids) { r.set_network_id(ids.vnet); };
  IdCases<CL>(t, "CreateLink", "network_id", cl_base,
              [](CL& r, uint32_t id) { r.set_network_id(id); }, NotNet,
              {StatusCode::OK});  // 0: the default network
  PathCases<CL>(t, "CreateLink", "forward", cl_base,
                [](CL& r) { return r.mutable_forward(); });
  PathCases<CL>(t, "CreateLink", "reverse", cl_base,
                [](CL& r) { return r.mutable_reverse(); });

  using GL = v1::GetLinkRequest;
  IdCases<GL>(
      t, "GetLink", "link_id", none,
      [](GL& r, uint32_t id) { r.set_link_id(id); }, NotLink);
  using UL = v1::UpdateLinkRequest;
  auto ul_base = [](UL& r, const Ids& ids) { r.set_link_id(ids.vlink); };
  IdCases<UL>(
      t, "UpdateLink", "link_id", ul_base,
      [](UL& r, uint32_t id) { r.set_link_id(id); }, NotLink);
  PathCases<UL>(t, "UpdateLink", "forward", ul_base,
                [](UL& r) { return r.mutable_forward(); });
  PathCases<UL>(t, "UpdateLink", "reverse", ul_base,
                [](UL& r) { return r.mutable_reverse(); });
  t.Add<UL>(
      "UpdateLink", "update_mask", "a field that cannot change",
      [](UL& r, const Ids& ids) {
        r.set_link_id(ids.vlink);
        r.mutable_update_mask()->add_paths("link_id");
      },
      kInvalid, "update_mask");
  t.Add<UL>(
      "UpdateLink", "update_mask", "a field PathSpec does not have",
      [](UL& r, const Ids& ids) {
        r.set_link_id(ids.vlink);
        r.mutable_update_mask()->add_paths("forward.bandwidth");
      },
      kInvalid, "update_mask");
  t.Add<UL>(
      "UpdateLink", "forward.duplicate", "NaN, named by the mask",
      [](UL& r, const Ids& ids) {
        r.set_link_id(ids.vlink);
        r.mutable_forward()->set_duplicate(kNaN);
        r.mutable_update_mask()->add_paths("forward.duplicate");
      },
      kInvalid);
  t.Add<UL>(
      "UpdateLink", "reverse.duplicate", "NaN, outside the mask (ignored)",
      [](UL& r, const Ids& ids) {
        r.set_link_id(ids.vlink);
        r.mutable_reverse()->set_duplicate(kNaN);
        r.mutable_update_mask()->add_paths("forward.duplicate");
      },
      kOk);
  using LL = v1::ListLinksRequest;
  t.Add<LL>("ListLinks", "network_id", "0 (every network)", none, kOk);
  t.Add<LL>(
      "ListLinks", "network_id", "max uint32",
      [](LL& r, const Ids&) { r.set_network_id(kU32Max); }, kNotFound);
  t.Add<LL>(
      "ListLinks", "network_id", "an id of another kind",
      [](LL& r, const Ids& ids) { r.set_network_id(ids.not_net); }, kNotFound);
  using DL = v1::DeleteLinkRequest;
  IdCases<DL>(
      t, "DeleteLink", "link_id", none,
      [](DL& r, uint32_t id) { r.set_link_id(id); }, NotLink);
  t.Add<DL>(
      "DeleteLink", "link_id", "a link carrying a live session",
      [](DL& r, const Ids& ids) { r.set_link_id(ids.rlink); }, kPrecondition,
      "link");

  // ------------------------------------------------------------- sessions
  using OS = v1::OpenSessionRequest;
  auto os_base = [](OS& r, const Ids& ids) { r.set_link_id(ids.vlink); };
  IdCases<OS>(
      t, "OpenSession", "link_id", os_base,
      [](OS& r, uint32_t id) { r.set_link_id(id); }, NotLink, kInvalid);
  t.Add<OS>(
      "OpenSession", "network_id", "max uint32",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_network_id(kU32Max);
      },
      kNotFound);
  t.Add<OS>(
      "OpenSession", "network_id", "not the link's network",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_network_id(ids.rnet);
      },
      kInvalid);
  using OSS = v1::OpenSessionsRequest;
  t.Add<OSS>(
      "OpenSessions", "sessions", "empty", [](OSS&, const Ids&) {}, kInvalid,
      "sessions: 0 requests, allowed [1, 1000]");
  t.Add<OSS>(
      "OpenSessions", "sessions", "1001 items",
      [os_base](OSS& r, const Ids& ids) {
        for (int i = 0; i < 1001; ++i) os_base(*r.add_sessions(), ids);
      },
      kInvalid, "sessions: 1001 requests, allowed [1, 1000]");
  t.Add<OSS>(
      "OpenSessions", "sessions", "an item with an unknown link",
      [os_base](OSS& r, const Ids& ids) {
        os_base(*r.add_sessions(), ids);
        r.add_sessions()->set_link_id(kU32Max);
      },
      kNotFound, "sessions[1].link_id");
  t.Add<OSS>(
      "OpenSessions", "sessions", "an item with a bad client",
      [os_base](OSS& r, const Ids& ids) {
        os_base(*r.add_sessions(), ids);
        r.mutable_sessions(0)
            ->mutable_client()
            ->mutable_rto_initial()
            ->set_seconds(-1);
      },
      kInvalid, "sessions[0].client.rto_initial");
  t.Add<OSS>(
      "OpenSessions", "sessions", "two valid items",
      [os_base](OSS& r, const Ids& ids) {
        os_base(*r.add_sessions(), ids);
        os_base(*r.add_sessions(), ids);
      },
      kOk);
  TcpConfigCases<OS>(t, "OpenSession", "client", os_base,
                     [](OS& r) { return r.mutable_client(); });
  TcpConfigCases<OS>(t, "OpenSession", "server", os_base,
                     [](OS& r) { return r.mutable_server(); });
  for (auto [field, v] : std::vector<std::pair<std::string, uint32_t>>{
           {"client_port", 65536},
           {"client_port", kU32Max},
           {"server_port", 65536},
           {"server_port", kU32Max}}) {
    t.Add<OS>(
        "OpenSession", field, absl::StrCat(v),
        [os_base, field, v](OS& r, const Ids& ids) {
          os_base(r, ids);
          if (field == "client_port") {
            r.set_client_port(v);
          } else {
            r.set_server_port(v);
          }
        },
        kInvalid);
  }
  t.Add<OS>(
      "OpenSession", "client_port", "taken on the link",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_client_port(40000);
        r.set_server_port(40001);
      },
      {StatusCode::ALREADY_EXISTS}, "client_port");
  t.Add<OS>(
      "OpenSession", "server_closed", "true",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_server_closed(true);
      },
      kOk);
  ReaderCases<OS>(t, "OpenSession", "client_reader", os_base,
                  [](OS& r) { return r.mutable_client_reader(); });
  ReaderCases<OS>(t, "OpenSession", "server_reader", os_base,
                  [](OS& r) { return r.mutable_server_reader(); });
  t.Add<OS>(
      "OpenSession", "digest", "true",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_digest(true);
      },
      kOk);
  t.Add<OS>(
      "OpenSession", "capture", "true",
      [os_base](OS& r, const Ids& ids) {
        os_base(r, ids);
        r.set_capture(true);
      },
      kOk);
  auto remote = [](std::function<void(v1::Remote&, const Ids&)> f) {
    return [f](OS& r, const Ids& ids) {
      r.mutable_remote()->set_interface_id(ids.vlink);
      r.mutable_remote()->set_address("10.0.0.1");
      r.mutable_remote()->set_port(80);
      f(*r.mutable_remote(), ids);
    };
  };
  t.Add<OS>("OpenSession", "remote", "interface_id 0",
            remote([](v1::Remote& m, const Ids&) { m.set_interface_id(0); }),
            kInvalid, "remote.interface_id");
  t.Add<OS>(
      "OpenSession", "remote", "interface_id max uint32",
      remote([](v1::Remote& m, const Ids&) { m.set_interface_id(kU32Max); }),
      kNotFound, "remote.interface_id");
  t.Add<OS>("OpenSession", "remote", "interface_id of a plain link",
            remote([](v1::Remote&, const Ids&) {}), kInvalid,
            "remote.interface_id");
  t.Add<OS>("OpenSession", "remote", "port 0",
            remote([](v1::Remote& m, const Ids&) { m.set_port(0); }), kInvalid,
            "remote.port");
  t.Add<OS>("OpenSession", "remote", "port max uint32",
            remote([](v1::Remote& m, const Ids&) { m.set_port(kU32Max); }),
            kInvalid, "remote.port");
  t.Add<OS>("OpenSession", "remote", "address 10 MB",
            remote([](v1::Remote& m, const Ids&) { m.set_address(Big()); }),
            kInvalid, "remote.address");
  t.Add<OS>(
      "OpenSession", "remote", "address 300.1.1.1",
      remote([](v1::Remote& m, const Ids&) { m.set_address("300.1.1.1"); }),
      kInvalid, "remote.address");
  t.Add<OS>(
      "OpenSession", "remote", "with link_id",
      [remote](OS& r, const Ids& ids) {
        remote([](v1::Remote&, const Ids&) {})(r, ids);
        r.set_link_id(ids.vlink);
      },
      kInvalid, "link_id");

  using GS = v1::GetSessionRequest;
  IdCases<GS>(
      t, "GetSession", "session_id", none,
      [](GS& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  using LS = v1::ListSessionsRequest;
  t.Add<LS>(
      "ListSessions", "network_id", "max uint32",
      [](LS& r, const Ids&) { r.set_network_id(kU32Max); }, kNotFound);
  t.Add<LS>(
      "ListSessions", "network_id", "an id of another kind",
      [](LS& r, const Ids& ids) { r.set_network_id(ids.not_net); }, kNotFound);
  t.Add<LS>(
      "ListSessions", "link_id", "max uint32",
      [](LS& r, const Ids&) { r.set_link_id(kU32Max); }, kNotFound);
  t.Add<LS>(
      "ListSessions", "link_id", "an id of another kind",
      [](LS& r, const Ids& ids) { r.set_link_id(ids.not_link); }, kNotFound);
  t.Add<LS>(
      "ListSessions", "link_id", "the transfer's link",
      [](LS& r, const Ids& ids) { r.set_link_id(ids.rlink); }, kOk);
  for (int32_t v : {-1, 1001, std::numeric_limits<int32_t>::max(),
                    std::numeric_limits<int32_t>::min()}) {
    t.Add<LS>(
        "ListSessions", "page_size", absl::StrCat(v),
        [v](LS& r, const Ids&) { r.set_page_size(v); }, kInvalid);
  }
  for (std::string v : {std::string("x"), std::string("-1"),
                        std::string("4294967296"), Big()}) {
    t.Add<LS>(
        "ListSessions", "page_token", v.substr(0, 16),
        [v](LS& r, const Ids&) { r.set_page_token(v); }, kInvalid);
  }
  using DS = v1::DeleteSessionRequest;
  IdCases<DS>(
      t, "DeleteSession", "session_id", none,
      [](DS& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);

  // ------------------------------------------------------------- data
  // Requests aimed at the transfer's own session must be refused before
  // they touch it.
  using W = v1::WriteRequest;
  auto w_base = [](W& r, const Ids& ids) {
    r.set_session_id(ids.vsid);
    r.set_endpoint(v1::ENDPOINT_CLIENT);
    r.set_fill_bytes(100);
  };
  IdCases<W>(
      t, "Write", "session_id", w_base,
      [](W& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  t.Add<W>(
      "Write", "session_id", "a destroyed session",
      [w_base](W& r, const Ids& ids) {
        w_base(r, ids);
        r.set_session_id(ids.dead);
      },
      kPrecondition);
  for (int e : {0, 3, -1, 1 << 30}) {
    t.Add<W>(
        "Write", "endpoint", absl::StrCat(e),
        [e](W& r, const Ids& ids) {
          r.set_session_id(ids.tsid);
          r.set_endpoint(static_cast<v1::Endpoint>(e));
          r.set_fill_bytes(100);
        },
        kInvalid);
  }
  t.Add<W>(
      "Write", "data", "above --max_write_bytes (16 MiB + 1)",
      [](W& r, const Ids& ids) {
        r.set_session_id(ids.tsid);
        r.set_endpoint(v1::ENDPOINT_CLIENT);
        r.set_data(std::string(16 * 1024 * 1024 + 1, 'y'));
      },
      kExhausted, "--max_write_bytes");
  t.Add<W>(
      "Write", "data", "above gRPC's receive limit (18 MiB)",
      [](W& r, const Ids& ids) {
        r.set_session_id(ids.tsid);
        r.set_endpoint(v1::ENDPOINT_CLIENT);
        r.set_data(std::string(18 * 1024 * 1024, 'y'));
      },
      kExhausted, "larger than max");
  t.Add<W>(
      "Write", "data", "10 MB, partly accepted",
      [](W& r, const Ids& ids) {
        r.set_session_id(ids.vsid);
        r.set_endpoint(v1::ENDPOINT_CLIENT);
        r.set_data(Big());
      },
      kOk);
  t.Add<W>(
      "Write", "data", "empty",
      [](W& r, const Ids& ids) {
        r.set_session_id(ids.vsid);
        r.set_endpoint(v1::ENDPOINT_CLIENT);
        r.set_data("");
      },
      kOk);
  t.Add<W>(
      "Write", "fill_bytes", "missing payload",
      [](W& r, const Ids& ids) {
        r.set_session_id(ids.tsid);
        r.set_endpoint(v1::ENDPOINT_CLIENT);
      },
      kInvalid, "payload");
  for (uint64_t v : {(uint64_t{1} << 40) + 1, kU64Max}) {
    t.Add<W>(
        "Write", "fill_bytes", absl::StrCat(v),
        [v](W& r, const Ids& ids) {
          r.set_session_id(ids.tsid);
          r.set_endpoint(v1::ENDPOINT_CLIENT);
          r.set_fill_bytes(v);
        },
        kInvalid);
  }
  t.Add<W>(
      "Write", "push", "true",
      [w_base](W& r, const Ids& ids) {
        w_base(r, ids);
        r.set_push(true);
      },
      kOk);
  for (auto [what, s, n] : std::vector<std::tuple<std::string, int64_t, int>>{
           {"negative", -1, 0},
           {"nanos 1e9", 0, 1'000'000'000},
           {"max int64 s", kI64Max, 0}}) {
    t.Add<W>(
        "Write", "wait", what,
        [s, n](W& r, const Ids& ids) {
          r.set_session_id(ids.tsid);
          r.set_endpoint(v1::ENDPOINT_CLIENT);
          r.set_fill_bytes(1);
          Dur(r.mutable_wait(), s, n);
        },
        kInvalid);
  }

  using Rd = v1::ReadRequest;
  auto r_base = [](Rd& r, const Ids& ids) {
    r.set_session_id(ids.vsid);
    r.set_endpoint(v1::ENDPOINT_SERVER);
    r.set_max_bytes(1000);
  };
  IdCases<Rd>(
      t, "Read", "session_id", r_base,
      [](Rd& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  for (int e : {0, 3, -7}) {
    t.Add<Rd>(
        "Read", "endpoint", absl::StrCat(e),
        [r_base, e](Rd& r, const Ids& ids) {
          r_base(r, ids);
          r.set_session_id(ids.tsid);
          r.set_endpoint(static_cast<v1::Endpoint>(e));
        },
        kInvalid);
  }
  for (uint32_t v : {0u, 4u * 1024 * 1024 + 1, kU32Max}) {
    t.Add<Rd>(
        "Read", "max_bytes", absl::StrCat(v),
        [r_base, v](Rd& r, const Ids& ids) {
          r_base(r, ids);
          r.set_session_id(ids.tsid);
          r.set_max_bytes(v);
        },
        kInvalid);
  }
  t.Add<Rd>(
      "Read", "wait", "nanos -1",
      [r_base](Rd& r, const Ids& ids) {
        r_base(r, ids);
        Dur(r.mutable_wait(), 0, -1);
      },
      kInvalid);
  t.Add<Rd>(
      "Read", "wait", "max int64 s",
      [r_base](Rd& r, const Ids& ids) {
        r_base(r, ids);
        Dur(r.mutable_wait(), kI64Max);
      },
      kInvalid);

  using Cl = v1::CloseRequest;
  auto c_base = [](Cl& r, const Ids& ids) {
    r.set_session_id(ids.dead);
    r.set_endpoint(v1::ENDPOINT_CLIENT);
  };
  IdCases<Cl>(
      t, "Close", "session_id", c_base,
      [](Cl& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  for (int e : {0, 3}) {
    t.Add<Cl>(
        "Close", "endpoint", absl::StrCat(e),
        [e](Cl& r, const Ids& ids) {
          r.set_session_id(ids.tsid);
          r.set_endpoint(static_cast<v1::Endpoint>(e));
        },
        kInvalid);
  }
  for (int m : {3, -1}) {
    t.Add<Cl>(
        "Close", "mode", absl::StrCat(m),
        [m](Cl& r, const Ids& ids) {
          r.set_session_id(ids.tsid);
          r.set_endpoint(v1::ENDPOINT_CLIENT);
          r.set_mode(static_cast<v1::CloseRequest::Mode>(m));
        },
        kInvalid);
  }

  using SR = v1::SetReaderRequest;
  auto sr_base = [](SR& r, const Ids& ids) {
    r.set_session_id(ids.tsid);
    r.set_endpoint(v1::ENDPOINT_SERVER);
  };
  IdCases<SR>(
      t, "SetReader", "session_id", sr_base,
      [](SR& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  t.Add<SR>(
      "SetReader", "endpoint", "0",
      [](SR& r, const Ids& ids) { r.set_session_id(ids.tsid); }, kInvalid);
  ReaderCases<SR>(t, "SetReader", "reader", sr_base,
                  [](SR& r) { return r.mutable_reader(); });

  // ------------------------------------------------------------- faults
  using IF = v1::InjectFaultRequest;
  // Valid faults go on vlink only, and expire at once (count 1, nth max).
  auto if_base = [](IF& r, const Ids& ids) {
    r.set_link_id(ids.vlink);
    r.set_action(v1::FAULT_ACTION_DROP);
    r.set_count(1);
  };
  auto if_bad = [](std::function<void(IF&)> f) {
    return [f](IF& r, const Ids& ids) {
      r.set_link_id(ids.rlink);  // refused before it touches the transfer
      r.set_action(v1::FAULT_ACTION_DROP);
      r.set_count(1);
      f(r);
    };
  };
  IdCases<IF>(
      t, "InjectFault", "link_id", if_base,
      [](IF& r, uint32_t id) { r.set_link_id(id); }, NotLink);
  IdCases<IF>(
      t, "InjectFault", "session_id", if_base,
      [](IF& r, uint32_t id) { r.set_session_id(id); }, NotSess);
  t.Add<IF>(
      "InjectFault", "session_id", "a destroyed session",
      [if_base](IF& r, const Ids& ids) {
        if_base(r, ids);
        r.set_session_id(ids.dead);
      },
      kPrecondition);
  t.Add<IF>(
      "InjectFault", "link_id", "no target",
      [](IF& r, const Ids&) {
        r.set_action(v1::FAULT_ACTION_DROP);
        r.set_count(1);
      },
      kInvalid, "target");
  t.Add<IF>("InjectFault", "direction", "99", if_bad([](IF& r) {
              r.set_direction(static_cast<v1::Direction>(99));
            }),
            kInvalid);
  t.Add<IF>("InjectFault", "match", "flags_all 256",
            if_bad([](IF& r) { r.mutable_match()->set_flags_all(256); }),
            kInvalid, "match.flags_all");
  t.Add<IF>("InjectFault", "match", "flags_none max uint32",
            if_bad([](IF& r) { r.mutable_match()->set_flags_none(kU32Max); }),
            kInvalid, "match.flags_none");
  t.Add<IF>("InjectFault", "match", "seq_lo without seq_hi",
            if_bad([](IF& r) { r.mutable_match()->set_seq_lo(1); }), kInvalid,
            "match.seq_lo");
  t.Add<IF>("InjectFault", "match", "seq_hi == seq_lo", if_bad([](IF& r) {
              r.mutable_match()->set_seq_lo(kU32Max);
              r.mutable_match()->set_seq_hi(kU32Max);
            }),
            kInvalid, "match.seq_hi");
  t.Add<IF>(
      "InjectFault", "match", "nth max uint32",
      [if_base](IF& r, const Ids& ids) {
        if_base(r, ids);
        r.mutable_match()->set_nth(kU32Max);
      },
      kOk);
  for (int a : {0, 6, -1}) {
    t.Add<IF>("InjectFault", "action", absl::StrCat(a), if_bad([a](IF& r) {
                r.set_action(static_cast<v1::FaultAction>(a));
              }),
              kInvalid);
  }
  t.Add<IF>("InjectFault", "delay", "missing for DELAY",
            if_bad([](IF& r) { r.set_action(v1::FAULT_ACTION_DELAY); }),
            kInvalid);
  t.Add<IF>("InjectFault", "delay", "negative",
            if_bad([](IF& r) { Dur(r.mutable_delay(), -1); }), kInvalid);
  t.Add<IF>("InjectFault", "delay", "2 h for DELAY", if_bad([](IF& r) {
              r.set_action(v1::FAULT_ACTION_DELAY);
              Dur(r.mutable_delay(), 7200);
            }),
            kInvalid);
  t.Add<IF>(
      "InjectFault", "count", "max uint64",
      [if_base](IF& r, const Ids& ids) {
        if_base(r, ids);
        r.set_count(kU64Max);
        r.mutable_match()->set_nth(kU32Max);
      },
      kOk);
  for (double p : {kNaN, -kInf, 1.0000001, -0.5}) {
    t.Add<IF>("InjectFault", "probability", absl::StrCat(p),
              if_bad([p](IF& r) { r.set_probability(p); }), kInvalid);
  }
  t.Add<IF>("InjectFault", "duration", "nanos -1",
            if_bad([](IF& r) { Dur(r.mutable_duration(), 0, -1); }), kInvalid);
  t.Add<IF>("InjectFault", "duration", "max int64 s",
            if_bad([](IF& r) { Dur(r.mutable_duration(), kI64Max); }),
            kInvalid);

  using CF = v1::ClearFaultsRequest;
  t.Add<CF>("ClearFaults", "link_id", "no target", none, kInvalid, "target");
  IdCases<CF>(
      t, "ClearFaults", "link_id", none,
      [](CF& r, uint32_t id) { r.set_link_id(id); }, NotLink);
  IdCases<CF>(
      t, "ClearFaults", "session_id", none,
      [](CF& r, uint32_t id) { r.set_session_id(id); }, NotSess);

  // ------------------------------------------------------------- events
  using WE = v1::WatchEventsRequest;
  t.Add<WE>(
      "WatchEvents", "network_id", "max uint32",
      [](WE& r, const Ids&) { r.set_network_id(kU32Max); }, kNotFound);
  t.Add<WE>(
      "WatchEvents", "network_id", "an id of another kind",
      [](WE& r, const Ids& ids) { r.set_network_id(ids.not_net); }, kNotFound);
  t.Add<WE>(
      "WatchEvents", "session_ids", "65536 absent ids",
      [](WE& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        for (uint32_t i = 0; i < 65536; ++i) r.add_session_ids(kU32Max - i);
      },
      kOk);
  t.Add<WE>(
      "WatchEvents", "session_ids", "a million absent ids",
      [](WE& r, const Ids&) {
        for (uint32_t i = 0; i < 1'000'000; ++i) r.add_session_ids(kU32Max - i);
      },
      kInvalid);
  for (int k : {99, -1}) {
    t.Add<WE>(
        "WatchEvents", "kinds", absl::StrCat(k),
        [k](WE& r, const Ids&) {
          r.add_kinds(v1::EVENT_KIND_SEGMENT_SENT);
          r.add_kinds(static_cast<v1::EventKind>(k));
        },
        kInvalid, "kinds[1]");
  }
  t.Add<WE>(
      "WatchEvents", "endpoint", "9",
      [](WE& r, const Ids&) { r.set_endpoint(static_cast<v1::Endpoint>(9)); },
      kInvalid);
  t.Add<WE>(
      "WatchEvents", "replay", "true",
      [](WE& r, const Ids& ids) {
        r.set_network_id(ids.vnet);
        r.set_replay(true);
      },
      kOk);
  t.Add<WE>(
      "WatchEvents", "max_batch", "max uint32",
      [](WE& r, const Ids&) { r.set_max_batch(kU32Max); }, kInvalid);

  // ------------------------------------------------------------- interfaces
  // Every case is refused before a TAP device is touched.
  using CI = v1::CreateInterfaceRequest;
  auto ci = [](std::function<void(CI&, const Ids&)> f) {
    return [f](CI& r, const Ids& ids) {
      r.set_network_id(ids.vnet);
      r.set_address("10.77.0.2/24");
      f(r, ids);
    };
  };
  t.Add<CI>("CreateInterface", "network_id", "a VIRTUAL network",
            ci([](CI&, const Ids&) {}), kPrecondition);
  t.Add<CI>("CreateInterface", "network_id", "max uint32",
            ci([](CI& r, const Ids&) { r.set_network_id(kU32Max); }),
            kNotFound);
  t.Add<CI>("CreateInterface", "network_id", "an id of another kind",
            ci([](CI& r, const Ids& ids) { r.set_network_id(ids.not_net); }),
            kNotFound);
  t.Add<CI>("CreateInterface", "name", "10 MB",
            ci([](CI& r, const Ids&) { r.set_name(Big()); }), kInvalid);
  t.Add<CI>("CreateInterface", "name", "16 bytes",
            ci([](CI& r, const Ids&) { r.set_name("tcpemu0123456789"); }),
            kInvalid);
  for (std::string a :
       {std::string(""), std::string("10.0.0.1"), std::string("10.0.0.1/0"),
        std::string("10.0.0.1/31"), std::string("10.0.0/24"),
        std::string("10.0.0.1/4294967296"), Big()}) {
    t.Add<CI>("CreateInterface", "address", a.substr(0, 20),
              ci([a](CI& r, const Ids&) { r.set_address(a); }), kInvalid);
  }
  for (std::string m :
       {std::string("02:00:00:00:00"), std::string("zz"), Big()}) {
    t.Add<CI>("CreateInterface", "mac", m.substr(0, 20),
              ci([m](CI& r, const Ids&) { r.set_mac(m); }), kInvalid);
  }
  for (uint32_t m : {575u, 9001u, kU32Max}) {
    t.Add<CI>("CreateInterface", "mtu", absl::StrCat(m),
              ci([m](CI& r, const Ids&) { r.set_mtu(m); }), kInvalid);
  }
  for (std::string g : {std::string("10.77.0"), Big()}) {
    t.Add<CI>("CreateInterface", "gateway", g.substr(0, 20),
              ci([g](CI& r, const Ids&) { r.set_gateway(g); }), kInvalid);
  }
  t.Add<CI>("CreateInterface", "egress", "loss 2", ci([](CI& r, const Ids&) {
              r.mutable_egress()->mutable_loss()->set_random(2);
            }),
            kInvalid, "egress.loss.random");
  t.Add<CI>("CreateInterface", "ingress", "delay negative",
            ci([](CI& r, const Ids&) {
              Dur(r.mutable_ingress()->mutable_delay(), -1);
            }),
            kInvalid, "ingress.delay");

  using GI = v1::GetInterfaceRequest;
  IdCases<GI>(
      t, "GetInterface", "interface_id", none,
      [](GI& r, uint32_t id) { r.set_interface_id(id); }, NotLink);
  t.Add<GI>(
      "GetInterface", "interface_id", "a plain link",
      [](GI& r, const Ids& ids) { r.set_interface_id(ids.vlink); }, kNotFound);
  using LI = v1::ListInterfacesRequest;
  t.Add<LI>("ListInterfaces", "network_id", "0", none, kOk);
  t.Add<LI>(
      "ListInterfaces", "network_id", "max uint32",
      [](LI& r, const Ids&) { r.set_network_id(kU32Max); }, kNotFound);
  using DI = v1::DeleteInterfaceRequest;
  IdCases<DI>(
      t, "DeleteInterface", "interface_id", none,
      [](DI& r, uint32_t id) { r.set_interface_id(id); }, NotLink);
  t.Add<DI>(
      "DeleteInterface", "interface_id", "a plain link",
      [](DI& r, const Ids& ids) { r.set_interface_id(ids.rlink); }, kNotFound);

  using Ls = v1::ListenRequest;
  auto ls_base = [](Ls& r, const Ids& ids) {
    r.set_interface_id(ids.vlink);
    r.set_port(80);
  };
  IdCases<Ls>(
      t, "Listen", "interface_id", ls_base,
      [](Ls& r, uint32_t id) { r.set_interface_id(id); }, NotLink);
  t.Add<Ls>("Listen", "interface_id", "a plain link", ls_base, kNotFound);
  for (uint32_t p : {0u, 65536u, kU32Max}) {
    t.Add<Ls>(
        "Listen", "port", absl::StrCat(p),
        [ls_base, p](Ls& r, const Ids& ids) {
          ls_base(r, ids);
          r.set_port(p);
        },
        kInvalid);
  }
  t.Add<Ls>(
      "Listen", "backlog", "max uint32",
      [ls_base](Ls& r, const Ids& ids) {
        ls_base(r, ids);
        r.set_backlog(kU32Max);
      },
      kInvalid);
  TcpConfigCases<Ls>(t, "Listen", "config", ls_base,
                     [](Ls& r) { return r.mutable_config(); });
  ReaderCases<Ls>(t, "Listen", "reader", ls_base,
                  [](Ls& r) { return r.mutable_reader(); });
  // The flags are fine; the interface is not.
  t.Add<Ls>(
      "Listen", "digest", "true on a plain link",
      [ls_base](Ls& r, const Ids& ids) {
        ls_base(r, ids);
        r.set_digest(true);
      },
      kNotFound, "interface_id");
  t.Add<Ls>(
      "Listen", "capture", "true on a plain link",
      [ls_base](Ls& r, const Ids& ids) {
        ls_base(r, ids);
        r.set_capture(true);
      },
      kNotFound, "interface_id");

  using DLs = v1::DeleteListenerRequest;
  auto dls_base = [](DLs& r, const Ids& ids) {
    r.set_interface_id(ids.vlink);
    r.set_port(80);
  };
  IdCases<DLs>(
      t, "DeleteListener", "interface_id", dls_base,
      [](DLs& r, uint32_t id) { r.set_interface_id(id); }, NotLink);
  for (uint32_t p : {0u, 65536u, kU32Max}) {
    t.Add<DLs>(
        "DeleteListener", "port", absl::StrCat(p),
        [dls_base, p](DLs& r, const Ids& ids) {
          dls_base(r, ids);
          r.set_port(p);
        },
        kInvalid);
  }

  using EP = v1::ExportPcapRequest;
  IdCases<EP>(
      t, "ExportPcap", "session_id", none,
      [](EP& r, uint32_t id) { r.set_session_id(id); }, NotSess, kNotFound);
  t.Add<EP>("ExportPcap", "session_id", "a session without a capture",
            [](EP& r, const Ids& ids) { r.set_session_id(ids.vsid); },
            {StatusCode::NOT_FOUND, StatusCode::FAILED_PRECONDITION});
  t.Add<EP>(
      "ExportPcap", "session_id", "a captured session",
      [](EP& r, const Ids& ids) { r.set_session_id(ids.capsid); }, kOk);
  // ----------------------------------------------------------- scenarios
  using RS = v1::RunScenarioRequest;
  const std::string small =
      "duration: 100ms\nlinks: [{both: {delay: 5ms, rate: 1mbit}}]\n"
      "sessions: [{workload: {kind: bulk}}]\n";
  t.Add<RS>(
      "RunScenario", "scenario_yaml", "empty", [](RS&, const Ids&) {},
      kInvalid);
  t.Add<RS>(
      "RunScenario", "scenario_yaml", "over 1 MiB",
      [](RS& r, const Ids&) {
        r.set_scenario_yaml(std::string(1024 * 1024 + 1, '#'));
      },
      kInvalid);
  t.Add<RS>(
      "RunScenario", "scenario_yaml", "an unknown key",
      [small](RS& r, const Ids&) { r.set_scenario_yaml(small + "x: 1\n"); },
      kInvalid);
  t.Add<RS>(
      "RunScenario", "scenario_yaml", "a small scenario",
      [small](RS& r, const Ids&) { r.set_scenario_yaml(small); }, kOk);
  t.Add<RS>(
      "RunScenario", "set", "a bad override",
      [small](RS& r, const Ids&) {
        r.set_scenario_yaml(small);
        r.add_set("sessions[0].tcp.cc=vegas");
      },
      kInvalid);
  t.Add<RS>(
      "RunScenario", "seed", "any seed",
      [small](RS& r, const Ids&) {
        r.set_scenario_yaml(small);
        r.set_seed(~uint64_t{0});
      },
      kOk);
  t.Add<RS>(
      "RunScenario", "files", "a trace not sent",
      [](RS& r, const Ids&) {
        r.set_scenario_yaml(
            "duration: 100ms\nlinks: [{forward: {trace: t.mahi}}]\n"
            "sessions: [{workload: {kind: bulk}}]\n");
      },
      kInvalid);
  t.Add<RS>(
      "RunScenario", "files", "the trace sent",
      [](RS& r, const Ids&) {
        r.set_scenario_yaml(
            "duration: 100ms\nlinks: [{both: {delay: 5ms, rate: 1mbit}, "
            "forward: {trace: t.mahi}}]\nsessions: [{workload: {kind: "
            "bulk}}]\n");
        (*r.mutable_files())["t.mahi"] = "1\n2\n";
      },
      kOk);
  // ------------------------------------------------------------- proxies
  // Every CreateProxy case but one is refused before a socket is bound.
  using CP = v1::CreateProxyRequest;
  auto cp = [](std::function<void(CP&, const Ids&)> f) {
    return [f](CP& r, const Ids& ids) {
      r.set_name("vt-proxy");
      r.set_listen("127.0.0.1:0");
      r.set_upstream("127.0.0.1:9");
      f(r, ids);
    };
  };
  t.Add<CP>("CreateProxy", "network_id", "a VIRTUAL network",
            cp([](CP& r, const Ids& ids) { r.set_network_id(ids.vnet); }),
            kPrecondition);
  t.Add<CP>("CreateProxy", "network_id", "max uint32",
            cp([](CP& r, const Ids&) { r.set_network_id(kU32Max); }),
            kNotFound);
  for (std::string n :
       {std::string(""), std::string("a b"), std::string(65, 'x'), Big()}) {
    t.Add<CP>("CreateProxy", "name", n.substr(0, 20),
              cp([n](CP& r, const Ids&) { r.set_name(n); }), kInvalid);
  }
  for (std::string a :
       {std::string(""), std::string("127.0.0.1"), std::string("::1:80"),
        std::string("127.0.0.1:65536"), std::string("[::1:80"), Big()}) {
    t.Add<CP>("CreateProxy", "listen", a.substr(0, 20),
              cp([a](CP& r, const Ids&) { r.set_listen(a); }), kInvalid);
  }
  t.Add<CP>("CreateProxy", "listen", "outside --proxy_listen_allow",
            cp([](CP& r, const Ids&) { r.set_listen("0.0.0.0:0"); }),
            {StatusCode::PERMISSION_DENIED}, "--proxy_listen_allow");
  for (std::string a : {std::string("127.0.0.1:0"), std::string("x"), Big()}) {
    t.Add<CP>("CreateProxy", "upstream", a.substr(0, 20),
              cp([a](CP& r, const Ids&) { r.set_upstream(a); }), kInvalid);
  }
  t.Add<CP>("CreateProxy", "upstream", "outside --proxy_upstream_allow",
            cp([](CP& r, const Ids&) { r.set_upstream("192.0.2.1:80"); }),
            {StatusCode::PERMISSION_DENIED}, "--proxy_upstream_allow");
  t.Add<CP>("CreateProxy", "link_id", "max uint32",
            cp([](CP& r, const Ids&) { r.set_link_id(kU32Max); }), kNotFound);
  t.Add<CP>("CreateProxy", "link_id", "a link of another network",
            cp([](CP& r, const Ids& ids) { r.set_link_id(ids.vlink); }),
            kInvalid);
  t.Add<CP>("CreateProxy", "forward", "loss 2", cp([](CP& r, const Ids&) {
              r.mutable_forward()->mutable_loss()->set_random(2);
            }),
            kInvalid, "forward.loss.random");
  t.Add<CP>("CreateProxy", "reverse", "with link_id",
            cp([](CP& r, const Ids& ids) {
              r.set_link_id(ids.rlink);
              r.mutable_reverse()->set_rate_bps(1000000);
            }),
            kInvalid);
  t.Add<CP>("CreateProxy", "downstream_tcp", "mtu 1", cp([](CP& r, const Ids&) {
              r.mutable_downstream_tcp()->set_mtu(1);
            }),
            kInvalid, "downstream_tcp.mtu");
  t.Add<CP>("CreateProxy", "upstream_tcp", "send_buffer over --max_buffer",
            cp([](CP& r, const Ids&) {
              r.mutable_upstream_tcp()->set_send_buffer(kU32Max);
            }),
            {StatusCode::INVALID_ARGUMENT, StatusCode::RESOURCE_EXHAUSTED},
            "upstream_tcp.send_buffer");
  for (uint32_t b : {1u, 4095u, (16u << 20) + 1, kU32Max}) {
    t.Add<CP>("CreateProxy", "relay_buffer", absl::StrCat(b),
              cp([b](CP& r, const Ids&) { r.set_relay_buffer(b); }), kInvalid);
  }
  t.Add<CP>("CreateProxy", "enabled", "false: made, bound to nothing",
            cp([](CP& r, const Ids&) {
              r.set_name("vt-disabled");
              r.set_enabled(false);
            }),
            kOk);
  t.Add<CP>("CreateProxy", "toxics", "no kind",
            cp([](CP& r, const Ids&) { r.add_toxics(); }), kInvalid,
            "toxics[0]");
  t.Add<CP>("CreateProxy", "toxics", "toxicity 2", cp([](CP& r, const Ids&) {
              v1::Toxic* x = r.add_toxics();
              x->set_toxicity(2);
              x->mutable_limit_data()->set_bytes(1);
            }),
            kInvalid, "toxics[0].toxicity");
  t.Add<CP>("CreateProxy", "toxics", "jitter over latency",
            cp([](CP& r, const Ids&) {
              v1::Toxic* x = r.add_toxics();
              Dur(x->mutable_latency()->mutable_latency(), 0, 1000000);
              Dur(x->mutable_latency()->mutable_jitter(), 0, 2000000);
            }),
            kInvalid, "toxics[0].latency.jitter");
  t.Add<CP>("CreateProxy", "toxics", "two of one name",
            cp([](CP& r, const Ids&) {
              for (int i = 0; i < 2; ++i) {
                r.add_toxics()->mutable_limit_data()->set_bytes(1);
              }
            }),
            {StatusCode::ALREADY_EXISTS}, "toxics[1].name");
  t.Add<CP>("CreateProxy", "toxics", "bandwidth with toxicity 0.5",
            cp([](CP& r, const Ids&) {
              v1::Toxic* x = r.add_toxics();
              x->set_toxicity(0.5);
              x->mutable_bandwidth()->set_rate_bps(1000000);
            }),
            kInvalid, "toxics[0].toxicity");
  t.Add<CP>("CreateProxy", "toxics", "slicer of 65496 bytes",
            cp([](CP& r, const Ids&) {
              r.add_toxics()->mutable_slicer()->set_average_size(65496);
            }),
            kInvalid, "toxics[0].slicer.average_size");

  using GP = v1::GetProxyRequest;
  t.Add<GP>(
      "GetProxy", "proxy_id", "max uint32",
      [](GP& r, const Ids&) { r.set_proxy_id(kU32Max); }, kNotFound);
  t.Add<GP>(
      "GetProxy", "proxy_id", "0 and no name",
      [](GP& r, const Ids&) { r.set_proxy_id(0); }, kNotFound, "proxy");
  t.Add<GP>(
      "GetProxy", "name", "unknown",
      [](GP& r, const Ids&) { r.set_name("no-such-proxy"); }, kNotFound,
      "no-such-proxy");
  t.Add<GP>(
      "GetProxy", "name", "10 MB", [](GP& r, const Ids&) { r.set_name(Big()); },
      kNotFound, "proxy");
  using LP = v1::ListProxiesRequest;
  t.Add<LP>("ListProxies", "network_id", "0", none, kOk);
  t.Add<LP>(
      "ListProxies", "network_id", "max uint32",
      [](LP& r, const Ids&) { r.set_network_id(kU32Max); }, kNotFound);
  using UP = v1::UpdateProxyRequest;
  t.Add<UP>(
      "UpdateProxy", "proxy", "unknown id",
      [](UP& r, const Ids&) {
        r.mutable_proxy()->set_id(kU32Max);
        r.mutable_update_mask()->add_paths("enabled");
      },
      kNotFound, "proxy_id");
  t.Add<UP>(
      "UpdateProxy", "proxy", "a bad listen",
      [](UP& r, const Ids&) {
        r.mutable_proxy()->set_name("vt-disabled");
        r.mutable_proxy()->set_listen("nowhere");
        r.mutable_update_mask()->add_paths("listen");
      },
      kInvalid, "listen");
  t.Add<UP>(
      "UpdateProxy", "update_mask", "empty",
      [](UP& r, const Ids&) { r.mutable_proxy()->set_name("vt-disabled"); },
      kInvalid);
  t.Add<UP>(
      "UpdateProxy", "update_mask", "a field that cannot change",
      [](UP& r, const Ids&) {
        r.mutable_proxy()->set_name("vt-disabled");
        r.mutable_update_mask()->add_paths("link_id");
      },
      kInvalid, "update_mask");
  using DP = v1::DeleteProxyRequest;
  t.Add<DP>(
      "DeleteProxy", "proxy_id", "max uint32",
      [](DP& r, const Ids&) { r.set_proxy_id(kU32Max); }, kNotFound);
  t.Add<DP>(
      "DeleteProxy", "name", "unknown",
      [](DP& r, const Ids&) { r.set_name("no-such-proxy"); }, kNotFound,
      "no-such-proxy");
  return t;
}

// Writes kTransferBytes of client-supplied bytes (and more until stopped),
// hashing what it wrote; the server's AUTO reader hashes what it read.
class Transfer {
 public:
  Transfer(Stub* stub, uint32_t sid) : stub_(stub), sid_(sid) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Transfer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t sent() const { return sent_.load(); }
  const std::string& error() const { return error_; }
  std::string digest() { return Sha256::Hex(hash_.Finish()); }

 private:
  void Run() {
    testutil::ByteSource source(11);
    std::string chunk;
    while (!stop_ || sent_ < kTransferBytes) {
      source.Fill(&chunk, 256 * 1024);
      size_t off = 0;
      while (off < chunk.size()) {
        v1::WriteRequest w;
        w.set_session_id(sid_);
        w.set_endpoint(v1::ENDPOINT_CLIENT);
        w.set_data(chunk.substr(off));
        SetDuration(absl::Seconds(20), w.mutable_wait());
        v1::WriteResponse wr;
        grpc::Status s = Call(stub_, &Stub::Write, w, &wr);
        if (!s.ok() || wr.accepted() == 0) {
          error_ = absl::StrCat("Write: ", s.error_message());
          return;
        }
        off += wr.accepted();
      }
      hash_.Update(chunk);
      sent_ += chunk.size();
    }
  }

  Stub* stub_;
  uint32_t sid_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::string error_;
  Sha256 hash_;
  std::thread thread_;
};

class ValidationTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions o = testutil::LocalOptions();
    o.emulator.max_buffer = kMaxBuffer;
    auto d = Daemon::Start(o);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    stub_ = v1::Emulator::NewStub(testutil::LocalChannel(daemon_->port()));
    Stub* stub = stub_.get();
    ids_.rnet = daemon_->service().default_network_id();
    auto vnet = testutil::CreateNetwork(stub, v1::CLOCK_KIND_VIRTUAL, 3);
    ASSERT_TRUE(vnet.ok()) << vnet.status();
    ids_.vnet = vnet->id();

    v1::PathSpec path;
    SetDuration(absl::Milliseconds(1), path.mutable_delay());
    auto rlink = testutil::CreateLink(stub, ids_.rnet, path);
    ASSERT_TRUE(rlink.ok()) << rlink.status();
    ids_.rlink = rlink->id();
    auto vlink = testutil::CreateLink(stub, ids_.vnet, path);
    ASSERT_TRUE(vlink.ok()) << vlink.status();
    ids_.vlink = vlink->id();
    // Links 3-20, deleted once the sessions exist: session ids 3 and 4
    // then name no link.
    std::vector<uint32_t> doomed;
    for (int i = 0; i < 18; ++i) {
      auto l = testutil::CreateLink(stub, ids_.vnet, path);
      ASSERT_TRUE(l.ok()) << l.status();
      doomed.push_back(l->id());
    }
    // Links 21-45: their ids run past every session and network id the
    // table creates.
    for (int i = 0; i < 25; ++i) {
      auto l = testutil::CreateLink(stub, ids_.vnet, path);
      ASSERT_TRUE(l.ok()) << l.status();
      ids_.not_net = ids_.not_sess = l->id();
    }
    for (uint32_t id : doomed) {
      v1::DeleteLinkRequest d;
      d.set_link_id(id);
      google::protobuf::Empty e;
      ASSERT_TRUE(Call(stub, &Stub::DeleteLink, d, &e).ok());
    }
    v1::OpenSessionRequest open;
    open.set_link_id(ids_.rlink);
    open.set_digest(true);
    open.mutable_client()->set_send_buffer(1 << 20);
    open.mutable_server()->set_recv_buffer(1 << 20);
    auto t = testutil::OpenSession(stub, open);
    ASSERT_TRUE(t.ok()) << t.status();
    ids_.tsid = t->id();

    v1::OpenSessionRequest vopen;
    vopen.set_link_id(ids_.vlink);
    vopen.set_client_port(40000);
    vopen.set_server_port(40001);
    vopen.mutable_server_reader()->set_mode(v1::Reader::MODE_MANUAL);
    auto v = testutil::OpenSession(stub, vopen);
    ASSERT_TRUE(v.ok()) << v.status();
    ids_.vsid = v->id();
    v1::OpenSessionRequest dopen;
    dopen.set_link_id(ids_.vlink);
    dopen.set_server_closed(true);
    auto dead = testutil::OpenSession(stub, dopen);
    ASSERT_TRUE(dead.ok()) << dead.status();
    ids_.dead = dead->id();
    v1::OpenSessionRequest copen;
    copen.set_link_id(ids_.vlink);
    copen.set_capture(true);
    auto cap = testutil::OpenSession(stub, copen);
    ASSERT_TRUE(cap.ok()) << cap.status();
    ids_.capsid = cap->id();
    ASSERT_TRUE(testutil::AdvanceTime(stub, ids_.vnet, absl::Seconds(1)).ok());
    auto dead_now = testutil::GetSession(stub, ids_.dead);
    ASSERT_TRUE(dead_now.ok());
    ASSERT_TRUE(dead_now->destroyed());
    // A session id that is no link id (its link was deleted), and a link id
    // above every session and network id.
    ids_.not_link = ids_.capsid;
    ASSERT_GE(ids_.not_link, doomed.front());
    ASSERT_LE(ids_.not_link, doomed.back());
    ASSERT_GE(ids_.not_sess, 45u);
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Stub> stub_;
  Ids ids_;
};

std::string CodeName(StatusCode c) {
  return std::string(Metrics::GrpcCodeName(static_cast<int>(c)));
}

TEST_F(ValidationTableTest, EveryRpcAndFieldRejectsBadInputWhileATransferRuns) {
  const Table table = BuildTable();
  const std::map<std::string, Invoker> invokers = Invokers();

  // Coverage: every method has an invoker and cases; every field of its
  // request (oneof members included) has at least one case.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::Emulator::service_full_name());
  ASSERT_NE(service, nullptr);
  std::map<std::string, std::set<std::string>> covered;
  for (const Case& c : table.cases()) covered[c.method].insert(c.field);
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service->method(i);
    EXPECT_TRUE(invokers.contains(m->name())) << m->name() << ": no invoker";
    EXPECT_TRUE(covered.contains(m->name())) << m->name() << ": no cases";
    const google::protobuf::Descriptor* in = m->input_type();
    for (int f = 0; f < in->field_count(); ++f) {
      EXPECT_TRUE(covered[m->name()].contains(in->field(f)->name()))
          << m->name() << "." << in->field(f)->name() << ": no cases";
    }
  }

  Stub* stub = stub_.get();
  Transfer transfer(stub, ids_.tsid);
  for (int i = 0; i < 500 && transfer.sent() < (1 << 20); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(transfer.sent(), 0u) << transfer.error();

  std::map<StatusCode, int> by_code;
  for (const Case& c : table.cases()) {
    SCOPED_TRACE(absl::StrCat(c.method, " ", c.field, ": ", c.what));
    std::unique_ptr<Message> req = c.request(ids_);
    grpc::Status s = invokers.at(c.method)(stub, *req);
    ++by_code[s.error_code()];
    EXPECT_TRUE(c.codes.contains(s.error_code()))
        << "got " << CodeName(s.error_code()) << ": " << s.error_message();
    if (!s.ok()) {
      EXPECT_TRUE(absl::StrContains(s.error_message(), c.names))
          << "message \"" << s.error_message() << "\" does not name \""
          << c.names << "\"";
      // Messages stay short even when the request carried 10 MB strings.
      EXPECT_LT(s.error_message().size(), 1024u);
    }
  }
  std::cout << table.cases().size() << " cases:";
  for (const auto& [code, n] : by_code)
    std::cout << " " << CodeName(code) << " " << n;
  std::cout << "\n";

  // The transfer: at least 8 MB, every byte delivered, digests equal.
  transfer.Stop();
  ASSERT_TRUE(transfer.error().empty()) << transfer.error();
  ASSERT_GE(transfer.sent(), kTransferBytes);
  const std::string written = transfer.digest();
  v1::Session s;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (true) {
    auto got = testutil::GetSession(stub, ids_.tsid);
    ASSERT_TRUE(got.ok()) << got.status();
    s = *got;
    if (s.server().bytes_read() >= transfer.sent() || absl::Now() > give_up) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(s.client().bytes_written(), transfer.sent());
  EXPECT_EQ(s.server().bytes_read(), transfer.sent());
  ASSERT_EQ(s.server().read_sha256().size(), 32u);
  EXPECT_EQ(Sha256::Hex(*reinterpret_cast<const Sha256::Digest*>(
                s.server().read_sha256().data())),
            written);
  EXPECT_EQ(s.client().write_sha256(), s.server().read_sha256());
  EXPECT_EQ(s.client().tcb().state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(s.server().tcb().state(), v1::TCP_STATE_ESTABLISHED);
  EXPECT_EQ(s.client().error(), v1::ERROR_CODE_UNSPECIFIED);
  std::cout << "the transfer moved " << transfer.sent()
            << " bytes during the table\n";

  // The refused UpdateLink and InjectFault calls left the link alone.
  v1::GetLinkRequest gl;
  gl.set_link_id(ids_.rlink);
  v1::Link l;
  ASSERT_TRUE(Call(stub, &Stub::GetLink, gl, &l).ok());
  EXPECT_EQ(l.forward_counters().fault_hits(), 0u);
  EXPECT_EQ(l.forward().delay().nanos(), 1'000'000);
  EXPECT_EQ(l.forward().loss().random(), 0.0);
  EXPECT_EQ(l.forward().mtu(), 1500u);

  // And the daemon still serves: a new session on the virtual network
  // completes a transfer.
  v1::OpenSessionRequest open;
  open.set_link_id(ids_.vlink);
  open.set_digest(true);
  auto after = testutil::OpenSession(stub, open);
  ASSERT_TRUE(after.ok()) << after.status();
  auto n = testutil::WriteFill(stub, after->id(), v1::ENDPOINT_CLIENT, 100000);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_TRUE(
      testutil::CloseEndpoint(stub, after->id(), v1::ENDPOINT_CLIENT).ok());
  ASSERT_TRUE(testutil::AdvanceTime(stub, ids_.vnet, absl::Seconds(30)).ok());
  auto done = testutil::GetSession(stub, after->id());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->server().bytes_read(), *n);
  EXPECT_EQ(done->client().write_sha256(), done->server().read_sha256());
}

// Every limit refuses with RESOURCE_EXHAUSTED, a message naming its flag and
// a count in tcpemu_limit_rejections_total{limit}; every label is exported
// at 0 from start-up.
TEST(LimitRejectionsTest, EachLimitIsCountedUnderItsLabel) {
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.max_networks = 2;
  o.emulator.max_links = 2;
  o.emulator.max_sessions = 2;
  o.emulator.max_buffer = 1 << 20;
  o.emulator.max_write_bytes = 1 << 16;
  o.emulator.captures.max_captures = 1;
  o.max_subscribers = 1;
  auto d = Daemon::Start(o);
  ASSERT_TRUE(d.ok()) << d.status();
  std::unique_ptr<Daemon> daemon = *std::move(d);
  auto stub = v1::Emulator::NewStub(testutil::LocalChannel(daemon->port()));
  Metrics& metrics = daemon->metrics();

  const std::string fresh = metrics.Render();
  for (size_t i = 0; i < kNumLimits; ++i) {
    const std::string series =
        absl::StrCat("tcpemu_limit_rejections_total{limit=\"",
                     std::string(LimitLabel(static_cast<Limit>(i))), "\"} 0");
    EXPECT_TRUE(absl::StrContains(fresh, series)) << series;
  }

  auto expect = [&](const grpc::Status& s, Limit limit,
                    const std::string& flag) {
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), flag))
        << s.error_message() << " (limit " << LimitLabel(limit) << ")";
  };
  auto counted = [&](Limit limit) { return metrics.limit_rejections(limit); };

  // networks
  auto vnet = testutil::CreateNetwork(stub.get(), v1::CLOCK_KIND_VIRTUAL, 1);
  ASSERT_TRUE(vnet.ok());
  {
    v1::CreateNetworkRequest r;
    v1::Network out;
    expect(Call(stub.get(), &Stub::CreateNetwork, r, &out), Limit::kNetworks,
           "--max_networks is 2");
    EXPECT_EQ(counted(Limit::kNetworks), 1u);
  }
  // links
  v1::PathSpec path;
  auto link = testutil::CreateLink(stub.get(), vnet->id(), path);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(testutil::CreateLink(stub.get(), vnet->id(), path).ok());
  {
    v1::CreateLinkRequest r;
    r.set_network_id(vnet->id());
    v1::Link out;
    expect(Call(stub.get(), &Stub::CreateLink, r, &out), Limit::kLinks,
           "--max_links is 2");
    EXPECT_EQ(counted(Limit::kLinks), 1u);
  }
  // interfaces share the link limit, and have their own
  {
    v1::CreateInterfaceRequest r;
    r.set_address("10.78.0.2/24");
    v1::Interface out;
    expect(Call(stub.get(), &Stub::CreateInterface, r, &out), Limit::kLinks,
           "--max_links");
    EXPECT_EQ(counted(Limit::kLinks), 2u);
  }
  // buffers
  {
    v1::OpenSessionRequest r;
    r.set_link_id(link->id());
    r.mutable_server()->set_recv_buffer((1 << 20) + 1);
    v1::Session out;
    expect(Call(stub.get(), &Stub::OpenSession, r, &out), Limit::kBuffer,
           "--max_buffer is 1048576");
    EXPECT_EQ(counted(Limit::kBuffer), 1u);
  }
  // captures, then sessions
  v1::OpenSessionRequest cap;
  cap.set_link_id(link->id());
  cap.set_capture(true);
  auto s1 = testutil::OpenSession(stub.get(), cap);
  ASSERT_TRUE(s1.ok()) << s1.status();
  {
    v1::Session out;
    expect(Call(stub.get(), &Stub::OpenSession, cap, &out), Limit::kCaptures,
           "--max_captures is 1");
    EXPECT_EQ(counted(Limit::kCaptures), 1u);
  }
  v1::OpenSessionRequest plain;
  plain.set_link_id(link->id());
  auto s2 = testutil::OpenSession(stub.get(), plain);
  ASSERT_TRUE(s2.ok()) << s2.status();
  {
    v1::Session out;
    expect(Call(stub.get(), &Stub::OpenSession, plain, &out), Limit::kSessions,
           "--max_sessions is 2");
    EXPECT_EQ(counted(Limit::kSessions), 1u);
  }
  // bytes per Write
  {
    v1::WriteRequest w;
    w.set_session_id(s2->id());
    w.set_endpoint(v1::ENDPOINT_CLIENT);
    w.set_data(std::string((1 << 16) + 1, 'z'));
    v1::WriteResponse out;
    expect(Call(stub.get(), &Stub::Write, w, &out), Limit::kWriteBytes,
           "--max_write_bytes is 65536");
    EXPECT_EQ(counted(Limit::kWriteBytes), 1u);
  }
  // faults: 64 per link direction
  {
    v1::InjectFaultRequest f;
    f.set_link_id(link->id());
    f.set_direction(v1::DIRECTION_FORWARD);
    f.set_action(v1::FAULT_ACTION_DROP);
    f.mutable_match()->set_nth(1000);
    v1::Fault out;
    for (size_t i = 0; i < kMaxFaultRules; ++i) {
      ASSERT_TRUE(Call(stub.get(), &Stub::InjectFault, f, &out).ok());
    }
    expect(Call(stub.get(), &Stub::InjectFault, f, &out), Limit::kFaults,
           "fault rules per link direction");
    EXPECT_EQ(counted(Limit::kFaults), 1u);
  }
  // subscribers
  {
    testutil::EventCollector held(stub.get(), v1::WatchEventsRequest());
    ASSERT_TRUE(held.registered());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    auto reader = stub->WatchEvents(&ctx, v1::WatchEventsRequest());
    v1::EventBatch b;
    while (reader->Read(&b)) {
    }
    expect(reader->Finish(), Limit::kSubscribers, "--max_subscribers is 1");
    EXPECT_EQ(counted(Limit::kSubscribers), 1u);
  }
  EXPECT_TRUE(absl::StrContains(
      metrics.Render(),
      "tcpemu_limit_rejections_total{limit=\"subscribers\"} 1"));
}

// --max_listeners over every interface: needs a TAP device. Skipped only
// where the facility is missing (not root, or no /dev/net/tun); with both
// there, a failure to make the interface fails the test.
TEST(LimitRejectionsTest, ListenersAreCountedOverInterfaces) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: needs root for TAP";
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: /dev/net/tun is missing";
  }
  DaemonOptions o = testutil::LocalOptions();
  o.emulator.max_listeners = 2;
  auto d = Daemon::Start(o);
  ASSERT_TRUE(d.ok()) << d.status();
  std::unique_ptr<Daemon> daemon = *std::move(d);
  auto stub = v1::Emulator::NewStub(testutil::LocalChannel(daemon->port()));
  v1::CreateInterfaceRequest ci;
  ci.set_address("10.231.7.2/24");
  v1::Interface iface;
  grpc::Status made = Call(stub.get(), &Stub::CreateInterface, ci, &iface);
  ASSERT_TRUE(made.ok()) << made.error_message();
  auto listen = [&](uint32_t port) {
    v1::ListenRequest r;
    r.set_interface_id(iface.id());
    r.set_port(port);
    v1::Listener out;
    return Call(stub.get(), &Stub::Listen, r, &out);
  };
  EXPECT_TRUE(listen(7001).ok());
  EXPECT_TRUE(listen(7002).ok());
  // Listening again on a port that listens is not a new listener.
  EXPECT_EQ(listen(7002).error_code(), StatusCode::ALREADY_EXISTS);
  grpc::Status over = listen(7003);
  EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << over.error_message();
  EXPECT_TRUE(absl::StrContains(over.error_message(), "--max_listeners is 2"))
      << over.error_message();
  EXPECT_EQ(daemon->metrics().limit_rejections(Limit::kListeners), 1u);
  // DeleteListener frees a slot, and so does DeleteInterface.
  v1::DeleteListenerRequest dl;
  dl.set_interface_id(iface.id());
  dl.set_port(7001);
  google::protobuf::Empty e;
  ASSERT_TRUE(Call(stub.get(), &Stub::DeleteListener, dl, &e).ok());
  EXPECT_TRUE(listen(7003).ok());
  v1::DeleteInterfaceRequest di;
  di.set_interface_id(iface.id());
  ASSERT_TRUE(Call(stub.get(), &Stub::DeleteInterface, di, &e).ok());
  ASSERT_TRUE(Call(stub.get(), &Stub::CreateInterface, ci, &iface).ok());
  EXPECT_TRUE(listen(7001).ok());
  EXPECT_TRUE(listen(7002).ok());
  EXPECT_EQ(listen(7003).error_code(), StatusCode::RESOURCE_EXHAUSTED);
  di.set_interface_id(iface.id());
  EXPECT_TRUE(Call(stub.get(), &Stub::DeleteInterface, di, &e).ok());
}

}  // namespace
}  // namespace tcpemu::server
