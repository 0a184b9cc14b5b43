// tcpemu-sim: runs one seeded TCP transfer from a client to a server endpoint
// across an emulated link, in virtual time, and reports goodput, counters,
// digests and the trace hash, as text or as one JSON object.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "engine/cli/scenario_command.h"
#include "engine/cli/sim_options.h"
#include "engine/sim/network.h"
#include "engine/trace/jsonl.h"
#include "engine/trace/trace_hash.h"

namespace tcpemu {
namespace {

absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

// Watches the event stream for what the counters do not keep: when the
// server application read the last byte, and packets whose IPv4 header was
// corrupted beyond attribution to a connection.
class ProgressSink : public EventSink {
 public:
  explicit ProgressSink(uint64_t target) : target_(target) {}

  void OnEvent(const Event& e) override {
    ++events_;
    if (e.kind == EventKind::kAppRead && e.endpoint == Endpoint::kServer) {
      read_ += static_cast<uint64_t>(e.a);
      if (read_ >= target_ && completed_at_ == kNever) completed_at_ = e.time;
    } else if (e.kind == EventKind::kSegmentReceived &&
               e.disposition == Disposition::kMalformed) {
      ++malformed_;
    }
  }

  // Time of the read that brought the server to `target` bytes, or kNever.
  TimeNs completed_at() const { return completed_at_; }
  uint64_t malformed() const { return malformed_; }
  uint64_t event_count() const { return events_; }

 private:
  uint64_t target_;
  uint64_t events_ = 0;
  uint64_t read_ = 0;
  TimeNs completed_at_ = kNever;
  uint64_t malformed_ = 0;
};

struct Result {
  SessionInfo session;
  PathCounters forward;
  PathCounters reverse;
  uint64_t malformed = 0;
  bool idle = false;  // false: stopped by --time-limit
  TimeNs end = 0;
  TimeNs completed_at = kNever;
  std::string trace_sha256;
  uint64_t trace_events = 0;
  double wall_seconds = 0;

  bool complete(const SimOptions& o) const {
    return session.client.bytes_written == o.bytes &&
           session.server.bytes_read == o.bytes && completed_at != kNever;
  }
  bool digests_match() const {
    return session.client.write_digest == session.server.read_digest;
  }
  bool closed() const {
    return session.destroyed && session.client.error == ErrorCode::kNone &&
           session.server.error == ErrorCode::kNone;
  }
  bool ok(const SimOptions& o) const {
    return complete(o) && (!o.digest || digests_match()) && closed();
  }
  // From session open to the server's read of the last byte.
  DurationNs duration() const {
    return completed_at == kNever ? 0 : completed_at - session.opened_at;
  }
  // Payload bits over duration(); 0 when undefined.
  double goodput_bps() const {
    DurationNs d = duration();
    if (d <= 0) return 0;
    return static_cast<double>(session.server.bytes_read) * 8 * 1e9 /
           static_cast<double>(d);
  }
};

std::string VirtualTime(DurationNs ns) {
  return absl::FormatDuration(FromNs(ns));
}

std::string HumanRate(double bps) {
  if (bps >= 1e9) return absl::StrFormat("%.3f Gbit/s", bps / 1e9);
  if (bps >= 1e6) return absl::StrFormat("%.3f Mbit/s", bps / 1e6);
  if (bps >= 1e3) return absl::StrFormat("%.3f kbit/s", bps / 1e3);
  return absl::StrFormat("%.0f bit/s", bps);
}

std::string DescribeLoss(const LossSpec& l) {
  switch (l.model) {
    case LossSpec::Model::kNone:
      return "none";
    case LossSpec::Model::kRandom:
      return absl::StrCat("random ", l.p);
    case LossSpec::Model::kGilbertElliott:
      return absl::StrCat("gilbert-elliott p=", l.p, " r=", l.r, " h=", l.h,
                          " k=", l.k);
  }
  return "?";
}

std::string DescribeQueue(const PathSpec& p) {
  if (p.queue_limit_bytes > 0) {
    return absl::StrCat(p.queue_limit_bytes, " bytes");
  }
  if (p.queue_limit_packets > 0) {
    return absl::StrCat(p.queue_limit_packets, " packets");
  }
  return "unlimited";
}

std::string DigestText(const SimOptions& o, const Sha256::Digest& d) {
  return o.digest ? Sha256::Hex(d) : "off";
}

void PrintHuman(const SimOptions& o, const Result& r) {
  const PathSpec& p = o.path;
  const SessionInfo& s = r.session;
  const EndpointStats& c = s.client;
  const EndpointStats& v = s.server;
  std::string out;
  absl::StrAppend(&out, "tcpemu-sim: ", o.bytes,
                  " bytes from client to server, seed ", o.seed, "\n");
  absl::StrAppend(
      &out, "link (each direction): delay ", VirtualTime(p.delay), ", jitter ",
      VirtualTime(p.jitter.jitter), ", rate ",
      p.rate_bps == 0 ? std::string("unlimited") : HumanRate(p.rate_bps),
      ", queue ", DescribeQueue(p), ", loss ", DescribeLoss(p.loss),
      ", reorder ", p.reorder, ", duplicate ", p.duplicate, ", corrupt ",
      p.corrupt, ", mtu ", p.mtu, "\n");
  absl::StrAppend(&out, "tcp (both endpoints): mss ", o.tcp.mss(),
                  ", send buffer ", o.tcp.send_buffer, ", recv buffer ",
                  o.tcp.recv_buffer, o.tcp.nodelay ? ", nodelay" : "",
                  o.tcp.cork ? ", cork" : "",
                  o.tcp.delayed_ack ? ", delayed ack" : ", no delayed ack",
                  ", rto min ", VirtualTime(o.tcp.rto_min), ", initial window ",
                  o.tcp.initial_window, ", msl ", VirtualTime(o.tcp.msl), ", ",
                  Sv(ToString(o.tcp.cc)), o.tcp.pacing ? ", pacing" : "");
  if (o.reader_rate > 0) {
    absl::StrAppend(&out, ", server reads ", o.reader_rate, " bytes/s");
  }
  absl::StrAppend(&out, "\n\n");

  absl::StrAppend(&out, "result:         ", r.ok(o) ? "OK" : "FAILED", " (",
                  r.complete(o) ? "complete" : "incomplete", ", digests ",
                  !o.digest ? "off" : (r.digests_match() ? "match" : "DIFFER"),
                  ", ", r.closed() ? "closed" : "not closed",
                  r.idle ? "" : ", time limit reached", ")\n");
  absl::StrAppend(&out, "transfer:       ", v.bytes_read, " of ", o.bytes,
                  " bytes read by the server\n");
  if (r.completed_at != kNever) {
    absl::StrAppend(&out, "duration:       ", VirtualTime(r.duration()),
                    " virtual (session open to the server reading the last "
                    "byte)\n");
    absl::StrAppend(
        &out, "goodput:        ",
        r.duration() > 0 ? HumanRate(r.goodput_bps()) : std::string("n/a"),
        " (payload bits / duration)\n");
  } else {
    absl::StrAppend(&out, "duration:       n/a (the last byte was not read)\n");
  }
  absl::StrAppend(&out, "closed at:      ",
                  s.destroyed ? VirtualTime(s.destroyed_at - s.opened_at)
                              : std::string("not closed"),
                  " virtual (after TIME_WAIT); run ended at ",
                  VirtualTime(r.end), "\n\n");

  auto row = [&](absl::string_view name, const auto& a, const auto& b) {
    absl::StrAppend(&out, absl::StrFormat("  %-26s %14s %14s\n", name,
                                          absl::StrCat(a), absl::StrCat(b)));
  };
  absl::StrAppend(&out, absl::StrFormat("  %-26s %14s %14s\n", "endpoint",
                                        "client", "server"));
  const ConnectionCounters& cc = c.counters;
  const ConnectionCounters& sc = v.counters;
  row("segments sent", cc.segments_sent, sc.segments_sent);
  row("  pure ACKs", cc.pure_acks_sent, sc.pure_acks_sent);
  row("  retransmitted (rto)", cc.retransmits_rto, sc.retransmits_rto);
  row("  retransmitted (fast)", cc.retransmits_fast, sc.retransmits_fast);
  row("  window probes", cc.window_probes_sent, sc.window_probes_sent);
  row("payload bytes sent", cc.bytes_sent, sc.bytes_sent);
  row("  retransmitted bytes", cc.bytes_retransmitted, sc.bytes_retransmitted);
  row("segments received", cc.segments_received, sc.segments_received);
  row("  out of order", cc.out_of_order_segments, sc.out_of_order_segments);
  row("  duplicate", cc.duplicate_segments, sc.duplicate_segments);
  row("  bad checksum", cc.bad_checksum_segments, sc.bad_checksum_segments);
  row("  outside window", cc.outside_window_segments,
      sc.outside_window_segments);
  row("dup ACKs received", cc.dup_acks_received, sc.dup_acks_received);
  row("final state", Sv(ToString(c.final_state)), Sv(ToString(v.final_state)));
  row("error", Sv(ToString(c.error)), Sv(ToString(v.error)));
  absl::StrAppend(&out, "\n");

  absl::StrAppend(&out, absl::StrFormat("  %-26s %14s %14s\n", "link",
                                        "forward", "reverse"));
  const PathCounters& f = r.forward;
  const PathCounters& b = r.reverse;
  row("packets sent", f.packets_sent, b.packets_sent);
  row("packets delivered", f.packets_delivered, b.packets_delivered);
  row("dropped: loss", f.dropped_loss, b.dropped_loss);
  row("dropped: queue", f.dropped_queue, b.dropped_queue);
  row("dropped: fault", f.dropped_fault, b.dropped_fault);
  row("dropped: mtu", f.dropped_mtu, b.dropped_mtu);
  row("duplicated", f.duplicated, b.duplicated);
  row("corrupted", f.corrupted, b.corrupted);
  row("reordered", f.reordered, b.reordered);
  absl::StrAppend(&out, "  malformed on arrival (IPv4 header corrupted): ",
                  r.malformed, "\n\n");

  absl::StrAppend(&out, "sha256 written: ", DigestText(o, c.write_digest),
                  " (client)\n");
  absl::StrAppend(&out, "sha256 read:    ", DigestText(o, v.read_digest),
                  " (server)\n");
  absl::StrAppend(&out, "trace:          ", r.trace_events, " events, sha256 ",
                  o.digest ? r.trace_sha256 : "off", "\n");
  if (!o.events_path.empty()) {
    absl::StrAppend(&out, "events:         ", o.events_path, "\n");
  }
  absl::StrAppend(&out,
                  "wall time:      ", absl::StrFormat("%.3f s", r.wall_seconds),
                  "\n");
  std::fputs(out.c_str(), stdout);
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, ch));
    } else if (u < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", u));
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

const char* JsonBool(bool b) { return b ? "true" : "false"; }

std::string JsonEndpoint(const SimOptions& o, const EndpointStats& e) {
  const ConnectionCounters& c = e.counters;
  return absl::StrCat(
      "{\"bytes_written\":", e.bytes_written, ",\"bytes_read\":", e.bytes_read,
      ",\"segments_sent\":", c.segments_sent,
      ",\"segments_received\":", c.segments_received,
      ",\"bytes_sent\":", c.bytes_sent,
      ",\"bytes_retransmitted\":", c.bytes_retransmitted,
      ",\"retransmits_rto\":", c.retransmits_rto,
      ",\"retransmits_fast\":", c.retransmits_fast,
      ",\"pure_acks_sent\":", c.pure_acks_sent,
      ",\"window_probes_sent\":", c.window_probes_sent,
      ",\"window_updates_sent\":", c.window_updates_sent,
      ",\"dup_acks_received\":", c.dup_acks_received,
      ",\"out_of_order_segments\":", c.out_of_order_segments,
      ",\"duplicate_segments\":", c.duplicate_segments,
      ",\"bad_checksum_segments\":", c.bad_checksum_segments,
      ",\"outside_window_segments\":", c.outside_window_segments,
      ",\"challenge_acks_sent\":", c.challenge_acks_sent,
      ",\"fast_recoveries\":", c.fast_recoveries, ",\"timeouts\":", c.timeouts,
      ",\"final_state\":", JsonString(Sv(ToString(e.final_state))),
      ",\"error\":", JsonString(Sv(ToString(e.error))), ",\"write_sha256\":",
      o.digest ? JsonString(Sha256::Hex(e.write_digest)) : "null",
      ",\"read_sha256\":",
      o.digest ? JsonString(Sha256::Hex(e.read_digest)) : "null", "}");
}

std::string JsonPath(const PathCounters& p) {
  return absl::StrCat(
      "{\"packets_sent\":", p.packets_sent, ",\"bytes_sent\":", p.bytes_sent,
      ",\"packets_delivered\":", p.packets_delivered,
      ",\"bytes_delivered\":", p.bytes_delivered,
      ",\"dropped\":{\"loss\":", p.dropped_loss, ",\"queue\":", p.dropped_queue,
      ",\"fault\":", p.dropped_fault, ",\"mtu\":", p.dropped_mtu,
      "},\"duplicated\":", p.duplicated, ",\"corrupted\":", p.corrupted,
      ",\"reordered\":", p.reordered, "}");
}

void PrintJson(const SimOptions& o, const Result& r) {
  const SessionInfo& s = r.session;
  std::string out = absl::StrCat(
      "{\"ok\":", JsonBool(r.ok(o)), ",\"seed\":", o.seed,
      ",\"bytes\":", o.bytes, ",\"complete\":", JsonBool(r.complete(o)),
      ",\"digests_match\":", o.digest ? JsonBool(r.digests_match()) : "null",
      ",\"closed\":", JsonBool(r.closed()),
      ",\"time_limit_reached\":", JsonBool(!r.idle));
  absl::StrAppend(
      &out, ",\"virtual\":{\"opened_at_ns\":", s.opened_at,
      ",\"completed_at_ns\":",
      r.completed_at == kNever ? std::string("null")
                               : absl::StrCat(r.completed_at),
      ",\"duration_ns\":",
      r.completed_at == kNever ? std::string("null")
                               : absl::StrCat(r.duration()),
      ",\"goodput_bps\":",
      r.duration() > 0 ? absl::StrFormat("%.1f", r.goodput_bps())
                       : std::string("null"),
      ",\"closed_at_ns\":",
      s.destroyed ? absl::StrCat(s.destroyed_at) : std::string("null"),
      ",\"end_ns\":", r.end, "}");
  absl::StrAppend(&out, ",\"client\":", JsonEndpoint(o, s.client),
                  ",\"server\":", JsonEndpoint(o, s.server));
  absl::StrAppend(&out, ",\"link\":{\"forward\":", JsonPath(r.forward),
                  ",\"reverse\":", JsonPath(r.reverse),
                  ",\"malformed_received\":", r.malformed, "}");
  absl::StrAppend(
      &out, ",\"trace\":{\"events\":", r.trace_events,
      ",\"sha256\":", o.digest ? JsonString(r.trace_sha256) : "null", "}");
  absl::StrAppend(
      &out, ",\"events_file\":",
      o.events_path.empty() ? std::string("null") : JsonString(o.events_path));
  absl::StrAppend(&out,
                  ",\"wall_time_s\":", absl::StrFormat("%.6f", r.wall_seconds),
                  "}\n");
  std::fputs(out.c_str(), stdout);
}

int Fail(absl::string_view message, int code) {
  std::fprintf(stderr, "tcpemu-sim: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return code;
}

int Run(int argc, char** argv) {
  if (absl::Span<const char* const> args(argv + 1, argc - 1);
      WantsScenario(args)) {
    absl::StatusOr<ScenarioCommand> command = ParseScenarioCommand(args);
    if (!command.ok()) return Fail(command.status().message(), 2);
    return RunScenarioCommand(*command);
  }
  absl::StatusOr<SimOptions> parsed = ParseSimOptions(argc, argv);
  if (!parsed.ok()) return Fail(parsed.status().message(), 2);
  const SimOptions& o = *parsed;
  if (o.help) {
    std::fputs(SimUsage().c_str(), stdout);
    return 0;
  }

  std::unique_ptr<JsonlWriter> writer;
  if (!o.events_path.empty()) {
    absl::StatusOr<std::unique_ptr<JsonlWriter>> w =
        JsonlWriter::Open(o.events_path);
    if (!w.ok()) {
      return Fail(absl::StrCat("--events: ", w.status().message()), 2);
    }
    writer = *std::move(w);
  }
  // The trace hash is the costliest consumer of events: with --no-digest
  // nothing is hashed at all.
  TraceHasher hasher;
  ProgressSink progress(o.bytes);
  FanoutSink sinks{o.digest ? &hasher : nullptr, &progress, writer.get()};

  const auto wall_start = std::chrono::steady_clock::now();
  Network net(o.seed, &sinks);
  absl::StatusOr<uint32_t> link = net.CreateLink(o.path, o.path);
  if (!link.ok()) return Fail(link.status().message(), 2);
  absl::StatusOr<uint32_t> sid = net.OpenSession(MakeSessionSpec(o, *link));
  if (!sid.ok()) return Fail(sid.status().message(), 2);
  if (absl::Status s = net.SetSource(*sid, Endpoint::kClient, o.bytes, true);
      !s.ok()) {
    return Fail(s.message(), 1);
  }
  Result r;
  r.idle = net.RunUntilIdle(o.time_limit);
  const auto wall_end = std::chrono::steady_clock::now();
  r.wall_seconds = std::chrono::duration<double>(wall_end - wall_start).count();
  r.end = net.now();

  absl::StatusOr<SessionInfo> info = net.GetSession(*sid);
  if (!info.ok()) return Fail(info.status().message(), 1);
  r.session = *info;
  r.forward = net.path(*link, Direction::kForward)->counters();
  r.reverse = net.path(*link, Direction::kReverse)->counters();
  r.malformed = progress.malformed();
  r.completed_at = progress.completed_at();
  r.trace_sha256 = o.digest ? hasher.HexDigest() : "";
  r.trace_events = progress.event_count();

  int code = r.ok(o) ? 0 : 1;
  if (writer != nullptr) {
    if (absl::Status s = writer->Flush(); !s.ok()) {
      Fail(absl::StrCat("--events: ", s.message()), 1);
      code = 1;
    }
  }
  if (o.json) {
    PrintJson(o, r);
  } else {
    PrintHuman(o, r);
  }
  std::fflush(stdout);
  return code;
}

}  // namespace
}  // namespace tcpemu

int main(int argc, char** argv) { return tcpemu::Run(argc, argv); }
