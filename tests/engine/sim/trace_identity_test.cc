// Pins the event trace of seeded transfers across the engine's option space:
// every congestion control, with and without SACK, RACK, timestamps, delayed
// ACK, limited transmit and HyStart++, over paths with random and bursty
// loss, reordering, duplication, corruption, jitter, a rate limit with a
// short queue, and a stalled reader. Each run's SHA-256 trace digest must
// equal the one recorded in trace_digests.txt, so a refactoring that changes
// any segment, timer or event anywhere shows here. A change of behaviour
// that is meant re-records the file (TCPEMU_RECORD_TRACES=1 ctest -R
// TraceIdentity) in the commit that names it.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/sim/network.h"
#include "engine/trace/trace_hash.h"
#include "gtest/gtest.h"
#include "tests/support/trace_digests.h"

#ifndef TCPEMU_TRACE_DIGESTS
#error "TCPEMU_TRACE_DIGESTS must name the digest file"
#endif

namespace tcpemu {
namespace {

struct SeededRun {
  std::string name;
  PathSpec forward;
  PathSpec reverse;
  TcpConfig config;  // both ends
  uint64_t bytes = 2 * 1024 * 1024;
  DurationNs stall_until = 0;  // the server reads nothing before
};

PathSpec Path(DurationNs delay, uint64_t rate_bps, double loss) {
  PathSpec s;
  s.delay = delay;
  s.rate_bps = rate_bps;
  s.queue_limit_packets = 64;
  if (loss > 0) {
    s.loss.model = LossSpec::Model::kRandom;
    s.loss.p = loss;
  }
  return s;
}

std::vector<SeededRun> SeededRuns() {
  std::vector<SeededRun> v;
  struct Variant {
    std::string name;
    void (*apply)(TcpConfig&);
  };
  const std::vector<Variant> variants = {
      {"default", [](TcpConfig&) {}},
      {"cubic", [](TcpConfig& c) { c.cc = CcAlgorithm::kCubic; }},
      {"cubic_hystart",
       [](TcpConfig& c) {
         c.cc = CcAlgorithm::kCubic;
         c.hystart = true;
       }},
      {"newreno_hystart", [](TcpConfig& c) { c.hystart = true; }},
      {"no_sack", [](TcpConfig& c) { c.sack = false; }},
      {"cubic_no_sack",
       [](TcpConfig& c) {
         c.cc = CcAlgorithm::kCubic;
         c.sack = false;
       }},
      {"no_rack", [](TcpConfig& c) { c.rack = false; }},
      {"no_timestamps", [](TcpConfig& c) { c.timestamps = false; }},
      {"no_delack_no_lt",
       [](TcpConfig& c) {
         c.delayed_ack = false;
         c.limited_transmit = false;
       }},
      {"bare",
       [](TcpConfig& c) {
         c.sack = false;
         c.timestamps = false;
         c.window_scaling = false;
         c.nodelay = true;
       }},
  };
  struct Impairment {
    std::string name;
    PathSpec forward;
    PathSpec reverse;
  };
  std::vector<Impairment> paths;
  paths.push_back({"clean", Path(10 * kMillisecond, 20'000'000, 0),
                   Path(10 * kMillisecond, 0, 0)});
  paths.push_back({"loss2", Path(10 * kMillisecond, 20'000'000, 0.02),
                   Path(10 * kMillisecond, 0, 0.01)});
  paths.push_back({"loss10", Path(5 * kMillisecond, 0, 0.10),
                   Path(5 * kMillisecond, 0, 0.05)});
  {
    Impairment b{"bursty", Path(15 * kMillisecond, 10'000'000, 0),
                 Path(15 * kMillisecond, 0, 0)};
    b.forward.loss.model = LossSpec::Model::kGilbertElliott;
    b.forward.loss.p = 0.02;
    b.forward.loss.r = 0.3;
    b.forward.loss.h = 0.2;
    b.forward.loss.k = 0.999;
    paths.push_back(b);
  }
  {
    Impairment r{"reorder_dup_corrupt", Path(20 * kMillisecond, 0, 0.005),
                 Path(20 * kMillisecond, 0, 0)};
    r.forward.reorder = 0.1;
    r.forward.duplicate = 0.02;
    r.forward.corrupt = 0.01;
    r.reverse.duplicate = 0.02;
    paths.push_back(r);
  }
  {
    Impairment j{"jitter_shallow_queue", Path(8 * kMillisecond, 5'000'000, 0),
                 Path(8 * kMillisecond, 0, 0)};
    j.forward.jitter.jitter = 2 * kMillisecond;
    j.forward.queue_limit_packets = 8;
    paths.push_back(j);
  }
  for (const Impairment& p : paths) {
    for (const Variant& var : variants) {
      SeededRun r;
      r.name = absl::StrCat(p.name, "/", var.name);
      r.forward = p.forward;
      r.reverse = p.reverse;
      var.apply(r.config);
      v.push_back(r);
    }
  }
  {
    SeededRun r;
    r.name = "stalled_reader/small_buffers";
    r.forward = Path(10 * kMillisecond, 0, 0);
    r.reverse = Path(10 * kMillisecond, 0, 0);
    r.config.recv_buffer = 16 * 1024;
    r.config.send_buffer = 32 * 1024;
    r.stall_until = 3 * kSecond;
    r.bytes = 128 * 1024;
    v.push_back(r);
  }
  return v;
}

std::string TraceOf(const SeededRun& run, uint64_t seed) {
  TraceHasher hasher;
  Network net(seed, &hasher);
  auto link = net.CreateLink(run.forward, run.reverse);
  EXPECT_TRUE(link.ok()) << link.status();
  if (!link.ok()) return "";
  SessionSpec spec;
  spec.link_id = *link;
  spec.client = run.config;
  spec.server = run.config;
  if (run.stall_until > 0) spec.server_reader.mode = ReaderMode::kManual;
  auto sid = net.OpenSession(spec);
  EXPECT_TRUE(sid.ok()) << sid.status();
  if (!sid.ok()) return "";
  EXPECT_TRUE(net.SetSource(*sid, Endpoint::kClient, run.bytes, true).ok());
  if (run.stall_until > 0) {
    net.RunUntil(run.stall_until);
    EXPECT_TRUE(net.SetReader(*sid, Endpoint::kServer, ReaderSpec{}).ok());
  }
  EXPECT_TRUE(net.RunUntilIdle(3600 * kSecond)) << run.name;
  auto info = net.GetSession(*sid);
  EXPECT_TRUE(info.ok());
  if (info.ok()) {
    EXPECT_EQ(info->server.bytes_read, run.bytes) << run.name;
    EXPECT_EQ(info->client.write_digest, info->server.read_digest) << run.name;
  }
  return hasher.HexDigest();
}

TEST(TraceIdentityTest, EverySeededRunReplaysItsRecordedTrace) {
  TraceDigests digests(TCPEMU_TRACE_DIGESTS);
  for (const SeededRun& run : SeededRuns()) {
    for (uint64_t seed : {1, 2}) {
      digests.Check(absl::StrCat(run.name, "/seed", seed), TraceOf(run, seed));
    }
  }
}

}  // namespace
}  // namespace tcpemu
