// The Emulator service's fault rules: InjectFault on a link (one direction
// or both) or on one session's segments, and ClearFaults.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/convert.h"
#include "server/emulator_service.h"

namespace tcpemu::server {
namespace {

Direction DirectionOf(int i) {
  return i == 0 ? Direction::kForward : Direction::kReverse;
}

}  // namespace

grpc::Status EmulatorService::InjectFault(Ctx*,
                                          const v1::InjectFaultRequest* req,
                                          v1::Fault* resp) {
  return Observe("InjectFault", [&]() -> absl::Status {
    FaultRule rule;
    switch (req->action()) {
      case v1::FAULT_ACTION_DROP:
        rule.action = FaultAction::kDrop;
        break;
      case v1::FAULT_ACTION_DELAY:
        rule.action = FaultAction::kDelay;
        break;
      case v1::FAULT_ACTION_DUPLICATE:
        rule.action = FaultAction::kDuplicate;
        break;
      case v1::FAULT_ACTION_CORRUPT:
        rule.action = FaultAction::kCorrupt;
        break;
      case v1::FAULT_ACTION_REORDER:
        rule.action = FaultAction::kReorder;
        break;
      default:
        return absl::InvalidArgumentError(
            "action: allowed FAULT_ACTION_DROP, _DELAY, _DUPLICATE, "
            "_CORRUPT, _REORDER");
    }
    const v1::FaultMatch& m = req->match();
    if (m.flags_all() > 0xff) {
      return absl::InvalidArgumentError(
          absl::StrCat("match.flags_all ", m.flags_all(),
                       " out of range: TCP flag bits in [0, 255]"));
    }
    if (m.flags_none() > 0xff) {
      return absl::InvalidArgumentError(
          absl::StrCat("match.flags_none ", m.flags_none(),
                       " out of range: TCP flag bits in [0, 255]"));
    }
    rule.match.flags_all = static_cast<uint8_t>(m.flags_all());
    rule.match.flags_none = static_cast<uint8_t>(m.flags_none());
    rule.match.payload_only = m.payload_only();
    rule.match.nth = m.nth();
    if (m.has_seq_lo() != m.has_seq_hi()) {
      return absl::InvalidArgumentError(
          "match.seq_lo and match.seq_hi: set both or neither");
    }
    absl::StatusOr<DurationNs> delay = DurationFromProto(req->delay(), "delay");
    if (!delay.ok()) return delay.status();
    rule.delay = *delay;
    absl::StatusOr<DurationNs> duration =
        DurationFromProto(req->duration(), "duration");
    if (!duration.ok()) return duration.status();
    rule.duration = *duration;
    rule.count = req->count();
    rule.probability = req->has_probability() ? req->probability() : 1.0;
    std::vector<int> dirs;
    switch (req->direction()) {
      case v1::DIRECTION_FORWARD:
        dirs = {0};
        break;
      case v1::DIRECTION_REVERSE:
        dirs = {1};
        break;
      case v1::DIRECTION_UNSPECIFIED:
      case v1::DIRECTION_BOTH:
        dirs = {0, 1};
        break;
      default:
        return absl::InvalidArgumentError(
            "direction: allowed DIRECTION_FORWARD, _REVERSE, _BOTH");
    }
    absl::StatusOr<Where> w;
    uint32_t session_id = 0;
    if (req->target_case() == v1::InjectFaultRequest::kLinkId) {
      w = LinkOf(req->link_id());
    } else if (req->target_case() == v1::InjectFaultRequest::kSessionId) {
      session_id = req->session_id();
      w = SessionOf(session_id);
    } else {
      return absl::InvalidArgumentError("target: set link_id or session_id");
    }
    if (!w.ok()) return w.status();
    return OnNetwork(
        w->network_id, [&](NetworkSlot& slot, Shard&) -> absl::Status {
          uint32_t link_id = req->link_id();
          SessionInfo info;
          if (session_id != 0) {
            absl::StatusOr<SessionInfo> got = slot.net->GetSession(session_id);
            if (!got.ok()) return got.status();
            if (got->destroyed) {
              return absl::FailedPreconditionError(
                  absl::StrCat("session_id ", session_id, " is closed"));
            }
            info = *got;
            link_id = info.link_id;
          }
          std::vector<FaultRule> rules;
          for (int d : dirs) {
            FaultRule r = rule;
            if (session_id != 0) {
              bool fwd = d == 0;
              r.match.src_port = fwd ? info.client_port : info.server_port;
              r.match.dst_port = fwd ? info.server_port : info.client_port;
            }
            if (m.has_seq_lo()) {
              r.match.has_seq_range = true;
              uint32_t base = 0;
              if (session_id != 0) {
                std::optional<TcbSnapshot> sender = slot.net->GetTcb(
                    session_id, d == 0 ? Endpoint::kClient : Endpoint::kServer);
                base = sender ? sender->iss : 0;
              }
              r.match.seq_lo = Seq(base + m.seq_lo());
              r.match.seq_hi = Seq(base + m.seq_hi());
            }
            if (absl::Status s = ValidateFaultRule(r); !s.ok()) {
              return absl::InvalidArgumentError(
                  absl::StrCat("fault: ", s.message()));
            }
            rules.push_back(r);
          }
          for (size_t i = 0; i < dirs.size(); ++i) {
            absl::StatusOr<uint32_t> id =
                slot.net->AddFault(link_id, DirectionOf(dirs[i]), rules[i]);
            if (absl::IsResourceExhausted(id.status())) {
              // A rule installed in the other direction stays: the caller
              // learns of it from the message and clears with ClearFaults.
              return Exhausted(
                  Limit::kFaults,
                  absl::StrCat("fault limit reached: ", kMaxFaultRules,
                               " fault rules per link direction (fixed, no "
                               "flag); ClearFaults first",
                               i > 0 ? absl::StrCat("; fault ", resp->ids(0),
                                                    " was installed in the "
                                                    "forward direction")
                                     : ""));
            }
            if (!id.ok()) return id.status();
            resp->add_ids(*id);
          }
          resp->set_link_id(link_id);
          return absl::OkStatus();
        });
  });
}

grpc::Status EmulatorService::ClearFaults(Ctx*,
                                          const v1::ClearFaultsRequest* req,
                                          google::protobuf::Empty*) {
  return Observe("ClearFaults", [&]() -> absl::Status {
    absl::StatusOr<Where> w;
    uint32_t link_id = 0;
    if (req->target_case() == v1::ClearFaultsRequest::kLinkId) {
      link_id = req->link_id();
      w = LinkOf(link_id);
    } else if (req->target_case() == v1::ClearFaultsRequest::kSessionId) {
      w = SessionOf(req->session_id());
    } else {
      return absl::InvalidArgumentError("target: set link_id or session_id");
    }
    if (!w.ok()) return w.status();
    return OnNetwork(w->network_id,
                     [&](NetworkSlot& slot, Shard&) -> absl::Status {
                       if (link_id == 0) {
                         absl::StatusOr<SessionInfo> info =
                             slot.net->GetSession(req->session_id());
                         if (!info.ok()) return info.status();
                         link_id = info->link_id;
                       }
                       return slot.net->ClearFaults(link_id);
                     });
  });
}

}  // namespace tcpemu::server
