// Tests for server/link_update: UpdateLink's field mask changes the named
// fields of a link's current spec and nothing else; an empty mask or "*"
// replaces both directions; a path outside the allowed ones is refused.
#include "server/link_update.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;

// A link's current direction with every field away from its default.
PathSpec Current(DurationNs delay) {
  PathSpec s;
  s.delay = delay;
  s.jitter.jitter = 2 * kMillisecond;
  s.jitter.distribution = JitterSpec::Distribution::kNormal;
  s.rate_bps = 10'000'000;
  s.queue_limit_packets = 50;
  s.queue_limit_bytes = 100'000;
  s.loss.model = LossSpec::Model::kRandom;
  s.loss.p = 0.01;
  s.duplicate = 0.02;
  s.reorder = 0.03;
  s.reorder_gap = 4;
  s.corrupt = 0.04;
  s.mtu = 1400;
  return s;
}

v1::UpdateLinkRequest Request(std::initializer_list<std::string> paths) {
  v1::UpdateLinkRequest req;
  req.set_link_id(1);
  for (const std::string& p : paths) req.mutable_update_mask()->add_paths(p);
  return req;
}

std::pair<PathSpec, PathSpec> Apply(const v1::UpdateLinkRequest& req) {
  absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> got = ApplyLinkUpdate(
      req, Current(10 * kMillisecond), Current(20 * kMillisecond));
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok()) return {};
  return {got->first.spec(), got->second.spec()};
}

void ExpectUnchanged(const PathSpec& got, DurationNs delay) {
  const PathSpec want = Current(delay);
  EXPECT_EQ(got.delay, want.delay);
  EXPECT_EQ(got.jitter.jitter, want.jitter.jitter);
  EXPECT_EQ(got.jitter.distribution, want.jitter.distribution);
  EXPECT_EQ(got.rate_bps, want.rate_bps);
  EXPECT_EQ(got.queue_limit_packets, want.queue_limit_packets);
  EXPECT_EQ(got.queue_limit_bytes, want.queue_limit_bytes);
  EXPECT_EQ(got.loss.model, want.loss.model);
  EXPECT_EQ(got.loss.p, want.loss.p);
  EXPECT_EQ(got.duplicate, want.duplicate);
  EXPECT_EQ(got.reorder, want.reorder);
  EXPECT_EQ(got.reorder_gap, want.reorder_gap);
  EXPECT_EQ(got.corrupt, want.corrupt);
  EXPECT_EQ(got.mtu, want.mtu);
}

TEST(LinkUpdateTest, EmptyMaskReplacesBothDirections) {
  v1::UpdateLinkRequest req = Request({});
  req.mutable_forward()->mutable_delay()->set_seconds(1);
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.delay, kSecond);
  EXPECT_EQ(fwd.rate_bps, 0u);
  EXPECT_EQ(fwd.loss.model, LossSpec::Model::kNone);
  EXPECT_EQ(fwd.queue_limit_packets, 1000u);
  EXPECT_EQ(fwd.mtu, 1500u);
  EXPECT_EQ(rev.delay, 0);
  EXPECT_EQ(rev.corrupt, 0.0);
}

TEST(LinkUpdateTest, WildcardReplacesBothDirections) {
  v1::UpdateLinkRequest req = Request({"*"});
  req.mutable_reverse()->set_rate_bps(5);
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.delay, 0);
  EXPECT_EQ(fwd.rate_bps, 0u);
  EXPECT_EQ(rev.rate_bps, 5u);
  EXPECT_EQ(rev.delay, 0);
}

TEST(LinkUpdateTest, OneFieldChangesOnlyThatField) {
  v1::UpdateLinkRequest req = Request({"forward.delay"});
  req.mutable_forward()->mutable_delay()->set_seconds(3);
  req.mutable_forward()->set_rate_bps(7);   // not named: ignored
  req.mutable_reverse()->set_corrupt(0.5);  // not named: ignored
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.delay, 3 * kSecond);
  PathSpec rest = fwd;
  rest.delay = 10 * kMillisecond;
  ExpectUnchanged(rest, 10 * kMillisecond);
  ExpectUnchanged(rev, 20 * kMillisecond);
}

TEST(LinkUpdateTest, FieldsOfBothDirections) {
  v1::UpdateLinkRequest req =
      Request({"forward.rate_bps", "reverse.loss", "reverse.mtu"});
  req.mutable_forward()->set_rate_bps(1'000'000);
  req.mutable_reverse()->mutable_loss()->mutable_gilbert_elliott()->set_p(0.1);
  req.mutable_reverse()->set_mtu(9000);
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.rate_bps, 1'000'000u);
  EXPECT_EQ(fwd.loss.model, LossSpec::Model::kRandom);
  EXPECT_EQ(rev.loss.model, LossSpec::Model::kGilbertElliott);
  EXPECT_EQ(rev.loss.p, 0.1);
  EXPECT_EQ(rev.mtu, 9000u);
  EXPECT_EQ(rev.rate_bps, 10'000'000u);
  EXPECT_EQ(rev.delay, 20 * kMillisecond);
}

TEST(LinkUpdateTest, NamedFieldLeftUnsetTakesItsDefault) {
  auto [fwd, rev] = Apply(
      Request({"forward.loss", "forward.jitter", "forward.queue_limit_packets",
               "forward.mtu", "reverse.duplicate"}));
  EXPECT_EQ(fwd.loss.model, LossSpec::Model::kNone);
  EXPECT_EQ(fwd.jitter.jitter, 0);
  EXPECT_EQ(fwd.queue_limit_packets, 1000u);
  EXPECT_EQ(fwd.mtu, 1500u);
  EXPECT_EQ(fwd.delay, 10 * kMillisecond);
  EXPECT_EQ(rev.duplicate, 0.0);
  EXPECT_EQ(rev.reorder, 0.03);
}

TEST(LinkUpdateTest, OptionalZeroIsKept) {
  v1::UpdateLinkRequest req = Request({"forward.queue_limit_packets"});
  req.mutable_forward()->set_queue_limit_packets(0);
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.queue_limit_packets, 0u);
  EXPECT_EQ(rev.queue_limit_packets, 50u);
}

TEST(LinkUpdateTest, WholeDirectionReplacesItAlone) {
  v1::UpdateLinkRequest req = Request({"reverse"});
  req.mutable_reverse()->mutable_delay()->set_nanos(5'000'000);
  auto [fwd, rev] = Apply(req);
  ExpectUnchanged(fwd, 10 * kMillisecond);
  EXPECT_EQ(rev.delay, 5 * kMillisecond);
  EXPECT_EQ(rev.rate_bps, 0u);
  EXPECT_EQ(rev.loss.model, LossSpec::Model::kNone);
  EXPECT_EQ(rev.mtu, 1500u);
}

TEST(LinkUpdateTest, JitterSettingsWithoutJitterAreKept) {
  PathSpec current;
  current.jitter.keep_order = true;
  current.jitter.correlation = 0.5;
  v1::UpdateLinkRequest req = Request({"forward.delay"});
  req.mutable_forward()->mutable_delay()->set_seconds(1);
  absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> got =
      ApplyLinkUpdate(req, current, current);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->first.spec().delay, kSecond);
  EXPECT_TRUE(got->first.spec().jitter.keep_order);
  EXPECT_EQ(got->first.spec().jitter.correlation, 0.5);
  EXPECT_TRUE(got->second.spec().jitter.keep_order);
}

TEST(LinkUpdateTest, UnknownPathsAreRefusedWithTheAllowedOnes) {
  for (const char* path : {"link_id", "sideways", "forward.bogus",
                           "forward.delay.seconds", "forward.", ""}) {
    SCOPED_TRACE(path);
    absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> got =
        ApplyLinkUpdate(Request({"forward.delay", path}), PathSpec(),
                        PathSpec());
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(got.status().message());
    EXPECT_TRUE(absl::StartsWith(msg, "update_mask: ")) << msg;
    EXPECT_TRUE(absl::StrContains(msg, "forward.rate_bps")) << msg;
    EXPECT_TRUE(absl::StrContains(msg, "reverse.loss")) << msg;
  }
}

TEST(LinkUpdateTest, AllowedPathsListEveryPathSpecField) {
  const std::string allowed = AllowedLinkUpdatePaths();
  for (const char* path :
       {"*", "forward", "reverse", "forward.delay", "forward.jitter",
        "forward.queue_limit_packets", "reverse.reorder_gap", "reverse.mtu"}) {
    EXPECT_TRUE(absl::StrContains(allowed, path)) << path;
    EXPECT_TRUE(ValidateLinkUpdateMask(Request({path}).update_mask()).ok())
        << path;
  }
}

TEST(LinkUpdateTest, InvalidNamedValueNamesItsField) {
  v1::UpdateLinkRequest req = Request({"reverse.loss"});
  req.mutable_reverse()->mutable_loss()->set_random(2.0);
  absl::StatusOr<std::pair<ValidPathSpec, ValidPathSpec>> got =
      ApplyLinkUpdate(req, PathSpec(), PathSpec());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(got.status().message(), "reverse.loss.random"))
      << got.status();
}

TEST(LinkUpdateTest, InvalidValueOutsideTheMaskIsIgnored) {
  v1::UpdateLinkRequest req = Request({"forward.delay"});
  req.mutable_reverse()->mutable_loss()->set_random(2.0);
  req.mutable_forward()->mutable_delay()->set_seconds(1);
  auto [fwd, rev] = Apply(req);
  EXPECT_EQ(fwd.delay, kSecond);
  ExpectUnchanged(rev, 20 * kMillisecond);
}

}  // namespace
}  // namespace tcpemu::server
