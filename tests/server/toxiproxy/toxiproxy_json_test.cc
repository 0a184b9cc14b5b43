// toxiproxy JSON <-> tcpemu.v1 proxies and toxics: shapes, units, defaults,
// and the errors of bad bodies.
#include "server/toxiproxy/toxiproxy_json.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"

namespace tcpemu::server::toxiproxy {
namespace {

Json Parse(const std::string& text) {
  absl::StatusOr<Json> j = ParseBody(text);
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

int64_t Millis(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

TEST(ToxiproxyJson, LatencyToxicDefaultsToDownstreamAndItsName) {
  absl::StatusOr<v1::Toxic> t = ToxicFromJson(
      Parse(R"({"type":"latency","attributes":{"latency":1500,"jitter":20}})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name(), "latency_downstream");
  EXPECT_EQ(t->stream(), v1::TOXIC_STREAM_DOWNSTREAM);
  EXPECT_FALSE(t->has_toxicity());
  ASSERT_TRUE(t->has_latency());
  EXPECT_EQ(t->latency().latency().seconds(), 1);
  EXPECT_EQ(t->latency().latency().nanos(), 500'000'000);
  EXPECT_EQ(Millis(t->latency().jitter()), 20);

  const Json back = ToxicToJson(*t);
  EXPECT_EQ(back.dump(), R"({"name":"latency_downstream","type":"latency",)"
                         R"("stream":"downstream","toxicity":1.0,)"
                         R"("attributes":{"latency":1500,"jitter":20}})");
}

TEST(ToxiproxyJson, EveryTypeRoundTripsItsAttributes) {
  struct Case {
    const char* body;
    const char* attributes;  // as ToxicToJson shows them
  };
  const Case cases[] = {
      {R"({"type":"bandwidth","attributes":{"rate":100}})", R"({"rate":100})"},
      {R"({"type":"slow_close","attributes":{"delay":250}})",
       R"({"delay":250})"},
      {R"({"type":"timeout","attributes":{"timeout":0}})", R"({"timeout":0})"},
      {R"({"type":"reset_peer","attributes":{"timeout":30}})",
       R"({"timeout":30})"},
      {R"({"type":"limit_data","attributes":{"bytes":123456789012}})",
       R"({"bytes":123456789012})"},
      {R"({"type":"slicer","attributes":{"average_size":100,)"
       R"("size_variation":10,"delay":2500}})",
       R"({"average_size":100,"size_variation":10,"delay":2500})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    absl::StatusOr<v1::Toxic> t = ToxicFromJson(Parse(c.body));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(ToxicToJson(*t)["attributes"].dump(), c.attributes);
  }
}

TEST(ToxiproxyJson, UnitsMatchToxiproxys) {
  // bandwidth: KB/s of 1000 bytes.
  auto bw =
      ToxicFromJson(Parse(R"({"type":"bandwidth","attributes":{"rate":100}})"));
  ASSERT_TRUE(bw.ok());
  EXPECT_EQ(bw->bandwidth().rate_bps(), 100u * 1000 * 8);
  // slicer: delay in microseconds.
  auto sl = ToxicFromJson(Parse(
      R"({"type":"slicer","attributes":{"average_size":200,"delay":2500}})"));
  ASSERT_TRUE(sl.ok());
  EXPECT_EQ(sl->slicer().average_size(), 200u);
  EXPECT_EQ(sl->slicer().delay().seconds(), 0);
  EXPECT_EQ(sl->slicer().delay().nanos(), 2'500'000);
  // timeout, reset_peer, slow_close: milliseconds.
  auto to = ToxicFromJson(
      Parse(R"({"type":"timeout","attributes":{"timeout":2001}})"));
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(to->timeout().timeout().seconds(), 2);
  EXPECT_EQ(to->timeout().timeout().nanos(), 1'000'000);
}

TEST(ToxiproxyJson, NameStreamAndToxicityAsGiven) {
  auto t = ToxicFromJson(Parse(
      R"({"name":"slow","type":"latency","stream":"UPSTREAM","toxicity":0.25,)"
      R"("attributes":{"latency":5}})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name(), "slow");
  EXPECT_EQ(t->stream(), v1::TOXIC_STREAM_UPSTREAM);
  ASSERT_TRUE(t->has_toxicity());
  EXPECT_DOUBLE_EQ(t->toxicity(), 0.25);
  EXPECT_EQ(ToxicToJson(*t)["stream"], "upstream");
  EXPECT_DOUBLE_EQ(ToxicToJson(*t)["toxicity"].get<double>(), 0.25);

  auto unnamed =
      ToxicFromJson(Parse(R"({"type":"timeout","stream":"upstream"})"));
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->name(), "timeout_upstream");
  // Absent attributes are 0, as in toxiproxy's Go structs.
  EXPECT_EQ(Millis(unnamed->timeout().timeout()), 0);
}

TEST(ToxiproxyJson, NullsReadAsAbsent) {
  auto t = ToxicFromJson(
      Parse(R"({"name":null,"type":"latency","stream":null,"toxicity":null,)"
            R"("attributes":null})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name(), "latency_downstream");
  EXPECT_FALSE(t->has_toxicity());
}

TEST(ToxiproxyJson, WholeFloatsAreIntegers) {
  auto t = ToxicFromJson(
      Parse(R"({"type":"latency","attributes":{"latency":100.0}})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Millis(t->latency().latency()), 100);
}

TEST(ToxiproxyJson, UnknownTypeIsInvalidToxicType) {
  for (const char* body : {R"({"type":"noop"})", R"({"type":"bogus"})",
                           R"({"attributes":{"latency":1}})"}) {
    SCOPED_TRACE(body);
    auto t = ToxicFromJson(Parse(body));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(t.status().message(), "invalid toxic type"))
        << t.status();
    EXPECT_EQ(ErrorToJson(t.status())["status"], 400);
  }
}

TEST(ToxiproxyJson, InvalidStream) {
  auto t = ToxicFromJson(Parse(R"({"type":"latency","stream":"sideways"})"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "stream was invalid, can be either upstream or downstream");
}

TEST(ToxiproxyJson, BadAttributesNameTheAttribute) {
  const char* bodies[] = {
      R"({"type":"latency","attributes":{"latency":-5}})",
      R"({"type":"latency","attributes":{"jitter":1.5}})",
      R"({"type":"latency","attributes":{"latency":"100"}})",
      R"({"type":"slicer","attributes":{"average_size":4294967296}})",
      R"({"type":"bandwidth","attributes":{"rate":true}})",
  };
  const char* names[] = {"\"latency\"", "\"jitter\"", "\"latency\"",
                         "\"average_size\"", "\"rate\""};
  for (size_t i = 0; i < std::size(bodies); ++i) {
    SCOPED_TRACE(bodies[i]);
    auto t = ToxicFromJson(Parse(bodies[i]));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(t.status().message(), "bad request body: "))
        << t.status();
    EXPECT_TRUE(absl::StrContains(t.status().message(), names[i]))
        << t.status();
  }
}

TEST(ToxiproxyJson, BadShapes) {
  EXPECT_FALSE(ToxicFromJson(Parse("[]")).ok());
  EXPECT_FALSE(ToxicFromJson(Parse(R"({"type":5})")).ok());
  EXPECT_FALSE(
      ToxicFromJson(Parse(R"({"type":"latency","attributes":[1]})")).ok());
  EXPECT_FALSE(
      ToxicFromJson(Parse(R"({"type":"latency","toxicity":"0.5"})")).ok());
  for (const char* text : {"", "{", "{\"a\":}", "nope"}) {
    absl::StatusOr<Json> j = ParseBody(text);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_TRUE(absl::StartsWith(j.status().message(), "bad request body: "))
        << j.status();
    EXPECT_EQ(
        ErrorToJson(j.status()).dump(),
        Json({{"error", std::string(j.status().message())}, {"status", 400}})
            .dump());
  }
}

TEST(ToxiproxyJson, UpdateMergesAttributesAndKeepsIdentity) {
  auto t = ToxicFromJson(Parse(
      R"({"name":"l","type":"latency","stream":"upstream","toxicity":0.5,)"
      R"("attributes":{"latency":100,"jitter":10}})"));
  ASSERT_TRUE(t.ok());
  v1::Toxic toxic = *t;
  ASSERT_TRUE(UpdateToxicFromJson(
                  Parse(R"({"name":"x","type":"timeout","stream":"downstream",)"
                        R"("attributes":{"latency":300}})"),
                  &toxic)
                  .ok());
  EXPECT_EQ(toxic.name(), "l");
  EXPECT_EQ(toxic.stream(), v1::TOXIC_STREAM_UPSTREAM);
  ASSERT_TRUE(toxic.has_latency());
  EXPECT_EQ(Millis(toxic.latency().latency()), 300);
  EXPECT_EQ(Millis(toxic.latency().jitter()), 10);
  EXPECT_DOUBLE_EQ(toxic.toxicity(), 0.5);

  ASSERT_TRUE(UpdateToxicFromJson(Parse(R"({"toxicity":1})"), &toxic).ok());
  EXPECT_DOUBLE_EQ(toxic.toxicity(), 1.0);
  EXPECT_EQ(Millis(toxic.latency().latency()), 300);

  // A bad attribute leaves the toxic as it was.
  const v1::Toxic before = toxic;
  EXPECT_FALSE(
      UpdateToxicFromJson(Parse(R"({"toxicity":0,"attributes":{"jitter":-1}})"),
                          &toxic)
          .ok());
  EXPECT_EQ(toxic.SerializeAsString(), before.SerializeAsString());
}

TEST(ToxiproxyJson, ProxyShowsBoundAddressWhileEnabled) {
  v1::Proxy p;
  p.set_name("redis");
  p.set_listen("127.0.0.1:0");
  p.set_listen_address("127.0.0.1:26379");
  p.set_upstream("127.0.0.1:6379");
  p.set_enabled(true);
  v1::Toxic* down = p.add_toxics();
  down->set_name("latency_downstream");
  down->mutable_latency()->mutable_latency()->set_seconds(1);
  v1::Toxic* up = p.add_toxics();
  up->set_name("timeout_upstream");
  up->set_stream(v1::TOXIC_STREAM_UPSTREAM);
  up->mutable_timeout();

  const Json j = ProxyToJson(p);
  EXPECT_EQ(j["name"], "redis");
  EXPECT_EQ(j["listen"], "127.0.0.1:26379");
  EXPECT_EQ(j["upstream"], "127.0.0.1:6379");
  EXPECT_EQ(j["enabled"], true);
  ASSERT_EQ(j["toxics"].size(), 2u);
  // toxiproxy lists the upstream toxics first.
  EXPECT_EQ(j["toxics"][0]["name"], "timeout_upstream");
  EXPECT_EQ(j["toxics"][1]["name"], "latency_downstream");
  EXPECT_EQ(j["toxics"][1]["attributes"]["latency"], 1000);

  p.set_enabled(false);
  p.clear_listen_address();
  p.clear_toxics();
  const Json off = ProxyToJson(p);
  EXPECT_EQ(off["listen"], "127.0.0.1:0");
  EXPECT_EQ(off["enabled"], false);
  EXPECT_TRUE(off["toxics"].is_array());
  EXPECT_TRUE(off["toxics"].empty());
}

TEST(ToxiproxyJson, ProxyFields) {
  auto f = ProxyFieldsFromJson(
      Parse(R"({"name":"a","listen":"127.0.0.1:1","upstream":"127.0.0.1:2",)"
            R"("enabled":false,"toxics":[{"x":1}]})"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->name, "a");
  EXPECT_EQ(f->listen, "127.0.0.1:1");
  EXPECT_EQ(f->upstream, "127.0.0.1:2");
  EXPECT_EQ(f->enabled, false);

  auto partial =
      ProxyFieldsFromJson(Parse(R"({"enabled":true,"listen":null})"));
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->name.has_value());
  EXPECT_FALSE(partial->listen.has_value());
  EXPECT_EQ(partial->enabled, true);

  auto bad = ProxyFieldsFromJson(Parse(R"({"enabled":"yes"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "\"enabled\""));
  EXPECT_FALSE(ProxyFieldsFromJson(Parse(R"({"upstream":6379})")).ok());
  EXPECT_FALSE(ProxyFieldsFromJson(Parse("[]")).ok());
}

TEST(ToxiproxyJson, PopulateChecksEveryEntryAndDefaultsEnabled) {
  auto ok = PopulateFromJson(
      Parse(R"([{"name":"a","upstream":"127.0.0.1:1"},)"
            R"({"name":"b","listen":"127.0.0.1:0","upstream":"127.0.0.1:2",)"
            R"("enabled":false}])"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].enabled, true);
  EXPECT_EQ((*ok)[1].enabled, false);

  auto no_name = PopulateFromJson(
      Parse(R"([{"name":"a","upstream":"x:1"},{"name":"","upstream":"x:2"}])"));
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.status().message(),
            "missing required field: name at proxy 2");
  auto no_upstream = PopulateFromJson(Parse(R"([{"name":"a"}])"));
  ASSERT_FALSE(no_upstream.ok());
  EXPECT_EQ(no_upstream.status().message(),
            "missing required field: upstream at proxy 1");
  auto not_array = PopulateFromJson(Parse(R"({"name":"a"})"));
  ASSERT_FALSE(not_array.ok());
  EXPECT_TRUE(
      absl::StartsWith(not_array.status().message(), "bad request body: "));
  auto bad_entry =
      PopulateFromJson(Parse(R"([{"name":"a","upstream":"x:1"},7])"));
  ASSERT_FALSE(bad_entry.ok());
  EXPECT_TRUE(absl::StrContains(bad_entry.status().message(), "proxy 2"));
}

TEST(ToxiproxyJson, HttpStatusFollowsGrpcsMapping) {
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatus(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(ErrorToJson(absl::NotFoundError("proxy \"x\" not found")).dump(),
            R"({"error":"proxy \"x\" not found","status":404})");
}

}  // namespace
}  // namespace tcpemu::server::toxiproxy
