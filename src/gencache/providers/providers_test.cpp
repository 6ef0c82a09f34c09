#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "absl/status/status.h"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::providers {
namespace {

namespace json = boost::json;
using Phase = UpstreamState::Phase;

const http::HeaderList kNoHeaders;

GenerationRequest MustParse(ProviderKind kind, std::string_view path, std::string_view body,
                            const http::HeaderList& headers = kNoHeaders) {
  absl::StatusOr<GenerationRequest> request =
      MakeAdapter(kind)->ParseGeneration(path, body, headers);
  EXPECT_TRUE(request.ok()) << request.status() << " for " << body;
  return request.ok() ? *request : GenerationRequest{};
}

absl::Status ParseError(ProviderKind kind, std::string_view path, std::string_view body) {
  return MakeAdapter(kind)->ParseGeneration(path, body, kNoHeaders).status();
}

std::string Key(const GenerationRequest& request) { return CacheKeyFor(request, "ns").hex; }

TEST(ProviderKindTest, RoundTripsNames) {
  for (ProviderKind kind :
       {ProviderKind::kSkytells, ProviderKind::kReplicate, ProviderKind::kOpenAI}) {
    EXPECT_EQ(ParseProviderKind(ToString(kind)), kind);
    EXPECT_EQ(MakeAdapter(kind)->kind(), kind);
  }
  EXPECT_EQ(ToString(ProviderKind::kOpenAI), "openai");
  EXPECT_EQ(ParseProviderKind("Skytells"), std::nullopt);
  EXPECT_EQ(ParseProviderKind(""), std::nullopt);
}

TEST(SkytellsTest, ParsesModelPromptSeedAndInput) {
  GenerationRequest r = MustParse(ProviderKind::kSkytells, "predict",
                                  R"({"model":"truefusion-pro","webhook":"https://x/y",
                                      "input":{"seed":42,"prompt":"a cat","width":1024}})");
  EXPECT_EQ(r.kind, ProviderKind::kSkytells);
  EXPECT_EQ(r.route, "predict");
  EXPECT_EQ(r.model, "truefusion-pro");
  EXPECT_EQ(r.prompt, "a cat");
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.canonical_params, R"({"input":{"prompt":"a cat","seed":42,"width":1024}})");
  EXPECT_EQ(r.wait.mode, ClientWait::Mode::kDefault);
  EXPECT_FALSE(r.event_stream);
}

TEST(SkytellsTest, RouteClassFollowsThePath) {
  std::string body = R"({"model":"m","input":{"prompt":"p","seed":1}})";
  GenerationRequest predict = MustParse(ProviderKind::kSkytells, "predict", body);
  GenerationRequest predictions = MustParse(ProviderKind::kSkytells, "predictions", body);
  EXPECT_EQ(predictions.route, "predictions");
  EXPECT_NE(Key(predict), Key(predictions));
}

TEST(SkytellsTest, DeliveryFieldsDoNotChangeTheKey) {
  std::string plain = Key(MustParse(ProviderKind::kSkytells, "predict",
                                    R"({"model":"m","input":{"prompt":"p","seed":1}})"));
  for (const char* body : {
           R"({"model":"m","input":{"prompt":"p","seed":1},"webhook":"https://hook"})",
           R"({"model":"m","input":{"prompt":"p","seed":1},"await":true,"stream":true})",
           R"({"model":"m","input":{"prompt":"p","seed":1},"webhook_events_filter":["completed"]})",
           R"({"metadata":{"user":"u1"},"input":{"seed":1.0,"prompt":"p"},"model":"m"})",
       }) {
    EXPECT_EQ(Key(MustParse(ProviderKind::kSkytells, "predict", body)), plain) << body;
  }
}

TEST(SkytellsTest, EveryInputFieldChangesTheKey) {
  std::string plain = Key(MustParse(ProviderKind::kSkytells, "predict",
                                    R"({"model":"m","input":{"prompt":"p","seed":1}})"));
  for (const char* body : {
           R"({"model":"m","input":{"prompt":"p","seed":1,"vendor_specific_knob":0.3}})",
           R"({"model":"m","input":{"prompt":"p","seed":2}})",
           R"({"model":"m2","input":{"prompt":"p","seed":1}})",
       }) {
    EXPECT_NE(Key(MustParse(ProviderKind::kSkytells, "predict", body)), plain) << body;
  }
}

TEST(SkytellsTest, AwaitTrueAsksToWait) {
  EXPECT_EQ(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","await":true})").wait.mode,
      ClientWait::Mode::kWait);
  EXPECT_EQ(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","await":false})").wait.mode,
      ClientWait::Mode::kDefault);
  EXPECT_EQ(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","await":"yes"})").wait.mode,
      ClientWait::Mode::kDefault);
}

TEST(SkytellsTest, MissingInputIsEmptyInput) {
  EXPECT_EQ(MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m"})").canonical_params,
            R"({"input":{}})");
}

TEST(SkytellsTest, RejectsInvalidBodies) {
  for (const char* body : {"", "{", "not json", "[1,2]", "\"s\"", "null", R"({"input":{}})",
                           R"({"model":7})", R"({"model":""})", R"({"model":null})",
                           R"({"model":"a\nb"})", R"({"model":"m","input":"prompt"})",
                           R"({"model":"m","input":[]})", "{\"model\":\"\xff\"}"}) {
    absl::Status status = ParseError(ProviderKind::kSkytells, "predict", body);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_FALSE(status.message().empty());
  }
  EXPECT_EQ(ParseError(ProviderKind::kSkytells, "predict", R"({"input":{}})").message(),
            "`model` is required");
}

TEST(SkytellsTest, RejectsExcessiveNesting) {
  std::string deep =
      R"({"model":"m","input":{"x":)" + std::string(100, '[') + std::string(100, ']') + "}}";
  EXPECT_EQ(ParseError(ProviderKind::kSkytells, "predict", deep).code(),
            absl::StatusCode::kInvalidArgument);
}

struct SeedCase {
  const char* seed_json;
  bool seeded;
};

TEST(SeedTest, OnlyNonNegativeIntegersAreSeeds) {
  for (SeedCase c : std::initializer_list<SeedCase>{{"0", true},
                                                    {"7", true},
                                                    {"7.0", true},
                                                    {"7e0", true},
                                                    {"18446744073709551615", true},
                                                    {"-1", false},
                                                    {"-7.0", false},
                                                    {"1.5", false},
                                                    {"null", false},
                                                    {"\"7\"", false},
                                                    {"true", false},
                                                    {"[7]", false},
                                                    {"1e400", false}}) {
    std::string skytells = fmt::format(R"({{"model":"m","input":{{"seed":{}}}}})", c.seed_json);
    EXPECT_EQ(MustParse(ProviderKind::kSkytells, "predict", skytells).seeded, c.seeded)
        << c.seed_json;
    std::string replicate = fmt::format(R"({{"version":"v","input":{{"seed":{}}}}})", c.seed_json);
    EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", replicate).seeded, c.seeded)
        << c.seed_json;
    std::string openai = fmt::format(R"({{"prompt":"p","seed":{}}})", c.seed_json);
    EXPECT_EQ(MustParse(ProviderKind::kOpenAI, "images/generations", openai).seeded, c.seeded)
        << c.seed_json;
  }
  EXPECT_FALSE(MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","input":{}})").seeded);
  // A top-level seed is not Skytells' seed.
  EXPECT_FALSE(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","seed":1,"input":{}})").seeded);
}

TEST(PromptTest, OnlyStringPromptsCount) {
  EXPECT_EQ(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","input":{"prompt":5}})").prompt,
      "");
  EXPECT_EQ(MustParse(ProviderKind::kOpenAI, "images/generations", R"({"prompt":"x y"})").prompt,
            "x y");
}

TEST(ReplicateTest, BothCreateRoutesGiveOneKey) {
  GenerationRequest by_body =
      MustParse(ProviderKind::kReplicate, "predictions",
                R"({"model":"owner/name","input":{"prompt":"p","seed":3}})");
  GenerationRequest by_path = MustParse(ProviderKind::kReplicate, "models/owner/name/predictions",
                                        R"({"input":{"seed":3,"prompt":"p"}})");
  EXPECT_EQ(by_body.model, "owner/name");
  EXPECT_EQ(by_path.model, "owner/name");
  EXPECT_EQ(by_body.route, "predictions");
  EXPECT_EQ(by_path.route, "predictions");
  EXPECT_EQ(by_body.canonical_params, by_path.canonical_params);
  EXPECT_EQ(Key(by_body), Key(by_path));
  EXPECT_NE(Key(by_path), Key(MustParse(ProviderKind::kReplicate, "models/owner/other/predictions",
                                        R"({"input":{"seed":3,"prompt":"p"}})")));
}

TEST(ReplicateTest, VersionSelectsTheModel) {
  EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"abc123"})").model,
            "version:abc123");
  EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"o/n:abc123"})").model,
            "version:abc123");
  EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"o/n"})").model,
            "o/n");
  EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", R"({"model":"o/n","version":"abc"})")
                .model,
            "version:abc");
  EXPECT_EQ(
      MustParse(ProviderKind::kReplicate, "models/o/n/predictions", R"({"version":"abc"})").model,
      "o/n");
}

TEST(ReplicateTest, DeliveryFieldsDoNotChangeTheKey) {
  std::string plain = Key(
      MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"v","input":{"seed":1}})"));
  EXPECT_EQ(Key(MustParse(ProviderKind::kReplicate, "predictions",
                          R"({"version":"v","input":{"seed":1},"webhook":"https://h",
                              "webhook_events_filter":["start"],"stream":true})")),
            plain);
}

TEST(ReplicateTest, RejectsInvalidBodies) {
  for (const char* body : {"{}", R"({"input":{}})", R"({"version":5})", R"({"model":["o/n"]})",
                           R"({"version":"o/n:"})", R"({"version":"v","input":7})", "[]", "{,}"}) {
    EXPECT_EQ(ParseError(ProviderKind::kReplicate, "predictions", body).code(),
              absl::StatusCode::kInvalidArgument)
        << body;
  }
  // The models/ route names the model in its path.
  EXPECT_TRUE(MakeAdapter(ProviderKind::kReplicate)
                  ->ParseGeneration("models/o/n/predictions", "{}", kNoHeaders)
                  .ok());
}

ClientWait WaitFor(std::string_view prefer) {
  http::HeaderList headers = {{"Content-Type", "application/json"},
                              {"prefer", std::string(prefer)}};
  return MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"v"})", headers).wait;
}

TEST(ReplicateTest, PreferHeaderAsksToWait) {
  EXPECT_EQ(MustParse(ProviderKind::kReplicate, "predictions", R"({"version":"v"})").wait.mode,
            ClientWait::Mode::kDefault);
  EXPECT_EQ(WaitFor("wait").mode, ClientWait::Mode::kWait);
  EXPECT_EQ(WaitFor("wait").max, std::nullopt);
  EXPECT_EQ(WaitFor("wait=5").max, std::chrono::seconds(5));
  EXPECT_EQ(WaitFor("respond-async, Wait = 30 ").max, std::chrono::seconds(30));
  EXPECT_EQ(WaitFor("wait=60; foo=bar").max, std::chrono::seconds(60));
  EXPECT_EQ(WaitFor("wait=abc").mode, ClientWait::Mode::kWait);
  EXPECT_EQ(WaitFor("wait=abc").max, std::nullopt);
  EXPECT_EQ(WaitFor("wait=-3").max, std::nullopt);
  EXPECT_EQ(WaitFor("respond-async").mode, ClientWait::Mode::kDefault);
  EXPECT_EQ(WaitFor("waiting=5").mode, ClientWait::Mode::kDefault);
}

TEST(OpenAITest, ParsesParamsAndDefaultsTheModel) {
  GenerationRequest r = MustParse(ProviderKind::kOpenAI, "images/generations",
                                  R"({"prompt":"a cat","n":1,"size":"1024x1024","user":"u-1",
                                      "quality":"hd","seed":9})");
  EXPECT_EQ(r.route, "images/generations");
  EXPECT_EQ(r.model, "dall-e-2");
  EXPECT_EQ(r.prompt, "a cat");
  EXPECT_TRUE(r.seeded);
  EXPECT_EQ(r.canonical_params,
            R"({"params":{"n":1,"prompt":"a cat","quality":"hd","seed":9,"size":"1024x1024"}})");
  EXPECT_EQ(r.wait.mode, ClientWait::Mode::kDefault);
}

TEST(OpenAITest, ModelAndExcludedFieldsStayOutOfParams) {
  GenerationRequest plain = MustParse(ProviderKind::kOpenAI, "images/generations",
                                      R"({"model":"dall-e-2","prompt":"p"})");
  GenerationRequest noisy =
      MustParse(ProviderKind::kOpenAI, "images/generations",
                R"({"prompt":"p","user":"u","stream":false,"partial_images":2})");
  EXPECT_EQ(plain.canonical_params, R"({"params":{"prompt":"p"}})");
  EXPECT_EQ(Key(plain), Key(noisy));
  EXPECT_NE(Key(plain), Key(MustParse(ProviderKind::kOpenAI, "images/generations",
                                      R"({"model":"gpt-image-1","prompt":"p"})")));
  EXPECT_NE(Key(plain), Key(MustParse(ProviderKind::kOpenAI, "images/generations",
                                      R"({"prompt":"p","response_format":"b64_json"})")));
}

TEST(OpenAITest, StreamIsFlagged) {
  EXPECT_TRUE(
      MustParse(ProviderKind::kOpenAI, "images/generations", R"({"prompt":"p","stream":true})")
          .event_stream);
  EXPECT_FALSE(
      MustParse(ProviderKind::kOpenAI, "images/generations", R"({"prompt":"p"})").event_stream);
}

TEST(OpenAITest, RejectsInvalidBodies) {
  for (const char* body :
       {"", "[]", R"({"model":1})", R"({"model":null})", "{\"prompt\":\"p\"} x"}) {
    EXPECT_EQ(ParseError(ProviderKind::kOpenAI, "images/generations", body).code(),
              absl::StatusCode::kInvalidArgument)
        << body;
  }
}

TEST(ParseGenerationTest, RejectsNonGenerationPaths) {
  EXPECT_FALSE(
      MakeAdapter(ProviderKind::kSkytells)->ParseGeneration("models", "{}", kNoHeaders).ok());
  EXPECT_FALSE(MakeAdapter(ProviderKind::kReplicate)
                   ->ParseGeneration("models/o/predictions", "{}", kNoHeaders)
                   .ok());
  EXPECT_FALSE(MakeAdapter(ProviderKind::kOpenAI)
                   ->ParseGeneration("chat/completions", "{}", kNoHeaders)
                   .ok());
}

struct RouteCase {
  ProviderKind kind;
  const char* method;
  const char* path;
  bool generation;
};

TEST(RouteTest, MatchesGenerationRoutesExactly) {
  for (RouteCase c : std::initializer_list<RouteCase>{
           {ProviderKind::kSkytells, "POST", "predict", true},
           {ProviderKind::kSkytells, "POST", "predictions", true},
           {ProviderKind::kSkytells, "GET", "predictions", false},
           {ProviderKind::kSkytells, "POST", "predictions/abc/cancel", false},
           {ProviderKind::kSkytells, "POST", "predict/", false},
           {ProviderKind::kSkytells, "post", "predict", false},
           {ProviderKind::kReplicate, "POST", "predictions", true},
           {ProviderKind::kReplicate, "POST", "models/o/n/predictions", true},
           {ProviderKind::kReplicate, "POST", "models/o//predictions", false},
           {ProviderKind::kReplicate, "POST", "models//n/predictions", false},
           {ProviderKind::kReplicate, "POST", "models/o/n/x/predictions", false},
           {ProviderKind::kReplicate, "POST", "models/o/predictions", false},
           {ProviderKind::kReplicate, "POST", "models/predictions", false},
           {ProviderKind::kReplicate, "POST", "models/o/n/predictions/", false},
           {ProviderKind::kReplicate, "GET", "models/o/n/predictions", false},
           {ProviderKind::kReplicate, "POST", "predict", false},
           {ProviderKind::kOpenAI, "POST", "images/generations", true},
           {ProviderKind::kOpenAI, "POST", "images/generations/x", false},
           {ProviderKind::kOpenAI, "POST", "chat/completions", false},
           {ProviderKind::kOpenAI, "GET", "images/generations", false},
       }) {
    EXPECT_EQ(MakeAdapter(c.kind)->IsGenerationRoute(c.method, c.path), c.generation)
        << ToString(c.kind) << " " << c.method << " " << c.path;
  }
}

TEST(PredictionPathTest, ExtractsIdsAndBuildsPollPaths) {
  for (ProviderKind kind : {ProviderKind::kSkytells, ProviderKind::kReplicate}) {
    auto adapter = MakeAdapter(kind);
    EXPECT_EQ(adapter->PredictionIdFromPath("GET", "predictions/abc-123_x"), "abc-123_x");
    EXPECT_EQ(adapter->PredictionIdFromPath("POST", "predictions/abc"), std::nullopt);
    EXPECT_EQ(adapter->PredictionIdFromPath("GET", "predictions/"), std::nullopt);
    EXPECT_EQ(adapter->PredictionIdFromPath("GET", "predictions/abc/cancel"), std::nullopt);
    EXPECT_EQ(adapter->PredictionIdFromPath("GET", "predictions/.."), std::nullopt);
    EXPECT_EQ(adapter->PredictionIdFromPath("GET", "models"), std::nullopt);
    UpstreamState state;
    state.id = "abc123";
    EXPECT_EQ(adapter->PollPath(state), "predictions/abc123");
    state.id = "../a?b";
    EXPECT_EQ(adapter->PollPath(state), "predictions/%2E%2E%2Fa%3Fb");
  }
  EXPECT_EQ(MakeAdapter(ProviderKind::kOpenAI)->PredictionIdFromPath("GET", "predictions/abc"),
            std::nullopt);
}

struct InspectCase {
  ProviderKind kind;
  int http_status;
  const char* body;
  Phase phase;
};

TEST(InspectTest, ReadsPhases) {
  for (InspectCase c : std::initializer_list<InspectCase>{
           {ProviderKind::kSkytells, 201, R"({"id":"p1","status":"pending"})", Phase::kPending},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"starting"})", Phase::kPending},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"started"})", Phase::kPending},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"processing"})", Phase::kPending},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"succeeded","output":["u"]})",
            Phase::kSucceeded},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"failed"})", Phase::kFailed},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"cancelled"})", Phase::kFailed},
           {ProviderKind::kSkytells, 200, R"({"id":"p1","status":"mystery"})", Phase::kFailed},
           {ProviderKind::kSkytells, 500, R"({"id":"p1","status":"succeeded"})", Phase::kFailed},
           {ProviderKind::kSkytells, 400, R"({"status":false,"error":{"message":"m"}})",
            Phase::kFailed},
           {ProviderKind::kSkytells, 200, "<html>", Phase::kFailed},
           {ProviderKind::kSkytells, 200, "[]", Phase::kFailed},
           {ProviderKind::kReplicate, 201, R"({"id":"r1","status":"starting"})", Phase::kPending},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"processing"})", Phase::kPending},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"succeeded"})",
            Phase::kSucceeded},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"failed"})", Phase::kFailed},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"canceled"})", Phase::kFailed},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"cancelled"})", Phase::kFailed},
           {ProviderKind::kReplicate, 200, R"({"id":"r1","status":"pending"})", Phase::kFailed},
           {ProviderKind::kReplicate, 200, "", Phase::kFailed},
           {ProviderKind::kOpenAI, 200, R"({"created":1,"data":[{"url":"u"}]})", Phase::kSucceeded},
           {ProviderKind::kOpenAI, 200, R"({"created":1})", Phase::kFailed},
           {ProviderKind::kOpenAI, 200, R"({"data":{}})", Phase::kFailed},
           {ProviderKind::kOpenAI, 400, R"({"data":[]})", Phase::kFailed},
           {ProviderKind::kOpenAI, 200, "oops", Phase::kFailed},
       }) {
    EXPECT_EQ(MakeAdapter(c.kind)->Inspect(c.http_status, c.body).phase, c.phase)
        << ToString(c.kind) << " " << c.http_status << " " << c.body;
  }
}

TEST(InspectTest, ReadsIdAndStatus) {
  UpstreamState state =
      MakeAdapter(ProviderKind::kReplicate)->Inspect(201, R"({"id":"r1","status":"starting"})");
  EXPECT_EQ(state.id, "r1");
  EXPECT_EQ(state.status, "starting");
  EXPECT_EQ(MakeAdapter(ProviderKind::kOpenAI)->Inspect(200, R"({"data":[]})").id, "");
}

TEST(PendingBodyTest, ReplicateReportsStartingAndKeepsTheRest) {
  auto adapter = MakeAdapter(ProviderKind::kReplicate);
  json::value body = json::parse(adapter->PendingBodyForClient(
      R"({"id":"r1","status":"processing","urls":{"get":"https://g"},"input":{"seed":1}})"));
  EXPECT_EQ(body, json::parse(R"({"id":"r1","status":"starting","urls":{"get":"https://g"},
                                  "input":{"seed":1}})"));
  EXPECT_EQ(adapter->PendingBodyForClient("not json"), "not json");
}

TEST(PendingBodyTest, OtherProvidersKeepTheBody) {
  std::string body = R"({"id":"p1","status":"processing"})";
  EXPECT_EQ(MakeAdapter(ProviderKind::kSkytells)->PendingBodyForClient(body), body);
  EXPECT_EQ(MakeAdapter(ProviderKind::kOpenAI)->PendingBodyForClient(body), body);
}

const ClientError kError{.http_status = 400,
                         .code = "invalid_json",
                         .type = "invalid_request_error",
                         .message = "request body is not \"JSON\""};

TEST(ErrorBodyTest, SkytellsShape) {
  json::value body = json::parse(MakeAdapter(ProviderKind::kSkytells)->ErrorBody(kError));
  EXPECT_EQ(body, json::parse(R"({"status":false,"error":{"message":"request body is not \"JSON\"",
      "error_id":"INVALID_JSON","details":"invalid_request_error","http_status":400}})"));
}

TEST(ErrorBodyTest, ReplicateShape) {
  json::value body = json::parse(MakeAdapter(ProviderKind::kReplicate)->ErrorBody(kError));
  EXPECT_EQ(
      body,
      json::parse(
          R"({"title":"invalid_json","detail":"request body is not \"JSON\"","status":400,"type":"invalid_request_error"})"));
}

TEST(ErrorBodyTest, OpenAIShape) {
  json::value body = json::parse(MakeAdapter(ProviderKind::kOpenAI)->ErrorBody(kError));
  EXPECT_EQ(body, json::parse(R"({"error":{"message":"request body is not \"JSON\"",
      "type":"invalid_request_error","code":"invalid_json","param":null}})"));
}

TEST(CredentialHeaderTest, UsesEachProvidersHeader) {
  using Header = std::pair<std::string, std::string>;
  EXPECT_EQ(MakeAdapter(ProviderKind::kSkytells)->CredentialHeader("s3cr3t"),
            Header("x-api-key", "s3cr3t"));
  EXPECT_EQ(MakeAdapter(ProviderKind::kReplicate)->CredentialHeader("s3cr3t"),
            Header("Authorization", "Bearer s3cr3t"));
  EXPECT_EQ(MakeAdapter(ProviderKind::kOpenAI)->CredentialHeader("s3cr3t"),
            Header("Authorization", "Bearer s3cr3t"));
}

TEST(CacheKeyForTest, SeparatesNamespacesAndProviders) {
  std::string body = R"({"model":"o/n","input":{"seed":1}})";
  GenerationRequest skytells = MustParse(ProviderKind::kSkytells, "predictions", body);
  GenerationRequest replicate = MustParse(ProviderKind::kReplicate, "predictions", body);
  EXPECT_EQ(CacheKeyFor(skytells, "a"), CacheKeyFor(skytells, "a"));
  EXPECT_NE(CacheKeyFor(skytells, "a"), CacheKeyFor(skytells, "b"));
  // Same route, model and params: only the provider kind tells them apart.
  ASSERT_EQ(skytells.canonical_params, replicate.canonical_params);
  ASSERT_EQ(skytells.model, replicate.model);
  EXPECT_NE(Key(skytells), Key(replicate));
}

}  // namespace
}  // namespace gencache::providers

namespace gencache::providers {
namespace {

TEST(ErrorBodyTest, ExtraFieldsJoinTheErrorObject) {
  ClientError error{.http_status = 429,
                    .code = "budget_exceeded",
                    .type = "budget_exceeded",
                    .message = "Daily budget exceeded ($1.00 / $1.00)."};
  error.text_fields = {{"scope", "daily"}};
  error.number_fields = {{"limit_usd", 1.0}};
  auto sky = boost::json::parse(MakeAdapter(ProviderKind::kSkytells)->ErrorBody(error));
  EXPECT_EQ(sky.at("error").at("scope"), "daily");
  EXPECT_EQ(sky.at("error").at("limit_usd"), 1.0);
  auto openai = boost::json::parse(MakeAdapter(ProviderKind::kOpenAI)->ErrorBody(error));
  EXPECT_EQ(openai.at("error").at("type"), "budget_exceeded");
  EXPECT_EQ(openai.at("error").at("scope"), "daily");
  auto replicate = boost::json::parse(MakeAdapter(ProviderKind::kReplicate)->ErrorBody(error));
  EXPECT_EQ(replicate.at("type"), "budget_exceeded");
  EXPECT_EQ(replicate.at("limit_usd"), 1.0);
}

TEST(PricingInputs, CountsAndDurations) {
  auto replicate = MakeAdapter(ProviderKind::kReplicate);
  auto r = replicate->ParseGeneration(
      "predictions", R"({"version":"v","input":{"num_outputs":4,"duration":2.5}})", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output_count, 4);
  EXPECT_EQ(r->duration_seconds, 2.5);
  auto absurd = replicate->ParseGeneration(
      "predictions", R"({"version":"v","input":{"num_outputs":-3,"duration":"long"}})", {});
  EXPECT_EQ(absurd->output_count, 1);
  EXPECT_FALSE(absurd->duration_seconds.has_value());
  auto openai = MakeAdapter(ProviderKind::kOpenAI)
                    ->ParseGeneration("images/generations", R"({"prompt":"p","n":3})", {});
  EXPECT_EQ(openai->output_count, 3);
}

TEST(InspectTest, ReadsSkytellsCredits) {
  auto state = MakeAdapter(ProviderKind::kSkytells)->Inspect(200, R"({"id":"p","status":"succeeded",
                                    "metadata":{"billing":{"credits_used":2.5}}})");
  EXPECT_EQ(state.credits_used, 2.5);
}

}  // namespace
}  // namespace gencache::providers

namespace gencache::providers {
namespace {

TEST(PromptPartitionTest, RequestsDifferingOnlyInThePromptShareAPartition) {
  auto a = MustParse(ProviderKind::kSkytells, "predict",
                     R"({"model":"m","input":{"prompt":"a red fox","seed":1,"width":512}})");
  auto b = MustParse(ProviderKind::kSkytells, "predict",
                     R"({"model":"m","input":{"width":512,"seed":1,"prompt":"red fox in snow"}})");
  auto other_seed =
      MustParse(ProviderKind::kSkytells, "predict",
                R"({"model":"m","input":{"prompt":"a red fox","seed":2,"width":512}})");
  auto pa = PromptPartitionFor(a, "ns");
  ASSERT_TRUE(pa.has_value());
  EXPECT_EQ(pa, PromptPartitionFor(b, "ns"));
  EXPECT_NE(pa, PromptPartitionFor(other_seed, "ns"));
  EXPECT_NE(pa, PromptPartitionFor(a, "other-namespace"));
  EXPECT_NE(pa->hex, CacheKeyFor(a, "ns").hex);
  EXPECT_NE(CacheKeyFor(a, "ns"), CacheKeyFor(b, "ns"));

  auto openai_a = MustParse(ProviderKind::kOpenAI, "images/generations",
                            R"({"prompt":"a cat","size":"1024x1024","seed":3})");
  auto openai_b = MustParse(ProviderKind::kOpenAI, "images/generations",
                            R"({"prompt":"one cat","size":"1024x1024","seed":3})");
  auto openai_big = MustParse(ProviderKind::kOpenAI, "images/generations",
                              R"({"prompt":"a cat","size":"1792x1024","seed":3})");
  EXPECT_EQ(PromptPartitionFor(openai_a, "ns"), PromptPartitionFor(openai_b, "ns"));
  EXPECT_NE(PromptPartitionFor(openai_a, "ns"), PromptPartitionFor(openai_big, "ns"));
}

TEST(PromptPartitionTest, NoStringPromptNoPartition) {
  EXPECT_FALSE(PromptPartitionFor(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","input":{"seed":1}})"), "ns"));
  EXPECT_FALSE(PromptPartitionFor(
      MustParse(ProviderKind::kSkytells, "predict", R"({"model":"m","input":{"prompt":5}})"),
      "ns"));
}

}  // namespace
}  // namespace gencache::providers
