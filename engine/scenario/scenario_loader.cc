// YAML scenario files into Scenario structs; see scenario_loader.h.
#include "engine/scenario/scenario_loader.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/link/link_schedule.h"
#include "engine/scenario/scenario_tcp.h"
#include "engine/scenario/scenario_values.h"
#include "engine/scenario/scenario_yaml.h"
#include "engine/wire/tcp_header.h"
#include "yaml-cpp/yaml.h"

namespace tcpemu {
namespace {

using namespace scenario_internal;  // NOLINT: its only user

constexpr DurationNs kHour = 3600 * kSecond;

// ----------------------------------------------------------------- paths

absl::Status ReadAqm(const Reader& r, const YAML::Node& n,
                     const std::string& path, AqmSpec* a) {
  return r.Keys(
      n, path,
      {"kind", "ecn", "target", "interval", "min_threshold", "max_threshold",
       "max_p", "weight", "gentle", "avpkt", "flows", "quantum"},
      [&](const std::string& k, const YAML::Node& v,
          const std::string& p) -> absl::Status {
        if (k == "kind") {
          size_t i = 0;
          SCENARIO_RETURN_IF_ERROR(
              r.Enum(v, p, {"drop_tail", "red", "codel", "fq_codel"}, &i));
          a->kind = static_cast<AqmSpec::Kind>(i);
          return absl::OkStatus();
        }
        if (k == "ecn") return r.Bool(v, p, &a->ecn);
        if (k == "target") {
          return r.Duration(v, p, kMaxCodelTime, "10s", &a->codel_target);
        }
        if (k == "interval") {
          return r.Duration(v, p, kMaxCodelTime, "10s", &a->codel_interval);
        }
        if (k == "min_threshold") {
          return r.Size(v, p, 1ULL << 32, "4GiB", &a->red_min_threshold);
        }
        if (k == "max_threshold") {
          return r.Size(v, p, 1ULL << 32, "4GiB", &a->red_max_threshold);
        }
        if (k == "max_p") return r.Probability(v, p, &a->red_max_p);
        if (k == "weight") return r.Double(v, p, 0, 1, &a->red_weight);
        if (k == "gentle") return r.Bool(v, p, &a->red_gentle);
        if (k == "avpkt") {
          uint64_t x = 0;
          SCENARIO_RETURN_IF_ERROR(r.Size(v, p, 65535, "65535B", &x));
          a->red_avpkt = static_cast<uint32_t>(x);
          return absl::OkStatus();
        }
        if (k == "flows") return r.UintAs(v, p, 1, kMaxFqFlows, &a->fq_flows);
        uint64_t x = 0;  // quantum
        SCENARIO_RETURN_IF_ERROR(r.Size(v, p, 65535, "65535B", &x));
        a->fq_quantum = static_cast<uint32_t>(x);
        return absl::OkStatus();
      });
}

absl::Status ReadSchedule(const Reader& r, const YAML::Node& n,
                          const std::string& path, LinkSchedule* s) {
  return r.Keys(
      n, path, {"points", "repeat", "ramp_step"},
      [&](const std::string& k, const YAML::Node& v,
          const std::string& p) -> absl::Status {
        if (k == "repeat")
          return r.Duration(v, p, 24 * kHour, "24h", &s->repeat);
        if (k == "ramp_step") {
          return r.Duration(v, p, kSecond, "1s", &s->ramp_step);
        }
        if (!v.IsSequence()) return r.Error(v, p, "expected a list of points");
        for (size_t i = 0; i < v.size(); ++i) {
          SchedulePoint pt;
          SCENARIO_RETURN_IF_ERROR(
              r.Keys(v[i], Idx(p, i),
                     {"at", "ramp", "rate", "delay", "jitter", "loss", "down"},
                     [&](const std::string& pk, const YAML::Node& pv,
                         const std::string& pp) -> absl::Status {
                       if (pk == "at")
                         return r.Duration(pv, pp, 24 * kHour, "24h", &pt.at);
                       if (pk == "ramp") return r.Bool(pv, pp, &pt.ramp);
                       if (pk == "rate") {
                         uint64_t x = 0;
                         SCENARIO_RETURN_IF_ERROR(r.Rate(pv, pp, &x));
                         pt.rate_bps = x;
                         return absl::OkStatus();
                       }
                       if (pk == "delay" || pk == "jitter") {
                         DurationNs d = 0;
                         SCENARIO_RETURN_IF_ERROR(
                             r.Duration(pv, pp, kMaxPathDelay, "1h", &d));
                         (pk == "delay" ? pt.delay : pt.jitter) = d;
                         return absl::OkStatus();
                       }
                       if (pk == "loss") {
                         double x = 0;
                         SCENARIO_RETURN_IF_ERROR(r.Probability(pv, pp, &x));
                         pt.loss = x;
                         return absl::OkStatus();
                       }
                       bool b = false;  // down
                       SCENARIO_RETURN_IF_ERROR(r.Bool(pv, pp, &b));
                       pt.down = b;
                       return absl::OkStatus();
                     }));
          s->points.push_back(pt);
        }
        return absl::OkStatus();
      });
}

absl::Status ReadPath(const Reader& r, const ScenarioLoadOptions& options,
                      const YAML::Node& n, const std::string& path,
                      PathSpec* spec) {
  if (n.IsMap() && n["trace"] && n["trace_inline"]) {
    return r.Error(n["trace_inline"], Sub(path, "trace_inline"),
                   "give either trace or trace_inline, not both");
  }
  return r.Keys(
      n, path,
      {"delay", "jitter", "jitter_distribution", "jitter_correlation",
       "keep_order", "rate", "queue_packets", "queue_bytes", "loss",
       "gilbert_elliott", "duplicate", "reorder", "reorder_gap", "corrupt",
       "mtu", "aqm", "schedule", "trace", "trace_inline"},
      [&](const std::string& k, const YAML::Node& v,
          const std::string& p) -> absl::Status {
        if (k == "delay") {
          return r.Duration(v, p, kMaxPathDelay, "1h", &spec->delay);
        }
        if (k == "jitter") {
          return r.Duration(v, p, kMaxPathDelay, "1h", &spec->jitter.jitter);
        }
        if (k == "jitter_distribution") {
          size_t i = 0;
          SCENARIO_RETURN_IF_ERROR(r.Enum(v, p, {"uniform", "normal"}, &i));
          spec->jitter.distribution = static_cast<JitterSpec::Distribution>(i);
          return absl::OkStatus();
        }
        if (k == "jitter_correlation") {
          return r.Probability(v, p, &spec->jitter.correlation);
        }
        if (k == "keep_order") return r.Bool(v, p, &spec->jitter.keep_order);
        if (k == "rate") return r.Rate(v, p, &spec->rate_bps);
        if (k == "queue_packets") {
          return r.UintAs(v, p, 0, UINT32_MAX, &spec->queue_limit_packets);
        }
        if (k == "queue_bytes") {
          return r.Size(v, p, 1ULL << 40, "1TiB", &spec->queue_limit_bytes);
        }
        if (k == "loss") {
          SCENARIO_RETURN_IF_ERROR(r.Probability(v, p, &spec->loss.p));
          spec->loss.model = spec->loss.p > 0 ? LossSpec::Model::kRandom
                                              : LossSpec::Model::kNone;
          return absl::OkStatus();
        }
        if (k == "gilbert_elliott") {
          spec->loss = LossSpec{};
          spec->loss.model = LossSpec::Model::kGilbertElliott;
          return r.Keys(v, p, {"p", "r", "h", "k"},
                        [&](const std::string& gk, const YAML::Node& gv,
                            const std::string& gp) -> absl::Status {
                          double* f = gk == "p"   ? &spec->loss.p
                                      : gk == "r" ? &spec->loss.r
                                      : gk == "h" ? &spec->loss.h
                                                  : &spec->loss.k;
                          return r.Probability(gv, gp, f);
                        });
        }
        if (k == "duplicate") return r.Probability(v, p, &spec->duplicate);
        if (k == "reorder") return r.Probability(v, p, &spec->reorder);
        if (k == "reorder_gap") {
          return r.UintAs(v, p, 0, UINT32_MAX, &spec->reorder_gap);
        }
        if (k == "corrupt") return r.Probability(v, p, &spec->corrupt);
        if (k == "mtu") return r.UintAs(v, p, kMinMtu, kMaxMtu, &spec->mtu);
        if (k == "aqm") return ReadAqm(r, v, p, &spec->aqm);
        if (k == "schedule") {
          auto s = std::make_shared<LinkSchedule>();
          SCENARIO_RETURN_IF_ERROR(ReadSchedule(r, v, p, s.get()));
          SCENARIO_RETURN_IF_ERROR(r.Prefixed(v, p, ValidateLinkSchedule(*s)));
          spec->schedule = std::move(s);
          return absl::OkStatus();
        }
        std::string text;
        SCENARIO_RETURN_IF_ERROR(r.String(v, p, &text));
        std::string name = text;
        if (k == "trace") {
          if (!options.read_file) {
            return r.Error(v, p,
                           "trace files cannot be read here; give the trace "
                           "text as trace_inline (or in the request's files)");
          }
          absl::StatusOr<std::string> contents = options.read_file(text);
          if (!contents.ok()) {
            return r.Error(v, p, contents.status().message());
          }
          text = *std::move(contents);
        } else {
          name = "inline";
        }
        absl::StatusOr<DeliveryTrace> t = ParseMahimahiTrace(text, name);
        if (!t.ok()) return r.Error(v, p, t.status().message());
        spec->trace = std::make_shared<DeliveryTrace>(*std::move(t));
        return absl::OkStatus();
      });
}

absl::Status ReadLink(const Reader& r, const ScenarioLoadOptions& options,
                      const YAML::Node& n, const std::string& path,
                      LinkScenario* l) {
  // `both` first, whatever the key order, then the directions over it.
  if (n.IsMap() && n["both"]) {
    SCENARIO_RETURN_IF_ERROR(
        ReadPath(r, options, n["both"], Sub(path, "both"), &l->forward));
    l->reverse = l->forward;
  }
  SCENARIO_RETURN_IF_ERROR(
      r.Keys(n, path, {"name", "both", "forward", "reverse"},
             [&](const std::string& k, const YAML::Node& v,
                 const std::string& p) -> absl::Status {
               if (k == "name") return r.String(v, p, &l->name);
               if (k == "forward")
                 return ReadPath(r, options, v, p, &l->forward);
               if (k == "reverse")
                 return ReadPath(r, options, v, p, &l->reverse);
               return absl::OkStatus();
             }));
  for (auto [key, spec] :
       {std::pair{"forward", &l->forward}, std::pair{"reverse", &l->reverse}}) {
    YAML::Node at = n[key] ? n[key] : (n["both"] ? n["both"] : n);
    SCENARIO_RETURN_IF_ERROR(
        r.Prefixed(at, Sub(path, key), ValidatePathSpec(*spec)));
  }
  return absl::OkStatus();
}

// -------------------------------------------------------------- sessions

absl::Status ReadWorkload(const Reader& r, const YAML::Node& n,
                          const std::string& path, WorkloadSpec* w) {
  if (!n.IsMap()) return r.Error(n, path, "expected a mapping (key: value)");
  if (!n["kind"]) return r.Error(n, path, "missing key kind");
  size_t kind = 0;
  SCENARIO_RETURN_IF_ERROR(
      r.Enum(n["kind"], Sub(path, "kind"),
             {"bulk", "request_response", "on_off", "rate"}, &kind));
  w->kind = static_cast<WorkloadSpec::Kind>(kind);
  constexpr uint64_t kMaxBytes = 1ULL << 50;
  switch (w->kind) {
    case WorkloadSpec::Kind::kBulk:
      return r.Keys(n, path, {"kind", "bytes"},
                    [&](const std::string& k, const YAML::Node& v,
                        const std::string& p) -> absl::Status {
                      if (k == "kind") return absl::OkStatus();
                      return r.Size(v, p, kMaxBytes, "1PiB", &w->bytes);
                    });
    case WorkloadSpec::Kind::kRequestResponse:
      if (!n["request"] || !n["response"]) {
        return r.Error(n, path,
                       "request_response needs both request and response");
      }
      return r.Keys(
          n, path, {"kind", "request", "response", "count", "think"},
          [&](const std::string& k, const YAML::Node& v,
              const std::string& p) -> absl::Status {
            if (k == "kind") return absl::OkStatus();
            if (k == "request") {
              return r.Size(v, p, 1ULL << 30, "1GiB", &w->request_bytes);
            }
            if (k == "response") {
              return r.Size(v, p, 1ULL << 30, "1GiB", &w->response_bytes);
            }
            if (k == "count") return r.Uint(v, p, 0, 1ULL << 40, &w->count);
            return r.Duration(v, p, 24 * kHour, "24h", &w->think);
          });
    case WorkloadSpec::Kind::kOnOff:
      // Not "on" and "off": YAML 1.1 (PyYAML) reads those keys as booleans.
      if (!n["on_for"] || !n["off_for"]) {
        return r.Error(n, path, "on_off needs both on_for and off_for");
      }
      SCENARIO_RETURN_IF_ERROR(
          r.Keys(n, path, {"kind", "on_for", "off_for"},
                 [&](const std::string& k, const YAML::Node& v,
                     const std::string& p) -> absl::Status {
                   if (k == "kind") return absl::OkStatus();
                   return r.Duration(v, p, 24 * kHour, "24h",
                                     k == "on_for" ? &w->on : &w->off);
                 }));
      if (w->on <= 0) {
        return r.Error(n["on_for"], Sub(path, "on_for"), "must be more than 0");
      }
      return absl::OkStatus();
    case WorkloadSpec::Kind::kRate:
      if (!n["rate"]) return r.Error(n, path, "rate needs key rate");
      SCENARIO_RETURN_IF_ERROR(
          r.Keys(n, path, {"kind", "rate"},
                 [&](const std::string& k, const YAML::Node& v,
                     const std::string& p) -> absl::Status {
                   if (k == "kind") return absl::OkStatus();
                   return r.Rate(v, p, &w->rate_bps);
                 }));
      if (w->rate_bps == 0) {
        return r.Error(n["rate"], Sub(path, "rate"), "must be more than 0");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ReadSession(const Reader& r, const YAML::Node& n,
                         const std::string& path,
                         const std::vector<LinkScenario>& links,
                         DurationNs duration, SessionScenario* s) {
  if (!n.IsMap()) return r.Error(n, path, "expected a mapping (key: value)");
  // `tcp` applies to both endpoints, then client_tcp / server_tcp over it.
  if (n["tcp"]) {
    SCENARIO_RETURN_IF_ERROR(
        ReadTcp(r, n["tcp"], Sub(path, "tcp"), &s->client));
    s->server = s->client;
  }
  bool has_link = false;
  SCENARIO_RETURN_IF_ERROR(r.Keys(
      n, path,
      {"name", "link", "start", "stop", "server_port", "tcp", "client_tcp",
       "server_tcp", "workload"},
      [&](const std::string& k, const YAML::Node& v,
          const std::string& p) -> absl::Status {
        if (k == "name") return r.String(v, p, &s->name);
        if (k == "link") {
          std::string name;
          SCENARIO_RETURN_IF_ERROR(r.String(v, p, &name));
          for (size_t i = 0; i < links.size(); ++i) {
            if (links[i].name == name) {
              s->link = i;
              has_link = true;
              return absl::OkStatus();
            }
          }
          std::vector<std::string> names;
          for (const LinkScenario& l : links) names.push_back(l.name);
          return r.Error(v, p,
                         absl::StrCat(Quote(name), " is not a link; links: ",
                                      absl::StrJoin(names, ", ")));
        }
        if (k == "start") {
          return r.Duration(v, p, kMaxScenarioDuration, "24h", &s->start);
        }
        if (k == "stop") {
          return r.Duration(v, p, kMaxScenarioDuration, "24h", &s->stop);
        }
        if (k == "server_port") {
          return r.UintAs(v, p, 1, 65535, &s->server_port);
        }
        if (k == "tcp") return absl::OkStatus();
        if (k == "client_tcp") return ReadTcp(r, v, p, &s->client);
        if (k == "server_tcp") return ReadTcp(r, v, p, &s->server);
        return ReadWorkload(r, v, p, &s->workload);
      }));
  if (!has_link) {
    if (links.size() != 1) {
      return r.Error(n, path,
                     "missing key link (needed when there is more than one "
                     "link)");
    }
    s->link = 0;
  }
  for (auto [key, c] : {std::pair{"client_tcp", &s->client},
                        std::pair{"server_tcp", &s->server}}) {
    absl::Status st = c->Validate();
    if (!st.ok()) {
      YAML::Node at = n[key] ? n[key] : (n["tcp"] ? n["tcp"] : n);
      return r.Error(at, Sub(path, n[key] ? key : "tcp"), st.message());
    }
  }
  if (s->start >= duration) {
    return r.Error(n["start"], Sub(path, "start"),
                   "must be before the scenario's duration");
  }
  if (s->stop != 0 && s->stop <= s->start) {
    return r.Error(n["stop"], Sub(path, "stop"), "must be after start");
  }
  return absl::OkStatus();
}

absl::Status ReadFault(const Reader& r, const YAML::Node& n,
                       const std::string& path, const Scenario& sc,
                       FaultScenario* f) {
  if (!n.IsMap()) return r.Error(n, path, "expected a mapping (key: value)");
  bool has_link = false;
  auto flags = [&](const YAML::Node& v, const std::string& p,
                   uint8_t* out) -> absl::Status {
    if (!v.IsSequence()) return r.Error(v, p, "expected a list of TCP flags");
    for (size_t i = 0; i < v.size(); ++i) {
      size_t bit = 0;
      SCENARIO_RETURN_IF_ERROR(r.Enum(
          v[i], Idx(p, i),
          {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"}, &bit));
      *out |= static_cast<uint8_t>(1u << bit);
    }
    return absl::OkStatus();
  };
  SCENARIO_RETURN_IF_ERROR(r.Keys(
      n, path,
      {"at", "link", "direction", "session", "action", "count", "probability",
       "duration", "delay", "jitter", "nth", "payload_only", "flags",
       "not_flags"},
      [&](const std::string& k, const YAML::Node& v,
          const std::string& p) -> absl::Status {
        if (k == "at") {
          return r.Duration(v, p, kMaxScenarioDuration, "24h", &f->at);
        }
        if (k == "link" || k == "session") {
          std::string name;
          SCENARIO_RETURN_IF_ERROR(r.String(v, p, &name));
          if (k == "link") {
            for (size_t i = 0; i < sc.links.size(); ++i) {
              if (sc.links[i].name == name) {
                f->link = i;
                has_link = true;
                return absl::OkStatus();
              }
            }
            return r.Error(v, p, absl::StrCat(Quote(name), " is not a link"));
          }
          for (size_t i = 0; i < sc.sessions.size(); ++i) {
            if (sc.sessions[i].name == name) {
              f->session = i;
              return absl::OkStatus();
            }
          }
          return r.Error(v, p, absl::StrCat(Quote(name), " is not a session"));
        }
        if (k == "direction") {
          size_t i = 0;
          SCENARIO_RETURN_IF_ERROR(
              r.Enum(v, p, {"forward", "reverse", "both"}, &i));
          f->forward = i != 1;
          f->reverse = i != 0;
          return absl::OkStatus();
        }
        if (k == "action") {
          size_t i = 0;
          SCENARIO_RETURN_IF_ERROR(r.Enum(
              v, p, {"drop", "delay", "duplicate", "corrupt", "reorder"}, &i));
          f->rule.action = static_cast<FaultAction>(i);
          return absl::OkStatus();
        }
        if (k == "count") return r.Uint(v, p, 0, UINT64_MAX, &f->rule.count);
        if (k == "probability") {
          return r.Probability(v, p, &f->rule.probability);
        }
        if (k == "duration") {
          return r.Duration(v, p, kMaxScenarioDuration, "24h",
                            &f->rule.duration);
        }
        if (k == "delay") {
          return r.Duration(v, p, kMaxPathDelay, "1h", &f->rule.delay);
        }
        if (k == "jitter") {
          return r.Duration(v, p, kMaxPathDelay, "1h", &f->rule.jitter);
        }
        if (k == "nth") {
          return r.UintAs(v, p, 0, UINT32_MAX, &f->rule.match.nth);
        }
        if (k == "payload_only") {
          return r.Bool(v, p, &f->rule.match.payload_only);
        }
        if (k == "flags") return flags(v, p, &f->rule.match.flags_all);
        return flags(v, p, &f->rule.match.flags_none);
      }));
  if (!n["at"]) return r.Error(n, path, "missing key at");
  if (!n["action"]) return r.Error(n, path, "missing key action");
  if (!has_link) {
    if (sc.links.size() != 1) {
      return r.Error(n, path,
                     "missing key link (needed when there is more than one "
                     "link)");
    }
    f->link = 0;
  }
  if (f->session && sc.sessions[*f->session].link != f->link) {
    return r.Error(n["session"], Sub(path, "session"),
                   "the session does not cross this fault's link");
  }
  if (f->at >= sc.duration) {
    return r.Error(n["at"], Sub(path, "at"),
                   "must be before the scenario's duration");
  }
  return r.Prefixed(n, path, ValidateFaultRule(f->rule));
}

// ------------------------------------------------------------- top level

absl::Status ReadScenario(const Reader& r, const ScenarioLoadOptions& options,
                          const YAML::Node& root, Scenario* sc) {
  if (!root.IsMap()) {
    return r.Error(root, "", "a scenario file is a mapping (key: value)");
  }
  // Scalars first, so that sessions and faults can check against duration.
  SCENARIO_RETURN_IF_ERROR(
      r.Keys(root, "",
             {"version", "name", "description", "seed", "duration",
              "sample_interval", "links", "sessions", "faults"},
             [&](const std::string& k, const YAML::Node& v,
                 const std::string& p) -> absl::Status {
               if (k == "version") {
                 uint64_t version = 0;
                 return r.Uint(v, p, 1, 1, &version);
               }
               if (k == "name") return r.String(v, p, &sc->name);
               if (k == "description") {
                 std::string ignored;
                 return r.String(v, p, &ignored);
               }
               if (k == "seed") return r.Uint(v, p, 0, UINT64_MAX, &sc->seed);
               if (k == "duration") {
                 SCENARIO_RETURN_IF_ERROR(r.Duration(v, p, kMaxScenarioDuration,
                                                     "24h", &sc->duration));
                 if (sc->duration <= 0)
                   return r.Error(v, p, "must be more than 0");
                 return absl::OkStatus();
               }
               if (k == "sample_interval") {
                 SCENARIO_RETURN_IF_ERROR(r.Duration(
                     v, p, kMaxScenarioDuration, "24h", &sc->sample_interval));
                 if (sc->sample_interval < kMinSampleInterval) {
                   return r.Error(v, p, "must be at least 1ms");
                 }
                 return absl::OkStatus();
               }
               if (!v.IsSequence()) return r.Error(v, p, "expected a list");
               return absl::OkStatus();
             }));
  if (!root["duration"]) return r.Error(root, "", "missing key duration");
  if (static_cast<uint64_t>(sc->duration / sc->sample_interval) >
      kMaxSeriesPoints) {
    return r.Error(root["sample_interval"], "sample_interval",
                   absl::StrCat("duration / sample_interval is more than ",
                                kMaxSeriesPoints, " points"));
  }
  const YAML::Node links = root["links"];
  if (!links || links.size() == 0) {
    return r.Error(root, "links", "at least one link is needed");
  }
  if (links.size() > kMaxScenarioLinks) {
    return r.Error(
        links, "links",
        absl::StrCat(links.size(), " links, at most ", kMaxScenarioLinks));
  }
  for (size_t i = 0; i < links.size(); ++i) {
    LinkScenario l;
    l.name = absl::StrCat("link", i);
    SCENARIO_RETURN_IF_ERROR(
        ReadLink(r, options, links[i], Idx("links", i), &l));
    for (const LinkScenario& other : sc->links) {
      if (other.name == l.name) {
        return r.Error(
            links[i], Idx("links", i),
            absl::StrCat("link name ", Quote(l.name), " is used twice"));
      }
    }
    sc->links.push_back(std::move(l));
  }
  const YAML::Node sessions = root["sessions"];
  if (!sessions || sessions.size() == 0) {
    return r.Error(root, "sessions", "at least one session is needed");
  }
  if (sessions.size() > kMaxScenarioSessions) {
    return r.Error(sessions, "sessions",
                   absl::StrCat(sessions.size(), " sessions, at most ",
                                kMaxScenarioSessions));
  }
  for (size_t i = 0; i < sessions.size(); ++i) {
    SessionScenario s;
    s.name = absl::StrCat("flow", i);
    SCENARIO_RETURN_IF_ERROR(ReadSession(r, sessions[i], Idx("sessions", i),
                                         sc->links, sc->duration, &s));
    for (const SessionScenario& other : sc->sessions) {
      if (other.name == s.name) {
        return r.Error(
            sessions[i], Idx("sessions", i),
            absl::StrCat("session name ", Quote(s.name), " is used twice"));
      }
    }
    sc->sessions.push_back(std::move(s));
  }
  if (const YAML::Node faults = root["faults"]) {
    if (faults.size() > kMaxScenarioFaults) {
      return r.Error(
          faults, "faults",
          absl::StrCat(faults.size(), " faults, at most ", kMaxScenarioFaults));
    }
    for (size_t i = 0; i < faults.size(); ++i) {
      FaultScenario f;
      SCENARIO_RETURN_IF_ERROR(
          ReadFault(r, faults[i], Idx("faults", i), *sc, &f));
      sc->faults.push_back(std::move(f));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Scenario> LoadScenario(absl::string_view yaml,
                                      const ScenarioLoadOptions& options) {
  if (yaml.size() > kMaxScenarioBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the scenario is ", yaml.size(), " bytes, at most ",
                     kMaxScenarioBytes));
  }
  std::vector<Override> overrides;
  for (const std::string& text : options.overrides) {
    absl::StatusOr<Override> o = ParseOverride(text);
    if (!o.ok()) return o.status();
    overrides.push_back(*std::move(o));
  }
  Scenario sc;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!overrides.empty() && !root.IsMap()) {
      return absl::InvalidArgumentError(
          "a scenario file is a mapping (key: value)");
    }
    for (const Override& o : overrides) {
      SCENARIO_RETURN_IF_ERROR(ApplyOverride(root, o));
    }
    Reader r(&overrides);
    SCENARIO_RETURN_IF_ERROR(ReadScenario(r, options, root, &sc));
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ", column ", e.mark.column + 1,
                     ": not valid YAML: ", e.msg));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid scenario: ", e.what()));
  }
  sc.overrides = options.overrides;
  return sc;
}

absl::StatusOr<Scenario> LoadScenarioFile(
    const std::string& path, const std::vector<std::string>& overrides) {
  auto read = [](const std::string& file) -> absl::StatusOr<std::string> {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read ", file));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (ss.str().size() > kMaxScenarioBytes * 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, " is larger than ", kMaxScenarioBytes * 16, " bytes"));
    }
    return ss.str();
  };
  absl::StatusOr<std::string> text = read(path);
  if (!text.ok()) return text.status();
  std::string dir;
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = path.substr(0, slash + 1);
  }
  ScenarioLoadOptions options;
  options.overrides = overrides;
  options.read_file = [dir, read](absl::string_view name) {
    std::string file(name);
    if (file.empty() || file[0] != '/') file = dir + file;
    return read(file);
  };
  absl::StatusOr<Scenario> sc = LoadScenario(*text, options);
  if (!sc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", sc.status().message()));
  }
  return sc;
}

}  // namespace tcpemu
