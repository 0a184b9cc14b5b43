// tcpemu-sim's flag parser: a table of flags, each with a handler that parses
// and range-checks its value into SimOptions. Hand-rolled because the flags
// are spelled with hyphens (--send-buffer), which Abseil's flags do not allow.
#include "engine/cli/sim_options.h"

#include <functional>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/cli/units.h"

namespace tcpemu {
namespace {

// Debian's Abseil has its own string_view type, which std::string_view does
// not convert to implicitly.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

constexpr uint64_t kMaxBuffer = 256 * 1024 * 1024;  // TcpConfig::Validate

absl::Status OutOfRange(std::string_view flag, std::string_view text,
                        std::string_view range) {
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(flag), ": ", Sv(text), " out of range ", Sv(range)));
}

// Parses `text` with `parse` and checks lo <= value <= hi.
template <typename T, typename Parse>
absl::StatusOr<T> InRange(std::string_view flag, std::string_view text,
                          Parse parse, T lo, T hi, std::string_view range) {
  absl::StatusOr<T> v = parse(flag, text);
  if (!v.ok()) return v.status();
  if (*v < lo || *v > hi) return OutOfRange(flag, text, range);
  return *v;
}

absl::StatusOr<DurationNs> Duration(std::string_view flag,
                                    std::string_view text, DurationNs lo,
                                    DurationNs hi, std::string_view range) {
  return InRange<DurationNs>(flag, text, ParseDurationFlag, lo, hi, range);
}

absl::StatusOr<uint64_t> Size(std::string_view flag, std::string_view text,
                              uint64_t lo, uint64_t hi,
                              std::string_view range) {
  return InRange<uint64_t>(flag, text, ParseSizeFlag, lo, hi, range);
}

absl::StatusOr<uint64_t> Integer(std::string_view flag, std::string_view text,
                                 uint64_t lo, uint64_t hi,
                                 std::string_view range) {
  uint64_t v = 0;
  if (text.empty() || text[0] == '+' || !absl::SimpleAtoi(Sv(text), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(flag), ": \"", Sv(text),
                     "\" is not valid; expected an integer in ", Sv(range)));
  }
  if (v < lo || v > hi) return OutOfRange(flag, text, range);
  return v;
}

// Assigns a parsed value, or passes its error on.
template <typename T, typename U>
absl::Status Set(const absl::StatusOr<T>& v, U* out) {
  if (!v.ok()) return v.status();
  *out = static_cast<U>(*v);
  return absl::OkStatus();
}

struct Flag {
  std::string_view name;
  bool takes_value;
  std::function<absl::Status(std::string_view flag, std::string_view value,
                             SimOptions& o)>
      apply;
};

// Flags that exclude each other, checked after all flags are read.
struct Seen {
  bool loss = false;
  bool ge_loss = false;
};

std::vector<Flag> Flags(Seen& seen) {
  using S = std::string_view;
  return {
      {"--bytes", true,
       [](S f, S v, SimOptions& o) {
         return Set(
             Size(f, v, 1, std::numeric_limits<int64_t>::max(), "[1, 2^63)"),
             &o.bytes);
       }},
      {"--delay", true,
       [](S f, S v, SimOptions& o) {
         return Set(Duration(f, v, 0, kMaxPathDelay, "[0, 1h]"), &o.path.delay);
       }},
      {"--jitter", true,
       [](S f, S v, SimOptions& o) {
         return Set(Duration(f, v, 0, kMaxPathDelay, "[0, 1h]"),
                    &o.path.jitter.jitter);
       }},
      {"--rate", true,
       [](S f, S v, SimOptions& o) {
         return Set(InRange<uint64_t>(f, v, ParseRateFlag, 0, kMaxRateBps,
                                      "[0, 1000Tbit] (0 = unlimited)"),
                    &o.path.rate_bps);
       }},
      {"--queue", true,
       [](S f, S v, SimOptions& o) -> absl::Status {
         // "100p" counts packets; anything else is a size in bytes.
         if (absl::EndsWith(Sv(v), "p")) {
           uint32_t n = 0;
           if (!absl::SimpleAtoi(Sv(v.substr(0, v.size() - 1)), &n) ||
               v[0] == '+' || v[0] == '-') {
             return absl::InvalidArgumentError(absl::StrCat(
                 Sv(f), ": \"", Sv(v),
                 "\" is not valid; expected a packet count in [0, "
                 "4294967295] followed by p, e.g. 100p (0 = unlimited)"));
           }
           o.path.queue_limit_packets = n;
           o.path.queue_limit_bytes = 0;
           return absl::OkStatus();
         }
         absl::StatusOr<uint64_t> n = ParseSizeFlag(f, v);
         if (!n.ok()) return n.status();
         o.path.queue_limit_bytes = *n;
         o.path.queue_limit_packets = 0;
         return absl::OkStatus();
       }},
      {"--loss", true,
       [&seen](S f, S v, SimOptions& o) -> absl::Status {
         absl::StatusOr<double> p = ParseProbabilityFlag(f, v);
         if (!p.ok()) return p.status();
         seen.loss = true;
         o.path.loss = LossSpec();
         o.path.loss.model =
             *p > 0 ? LossSpec::Model::kRandom : LossSpec::Model::kNone;
         o.path.loss.p = *p;
         return absl::OkStatus();
       }},
      {"--ge-loss", true,
       [&seen](S f, S v, SimOptions& o) -> absl::Status {
         absl::StatusOr<GeLossParams> ge = ParseGeLossFlag(f, v);
         if (!ge.ok()) return ge.status();
         seen.ge_loss = true;
         o.path.loss.model = LossSpec::Model::kGilbertElliott;
         o.path.loss.p = ge->p;
         o.path.loss.r = ge->r;
         o.path.loss.h = ge->h;
         o.path.loss.k = ge->k;
         return absl::OkStatus();
       }},
      {"--reorder", true,
       [](S f, S v, SimOptions& o) {
         return Set(ParseProbabilityFlag(f, v), &o.path.reorder);
       }},
      {"--duplicate", true,
       [](S f, S v, SimOptions& o) {
         return Set(ParseProbabilityFlag(f, v), &o.path.duplicate);
       }},
      {"--corrupt", true,
       [](S f, S v, SimOptions& o) {
         return Set(ParseProbabilityFlag(f, v), &o.path.corrupt);
       }},
      {"--mtu", true,
       [](S f, S v, SimOptions& o) -> absl::Status {
         absl::StatusOr<uint64_t> mtu =
             Size(f, v, kMinMtu, kMaxMtu, "[68, 65535]");
         if (!mtu.ok()) return mtu.status();
         o.path.mtu = static_cast<uint32_t>(*mtu);
         o.tcp.mtu = static_cast<uint32_t>(*mtu);
         return absl::OkStatus();
       }},
      {"--nodelay", false,
       [](S, S, SimOptions& o) {
         o.tcp.nodelay = true;
         return absl::OkStatus();
       }},
      {"--cork", false,
       [](S, S, SimOptions& o) {
         o.tcp.cork = true;
         return absl::OkStatus();
       }},
      {"--send-buffer", true,
       [](S f, S v, SimOptions& o) {
         return Set(Size(f, v, 1, kMaxBuffer, "[1, 256MiB]"),
                    &o.tcp.send_buffer);
       }},
      {"--recv-buffer", true,
       [](S f, S v, SimOptions& o) {
         return Set(Size(f, v, 1, kMaxBuffer, "[1, 256MiB]"),
                    &o.tcp.recv_buffer);
       }},
      {"--reader-rate", true,
       [](S f, S v, SimOptions& o) {
         return Set(Size(f, v, 1, std::numeric_limits<int64_t>::max(),
                         "[1, 2^63) bytes/s"),
                    &o.reader_rate);
       }},
      {"--cc", true,
       [](S f, S v, SimOptions& o) -> absl::Status {
         if (v == "newreno") {
           o.tcp.cc = CcAlgorithm::kNewReno;
         } else if (v == "cubic") {
           o.tcp.cc = CcAlgorithm::kCubic;
         } else if (v == "bbr") {
           o.tcp.cc = CcAlgorithm::kBbr;
         } else {
           return absl::InvalidArgumentError(absl::StrCat(
               Sv(f), ": \"", Sv(v),
               "\" is not supported; allowed: newreno, cubic, bbr"));
         }
         return absl::OkStatus();
       }},
      {"--pacing", false,
       [](S, S, SimOptions& o) {
         o.tcp.pacing = true;
         return absl::OkStatus();
       }},
      {"--delayed-ack", false,
       [](S, S, SimOptions& o) {
         o.tcp.delayed_ack = true;
         return absl::OkStatus();
       }},
      {"--no-delayed-ack", false,
       [](S, S, SimOptions& o) {
         o.tcp.delayed_ack = false;
         return absl::OkStatus();
       }},
      {"--rto-min", true,
       [](S f, S v, SimOptions& o) {
         return Set(Duration(f, v, kMillisecond, 60 * kSecond, "[1ms, 60s]"),
                    &o.tcp.rto_min);
       }},
      {"--initial-window", true,
       [](S f, S v, SimOptions& o) {
         return Set(Integer(f, v, 1, 1000, "[1, 1000] segments"),
                    &o.tcp.initial_window);
       }},
      {"--msl", true,
       [](S f, S v, SimOptions& o) {
         return Set(Duration(f, v, 0, 600 * kSecond, "[0, 600s]"), &o.tcp.msl);
       }},
      {"--seed", true,
       [](S f, S v, SimOptions& o) {
         return Set(Integer(f, v, 0, std::numeric_limits<uint64_t>::max(),
                            "[0, 18446744073709551615]"),
                    &o.seed);
       }},
      {"--time-limit", true,
       [](S f, S v, SimOptions& o) {
         return Set(Duration(f, v, 1, std::numeric_limits<DurationNs>::max(),
                             "(0, 292 years]"),
                    &o.time_limit);
       }},
      {"--events", true,
       [](S f, S v, SimOptions& o) -> absl::Status {
         if (v.empty()) {
           return absl::InvalidArgumentError(absl::StrCat(
               Sv(f), ": expected a file name (\"-\" for stdout)"));
         }
         o.events_path = std::string(v);
         return absl::OkStatus();
       }},
      {"--json", false,
       [](S, S, SimOptions& o) {
         o.json = true;
         return absl::OkStatus();
       }},
      {"--no-digest", false,
       [](S, S, SimOptions& o) {
         o.digest = false;
         return absl::OkStatus();
       }},
      {"--help", false,
       [](S, S, SimOptions& o) {
         o.help = true;
         return absl::OkStatus();
       }},
  };
}

}  // namespace

absl::StatusOr<SimOptions> ParseSimOptions(
    absl::Span<const std::string_view> args) {
  SimOptions o;
  Seen seen;
  const std::vector<Flag> flags = Flags(seen);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h") arg = "--help";
    if (!absl::StartsWith(Sv(arg), "--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", Sv(arg), "\"; flags start with --"));
    }
    std::string_view name = arg;
    std::string_view value;
    bool inline_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", Sv(name), " (see --help)"));
    }
    if (!flag->takes_value && inline_value) {
      return absl::InvalidArgumentError(
          absl::StrCat(Sv(name), ": takes no value"));
    }
    if (flag->takes_value && !inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Sv(name), ": missing value"));
      }
      value = args[++i];
    }
    if (absl::Status s = flag->apply(name, value, o); !s.ok()) return s;
  }
  if (seen.loss && seen.ge_loss) {
    return absl::InvalidArgumentError(
        "--loss and --ge-loss: choose one loss model, not both");
  }
  // The flags' own ranges imply these; they guard against drift from the
  // engine's limits.
  if (absl::Status s = ValidatePathSpec(o.path); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("link: ", s.message()));
  }
  if (absl::Status s = o.tcp.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("tcp: ", s.message()));
  }
  return o;
}

absl::StatusOr<SimOptions> ParseSimOptions(int argc, const char* const* argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return ParseSimOptions(absl::MakeConstSpan(args));
}

SessionSpec MakeSessionSpec(const SimOptions& options, uint32_t link_id) {
  SessionSpec spec;
  spec.link_id = link_id;
  spec.client = options.tcp;
  spec.server = options.tcp;
  if (options.reader_rate > 0) {
    spec.server_reader.mode = ReaderMode::kRate;
    spec.server_reader.rate_bytes_per_sec = options.reader_rate;
  }
  spec.digest = options.digest;
  return spec;
}

std::string SimUsage() {
  return R"(usage: tcpemu-sim [flags]

Runs one seeded TCP transfer of --bytes from a client to a server endpoint
across an emulated link, in virtual time, and reports what happened.

       tcpemu-sim --scenario FILE [--out DIR] [--seed N] [--set key=value ...]
                  [--validate] [--quiet] [--json]

Runs a scenario file (docs/experiments.md) in virtual time and writes
DIR/summary.json; --validate only checks the file; --set key.path=value
overrides one value of it (e.g. --set sessions[0].tcp.cc=cubic).

Transfer:
  --bytes SIZE          bytes the client sends, at least 1 (default 10MiB)
  --seed N              random seed, 0 to 2^64-1 (default 1)
  --time-limit DURATION stop after this much virtual time (default 600s)

Link (the same values apply to both directions: client->server data and
server->client ACKs cross equally impaired paths):
  --delay DURATION      one-way propagation delay (default 0)
  --jitter DURATION     uniform random variation of the delay, +-DURATION;
                        packets may overtake each other (default 0)
  --rate RATE           link rate in bit/s, 0 = unlimited (default 0)
  --queue SIZE|Np       drop-tail queue: SIZE bytes, or N packets with a
                        'p' suffix; 0 = unlimited; binds only with --rate
                        (default 1000p)
  --loss P              random loss probability of each packet
  --ge-loss p,r,h,k     Gilbert-Elliott loss (netem 'loss gemodel p r 1-h
                        1-k'): p = P(good->bad), r = P(bad->good), h and k =
                        P(a packet gets through) in the bad and good state
  --reorder P           probability that a packet skips the delay
  --duplicate P         probability that a packet is sent twice
  --corrupt P           probability that one bit of a packet is flipped
  --mtu SIZE            path MTU and both endpoints' MTU; MSS = MTU - 40,
                        68 to 65535 (default 1500)

TCP (both endpoints):
  --nodelay             send at once instead of Nagle's algorithm
  --cork                hold data until a full MSS or the cork timer
  --send-buffer SIZE    send buffer, 1 to 256MiB (default 256KiB)
  --recv-buffer SIZE    receive buffer, 1 to 256MiB (default 256KiB)
  --cc NAME             congestion control: newreno (default), cubic or bbr
  --pacing              space segments at 2x (slow start) or 1.2x cwnd per
                        RTT with newreno and cubic (bbr always paces)
  --delayed-ack         delayed ACKs (the default)
  --no-delayed-ack      ACK every segment at once
  --rto-min DURATION    minimum retransmission timeout, 1ms to 60s
                        (default 200ms)
  --initial-window N    initial congestion window in segments, 1 to 1000
                        (default 10)
  --msl DURATION        maximum segment lifetime; TIME_WAIT lasts 2*MSL,
                        0 to 600s (default 30s)
  --reader-rate SIZE    the server application reads SIZE bytes per second
                        (default: reads everything at once)

Output:
  --events FILE         write every event as JSON Lines to FILE (- = stdout)
  --json                print the result as one JSON object
  --no-digest           do not compute SHA-256 digests of the data or of the
                        event trace
  --help                print this text

Units: durations 25ms, 1.5s, 100us or 0; rates 800bit, 100kbit, 20Mbit,
1Gbit (1000-based; a plain number is bit/s); sizes 65536, 64KiB, 1MiB
(1024-based) or 10kB, 10MB (1000-based); probabilities in [0, 1].

Exit status: 0 when every byte arrived, the digests match (or are off) and
the session closed; 1 otherwise; 2 on an invalid flag.
)";
}

}  // namespace tcpemu
