#include "server/toxics.h"

#include <string>

#include "gtest/gtest.h"

namespace tcpemu::server {
namespace {

google::protobuf::RepeatedPtrField<v1::Toxic> One(const v1::Toxic& t) {
  google::protobuf::RepeatedPtrField<v1::Toxic> r;
  *r.Add() = t;
  return r;
}

TEST(ToxicsTest, DefaultsNameStreamAndToxicity) {
  v1::Toxic t;
  t.mutable_latency()->mutable_latency()->set_nanos(50'000'000);
  auto got = ParseToxics(One(t));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  const ToxicSpec& s = (*got)[0];
  EXPECT_EQ(s.name, "latency_downstream");
  EXPECT_EQ(s.direction, Direction::kReverse);
  EXPECT_EQ(s.toxicity, 1);
  EXPECT_EQ(s.latency, 50 * kMillisecond);
  EXPECT_EQ(s.proto.name(), "latency_downstream");
  EXPECT_EQ(s.proto.stream(), v1::TOXIC_STREAM_DOWNSTREAM);
  EXPECT_EQ(s.proto.toxicity(), 1);
}

TEST(ToxicsTest, EveryKind) {
  google::protobuf::RepeatedPtrField<v1::Toxic> all;
  all.Add()->mutable_bandwidth()->set_rate_bps(1'000'000);
  all.Add()->mutable_slow_close()->mutable_delay()->set_seconds(1);
  all.Add()->mutable_timeout()->mutable_timeout()->set_seconds(2);
  all.Add()->mutable_reset_peer()->mutable_timeout()->set_seconds(3);
  all.Add()->mutable_limit_data()->set_bytes(100);
  v1::Toxic* sl = all.Add();
  sl->set_stream(v1::TOXIC_STREAM_UPSTREAM);
  sl->mutable_slicer()->set_average_size(64);
  sl->mutable_slicer()->set_size_variation(8);
  auto got = ParseToxics(all);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 6u);
  EXPECT_EQ((*got)[0].kind, ToxicKind::kBandwidth);
  EXPECT_EQ((*got)[0].rate_bps, 1'000'000u);
  EXPECT_EQ((*got)[1].delay, kSecond);
  EXPECT_EQ((*got)[2].timeout, 2 * kSecond);
  EXPECT_EQ((*got)[3].kind, ToxicKind::kResetPeer);
  EXPECT_EQ((*got)[4].bytes, 100u);
  EXPECT_EQ((*got)[5].name, "slicer_upstream");
  EXPECT_EQ((*got)[5].direction, Direction::kForward);
  EXPECT_EQ((*got)[5].average_size, 64u);
}

TEST(ToxicsTest, ErrorsNameTheField) {
  struct Bad {
    v1::Toxic toxic;
    std::string names;
  };
  std::vector<Bad> bad;
  {
    v1::Toxic t;
    bad.push_back({t, "toxics[0]"});  // no kind
  }
  {
    v1::Toxic t;
    t.set_toxicity(-0.1);
    t.mutable_limit_data();
    bad.push_back({t, "toxics[0].toxicity"});
  }
  {
    v1::Toxic t;
    t.mutable_latency()->mutable_latency()->set_seconds(3601);
    bad.push_back({t, "toxics[0].latency.latency"});
  }
  {
    v1::Toxic t;
    t.mutable_bandwidth()->set_rate_bps(10);
    bad.push_back({t, "toxics[0].bandwidth.rate_bps"});
  }
  {
    v1::Toxic t;
    t.mutable_slicer()->set_average_size(100);
    t.mutable_slicer()->set_size_variation(101);
    bad.push_back({t, "toxics[0].slicer.size_variation"});
  }
  {
    v1::Toxic t;
    t.set_name("a/b");
    t.mutable_limit_data();
    bad.push_back({t, "toxics[0].name"});
  }
  {
    v1::Toxic t;
    t.set_stream(static_cast<v1::ToxicStream>(7));
    t.mutable_limit_data();
    bad.push_back({t, "toxics[0].stream"});
  }
  for (const Bad& b : bad) {
    auto got = ParseToxics(One(b.toxic));
    ASSERT_FALSE(got.ok()) << b.names;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find(b.names), std::string::npos)
        << got.status();
  }
}

TEST(ToxicsTest, ASlicerOfToxiproxysDefaultSizeIsAccepted) {
  v1::Toxic t;
  t.mutable_slicer();  // toxiproxy's defaults: every attribute 0
  auto got = ParseToxics(One(t));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].average_size, 0u);
  t.mutable_slicer()->set_average_size(65496);
  EXPECT_FALSE(ParseToxics(One(t)).ok());
}

TEST(ToxicsTest, NamesAreUniqueAndTheCountBounded) {
  google::protobuf::RepeatedPtrField<v1::Toxic> two;
  two.Add()->mutable_limit_data()->set_bytes(1);
  two.Add()->mutable_limit_data()->set_bytes(2);
  auto dup = ParseToxics(two);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  two[1].set_name("second");
  EXPECT_TRUE(ParseToxics(two).ok());

  google::protobuf::RepeatedPtrField<v1::Toxic> many;
  for (size_t i = 0; i <= kMaxToxics; ++i) {
    v1::Toxic* t = many.Add();
    t->set_name("t" + std::to_string(i));
    t->mutable_limit_data();
  }
  auto over = ParseToxics(many);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("at most"), std::string::npos);
}

TEST(ToxicsTest, SameEffectComparesAttributes) {
  v1::Toxic a;
  a.mutable_limit_data()->set_bytes(1);
  v1::Toxic b = a;
  auto pa = ParseToxics(One(a));
  auto pb = ParseToxics(One(b));
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_TRUE(SameEffect((*pa)[0], (*pb)[0]));
  b.mutable_limit_data()->set_bytes(2);
  pb = ParseToxics(One(b));
  EXPECT_FALSE(SameEffect((*pa)[0], (*pb)[0]));
}

}  // namespace
}  // namespace tcpemu::server
