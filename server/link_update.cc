#include "server/link_update.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/field_mask_util.h"
#include "server/convert.h"

namespace tcpemu::server {
namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;

constexpr const char* kDirections[] = {"forward", "reverse"};

// "forward" or "reverse", or one of a PathSpec's fields under either.
bool IsAllowed(const std::string& path) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  if (parts.empty() || parts.size() > 2) return false;
  if (parts[0] != kDirections[0] && parts[0] != kDirections[1]) return false;
  return parts.size() == 1 ||
         v1::PathSpec::descriptor()->FindFieldByName(parts[1]) != nullptr;
}

bool IsWhole(const FieldMask& mask) {
  if (mask.paths().empty()) return true;
  for (const std::string& path : mask.paths()) {
    if (path == "*") return true;
  }
  return false;
}

// A current spec as the message a request merges into. ToProto leaves out a
// jitter of 0, with its correlation and keep_order: kept here, so that an
// update of other fields changes nothing else.
v1::PathSpec CurrentToProto(const PathSpec& spec) {
  v1::PathSpec out;
  ToProto(spec, &out);
  const JitterSpec& j = spec.jitter;
  if (j.correlation != 0 || j.keep_order ||
      j.distribution != JitterSpec::Distribution::kUniform) {
    v1::Jitter* p = out.mutable_jitter();
    DurationToProto(j.jitter, p->mutable_jitter());
    p->set_distribution(j.distribution == JitterSpec::Distribution::kNormal
                            ? v1::Jitter::DISTRIBUTION_NORMAL
                            : v1::Jitter::DISTRIBUTION_UNIFORM);
    p->set_correlation(j.correlation);
    p->set_keep_order(j.keep_order);
  }
  return out;
}

// A merged direction as an engine spec. A delivery trace is not echoed in
// full (only its name and size), so a trace without text that the update
// left as it was is the current one, kept as it is (and keeps playing).
absl::StatusOr<ValidPathSpec> Converted(v1::PathSpec merged,
                                        const PathSpec& current,
                                        const std::string& field) {
  const bool keep_trace =
      merged.has_trace() && merged.trace().mahimahi().empty() &&
      current.trace != nullptr && merged.trace().name() == current.trace->name;
  if (keep_trace) merged.clear_trace();
  absl::StatusOr<PathSpec> spec = PathSpecFromProto(merged, field);
  if (!spec.ok()) return spec.status();
  if (keep_trace) spec->trace = current.trace;
  return ValidatePath(*spec, field);
}

}  // namespace

std::string AllowedLinkUpdatePaths() {
  std::vector<std::string> paths = {"*", kDirections[0], kDirections[1]};
  const google::protobuf::Descriptor* d = v1::PathSpec::descriptor();
  for (const char* dir : kDirections) {
    for (int i = 0; i < d->field_count(); ++i) {
      paths.push_back(absl::StrCat(dir, ".", d->field(i)->name()));
    }
  }
  return absl::StrJoin(paths, ", ");
}

absl::Status ValidateLinkUpdateMask(const FieldMask& mask) {
  for (const std::string& path : mask.paths()) {
    if (path != "*" && !IsAllowed(path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask: ", Quoted(path),
          " cannot be updated (allowed: ", AllowedLinkUpdatePaths(), ")"));
    }
  }
  return absl::OkStatus();
}

void MergeLinkUpdate(const v1::UpdateLinkRequest& req, v1::PathSpec& forward,
                     v1::PathSpec& reverse) {
  if (IsWhole(req.update_mask())) {
    forward = req.forward();
    reverse = req.reverse();
    return;
  }
  v1::UpdateLinkRequest current;
  *current.mutable_forward() = std::move(forward);
  *current.mutable_reverse() = std::move(reverse);
  // A named message field (a direction, delay, jitter, loss) is replaced,
  // not merged; a named field the request leaves unset is cleared.
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(req, req.update_mask(), options, &current);
  forward = std::move(*current.mutable_forward());
  reverse = std::move(*current.mutable_reverse());
}

absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> ApplyLinkUpdate(
    const v1::UpdateLinkRequest& req, const PathSpec& forward,
    const PathSpec& reverse) {
  if (absl::Status s = ValidateLinkUpdateMask(req.update_mask()); !s.ok()) {
    return s;
  }
  v1::PathSpec fwd = CurrentToProto(forward);
  v1::PathSpec rev = CurrentToProto(reverse);
  MergeLinkUpdate(req, fwd, rev);
  absl::StatusOr<ValidPathSpec> f = Converted(fwd, forward, "forward");
  if (!f.ok()) return f.status();
  absl::StatusOr<ValidPathSpec> r = Converted(rev, reverse, "reverse");
  if (!r.ok()) return r.status();
  return std::make_pair(*f, *r);
}

}  // namespace tcpemu::server
