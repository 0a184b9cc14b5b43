// summary.json and the text table; see scenario_report.h.
#include "engine/scenario/scenario_report.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace tcpemu {
namespace {

using Json = nlohmann::json;

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

const char* WorkloadName(WorkloadSpec::Kind k) {
  switch (k) {
    case WorkloadSpec::Kind::kBulk:
      return "bulk";
    case WorkloadSpec::Kind::kRequestResponse:
      return "request_response";
    case WorkloadSpec::Kind::kOnOff:
      return "on_off";
    case WorkloadSpec::Kind::kRate:
      return "rate";
  }
  return "unknown";
}

Json Delays(const DelayStats& d) {
  if (d.samples == 0) {
    return Json{{"samples", 0},
                {"p50", nullptr},
                {"p95", nullptr},
                {"p99", nullptr},
                {"mean", nullptr}};
  }
  return Json{{"samples", d.samples},
              {"p50", d.p50_ms},
              {"p95", d.p95_ms},
              {"p99", d.p99_ms},
              {"mean", d.mean_ms}};
}

template <typename T>
Json Optional(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json Direction(const DirectionResult& d) {
  const PathCounters& c = d.counters;
  return Json{
      {"packets_sent", c.packets_sent},
      {"bytes_sent", c.bytes_sent},
      {"packets_delivered", c.packets_delivered},
      {"bytes_delivered", c.bytes_delivered},
      {"drops",
       {{"loss", c.dropped_loss},
        {"queue", c.dropped_queue},
        {"fault", c.dropped_fault},
        {"mtu", c.dropped_mtu},
        {"aqm", c.dropped_aqm}}},
      {"ce_marked", c.ce_marked},
      {"link_changes", c.link_changes},
      // The bottleneck queue's own measure: how long the packets the wire
      // took had waited in it (engine/link/path.h).
      {"sojourn_ms",
       {{"packets", c.dequeued},
        {"mean", c.dequeued == 0 ? 0.0
                                 : static_cast<double>(c.sojourn_ns_total) /
                                       static_cast<double>(c.dequeued) / 1e6}}},
      {"duplicated", c.duplicated},
      {"corrupted", c.corrupted},
      {"reordered", c.reordered},
      {"one_way_delay_ms", Delays(d.one_way_delay)},
      {"queueing_delay_ms", Delays(d.queueing_delay)},
      {"max_queue_bytes", d.max_queue_bytes},
      {"max_queue_packets", d.max_queue_packets},
  };
}

}  // namespace

std::string ScenarioSummaryJson(const Scenario& sc, const ScenarioResult& r) {
  Json doc;
  doc["format"] = kSummaryFormat;
  doc["scenario"] = {{"name", sc.name},
                     {"seed", sc.seed},
                     {"duration_s", Seconds(sc.duration)},
                     {"sample_interval_s", Seconds(sc.sample_interval)},
                     {"overrides", sc.overrides}};
  doc["end_s"] = Seconds(r.end);
  doc["summary"] = {{"flows", r.flows.size()},
                    {"total_goodput_bps", r.total_goodput_bps},
                    {"jain_fairness", Optional(r.jain_fairness)},
                    {"retransmissions", r.retransmissions}};
  Json flows = Json::array();
  Json flow_series = Json::array();
  for (const FlowResult& f : r.flows) {
    Json completed = f.completed ? Json(Seconds(*f.completed)) : Json(nullptr);
    flows.push_back(Json{
        {"name", f.name},
        {"session_id", f.session_id},
        {"link", f.link},
        {"cc", std::string(ToString(f.cc))},
        {"workload", WorkloadName(f.workload)},
        {"start_s", Seconds(f.start)},
        {"active_s", Seconds(f.active)},
        {"bytes_delivered", f.bytes_to_server + f.bytes_to_client},
        {"bytes_to_server", f.bytes_to_server},
        {"bytes_to_client", f.bytes_to_client},
        {"goodput_bps", f.goodput_bps},
        {"completed_s", completed},
        {"requests_completed", f.requests_completed},
        {"retransmissions", f.retransmissions},
        {"retransmitted_bytes", f.retransmitted_bytes},
        {"timeouts", f.timeouts},
        {"fast_recoveries", f.fast_recoveries},
        {"rtt_ms", Delays(f.rtt)},
        {"client",
         {{"state", std::string(ToString(f.client_state))},
          {"error", std::string(ToString(f.client_error))}}},
        {"server",
         {{"state", std::string(ToString(f.server_state))},
          {"error", std::string(ToString(f.server_error))}}},
    });
    Json cwnd = Json::array();
    for (const auto& v : f.cwnd_bytes) cwnd.push_back(Optional(v));
    Json srtt = Json::array();
    for (const auto& v : f.srtt_ms) srtt.push_back(Optional(v));
    flow_series.push_back(Json{{"name", f.name},
                               {"throughput_bps", f.throughput_bps},
                               {"cwnd_bytes", std::move(cwnd)},
                               {"srtt_ms", std::move(srtt)}});
  }
  doc["flows"] = std::move(flows);
  Json links = Json::array();
  Json link_series = Json::array();
  for (const LinkResult& l : r.links) {
    links.push_back(Json{{"name", l.name},
                         {"link_id", l.link_id},
                         {"forward", Direction(l.forward)},
                         {"reverse", Direction(l.reverse)}});
    link_series.push_back(Json{{"name", l.name},
                               {"forward",
                                {{"queue_bytes", l.forward.queue_bytes},
                                 {"queue_packets", l.forward.queue_packets}}},
                               {"reverse",
                                {{"queue_bytes", l.reverse.queue_bytes},
                                 {"queue_packets", l.reverse.queue_packets}}}});
  }
  doc["links"] = std::move(links);
  Json times = Json::array();
  for (TimeNs t : r.sample_times) times.push_back(Seconds(t));
  doc["timeseries"] = {{"t_s", std::move(times)},
                       {"flows", std::move(flow_series)},
                       {"links", std::move(link_series)}};
  return doc.dump() + "\n";
}

namespace {

std::string Rate(double bps) {
  if (bps >= 1e9) return absl::StrFormat("%.2f Gbit/s", bps / 1e9);
  if (bps >= 1e6) return absl::StrFormat("%.2f Mbit/s", bps / 1e6);
  if (bps >= 1e3) return absl::StrFormat("%.2f kbit/s", bps / 1e3);
  return absl::StrFormat("%.0f bit/s", bps);
}

std::string Ms(const DelayStats& d, double DelayStats::*field) {
  return d.samples == 0 ? "-" : absl::StrFormat("%.1f", d.*field);
}

}  // namespace

std::string ScenarioSummaryTable(const Scenario& sc, const ScenarioResult& r) {
  std::string out = absl::StrFormat("scenario %s: seed %d, %.3f s virtual\n\n",
                                    sc.name.empty() ? "(unnamed)" : sc.name,
                                    sc.seed, Seconds(r.end));
  absl::StrAppend(
      &out, absl::StrFormat("%-16s %-8s %-16s %14s %8s %8s %8s %8s\n", "flow",
                            "cc", "workload", "goodput", "retrans", "rtt p50",
                            "rtt p95", "rtt p99"));
  for (const FlowResult& f : r.flows) {
    absl::StrAppend(
        &out, absl::StrFormat("%-16s %-8s %-16s %14s %8d %8s %8s %8s\n", f.name,
                              ToString(f.cc), WorkloadName(f.workload),
                              Rate(f.goodput_bps), f.retransmissions,
                              Ms(f.rtt, &DelayStats::p50_ms),
                              Ms(f.rtt, &DelayStats::p95_ms),
                              Ms(f.rtt, &DelayStats::p99_ms)));
  }
  absl::StrAppend(
      &out, absl::StrFormat("\ntotal goodput %s, Jain's fairness index %s\n\n",
                            Rate(r.total_goodput_bps),
                            r.jain_fairness
                                ? absl::StrFormat("%.4f", *r.jain_fairness)
                                : std::string("-")));
  absl::StrAppend(
      &out, absl::StrFormat("%-16s %-4s %10s %10s %8s %8s %8s %9s %9s\n",
                            "link", "dir", "sent", "delivered", "drop q",
                            "drop l", "drop f", "queue p50", "queue p99"));
  for (const LinkResult& l : r.links) {
    for (const auto& [dir, d] :
         {std::pair<const char*, const DirectionResult*>{"fwd", &l.forward},
          {"rev", &l.reverse}}) {
      const PathCounters& c = d->counters;
      absl::StrAppend(
          &out,
          absl::StrFormat("%-16s %-4s %10d %10d %8d %8d %8d %9s %9s\n", l.name,
                          dir, c.packets_sent, c.packets_delivered,
                          c.dropped_queue, c.dropped_loss, c.dropped_fault,
                          Ms(d->queueing_delay, &DelayStats::p50_ms),
                          Ms(d->queueing_delay, &DelayStats::p99_ms)));
    }
  }
  absl::StrAppend(&out, "(delays in ms)\n");
  return out;
}

}  // namespace tcpemu
