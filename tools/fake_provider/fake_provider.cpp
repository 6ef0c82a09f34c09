#include "fake_provider/fake_provider.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/escaping.h"
#include "gencache/base/sha256.hpp"
#include "gencache/base/strings.hpp"
#include "gencache/http/error_mapping.hpp"

namespace gencache::fake_provider {
namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
// Outputs up to this size are generated per request; a larger one is kept
// (the last one only) so repeated downloads share it.
constexpr std::uint64_t kBigBody = 1 << 20;
constexpr std::uint64_t kMaxOutputBytes = std::uint64_t{1} << 30;
constexpr std::size_t kMaxOutputUrls = 16;
// Sync answers wait for the whole latency, however long.
constexpr std::chrono::seconds kNoLimit = std::chrono::hours(24 * 365);

const char* ProviderName(Provider p) {
  switch (p) {
    case Provider::kSkytells:
      return "skytells";
    case Provider::kReplicate:
      return "replicate";
    case Provider::kOpenAi:
      return "openai";
  }
  return "unknown";
}

const char* FailModeName(FailMode m) {
  switch (m) {
    case FailMode::kStatus:
      return "status";
    case FailMode::kPrediction:
      return "prediction";
    case FailMode::kHang:
      return "hang";
  }
  return "status";
}

std::int64_t UnixSeconds(base::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string Iso8601(base::SystemTime t) {
  const std::int64_t total_ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::int64_t secs = total_ms / 1000;
  std::int64_t millis = total_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const auto as_time_t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&as_time_t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

double Seconds(base::SystemTime::duration d) { return std::chrono::duration<double>(d).count(); }

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  if (s.size() > prefix.size() && s[prefix.size()] != '/') return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t end = path.find('/');
    parts.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return parts;
}

http::Response JsonResponse(int status, const json::value& body) {
  http::Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = json::serialize(body);
  return response;
}

http::Response ProviderError(Provider provider, int status, std::string_view message) {
  switch (provider) {
    case Provider::kSkytells: {
      const char* error_id = status == 401   ? "UNAUTHORIZED"
                             : status == 404 ? "NOT_FOUND"
                             : status == 429 ? "RATE_LIMIT_EXCEEDED"
                             : status < 500  ? "VALIDATION_ERROR"
                                             : "INTERNAL_ERROR";
      return JsonResponse(status, json::object{{"status", false},
                                               {"response", message},
                                               {"error",
                                                {{"message", message},
                                                 {"error_id", error_id},
                                                 {"details", message},
                                                 {"http_status", status}}}});
    }
    case Provider::kReplicate: {
      const char* title = status == 401   ? "Unauthenticated"
                          : status == 404 ? "Not found"
                          : status == 422 ? "Input validation failed"
                          : status == 429 ? "Too many requests"
                          : status < 500  ? "Bad request"
                                          : "Internal server error";
      return JsonResponse(status,
                          json::object{{"title", title}, {"detail", message}, {"status", status}});
    }
    case Provider::kOpenAi: {
      const char* type = status == 429  ? "requests"
                         : status < 500 ? "invalid_request_error"
                                        : "server_error";
      json::value code = nullptr;
      if (status == 401) code = "invalid_api_key";
      if (status == 429) code = "rate_limit_exceeded";
      return JsonResponse(
          status,
          json::object{
              {"error",
               {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
    }
  }
  return JsonResponse(status, json::object{{"error", message}});
}

bool Authorized(Provider provider, const http::Request& request) {
  if (provider == Provider::kSkytells) {
    auto key = request.Header("x-api-key");
    return key && !base::TrimWhitespace(*key).empty();
  }
  auto auth = request.Header("authorization");
  if (!auth) return false;
  std::string_view value = base::TrimWhitespace(*auth);
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() ||
      !base::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  return !base::TrimWhitespace(value.substr(kBearer.size())).empty();
}

std::optional<json::object> ParseObject(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::optional<std::string> StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

// An integer field, also when a client wrote it as an integral double.
std::optional<std::int64_t> IntField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  if (v->is_double()) {
    const double d = v->as_double();
    if (d >= -9e15 && d <= 9e15 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

// A seed makes the output reproducible; negative seeds mean "random" by
// common convention.
std::optional<std::uint64_t> SeedField(const json::object& o) {
  const json::value* v = o.if_contains("seed");
  if (v != nullptr && v->is_uint64()) return v->as_uint64();
  auto seed = IntField(o, "seed");
  if (!seed || *seed < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*seed);
}

int NumOutputs(const json::object& input, std::string_view key, int max) {
  auto n = IntField(input, key);
  if (!n) return 1;
  return static_cast<int>(std::clamp<std::int64_t>(*n, 1, max));
}

// `Prefer: wait` or `Prefer: wait=N` (RFC 7240); nullopt when absent.
std::optional<std::chrono::seconds> PreferWait(const http::Request& request,
                                               std::chrono::seconds max) {
  auto prefer = request.Header("prefer");
  if (!prefer) return std::nullopt;
  std::string_view rest = *prefer;
  while (!rest.empty()) {
    const std::size_t end = rest.find_first_of(",;");
    std::string_view token = base::TrimWhitespace(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (token == "wait") return max;
    if (token.substr(0, 5) == "wait=") {
      std::int64_t n = 0;
      for (char c : token.substr(5)) {
        if (c < '0' || c > '9') return max;
        n = std::min<std::int64_t>(n * 10 + (c - '0'), max.count());
      }
      return std::chrono::seconds(std::clamp<std::int64_t>(n, 1, max.count()));
    }
  }
  return std::nullopt;
}

double PriceUsd(std::string_view model) {
  struct Price {
    std::string_view model;
    double usd;
  };
  static constexpr Price kPrices[] = {{"truefusion-edge", 0.01},     {"truefusion", 0.02},
                                      {"truefusion-pro", 0.04},      {"truefusion-2.0", 0.06},
                                      {"truefusion-ultra", 0.08},    {"beatfusion-2.0", 0.75},
                                      {"truefusion-video-pro", 1.50}};
  for (const Price& p : kPrices) {
    if (p.model == model) return p.usd;
  }
  return 0.04;
}

const char* ModelType(std::string_view model) {
  if (model.find("video") != std::string_view::npos) return "video";
  if (model.find("beat") != std::string_view::npos) return "audio";
  return "image";
}

json::value ParseInput(const std::string& input_json) {
  boost::system::error_code ec;
  json::value v = json::parse(input_json, ec);
  return ec ? json::value(json::object()) : v;
}

std::string_view StatusName(Provider provider, int phase) {
  // phase: 0 starting, 1 processing, 2 succeeded, 3 failed, 4 canceled
  static constexpr std::string_view kSkytells[] = {"pending", "processing", "succeeded", "failed",
                                                   "cancelled"};
  static constexpr std::string_view kReplicate[] = {"starting", "processing", "succeeded", "failed",
                                                    "canceled"};
  return provider == Provider::kSkytells ? kSkytells[phase] : kReplicate[phase];
}

// An error in the shape of the provider the target belongs to.
http::Response TargetError(std::string_view target, int status, const std::string& message) {
  std::string_view path = target;
  if (ConsumePrefix(path, "/skytells/v1"))
    return ProviderError(Provider::kSkytells, status, message);
  if (ConsumePrefix(path, "/replicate/v1")) {
    return ProviderError(Provider::kReplicate, status, message);
  }
  if (ConsumePrefix(path, "/openai/v1")) return ProviderError(Provider::kOpenAi, status, message);
  return JsonResponse(status, json::object{{"error", message}});
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string OutputBytes(std::string_view content_key, std::uint64_t size) {
  std::string bytes(size, '\0');
  const std::size_t head = std::min<std::size_t>(size, kPngSignature.size());
  std::memcpy(bytes.data(), kPngSignature.data(), head);
  // SHA-256 of "<content_key>\n<block>": the prefix is hashed once and its
  // state copied per block (200 MB take about a second).
  EVP_MD_CTX* prefix = EVP_MD_CTX_new();
  EVP_MD_CTX* block_ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(prefix, EVP_sha256(), nullptr);
  EVP_DigestUpdate(prefix, content_key.data(), content_key.size());
  EVP_DigestUpdate(prefix, "\n", 1);
  unsigned char digest[EVP_MAX_MD_SIZE];
  std::size_t pos = head;
  for (std::uint64_t block = 0; pos < size; ++block) {
    const std::string number = fmt::format("{}", block);
    EVP_MD_CTX_copy_ex(block_ctx, prefix);
    EVP_DigestUpdate(block_ctx, number.data(), number.size());
    unsigned int len = 0;
    EVP_DigestFinal_ex(block_ctx, digest, &len);
    const std::size_t n = std::min<std::size_t>(len, size - pos);
    std::memcpy(bytes.data() + pos, digest, n);
    pos += n;
  }
  EVP_MD_CTX_free(block_ctx);
  EVP_MD_CTX_free(prefix);
  return bytes;
}

FakeProvider::FakeProvider(FakeProviderOptions options, const base::Clock& clock)
    : clock_(clock),
      max_wait_(options.max_wait),
      config_{options.latency,
              options.async,
              std::max(1, options.async_steps),
              options.url_ttl,
              /*fail_next=*/0,
              /*fail_status=*/500,
              FailMode::kStatus,
              std::clamp<std::uint64_t>(options.output_bytes, 1, kMaxOutputBytes),
              /*output_urls=*/{}},
      public_host_(std::move(options.public_host)),
      public_port_(options.public_port),
      rng_(std::random_device{}()) {}

FakeProvider::~FakeProvider() { ReleaseHung(); }

void FakeProvider::SetPublicPort(std::uint16_t port) {
  absl::MutexLock lock(&mu_);
  public_port_ = port;
}

void FakeProvider::Drain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  ReleaseHung();
  delays_.Stop();
}

FakeStats FakeProvider::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

http::Response FakeProvider::Reject(std::string_view target, const absl::Status& error) {
  return TargetError(target, http::RequestErrorStatus(error), std::string(error.message()));
}

void FakeProvider::Handle(http::Request request, http::Respond respond) {
  bool draining = false;
  {
    absl::MutexLock lock(&mu_);
    draining = draining_;
  }
  if (draining) {
    return respond(TargetError(request.path, 503, "The fake provider is stopping"));
  }
  std::string_view path = request.path;
  if (ConsumePrefix(path, "/skytells/v1")) return HandleSkytells(path, request, respond);
  if (ConsumePrefix(path, "/replicate/v1")) return HandleReplicate(path, request, respond);
  if (ConsumePrefix(path, "/openai/v1")) return HandleOpenAi(path, request, respond);
  if (ConsumePrefix(path, "/files")) return HandleFile(path, request, respond);
  if (ConsumePrefix(path, "/_fake")) return HandleControl(path, request, respond);
  if (path == "/redirect") return HandleRedirect(request, respond);
  respond(JsonResponse(404, json::object{{"error", fmt::format("no route for {} {}", request.method,
                                                               request.path)}}));
}

void FakeProvider::HandleSkytells(std::string_view rest, http::Request& request,
                                  http::Respond& respond) {
  constexpr Provider kP = Provider::kSkytells;
  if (!Authorized(kP, request)) {
    return respond(ProviderError(kP, 401, "Missing or invalid API key (x-api-key header)"));
  }
  const std::vector<std::string_view> parts = SplitPath(rest);
  const std::string& method = request.method;
  if (method == "POST" && parts.size() == 1 &&
      (parts[0] == "predict" || parts[0] == "predictions")) {
    auto body = ParseObject(request.body);
    if (!body) return respond(ProviderError(kP, 400, "Request body must be a JSON object"));
    auto model = StringField(*body, "model");
    if (!model || model->empty()) return respond(ProviderError(kP, 400, "model is required"));
    const json::value* input = body->if_contains("input");
    if (input != nullptr && !input->is_object()) {
      return respond(ProviderError(kP, 400, "input must be an object"));
    }
    const json::object empty;
    const json::object& in = input != nullptr ? input->as_object() : empty;
    const json::value* await = body->if_contains("await");
    CreateArgs args{
        .provider = kP,
        .model = *model,
        .version = "",
        .input_json = json::serialize(in),
        .prompt = StringField(in, "prompt").value_or(""),
        .seed = SeedField(in),
        .num_outputs = NumOutputs(in, "num_outputs", 4),
        .hold = await != nullptr && await->is_bool() && await->as_bool(),
        .max_hold = max_wait_,
        .created_status = 200,
    };
    return CreatePrediction(std::move(args), std::move(respond));
  }
  if (parts.size() >= 2 && parts[0] == "predictions") {
    const std::string id(parts[1]);
    if (parts.size() == 2 && method == "GET") return Poll(kP, id, respond);
    if (parts.size() == 3 && parts[2] == "stream" && method == "GET") return Poll(kP, id, respond);
    if (parts.size() == 3 && parts[2] == "cancel" && method == "POST") {
      return Cancel(kP, id, respond);
    }
    if (parts.size() == 3 && parts[2] == "delete" && (method == "DELETE" || method == "POST")) {
      absl::MutexLock lock(&mu_);
      auto it = predictions_.find(id);
      if (it == predictions_.end() || it->second.provider != kP) {
        return respond(ProviderError(kP, 404, fmt::format("Prediction {} not found", id)));
      }
      predictions_.erase(it);
      ++stats_.deletes;
      return respond(JsonResponse(
          200, json::object{{"status", true}, {"id", id}, {"response", "Prediction deleted"}}));
    }
  }
  if (method == "GET" && parts.size() == 1 && parts[0] == "models") {
    json::array models;
    for (std::string_view name :
         {"truefusion-edge", "truefusion", "truefusion-pro", "truefusion-2.0", "truefusion-ultra",
          "beatfusion-2.0", "truefusion-video-pro"}) {
      models.push_back(json::object{
          {"name", name},
          {"description", fmt::format("{} (fake provider)", name)},
          {"namespace", name},
          {"type", ModelType(name)},
          {"billable", true},
          {"pricing", {{"amount", PriceUsd(name)}, {"currency", "USD"}, {"unit", "prediction"}}},
          {"status", "operational"}});
    }
    return respond(JsonResponse(200, models));
  }
  respond(ProviderError(kP, 404, fmt::format("No route for {} {}", method, request.path)));
}

void FakeProvider::HandleReplicate(std::string_view rest, http::Request& request,
                                   http::Respond& respond) {
  constexpr Provider kP = Provider::kReplicate;
  if (!Authorized(kP, request)) {
    return respond(ProviderError(kP, 401, "You did not pass a valid authentication token"));
  }
  const std::vector<std::string_view> parts = SplitPath(rest);
  const std::string& method = request.method;

  const bool create_by_version = method == "POST" && parts.size() == 1 && parts[0] == "predictions";
  const bool create_by_model =
      method == "POST" && parts.size() == 4 && parts[0] == "models" && parts[3] == "predictions";
  if (create_by_version || create_by_model) {
    auto body = ParseObject(request.body);
    if (!body) return respond(ProviderError(kP, 400, "Request body must be a JSON object"));
    std::string model;
    std::string version;
    if (create_by_model) {
      model = fmt::format("{}/{}", parts[1], parts[2]);
      version = base::Sha256Hex("version:" + model);
    } else if (auto v = StringField(*body, "version"); v && !v->empty()) {
      // "owner/name:hash" or a bare version hash.
      const std::size_t colon = v->find(':');
      version = colon == std::string::npos ? *v : v->substr(colon + 1);
      model = colon == std::string::npos ? *v : v->substr(0, colon);
    } else if (auto m = StringField(*body, "model"); m && !m->empty()) {
      model = *m;
      version = base::Sha256Hex("version:" + model);
    } else {
      return respond(ProviderError(kP, 422, "version or model is required"));
    }
    const json::value* input = body->if_contains("input");
    if (input == nullptr || !input->is_object()) {
      return respond(ProviderError(kP, 422, "input is required and must be an object"));
    }
    const json::object& in = input->as_object();
    std::optional<std::chrono::seconds> wait = PreferWait(request, max_wait_);
    CreateArgs args{
        .provider = kP,
        .model = std::move(model),
        .version = std::move(version),
        .input_json = json::serialize(in),
        .prompt = StringField(in, "prompt").value_or(""),
        .seed = SeedField(in),
        .num_outputs = NumOutputs(in, "num_outputs", 4),
        .hold = wait.has_value(),
        .max_hold = wait.value_or(max_wait_),
        .created_status = 201,
    };
    return CreatePrediction(std::move(args), std::move(respond));
  }
  if (parts.size() >= 2 && parts[0] == "predictions") {
    const std::string id(parts[1]);
    if (parts.size() == 2 && method == "GET") return Poll(kP, id, respond);
    if (parts.size() == 3 && parts[2] == "cancel" && method == "POST") {
      return Cancel(kP, id, respond);
    }
    if (parts.size() == 3 && parts[2] == "stream" && method == "GET") {
      {
        absl::MutexLock lock(&mu_);
        auto it = predictions_.find(id);
        if (it == predictions_.end() || it->second.provider != kP) {
          return respond(ProviderError(kP, 404, fmt::format("Prediction {} not found", id)));
        }
      }
      return AnswerWhenDone(id, kP, Render::kEventStream, max_wait_, 200, std::move(respond));
    }
  }
  if (method == "GET" && parts.size() == 3 && parts[0] == "models") {
    const std::string model = fmt::format("{}/{}", parts[1], parts[2]);
    return respond(JsonResponse(
        200, json::object{{"url", fmt::format("https://replicate.com/{}", model)},
                          {"owner", parts[1]},
                          {"name", parts[2]},
                          {"description", "A model served by the gencache fake provider"},
                          {"visibility", "public"},
                          {"run_count", 0},
                          {"latest_version",
                           {{"id", base::Sha256Hex("version:" + model)},
                            {"created_at", Iso8601(base::SystemTime{})},
                            {"cog_version", "0.9.0"},
                            {"openapi_schema", json::object()}}}}));
  }
  respond(ProviderError(kP, 404, fmt::format("No route for {} {}", method, request.path)));
}

void FakeProvider::HandleOpenAi(std::string_view rest, http::Request& request,
                                http::Respond& respond) {
  constexpr Provider kP = Provider::kOpenAi;
  if (!Authorized(kP, request)) {
    return respond(ProviderError(kP, 401, "Incorrect API key provided"));
  }
  const std::vector<std::string_view> parts = SplitPath(rest);
  if (!(request.method == "POST" && parts.size() == 2 && parts[0] == "images" &&
        parts[1] == "generations")) {
    return respond(
        ProviderError(kP, 404, fmt::format("Invalid URL ({} {})", request.method, request.path)));
  }
  auto body = ParseObject(request.body);
  if (!body) return respond(ProviderError(kP, 400, "Request body must be a JSON object"));
  auto prompt = StringField(*body, "prompt");
  if (!prompt || prompt->empty()) return respond(ProviderError(kP, 400, "prompt is required"));
  const std::string model = StringField(*body, "model").value_or("dall-e-2");
  const std::string format = StringField(*body, "response_format").value_or("url");
  if (format != "url" && format != "b64_json") {
    return respond(ProviderError(kP, 400, "response_format must be url or b64_json"));
  }
  const int n = NumOutputs(*body, "n", 10);
  const std::optional<std::uint64_t> seed = SeedField(*body);

  json::array data;
  milliseconds latency{0};
  std::optional<http::Response> error;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.creates[static_cast<int>(kP)];
    if (auto failure = TakeFailure(kP)) {
      if (*failure == FailMode::kHang) {
        hung_.emplace_back(kP, std::move(respond));
        return;
      }
      error = InjectedError(kP);
    }
  }
  if (error) return respond(std::move(*error));
  {
    absl::MutexLock lock(&mu_);
    latency = config_.latency;
    const base::SystemTime now = clock_.Now();
    auto key = [&](int i) {
      return seed ? fmt::format("{}\x1f{}\x1f{}\x1f{}", model, *prompt, *seed, i) : NewToken();
    };
    if (format == "url") {
      for (std::string& url : IssueOutputs(n, key, now + latency)) {
        data.push_back(json::object{{"url", std::move(url)}, {"revised_prompt", *prompt}});
      }
    } else {
      for (int i = 0; i < n; ++i) {
        data.push_back(json::object{
            {"b64_json", absl::Base64Escape(OutputBytes(key(i), config_.output_bytes))},
            {"revised_prompt", *prompt}});
      }
    }
  }
  http::Response response = JsonResponse(
      200,
      json::object{{"created", UnixSeconds(clock_.Now() + latency)}, {"data", std::move(data)}});
  if (latency.count() <= 0) return respond(std::move(response));
  delays_.RunAfter(latency, [respond = std::move(respond), response = std::move(response)] {
    respond(response);
  });
}

void FakeProvider::HandleFile(std::string_view rest, const http::Request& request,
                              http::Respond& respond) {
  const std::vector<std::string_view> parts = SplitPath(rest);
  constexpr std::string_view kSuffix = ".png";
  if (request.method != "GET" || parts.size() != 1 || parts[0].size() <= kSuffix.size() ||
      parts[0].substr(parts[0].size() - kSuffix.size()) != kSuffix) {
    return respond(JsonResponse(404, json::object{{"error", "no such file"}}));
  }
  const std::string token(parts[0].substr(0, parts[0].size() - kSuffix.size()));
  std::optional<OutputFile> file;
  {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(token);
    if (it != files_.end() && clock_.Now() < it->second.expires) {
      ++stats_.file_gets;
      file = it->second;
    } else {
      ++stats_.file_misses;
    }
  }
  if (!file) {
    return respond(
        JsonResponse(404, json::object{{"error", "this output URL is unknown or has expired"}}));
  }
  http::Response response;
  response.status = 200;
  response.content_type = "image/png";
  if (file->size <= kBigBody) {
    response.body = OutputBytes(file->content_key, file->size);
    return respond(std::move(response));
  }
  const std::string cache_key = fmt::format("{}\x1f{}", file->content_key, file->size);
  {
    absl::MutexLock lock(&mu_);
    if (big_body_key_ == cache_key) response.shared_body = big_body_;
  }
  if (!response.shared_body) {
    auto body = std::make_shared<const std::string>(OutputBytes(file->content_key, file->size));
    absl::MutexLock lock(&mu_);
    big_body_key_ = cache_key;
    big_body_ = body;
    response.shared_body = std::move(body);
  }
  respond(std::move(response));
}

void FakeProvider::HandleRedirect(const http::Request& request, http::Respond& respond) {
  std::optional<std::string> to;
  std::string_view query = request.query;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, 3) == "to=") to = PercentDecode(pair.substr(3));
  }
  if (request.method != "GET" || !to || to->empty()) {
    return respond(JsonResponse(400, json::object{{"error", "use GET /redirect?to=<url>"}}));
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.redirects;
  }
  http::Response response = JsonResponse(302, json::object{{"location", *to}});
  response.headers.emplace_back("Location", *to);
  respond(std::move(response));
}

json::object FakeProvider::ConfigJson() const {
  json::array output_urls;
  for (const std::string& url : config_.output_urls) output_urls.emplace_back(url);
  return json::object{{"latency_ms", config_.latency.count()},
                      {"async", config_.async},
                      {"async_steps", config_.async_steps},
                      {"url_ttl_ms", config_.url_ttl.count()},
                      {"fail_next", config_.fail_next},
                      {"fail_status", config_.fail_status},
                      {"fail_mode", FailModeName(config_.fail_mode)},
                      {"output_bytes", config_.output_bytes},
                      {"output_urls", std::move(output_urls)}};
}

void FakeProvider::HandleControl(std::string_view rest, const http::Request& request,
                                 http::Respond& respond) {
  const std::vector<std::string_view> parts = SplitPath(rest);
  const std::string& method = request.method;
  const std::string_view what = parts.size() == 1 ? parts[0] : std::string_view();

  if (what == "stats" && method == "GET") {
    absl::MutexLock lock(&mu_);
    json::object creates;
    json::object polls;
    for (Provider p : {Provider::kSkytells, Provider::kReplicate, Provider::kOpenAi}) {
      creates[ProviderName(p)] = stats_.creates[static_cast<int>(p)];
      polls[ProviderName(p)] = stats_.polls[static_cast<int>(p)];
    }
    return respond(JsonResponse(200, json::object{{"creates", std::move(creates)},
                                                  {"polls", std::move(polls)},
                                                  {"total_creates", stats_.total_creates()},
                                                  {"total_polls", stats_.total_polls()},
                                                  {"cancels", stats_.cancels},
                                                  {"deletes", stats_.deletes},
                                                  {"file_gets", stats_.file_gets},
                                                  {"file_misses", stats_.file_misses},
                                                  {"redirects", stats_.redirects},
                                                  {"failures_injected", stats_.failures_injected},
                                                  {"hung", hung_.size()},
                                                  {"delayed", delays_.pending()},
                                                  {"config", ConfigJson()}}));
  }
  if (what == "reset" && method == "POST") {
    ReleaseHung();
    absl::MutexLock lock(&mu_);
    stats_ = FakeStats{};
    config_.fail_next = 0;
    return respond(JsonResponse(200, json::object{{"reset", true}}));
  }
  if (what == "config" && method == "GET") {
    absl::MutexLock lock(&mu_);
    return respond(JsonResponse(200, ConfigJson()));
  }
  if (what == "config" && method == "POST") {
    auto body = ParseObject(request.body);
    auto bad = [&](std::string message) {
      respond(JsonResponse(400, json::object{{"error", std::move(message)}}));
    };
    if (!body) return bad("body must be a JSON object");
    absl::MutexLock lock(&mu_);
    Config next = config_;
    for (const auto& [key, value] : *body) {
      const std::string name(key);
      auto integer = [&](std::int64_t min, std::int64_t max) -> std::optional<std::int64_t> {
        auto v = IntField(*body, key);
        if (!v || *v < min || *v > max) return std::nullopt;
        return v;
      };
      if (name == "latency_ms") {
        auto v = integer(0, 3'600'000);
        if (!v) return bad("latency_ms must be an integer in [0, 3600000]");
        next.latency = milliseconds(*v);
      } else if (name == "async") {
        if (!value.is_bool()) return bad("async must be a boolean");
        next.async = value.as_bool();
      } else if (name == "async_steps") {
        auto v = integer(1, 100);
        if (!v) return bad("async_steps must be an integer in [1, 100]");
        next.async_steps = static_cast<int>(*v);
      } else if (name == "url_ttl_ms") {
        auto v = integer(0, std::int64_t{365} * 24 * 3'600'000);
        if (!v) return bad("url_ttl_ms must be a non-negative integer");
        next.url_ttl = milliseconds(*v);
      } else if (name == "fail_next") {
        auto v = integer(0, 1'000'000'000);
        if (!v) return bad("fail_next must be a non-negative integer");
        next.fail_next = *v;
      } else if (name == "fail_status") {
        auto v = integer(400, 599);
        if (!v) return bad("fail_status must be an integer in [400, 599]");
        next.fail_status = static_cast<int>(*v);
      } else if (name == "fail_mode") {
        const std::string mode = value.is_string() ? std::string(value.as_string()) : "";
        if (mode == "status") {
          next.fail_mode = FailMode::kStatus;
        } else if (mode == "prediction") {
          next.fail_mode = FailMode::kPrediction;
        } else if (mode == "hang") {
          next.fail_mode = FailMode::kHang;
        } else if (mode == "close") {
          return bad(
              "fail_mode close is not supported: http::Response cannot ask the server to drop "
              "the connection without answering");
        } else {
          return bad("fail_mode must be status, prediction or hang");
        }
      } else if (name == "output_bytes") {
        auto v = integer(1, static_cast<std::int64_t>(kMaxOutputBytes));
        if (!v)
          return bad(fmt::format("output_bytes must be an integer in [1, {}]", kMaxOutputBytes));
        next.output_bytes = static_cast<std::uint64_t>(*v);
      } else if (name == "output_urls") {
        const bool ok = value.is_array() && value.as_array().size() <= kMaxOutputUrls &&
                        std::all_of(value.as_array().begin(), value.as_array().end(),
                                    [](const json::value& v) { return v.is_string(); });
        if (!ok) {
          return bad(
              fmt::format("output_urls must be an array of at most {} strings", kMaxOutputUrls));
        }
        next.output_urls.clear();
        for (const json::value& url : value.as_array()) {
          next.output_urls.emplace_back(url.as_string());
        }
      } else {
        return bad(fmt::format("unknown config key: {}", name));
      }
    }
    config_ = next;
    return respond(JsonResponse(200, ConfigJson()));
  }
  respond(JsonResponse(
      404, json::object{{"error", fmt::format("no control route {} {}", method, request.path)}}));
}

std::optional<FailMode> FakeProvider::TakeFailure(Provider /*provider*/) {
  if (config_.fail_next <= 0) return std::nullopt;
  --config_.fail_next;
  ++stats_.failures_injected;
  return config_.fail_mode;
}

http::Response FakeProvider::InjectedError(Provider provider) const {
  return ProviderError(
      provider, config_.fail_status,
      fmt::format("Injected failure (fake provider, HTTP {})", config_.fail_status));
}

void FakeProvider::ReleaseHung() {
  std::vector<std::pair<Provider, http::Respond>> hung;
  {
    absl::MutexLock lock(&mu_);
    hung.swap(hung_);
  }
  for (auto& [provider, respond] : hung) {
    respond(ProviderError(provider, 503, "Hung request released by the fake provider"));
  }
}

std::string FakeProvider::NewToken() { return fmt::format("{:016x}{:016x}", rng_(), rng_()); }

std::string FakeProvider::NewPredictionId(Provider provider) {
  if (provider == Provider::kSkytells) {
    const std::uint64_t hi = rng_();
    const std::uint64_t lo = rng_();
    // A version-4 UUID.
    return fmt::format("{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                       hi & 0xfff, 8 + ((lo >> 62) & 0x3), (lo >> 48) & 0xfff,
                       lo & 0xffffffffffffULL);
  }
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id(26, 'a');
  for (char& c : id) c = kAlphabet[rng_() % 36];
  return id;
}

std::string FakeProvider::BaseUrl() const {
  return fmt::format("http://{}:{}", public_host_, public_port_);
}

std::string FakeProvider::IssueOutputUrl(const std::string& content_key, base::SystemTime from) {
  std::string token = NewToken();
  const base::SystemTime expires = from + config_.url_ttl;
  std::string url =
      fmt::format("{}/files/{}.png?expires={}", BaseUrl(), token, UnixSeconds(expires));
  files_.emplace(std::move(token), OutputFile{content_key, config_.output_bytes, expires});
  return url;
}

std::vector<std::string> FakeProvider::IssueOutputs(int count,
                                                    const std::function<std::string(int)>& key,
                                                    base::SystemTime from) {
  if (!config_.output_urls.empty()) return config_.output_urls;
  std::vector<std::string> urls;
  for (int i = 0; i < count; ++i) urls.push_back(IssueOutputUrl(key(i), from));
  return urls;
}

void FakeProvider::CreatePrediction(CreateArgs args, http::Respond respond) {
  const Provider provider = args.provider;
  std::string id;
  bool async = false;
  std::optional<http::Response> error;
  std::optional<FailMode> failure;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.creates[static_cast<int>(provider)];
    failure = TakeFailure(provider);
    if (failure == FailMode::kHang) {
      hung_.emplace_back(provider, std::move(respond));
      return;
    }
    if (failure == FailMode::kStatus) error = InjectedError(provider);
  }
  if (error) return respond(std::move(*error));
  {
    absl::MutexLock lock(&mu_);
    Prediction p;
    p.provider = provider;
    p.model = std::move(args.model);
    p.version = std::move(args.version);
    p.input_json = std::move(args.input_json);
    p.created = clock_.Now();
    p.latency = config_.latency;
    p.async = config_.async;
    p.steps = config_.async_steps;
    p.fail = failure == FailMode::kPrediction;
    if (!p.fail) {
      auto key = [&](int i) {
        return args.seed ? fmt::format("{}\x1f{}\x1f{}\x1f{}", p.model, args.prompt, *args.seed, i)
                         : NewToken();
      };
      p.outputs = IssueOutputs(args.num_outputs, key, p.created + p.latency);
    }
    do {
      id = NewPredictionId(provider);
    } while (predictions_.count(id) != 0);
    p.id = id;
    async = p.async;
    predictions_.emplace(id, std::move(p));
  }
  // Sync mode always answers the terminal prediction, after the latency.
  if (!async || args.hold) {
    return AnswerWhenDone(id, provider, Render::kPrediction, async ? args.max_hold : kNoLimit,
                          args.created_status, std::move(respond));
  }
  respond(MakeResponse(id, provider, Render::kCreated, args.created_status, /*mark_done=*/false));
}

void FakeProvider::AnswerWhenDone(const std::string& id, Provider provider, Render render,
                                  std::chrono::seconds max_hold, int status,
                                  http::Respond respond) {
  base::SystemTime::duration remaining{0};
  {
    absl::MutexLock lock(&mu_);
    auto it = predictions_.find(id);
    if (it != predictions_.end() && !it->second.canceled && !it->second.done) {
      const Prediction& p = it->second;
      remaining = std::max(base::SystemTime::duration{0}, p.created + p.latency - clock_.Now());
    }
  }
  const bool completes = remaining <= max_hold;
  const auto delay = completes ? remaining : base::SystemTime::duration(max_hold);
  if (delay.count() <= 0) return respond(MakeResponse(id, provider, render, status, completes));
  delays_.RunAfter(delay,
                   [this, id, provider, render, status, completes, respond = std::move(respond)] {
                     respond(MakeResponse(id, provider, render, status, completes));
                   });
}

void FakeProvider::Poll(Provider provider, const std::string& id, http::Respond& respond) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.polls[static_cast<int>(provider)];
  }
  respond(MakeResponse(id, provider, Render::kPrediction, 200, /*mark_done=*/false));
}

void FakeProvider::Cancel(Provider provider, const std::string& id, http::Respond& respond) {
  {
    absl::MutexLock lock(&mu_);
    auto it = predictions_.find(id);
    if (it != predictions_.end() && it->second.provider == provider) {
      Prediction& p = it->second;
      const Phase phase = PhaseOf(p, clock_.Now());
      if (phase == Phase::kStarting || phase == Phase::kProcessing) {
        p.canceled = true;
        p.canceled_at = clock_.Now();
        ++stats_.cancels;
      }
    }
  }
  respond(MakeResponse(id, provider, Render::kPrediction, 200, /*mark_done=*/false));
}

FakeProvider::Phase FakeProvider::PhaseOf(const Prediction& p, base::SystemTime now) const {
  if (p.canceled) return Phase::kCanceled;
  const Phase terminal = p.fail ? Phase::kFailed : Phase::kSucceeded;
  if (!p.async || p.done) return terminal;
  const auto elapsed = now - p.created;
  if (elapsed >= p.latency) return terminal;
  const auto slice = std::chrono::duration_cast<base::SystemTime::duration>(p.latency) / p.steps;
  return elapsed < slice ? Phase::kStarting : Phase::kProcessing;
}

http::Response FakeProvider::MakeResponse(const std::string& id, Provider provider, Render render,
                                          int status, bool mark_done) {
  absl::MutexLock lock(&mu_);
  auto it = predictions_.find(id);
  if (it == predictions_.end() || it->second.provider != provider) {
    return ProviderError(provider, 404, fmt::format("Prediction {} not found", id));
  }
  Prediction& p = it->second;
  if (mark_done && p.async) p.done = true;
  const base::SystemTime now = clock_.Now();
  const Phase phase = render == Render::kCreated ? Phase::kStarting : PhaseOf(p, now);
  if (render == Render::kEventStream) return EventStream(p, phase);
  return JsonResponse(status, RenderPrediction(p, phase));
}

http::Response FakeProvider::EventStream(const Prediction& p, Phase phase) const {
  std::string body;
  int event = 0;
  auto emit = [&](std::string_view name, std::string_view data) {
    body += fmt::format("event: {}\nid: {}:{}\ndata: {}\n\n", name, p.id, event++, data);
  };
  if (phase == Phase::kSucceeded) {
    for (const std::string& url : p.outputs) emit("output", url);
    emit("done", "{}");
  } else if (phase == Phase::kFailed) {
    emit("error", json::serialize(json::object{{"detail", "Injected failure (fake provider)"}}));
    emit("done", R"({"reason":"error"})");
  } else if (phase == Phase::kCanceled) {
    emit("done", R"({"reason":"canceled"})");
  } else {
    emit("error", R"({"detail":"prediction still running when the stream wait ended"})");
  }
  http::Response response;
  response.status = 200;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body = std::move(body);
  return response;
}

json::value FakeProvider::RenderPrediction(const Prediction& p, Phase phase) const {
  const std::string base = BaseUrl();
  const bool terminal = phase != Phase::kStarting && phase != Phase::kProcessing;
  const auto slice =
      p.async ? std::chrono::duration_cast<base::SystemTime::duration>(p.latency) / p.steps
              : base::SystemTime::duration{0};
  const base::SystemTime started = p.created + slice;
  const base::SystemTime completed =
      phase == Phase::kCanceled ? p.canceled_at : p.created + p.latency;
  const bool has_started = phase != Phase::kStarting && !(p.canceled && p.canceled_at < started);
  const double predict_time = terminal && has_started ? Seconds(completed - started) : 0.0;

  json::value output = nullptr;
  if (phase == Phase::kSucceeded) {
    json::array urls;
    for (const std::string& url : p.outputs) urls.emplace_back(url);
    output = std::move(urls);
  }
  const int phase_index = static_cast<int>(phase);

  if (p.provider == Provider::kSkytells) {
    const std::string get = fmt::format("{}/skytells/v1/predictions/{}", base, p.id);
    json::object o{
        {"id", p.id},
        {"status", StatusName(p.provider, phase_index)},
        {"type", "inference"},
        {"stream", false},
        {"response", phase == Phase::kFailed ? "Injected failure (fake provider)" : ""},
        {"model", {{"name", p.model}, {"type", ModelType(p.model)}}},
        {"input", ParseInput(p.input_json)},
        {"output", std::move(output)},
        {"created_at", Iso8601(p.created)},
        {"started_at", has_started ? json::value(Iso8601(started)) : json::value(nullptr)},
        {"completed_at", terminal ? json::value(Iso8601(completed)) : json::value(nullptr)},
        {"updated_at", Iso8601(terminal      ? completed
                               : has_started ? started
                                             : p.created)},
        {"privacy", "private"},
        {"webhook", nullptr},
        {"metrics",
         {{"image_count", phase == Phase::kSucceeded ? p.outputs.size() : 0},
          {"predict_time", predict_time}}},
        {"metadata",
         {{"billing", {{"credits_used", phase == Phase::kSucceeded ? PriceUsd(p.model) : 0.0}}}}},
        {"urls",
         {{"get", get},
          {"cancel", get + "/cancel"},
          {"stream", get + "/stream"},
          {"delete", get + "/delete"}}}};
    if (phase == Phase::kFailed) {
      o["error"] = "Injected failure (fake provider)";
    }
    return o;
  }

  const std::string get = fmt::format("{}/replicate/v1/predictions/{}", base, p.id);
  json::object metrics;
  if (terminal && has_started) metrics["predict_time"] = predict_time;
  return json::object{
      {"id", p.id},
      {"model", p.model},
      {"version", p.version},
      {"input", ParseInput(p.input_json)},
      {"logs", has_started ? "fake provider: generating\n" : ""},
      {"output", std::move(output)},
      {"data_removed", false},
      {"error", phase == Phase::kFailed ? json::value("Injected failure (fake provider)")
                                        : json::value(nullptr)},
      {"status", StatusName(p.provider, phase_index)},
      {"source", "api"},
      {"created_at", Iso8601(p.created)},
      {"started_at", has_started ? json::value(Iso8601(started)) : json::value(nullptr)},
      {"completed_at", terminal ? json::value(Iso8601(completed)) : json::value(nullptr)},
      {"urls",
       {{"get", get},
        {"cancel", get + "/cancel"},
        {"stream", get + "/stream"},
        {"web", fmt::format("https://replicate.com/p/{}", p.id)}}},
      {"metrics", std::move(metrics)}};
}

}  // namespace gencache::fake_provider
