// Tests for server/convert: TcpConfig switches reach the engine's config, and
// every EndpointCounters field is filled from its ConnectionCounters field.
#include "server/convert.h"

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

namespace v1 = ::tcpemu::v1;

constexpr uint32_t kMaxBuffer = 1 << 20;

TEST(TcpConfigFromProtoTest, RackIsOnAndHyStartOffUnlessSet) {
  absl::StatusOr<TcpConfig> c =
      FromProto(v1::TcpConfig(), "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->rack);
  EXPECT_FALSE(c->hystart);

  v1::TcpConfig p;
  p.set_rack(false);
  p.set_hystart(true);
  c = FromProto(p, "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->rack);
  EXPECT_TRUE(c->hystart);

  p.set_rack(false);
  c = FromProto(p, "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->rack);
  EXPECT_TRUE(c->hystart);
}

TEST(TcpConfigFromProtoTest, EcnIsOffUnlessSet) {
  absl::StatusOr<TcpConfig> c =
      FromProto(v1::TcpConfig(), "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->ecn);
  v1::TcpConfig p;
  p.set_ecn(true);
  c = FromProto(p, "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->ecn);
}

TEST(TcpConfigFromProtoTest, StackChoicesKeepEngineDefaultsUnlessSet) {
  absl::StatusOr<TcpConfig> c =
      FromProto(v1::TcpConfig(), "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->window_scale, -1);
  EXPECT_EQ(c->flavor, StackFlavor::kLinux);
  EXPECT_TRUE(c->rfc5961_rst);
  EXPECT_TRUE(c->rfc5961_syn);
  EXPECT_EQ(c->ecn_syn_retries, 0u);

  v1::TcpConfig p;
  p.set_window_scale(7);
  p.set_flavor(v1::STACK_FLAVOR_FREEBSD);
  p.set_rfc5961_rst(false);
  p.set_rfc5961_syn(false);
  p.set_ecn_syn_retries(255);
  c = FromProto(p, "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->window_scale, 7);
  EXPECT_EQ(c->flavor, StackFlavor::kFreeBsd);
  EXPECT_FALSE(c->rfc5961_rst);
  EXPECT_FALSE(c->rfc5961_syn);
  EXPECT_EQ(c->ecn_syn_retries, 255u);

  // Both ends of each range, and the explicit "smallest shift" value.
  for (int ws : {-1, 0, 14}) {
    p.set_window_scale(ws);
    c = FromProto(p, "server", kMaxBuffer);
    ASSERT_TRUE(c.ok()) << ws << ": " << c.status();
    EXPECT_EQ(c->window_scale, ws);
  }
  p.set_flavor(v1::STACK_FLAVOR_LINUX);
  p.set_ecn_syn_retries(0);
  c = FromProto(p, "server", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->flavor, StackFlavor::kLinux);
  EXPECT_EQ(c->ecn_syn_retries, 0u);
}

TEST(TcpConfigFromProtoTest, StackChoicesOutOfRangeNameTheField) {
  struct Case {
    void (*set)(v1::TcpConfig&);
    const char* message;
  };
  for (const Case& k : {
           Case{[](v1::TcpConfig& p) { p.set_window_scale(15); },
                "server.window_scale 15 out of range [-1, 14]"},
           Case{[](v1::TcpConfig& p) { p.set_window_scale(-2); },
                "server.window_scale -2 out of range [-1, 14]"},
           Case{[](v1::TcpConfig& p) { p.set_ecn_syn_retries(256); },
                "server.ecn_syn_retries 256 out of range [0, 255]"},
           Case{[](v1::TcpConfig& p) {
                  p.set_flavor(static_cast<v1::StackFlavor>(9));
                },
                "server.flavor: 9 is not valid; allowed: STACK_FLAVOR_LINUX, "
                "STACK_FLAVOR_FREEBSD"},
       }) {
    v1::TcpConfig p;
    k.set(p);
    absl::StatusOr<TcpConfig> c = FromProto(p, "server", kMaxBuffer);
    ASSERT_FALSE(c.ok()) << k.message;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().message(), k.message);
  }
}

TEST(TcpConfigFromProtoTest, SackAndTimestampsCanBeTurnedOff) {
  v1::TcpConfig p;
  p.set_sack(false);
  p.set_timestamps(false);
  absl::StatusOr<TcpConfig> c = FromProto(p, "server", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->sack);
  EXPECT_FALSE(c->timestamps);
  EXPECT_TRUE(TcpConfig().sack);
  EXPECT_TRUE(TcpConfig().timestamps);
}

TEST(TcpConfigFromProtoTest, CongestionControlAndPacing) {
  absl::StatusOr<TcpConfig> c =
      FromProto(v1::TcpConfig(), "client", kMaxBuffer);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cc, CcAlgorithm::kNewReno);
  EXPECT_FALSE(c->pacing);

  struct Case {
    v1::CongestionControl proto;
    CcAlgorithm engine;
  };
  for (const Case& k :
       {Case{v1::CONGESTION_CONTROL_NEWRENO, CcAlgorithm::kNewReno},
        Case{v1::CONGESTION_CONTROL_CUBIC, CcAlgorithm::kCubic},
        Case{v1::CONGESTION_CONTROL_BBR, CcAlgorithm::kBbr}}) {
    v1::TcpConfig p;
    p.set_congestion_control(k.proto);
    p.set_pacing(true);
    c = FromProto(p, "server", kMaxBuffer);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->cc, k.engine) << v1::CongestionControl_Name(k.proto);
    EXPECT_TRUE(c->pacing);
  }

  v1::TcpConfig bad;
  bad.set_congestion_control(static_cast<v1::CongestionControl>(99));
  c = FromProto(bad, "server", kMaxBuffer);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "server.congestion_control: allowed: CONGESTION_CONTROL_NEWRENO, "
            "CONGESTION_CONTROL_CUBIC, CONGESTION_CONTROL_BBR");
}

// Each engine counter holds the field number of its proto counterpart, so a
// field filled from the wrong counter, or not at all, shows.
TEST(CountersToProtoTest, EveryFieldComesFromItsCounter) {
  ConnectionCounters c;
  c.segments_sent = 1;
  c.segments_received = 2;
  c.bytes_sent = 3;
  c.bytes_retransmitted = 4;
  c.retransmits_rto = 5;
  c.retransmits_fast = 6;
  c.pure_acks_sent = 7;
  c.window_probes_sent = 8;
  c.window_updates_sent = 9;
  c.dup_acks_received = 10;
  c.bytes_written = 11;
  c.bytes_delivered = 12;
  c.bytes_read = 13;
  c.out_of_order_segments = 14;
  c.duplicate_segments = 15;
  c.bad_checksum_segments = 16;
  c.outside_window_segments = 17;
  c.challenge_acks_sent = 18;
  c.fast_recoveries = 19;
  c.timeouts = 20;
  c.challenge_acks_suppressed = 21;
  c.paws_rejected = 22;
  c.invalid_acks_suppressed = 23;
  c.dsacks_received = 24;
  c.rack_losses = 25;
  c.tail_loss_probes = 26;
  c.ce_received = 27;
  c.ece_received = 28;
  c.ecn_reductions = 29;
  c.cwr_sent = 30;
  v1::EndpointCounters out;
  ToProto(c, &out);
  const google::protobuf::Descriptor* d = out.GetDescriptor();
  const google::protobuf::Reflection* r = out.GetReflection();
  ASSERT_EQ(d->field_count(), 30);
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    EXPECT_EQ(r->GetUInt64(out, f), static_cast<uint64_t>(f->number()))
        << f->name();
  }
  EXPECT_EQ(out.dsacks_received(), 24u);
  EXPECT_EQ(out.rack_losses(), 25u);
  EXPECT_EQ(out.tail_loss_probes(), 26u);
}

TEST(PathSpecFromProtoTest, ValidatedOnceWithTheApiFieldNames) {
  v1::PathSpec p;
  p.mutable_loss()->set_random(1.5);
  // Converting alone does not check.
  absl::StatusOr<PathSpec> raw = PathSpecFromProto(p, "forward");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->loss.p, 1.5);
  absl::StatusOr<ValidPathSpec> checked = ValidatePath(*raw, "forward");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().message().rfind("forward.loss.random ", 0), 0u)
      << checked.status();
  EXPECT_EQ(FromProto(p, "reverse")
                .status()
                .message()
                .rfind("reverse.loss.random ", 0),
            0u);
  p.mutable_loss()->set_random(0.25);
  absl::StatusOr<ValidPathSpec> ok = FromProto(p, "forward");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->spec().loss.p, 0.25);
}

}  // namespace
}  // namespace tcpemu::server
