#include "gencache/pipeline/gateway.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>
#include <random>

#include "gencache/base/log.hpp"
#include "gencache/base/strings.hpp"
#include "gencache/budget/reservation.hpp"
#include "gencache/files/files_handler.hpp"
#include "gencache/http/error_mapping.hpp"
#include "gencache/neardup/near_duplicate_finder.hpp"
#include "gencache/pipeline/admin_api.hpp"
#include "gencache/pipeline/budget_policy.hpp"
#include "gencache/pipeline/output_hosting.hpp"
#include "gencache/pipeline/request_policy.hpp"
#include "gencache/rehost/rehoster.hpp"
#include "gencache/spend/report_format.hpp"
#include "gencache/web/assets.hpp"

namespace gencache::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kStatusHeader = "X-Gencache-Status";
constexpr std::string_view kKeyHeader = "X-Gencache-Key";
constexpr std::string_view kSimilarityHeader = "X-Gencache-Similarity";
constexpr std::string_view kMatchedKeyHeader = "X-Gencache-Matched-Key";

// Headers that describe one hop, or that are meant for the gateway itself:
// never forwarded upstream.
bool IsHopOrGatewayHeader(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "connection",   "keep-alive",     "proxy-connection",  "proxy-authorization",
      "te",           "trailer",        "transfer-encoding", "upgrade",
      "host",         "content-length", "accept-encoding",   "expect",
      "cache-control"};
  for (auto d : kDropped) {
    if (base::EqualsIgnoreCase(name, d)) return true;
  }
  return name.size() >= 11 && base::EqualsIgnoreCase(name.substr(0, 11), "x-gencache-");
}

// Upstream response headers worth relaying on pass-through routes.
bool IsRelayedResponseHeader(std::string_view name) {
  static constexpr std::string_view kRelayed[] = {"retry-after", "location", "link",
                                                  "x-request-id"};
  for (auto r : kRelayed) {
    if (base::EqualsIgnoreCase(name, r)) return true;
  }
  return false;
}

// "/../" and "/./" segments would let a client climb out of base_url's path.
bool HasDotSegment(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == ".." || base::EqualsIgnoreCase(segment, "%2e") ||
        base::EqualsIgnoreCase(segment, "%2e%2e") || base::EqualsIgnoreCase(segment, ".%2e") ||
        base::EqualsIgnoreCase(segment, "%2e.")) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// Unique within the process and unlikely to repeat across processes: a
// random prefix drawn once and a counter.
std::string NewRequestId() {
  static const std::uint64_t prefix =
      std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32);
  static std::atomic<std::uint64_t> counter{0};
  // Hand-formatted hex: this runs for every request, cache hits included.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(24, '0');
  std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  for (int i = 15; i >= 0; --i)
    id[static_cast<std::size_t>(15 - i)] = kHex[(prefix >> (4 * i)) & 0xf];
  for (int i = 7; i >= 0; --i) id[static_cast<std::size_t>(23 - i)] = kHex[(n >> (4 * i)) & 0xf];
  return id;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string AgeSeconds(base::SystemTime now, base::SystemTime created) {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - created).count();
  return std::to_string(age < 0 ? 0 : age);
}

}  // namespace

struct Gateway::Provider {
  const config::ProviderOptions* options = nullptr;
  std::unique_ptr<providers::ProviderAdapter> adapter;
  // Injected credential (header, value) when the configured environment
  // variable is set; otherwise the client's own credential passes through.
  std::optional<std::pair<std::string, std::string>> credential;
};

struct Gateway::Flight {
  const Provider* provider = nullptr;
  keying::CacheKey key;
  std::shared_ptr<coalesce::Flight> shared;
  CachePlan plan;
  std::string model;
  std::string rest;
  std::string query;
  http::HeaderList headers;
  std::string body;
  Clock::time_point deadline;
  std::chrono::milliseconds next_poll{0};
  // The prediction being polled, once the create answered pending.
  std::string polling_id;
  // Budget: what the call is expected to cost, the scopes it is charged to,
  // and the hold on them while it runs.
  base::Money estimate;
  std::vector<budget::ScopeLimit> scopes;
  std::optional<budget::Reservation> reservation;
  Clock::time_point upstream_started;
  bool outcome_unknown = false;
  std::string request_id;  // the leader's, for log lines about the call
  // Near-duplicate matching: the request, its cache namespace and prompt
  // partition (computed off the event loop), and whether to look it up.
  providers::GenerationRequest generation;
  std::string cache_namespace;
  std::string partition;
  bool near_duplicate_lookup = false;
  float near_duplicate_threshold = 1.0f;
};

Gateway::Gateway(GatewayDeps deps) : deps_(deps) {
  for (const auto& p : deps_.options.providers) {
    auto provider = std::make_unique<Provider>();
    provider->options = &p;
    provider->adapter = providers::MakeAdapter(p.kind);
    if (!p.api_key_env.empty()) {
      const char* secret = std::getenv(p.api_key_env.c_str());
      if (secret != nullptr && *secret != '\0') {
        provider->credential = provider->adapter->CredentialHeader(secret);
      }
    }
    spdlog::info("provider {} ({}) mounted at /{}/ -> {} ({})", p.name, providers::ToString(p.kind),
                 p.name, p.base_url,
                 provider->credential ? fmt::format("credential from ${}", p.api_key_env)
                                      : std::string("client credential passes through"));
    providers_.push_back(std::move(provider));
  }
}

Gateway::~Gateway() = default;

void Gateway::Handle(http::Request request, http::Respond respond) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  // Every answer carries the request's id: the client's own when it is a
  // plausible id (so it cannot inject into logs), else a new one.
  std::string request_id;
  if (auto given = request.Header("x-request-id"); given && ValidRequestId(*given)) {
    request_id = std::string(*given);
  } else {
    request_id = NewRequestId();
  }
  respond = [respond = std::move(respond), request_id](http::Response response) {
    response.headers.emplace_back("X-Request-Id", request_id);
    respond(std::move(response));
  };
  const std::string& path = request.path;
  if (path == "/healthz" && (request.method == "GET" || request.method == "HEAD")) {
    respond(HealthResponse());
    return;
  }
  if (path.starts_with("/files/")) {
    if (deps_.files == nullptr) {
      respond(ErrorResponse(nullptr, 404, absl::NotFoundError("no such file")));
      return;
    }
    deps_.files->Handle(request, std::string_view(path).substr(7), std::move(respond));
    return;
  }
  if (path == "/dashboard" || path.starts_with("/dashboard/")) {
    // The page itself is public; the APIs it reads need the admin key.
    const web::Asset* asset = web::FindAsset(path);
    http::Response response;
    if (asset == nullptr || (request.method != "GET" && request.method != "HEAD")) {
      response = ErrorResponse(nullptr, 404, absl::NotFoundError("no such dashboard file"));
    } else {
      response.content_type = std::string(asset->content_type);
      response.body = std::string(asset->body);
      response.headers = {{"Content-Security-Policy", std::string(web::kContentSecurityPolicy)},
                          {"X-Content-Type-Options", "nosniff"},
                          {"Cache-Control", "no-cache"}};
    }
    respond(std::move(response));
    return;
  }
  if (path.starts_with("/v1/") || path == "/metrics") {
    HandleAdmin(request, std::move(respond));
    return;
  }
  // "/NAME/REST": find the mount.
  std::string_view view(path);
  std::size_t slash = view.size() > 1 ? view.find('/', 1) : std::string_view::npos;
  std::string_view mount = view.substr(1, slash == std::string_view::npos ? view.npos : slash - 1);
  const Provider* provider = nullptr;
  for (const auto& p : providers_) {
    if (p->options->name == mount) provider = p.get();
  }
  if (provider == nullptr || view.empty() || view[0] != '/') {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    respond(ErrorResponse(
        nullptr, 404,
        absl::NotFoundError(fmt::format("no provider is mounted at '{}'; mounted: {}", path, [&] {
          std::string names;
          for (const auto& p : providers_) {
            names += (names.empty() ? "/" : ", /") + p->options->name + "/";
          }
          return names;
        }()))));
    return;
  }
  std::string rest =
      slash == std::string_view::npos ? std::string() : std::string(view.substr(slash + 1));
  if (HasDotSegment(rest)) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    respond(ErrorResponse(provider, 400,
                          absl::InvalidArgumentError("path must not contain . or .. segments")));
    return;
  }
  absl::StatusOr<Identity> identity = deps_.auth.Identify(request.headers);
  if (!identity.ok()) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    respond(ErrorResponse(provider, http::HttpStatusFor(identity.status()), identity.status()));
    return;
  }
  if (provider->adapter->IsGenerationRoute(request.method, rest)) {
    RequestContext context{.identity = *std::move(identity),
                           .request_id = std::move(request_id),
                           .started = Clock::now()};
    HandleGeneration(*provider, std::move(rest), std::move(request), std::move(respond),
                     std::move(context));
    return;
  }
  if (auto id = provider->adapter->PredictionIdFromPath(request.method, rest)) {
    HandlePredictionGet(*provider, std::move(*id), std::move(rest), std::move(request),
                        std::move(respond));
    return;
  }
  PassThrough(*provider, rest, std::move(request), std::move(respond));
}

http::Response Gateway::Reject(std::string_view target, const absl::Status& error) {
  const Provider* provider = nullptr;
  for (const auto& p : providers_) {
    std::string prefix = "/" + p->options->name + "/";
    if (target.starts_with(prefix)) provider = p.get();
  }
  counters_.errors.fetch_add(1, std::memory_order_relaxed);
  return ErrorResponse(provider, http::RequestErrorStatus(error), error);
}

void Gateway::HandleGeneration(const Provider& provider, std::string rest, http::Request request,
                               http::Respond respond, RequestContext context) {
  auto generation = provider.adapter->ParseGeneration(rest, request.body, request.headers);
  auto directives = generation.ok() ? ParseClientDirectives(request.headers)
                                    : absl::StatusOr<ClientDirectives>(generation.status());
  auto estimate = directives.ok() ? deps_.prices.Estimate(*generation)
                                  : absl::StatusOr<base::Money>(directives.status());
  if (!estimate.ok()) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    RecordSpend(provider, context, generation.ok() ? generation->model : "", "error", {}, {}, "",
                {});
    respond(ErrorResponse(&provider, 400, estimate.status()));
    return;
  }
  if (deps_.options.log_prompts) context.prompt = generation->prompt;
  // Tenants never share cache entries: with gateway keys the namespace is
  // the key's team (a client's X-Gencache-Namespace only subdivides it).
  if (!context.identity.team.empty()) {
    directives->cache_namespace =
        directives->cache_namespace
            ? fmt::format("{}:{}", context.identity.team, *directives->cache_namespace)
            : context.identity.team;
  }
  CachePlan plan = PlanCaching(deps_.options, *provider.options, *generation, *directives);
  keying::CacheKey key;
  // The mount is part of the namespace: two mounts of one kind may reach
  // different accounts or endpoints, whose outputs must not mix.
  if (plan.cacheable) {
    key = providers::CacheKeyFor(
        *generation, fmt::format("{}/{}", provider.options->name, plan.cache_namespace));
  }

  // The hot path: a live entry in the memory tier is answered right here,
  // on the event loop, with the stored bytes shared rather than copied. A
  // hit costs nothing and needs no budget.
  if (plan.lookup) {
    base::SystemTime now = deps_.clock.Now();
    if (cache::CachedResponsePtr hit = deps_.cache.GetFromMemory(key, now);
        hit && (!plan.max_age || now - hit->created <= *plan.max_age)) {
      counters_.hits.fetch_add(1, std::memory_order_relaxed);
      http::Response response;
      response.status = hit->http_status;
      response.content_type = hit->content_type;
      SetBody(response, *hit, hit->blobs.empty() ? std::string() : FilesBase(request.headers));
      response.headers.reserve(3);
      response.headers.emplace_back(kStatusHeader, "hit");
      response.headers.emplace_back(kKeyHeader, key.hex);
      response.headers.emplace_back("Age", AgeSeconds(now, hit->created));
      respond(std::move(response));
      RecordSpend(provider, context, generation->model, "hit", {}, *estimate, hit->prediction_id,
                  {}, !hit->blobs.empty());
      return;
    }
  }
  context.files_base = FilesBase(request.headers);

  // Join the call in flight for this key, or lead a new one. Requests that
  // must not share (uncacheable, no-cache) lead a flight nobody can join.
  static std::atomic<std::uint64_t> solo_counter{0};
  keying::CacheKey flight_key =
      plan.lookup ? key : keying::CacheKey{fmt::format("solo:{}", solo_counter.fetch_add(1))};
  coalesce::InflightRegistry::Ticket ticket = deps_.inflight.JoinOrLead(flight_key);

  // How long this client is held before it gets a pending answer.
  std::chrono::milliseconds hold = deps_.options.upstream.wait;
  if (generation->wait.mode == providers::ClientWait::Mode::kWait && generation->wait.max) {
    hold = std::min<std::chrono::milliseconds>(hold, *generation->wait.max);
  }
  const bool cacheable = plan.cacheable;
  const std::string status_word =
      !plan.cacheable || !plan.lookup ? "bypass" : (ticket.leader ? "miss" : "coalesced");

  struct Waiter {
    std::atomic<bool> answered{false};
    http::Respond respond;
    base::TimerQueue::Id timer = 0;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->respond = std::move(respond);
  const bool follower = !ticket.leader;
  if (follower) counters_.waiting_followers.fetch_add(1, std::memory_order_relaxed);
  const Provider* p = &provider;
  waiter->timer = deps_.timers.RunAfter(
      hold, [this, waiter, p, shared = ticket.flight, key, cacheable, status_word] {
        if (waiter->answered.exchange(true)) return;
        http::Response response;
        if (auto pending = shared->LatestPending()) {
          // Still running: hand over the pending prediction so the client's SDK
          // polls for it; the flight goes on and stores the result.
          response.body = p->adapter->PendingBodyForClient(*pending);
          response.status = 200;
          response.headers.emplace_back(kStatusHeader, status_word);
        } else {
          response = ErrorResponse(
              p, 504, absl::DeadlineExceededError("the generation did not finish within the wait"));
        }
        if (cacheable) response.headers.emplace_back(kKeyHeader, key.hex);
        waiter->respond(std::move(response));
      });
  // Runs once the flight ends, also for a client that already got a pending
  // answer: its spend event needs the flight's outcome.
  ticket.flight->OnComplete([this, waiter, p, key, cacheable, status_word, context, follower,
                             model = generation->model,
                             estimate = *estimate](const coalesce::FlightResult& result) {
    if (follower) counters_.waiting_followers.fetch_sub(1, std::memory_order_relaxed);
    const cache::CachedResponse& r = *result.response;
    std::string word = status_word;
    base::Money cost;
    base::Money saving;
    if (result.denied) {
      word = "denied";
      counters_.denied.fetch_add(1, std::memory_order_relaxed);
    } else if (result.outcome == coalesce::FlightResult::Outcome::kFailed) {
      word = "error";
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      if (status_word != "coalesced") cost = result.cost;
    } else if (!result.near_match_key.empty()) {
      word = "near-hit";
      saving = estimate;
      counters_.near_hits.fetch_add(1, std::memory_order_relaxed);
    } else if (result.from_cache) {
      word = "hit";
      saving = estimate;
      counters_.hits.fetch_add(1, std::memory_order_relaxed);
    } else if (word == "coalesced") {
      saving = estimate;
      counters_.coalesced.fetch_add(1, std::memory_order_relaxed);
    } else {
      cost = result.cost;
      (word == "miss" ? counters_.misses : counters_.bypass)
          .fetch_add(1, std::memory_order_relaxed);
    }
    const bool led_call = word == "miss" || word == "bypass";
    RecordSpend(
        *p, context, model, word, cost, saving, r.prediction_id,
        led_call || word == "error" ? result.upstream_latency : std::chrono::microseconds{0},
        !r.blobs.empty(), led_call ? result.rehosted_bytes : 0);
    if (waiter->answered.exchange(true)) return;
    deps_.timers.Cancel(waiter->timer);
    http::Response response;
    response.status = r.http_status;
    response.content_type = r.content_type;
    SetBody(response, r, context.files_base);
    if (word == "hit" || word == "near-hit")
      response.headers.emplace_back("Age", AgeSeconds(deps_.clock.Now(), r.created));
    if (word == "near-hit") {
      response.headers.emplace_back(kSimilarityHeader,
                                    fmt::format("{:.3f}", result.near_similarity));
      response.headers.emplace_back(kMatchedKeyHeader, result.near_match_key);
    }
    if (result.denied) {
      response.headers.emplace_back("Retry-After", std::to_string(result.retry_after_seconds));
      response.headers.emplace_back("x-should-retry", "false");
    }
    response.headers.emplace_back(kStatusHeader, word);
    if (cacheable) response.headers.emplace_back(kKeyHeader, key.hex);
    waiter->respond(std::move(response));
  });

  if (!ticket.leader) return;
  auto flight = std::make_shared<Flight>();
  flight->provider = &provider;
  flight->key = flight_key;
  flight->shared = ticket.flight;
  flight->plan = std::move(plan);
  flight->model = generation->model;
  flight->rest = std::move(rest);
  flight->query = std::move(request.query);
  flight->headers = std::move(request.headers);
  flight->body = std::move(request.body);
  flight->deadline = Clock::now() + deps_.options.upstream.deadline;
  flight->next_poll = deps_.options.upstream.poll_initial;
  flight->estimate = *estimate;
  flight->scopes = ScopesFor(deps_.options.budgets, context.identity.user, generation->model);
  flight->request_id = context.request_id;
  flight->cache_namespace =
      fmt::format("{}/{}", provider.options->name, flight->plan.cache_namespace);
  const config::NearDuplicateSection& near = deps_.options.near_duplicate;
  flight->near_duplicate_lookup =
      deps_.near_duplicates != nullptr && flight->plan.lookup && !generation->prompt.empty() &&
      near.EnabledFor(provider.options->name, generation->model) &&
      !base::EqualsIgnoreCase(
          http::FindHeader(flight->headers, "x-gencache-near-duplicate").value_or(""), "off");
  flight->near_duplicate_threshold =
      static_cast<float>(near.ThresholdFor(provider.options->name, generation->model));
  flight->generation = *std::move(generation);
  StartFlight(std::move(flight));
}

void Gateway::StartFlight(std::shared_ptr<Flight> flight) {
  // The persistent tier and the ledger may touch the disk: the blocking pool.
  deps_.blocking.Post([this, flight = std::move(flight)]() mutable {
    if (flight->plan.lookup) {
      base::SystemTime now = deps_.clock.Now();
      cache::CachedResponsePtr entry = deps_.cache.Get(flight->key, now);
      if (entry && (!flight->plan.max_age || now - entry->created <= *flight->plan.max_age)) {
        FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kSucceeded,
                              .response = std::move(entry),
                              .from_cache = true});
        return;
      }
    }
    if (flight->plan.store || flight->near_duplicate_lookup) {
      if (auto partition =
              providers::PromptPartitionFor(flight->generation, flight->cache_namespace)) {
        flight->partition = std::move(partition->hex);
      }
    }
    if (flight->near_duplicate_lookup && TryNearDuplicate(flight, deps_.clock.Now())) return;
    ReserveAndCall(std::move(flight));
  });
}

bool Gateway::TryNearDuplicate(const std::shared_ptr<Flight>& flight, base::SystemTime now) {
  if (flight->partition.empty()) return false;
  auto match = deps_.near_duplicates->Lookup(flight->partition, flight->generation.prompt,
                                             flight->near_duplicate_threshold, now);
  if (!match.ok()) {
    // The layer fails open: a lookup that cannot run is a miss.
    base::ScopedRequestId rid(flight->request_id);
    spdlog::warn("near-duplicate lookup failed (treated as a miss): {}", match.status().ToString());
    return false;
  }
  if (!match->has_value()) return false;
  cache::CachedResponsePtr entry = deps_.cache.Get(keying::CacheKey{(*match)->cache_key}, now);
  if (entry == nullptr) {
    // The cache dropped the entry (evicted, erased): stop matching it.
    deps_.near_duplicates->Remove((*match)->cache_key);
    return false;
  }
  if (flight->plan.max_age && now - entry->created > *flight->plan.max_age) return false;
  if (deps_.options.log_prompts) {
    base::ScopedRequestId rid(flight->request_id);
    spdlog::debug("near-duplicate of {:?} (similarity {:.3f})", (*match)->matched_prompt,
                  (*match)->similarity);
  }
  FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kSucceeded,
                        .response = std::move(entry),
                        .from_cache = true,
                        .near_match_key = std::move((*match)->cache_key),
                        .near_similarity = (*match)->similarity});
  return true;
}

void Gateway::ReserveAndCall(std::shared_ptr<Flight> flight) {
  if (flight->scopes.empty()) {  // no limit applies: nothing to hold
    CallUpstream(std::move(flight));
    return;
  }
  base::SystemTime now = deps_.clock.Now();
  auto reserved = deps_.ledger.Reserve(flight->scopes, flight->estimate, now);
  if (!reserved.ok()) {
    // The budget fails closed: no call is made that it cannot account for.
    base::ScopedRequestId rid(flight->request_id);
    spdlog::error("budget ledger unavailable: {}", std::string(reserved.status().message()));
    FailFlight(
        flight,
        absl::UnavailableError("the budget ledger is unavailable, so no paid call can be made"),
        503);
    return;
  }
  if (const auto* denial = std::get_if<budget::Denial>(&*reserved)) {
    providers::ClientError error = DenialError(*denial);
    deps_.metrics.RecordError(error.code);
    base::ScopedRequestId rid(flight->request_id);
    spdlog::warn("denied {} on {}: {}", flight->model, flight->provider->options->name,
                 error.message);
    auto entry = std::make_shared<cache::CachedResponse>();
    entry->http_status = 429;
    entry->body = std::make_shared<const std::string>(flight->provider->adapter->ErrorBody(error));
    entry->provider = flight->provider->options->name;
    entry->model = flight->model;
    FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kFailed,
                          .response = std::move(entry),
                          .denied = true,
                          .retry_after_seconds = RetryAfterSeconds(*denial, now)});
    return;
  }
  flight->reservation.emplace(deps_.ledger, std::get<budget::ReservationId>(*reserved),
                              flight->estimate);
  CallUpstream(std::move(flight));
}

void Gateway::CallUpstream(std::shared_ptr<Flight> flight) {
  counters_.upstream_creates.fetch_add(1, std::memory_order_relaxed);
  flight->upstream_started = Clock::now();
  upstream::UpstreamRequest request = BuildUpstreamRequest(
      *flight->provider, "POST", flight->rest, flight->query, flight->headers, flight->body);
  // The gateway does the waiting for every client of the flight, each with
  // its own bound; an upstream holding the create answer for one client's
  // Prefer: wait would leave the others without a pending answer to hand
  // over. So the create returns at once and the flight polls.
  std::erase_if(request.headers,
                [](const auto& header) { return base::EqualsIgnoreCase(header.first, "prefer"); });
  deps_.http.Send(std::move(request),
                  [this, flight](absl::StatusOr<upstream::UpstreamResponse> answer) {
                    OnUpstreamAnswer(flight, std::move(answer));
                  });
}

void Gateway::OnUpstreamAnswer(std::shared_ptr<Flight> flight,
                               absl::StatusOr<upstream::UpstreamResponse> answer) {
  // A poll that fails in transit or with a server-side status says nothing
  // about the prediction, which the provider is still running (and may
  // charge for): keep polling until the deadline rather than drop it.
  const bool transient = !answer.ok() || answer->status == 429 || answer->status >= 500;
  if (!flight->polling_id.empty() && transient && Clock::now() < flight->deadline) {
    base::ScopedRequestId rid(flight->request_id);
    spdlog::warn("poll of {} prediction {} failed ({}); retrying", flight->provider->options->name,
                 flight->polling_id,
                 answer.ok() ? fmt::format("HTTP {}", answer->status)
                             : std::string(answer.status().message()));
    std::string id = flight->polling_id;
    SchedulePoll(std::move(flight), std::move(id));
    return;
  }
  if (!answer.ok()) {
    base::ScopedRequestId rid(flight->request_id);
    spdlog::warn("upstream {} failed: {}", flight->provider->options->name,
                 std::string(answer.status().message()));
    FailFlight(flight, answer.status());
    return;
  }
  const Provider& provider = *flight->provider;
  auto entry = std::make_shared<cache::CachedResponse>();
  entry->http_status = answer->status;
  if (auto type = http::FindHeader(answer->headers, "content-type")) {
    entry->content_type = std::string(*type);
  }
  entry->provider = provider.options->name;
  entry->model = flight->model;

  if (answer->status < 200 || answer->status >= 300) {
    deps_.metrics.RecordError("upstream_error_status");
    // The provider's own error, in its own shape: relayed, never cached.
    entry->body = std::make_shared<const std::string>(std::move(answer->body));
    FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kFailed,
                          .response = std::move(entry)});
    return;
  }
  providers::UpstreamState state = provider.adapter->Inspect(answer->status, answer->body);
  switch (state.phase) {
    case providers::UpstreamState::Phase::kPending: {
      if (state.id.empty()) {
        FailFlight(flight,
                   absl::UnavailableError("upstream answered a pending prediction without an id"));
        return;
      }
      flight->shared->SetLatestPending(
          std::make_shared<const std::string>(std::move(answer->body)));
      if (Clock::now() >= flight->deadline) {
        FailFlight(flight, absl::DeadlineExceededError(fmt::format(
                               "prediction {} did not finish within upstream.deadline", state.id)));
        return;
      }
      SchedulePoll(std::move(flight), std::move(state.id));
      return;
    }
    case providers::UpstreamState::Phase::kFailed:
      // A terminal failed or cancelled prediction: the client sees it as the
      // provider sent it, and the next identical request tries again.
      entry->prediction_id = std::move(state.id);
      entry->body = std::make_shared<const std::string>(std::move(answer->body));
      FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kFailed,
                            .response = std::move(entry)});
      return;
    case providers::UpstreamState::Phase::kSucceeded:
      break;
  }
  const base::Money cost = deps_.prices.Settle(flight->estimate, state);
  entry->prediction_id = std::move(state.id);
  entry->body = std::make_shared<const std::string>(std::move(answer->body));
  entry->created = deps_.clock.Now();
  entry->expires = entry->created + flight->plan.ttl;
  if (flight->plan.store && deps_.rehoster != nullptr) {
    // Downloads block: the rehost pool, never this (the HTTP client's) thread.
    deps_.rehost_pool->Post([this, flight = std::move(flight), entry = std::move(entry), cost] {
      StoreAndFinish(flight, entry, cost);
    });
    return;
  }
  StoreAndFinish(std::move(flight), std::move(entry), cost);
}

void Gateway::StoreAndFinish(std::shared_ptr<Flight> flight,
                             std::shared_ptr<cache::CachedResponse> entry, base::Money cost) {
  bool store = flight->plan.store;
  std::uint64_t rehosted_bytes = 0;
  if (store) {
    HostedOutputs hosted =
        HostOutputs(deps_.rehoster, deps_.options.rehost, *flight->provider->options, *entry->body,
                    entry->created, entry->expires);
    if (!hosted.blobs.empty()) {
      entry->body = std::make_shared<const std::string>(std::move(hosted.body));
    }
    entry->blobs = std::move(hosted.blobs);
    entry->expires = hosted.expires;
    rehosted_bytes = hosted.bytes;
    store = hosted.cacheable;
    if (!flight->partition.empty()) {
      entry->prompt = flight->generation.prompt;
      entry->prompt_partition = flight->partition;
    }
  }
  cache::CachedResponsePtr stored = std::move(entry);
  if (store) {
    // Visible in memory before the flight ends, so a request arriving after
    // it finds the entry instead of starting a second upstream call; the
    // persistent copy (and the near-duplicate index) follow on the blocking
    // pool.
    if (absl::Status s = deps_.cache.PutMemory(flight->key, stored); !s.ok()) {
      base::ScopedRequestId rid(flight->request_id);
      spdlog::warn("memory tier refused {}: {}", flight->key.hex, std::string(s.message()));
    }
    const bool index = deps_.near_duplicates != nullptr && !stored->prompt_partition.empty() &&
                       deps_.options.near_duplicate.EnabledFor(stored->provider, stored->model);
    deps_.blocking.Post([this, key = flight->key, stored, index] {
      if (absl::Status s = deps_.cache.PutPersistent(key, stored); !s.ok()) {
        counters_.store_failures.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("persistent cache write failed for {}: {}", key.hex,
                      std::string(s.message()));
      }
      if (!index) return;
      if (absl::Status s = deps_.near_duplicates->Add(stored->prompt_partition, key.hex,
                                                      stored->prompt, stored->expires);
          !s.ok()) {
        spdlog::warn("near-duplicate index refused {}: {}", key.hex, s.ToString());
      }
    });
  }
  FinishFlight(flight, {.outcome = coalesce::FlightResult::Outcome::kSucceeded,
                        .response = std::move(stored),
                        .cost = cost,
                        .rehosted_bytes = rehosted_bytes});
}

void Gateway::SchedulePoll(std::shared_ptr<Flight> flight, std::string prediction_id) {
  flight->polling_id = prediction_id;
  std::chrono::milliseconds delay = flight->next_poll;
  flight->next_poll = std::min(flight->next_poll * 2, deps_.options.upstream.poll_max);
  deps_.timers.RunAfter(
      delay, [this, flight = std::move(flight), id = std::move(prediction_id)]() mutable {
        counters_.upstream_polls.fetch_add(1, std::memory_order_relaxed);
        providers::UpstreamState state;
        state.phase = providers::UpstreamState::Phase::kPending;
        state.id = id;
        upstream::UpstreamRequest request = BuildUpstreamRequest(
            *flight->provider, "GET", flight->provider->adapter->PollPath(state), "",
            flight->headers, "");
        deps_.http.Send(std::move(request),
                        [this, flight](absl::StatusOr<upstream::UpstreamResponse> answer) {
                          OnUpstreamAnswer(flight, std::move(answer));
                        });
      });
}

void Gateway::FinishFlight(const std::shared_ptr<Flight>& flight, coalesce::FlightResult result) {
  if (flight->reservation) {
    // Settle the hold: a success at its actual cost; a call whose outcome
    // is unknown (timed out: the provider may still run and charge it) at
    // the estimate; a definite failure costs nothing. The ledger write goes
    // to the blocking pool and does not delay the answer.
    result.upstream_latency = std::chrono::duration_cast<std::chrono::microseconds>(
        Clock::now() - flight->upstream_started);
    bool spent = result.outcome == coalesce::FlightResult::Outcome::kSucceeded;
    if (!spent && flight->outcome_unknown) {
      spent = true;
      result.cost = flight->estimate;
    }
    if (!spent) result.cost = {};
    deps_.blocking.Post([this, flight, spent, cost = result.cost] {
      absl::Status s = spent ? flight->reservation->Settle(cost) : flight->reservation->Release();
      if (!s.ok()) {
        base::ScopedRequestId rid(flight->request_id);
        spdlog::error("budget: could not close reservation for {}: {}", flight->model,
                      std::string(s.message()));
      }
      if (spent) deps_.alerts.Check(flight->scopes, deps_.clock.Now());
    });
  }
  deps_.inflight.Complete(flight->key, flight->shared, std::move(result));
}

void Gateway::FailFlight(const std::shared_ptr<Flight>& flight, const absl::Status& error,
                         int http_status) {
  if (error.code() == absl::StatusCode::kDeadlineExceeded) flight->outcome_unknown = true;
  http::Response response = ErrorResponse(
      flight->provider, http_status != 0 ? http_status : http::HttpStatusFor(error), error);
  auto entry = std::make_shared<cache::CachedResponse>();
  entry->http_status = response.status;
  entry->content_type = response.content_type;
  entry->body = std::make_shared<const std::string>(std::move(response.body));
  entry->provider = flight->provider->options->name;
  entry->model = flight->model;
  FinishFlight(flight,
               {.outcome = coalesce::FlightResult::Outcome::kFailed, .response = std::move(entry)});
}

void Gateway::HandlePredictionGet(const Provider& provider, std::string id, std::string rest,
                                  http::Request request, http::Respond respond) {
  deps_.blocking.Post([this, &provider, id = std::move(id), rest = std::move(rest),
                       request = std::move(request), respond = std::move(respond)]() mutable {
    base::SystemTime now = deps_.clock.Now();
    if (auto hit = deps_.cache.GetByPrediction(provider.options->name, id, now)) {
      counters_.hits.fetch_add(1, std::memory_order_relaxed);
      http::Response response;
      response.status = 200;
      response.content_type = hit->content_type;
      SetBody(response, *hit, hit->blobs.empty() ? std::string() : FilesBase(request.headers));
      response.headers.emplace_back(kStatusHeader, "hit");
      response.headers.emplace_back("Age", AgeSeconds(now, hit->created));
      respond(std::move(response));
      return;
    }
    PassThrough(provider, rest, std::move(request), std::move(respond));
  });
}

void Gateway::PassThrough(const Provider& provider, const std::string& rest, http::Request request,
                          http::Respond respond) {
  counters_.passthrough.fetch_add(1, std::memory_order_relaxed);
  upstream::UpstreamRequest upstream_request = BuildUpstreamRequest(
      provider, request.method, rest, request.query, request.headers, std::move(request.body));
  deps_.http.Send(
      std::move(upstream_request), [this, &provider, respond = std::move(respond)](
                                       absl::StatusOr<upstream::UpstreamResponse> answer) {
        if (!answer.ok()) {
          counters_.errors.fetch_add(1, std::memory_order_relaxed);
          respond(ErrorResponse(&provider, http::HttpStatusFor(answer.status()), answer.status()));
          return;
        }
        counters_.bypass.fetch_add(1, std::memory_order_relaxed);
        http::Response response;
        response.status = answer->status;
        auto type = http::FindHeader(answer->headers, "content-type");
        response.content_type = type ? std::string(*type) : std::string();
        for (auto& [name, value] : answer->headers) {
          if (IsRelayedResponseHeader(name)) response.headers.emplace_back(name, value);
        }
        response.headers.emplace_back(kStatusHeader, "bypass");
        response.body = std::move(answer->body);
        respond(std::move(response));
      });
}

upstream::UpstreamRequest Gateway::BuildUpstreamRequest(const Provider& provider,
                                                        std::string method, const std::string& rest,
                                                        const std::string& query,
                                                        const http::HeaderList& client_headers,
                                                        std::string body) const {
  upstream::UpstreamRequest request;
  request.method = std::move(method);
  request.url = provider.options->base_url + "/" + rest;
  if (!query.empty()) request.url += "?" + query;
  request.headers.reserve(client_headers.size() + 1);
  // With gateway keys the client's credential is a gateway key: it never
  // leaves the gateway, whether or not a provider credential replaces it.
  const bool strip_client_credentials = deps_.auth.keys_required();
  for (const auto& [name, value] : client_headers) {
    if (IsHopOrGatewayHeader(name)) continue;
    if (provider.credential && base::EqualsIgnoreCase(name, provider.credential->first)) continue;
    if (strip_client_credentials && (base::EqualsIgnoreCase(name, "authorization") ||
                                     base::EqualsIgnoreCase(name, "x-api-key"))) {
      continue;
    }
    request.headers.emplace_back(name, value);
  }
  if (provider.credential) request.headers.push_back(*provider.credential);
  request.body = std::move(body);
  request.connect_timeout = deps_.options.upstream.connect_timeout;
  request.timeout = deps_.options.upstream.request_timeout;
  request.max_response_bytes = deps_.options.upstream.max_response_bytes;
  return request;
}

http::Response Gateway::ErrorResponse(const Provider* provider, int http_status,
                                      const absl::Status& error) const {
  static const auto generic = providers::MakeAdapter(providers::ProviderKind::kOpenAI);
  const providers::ProviderAdapter& adapter = provider ? *provider->adapter : *generic;
  providers::ClientError client_error{
      .http_status = http_status,
      .code = http::ErrorCodeFor(http_status),
      .type = http_status >= 500 ? "gateway_error" : "invalid_request_error",
      .message = std::string(error.message()),
  };
  deps_.metrics.RecordError(client_error.code);
  http::Response response;
  response.status = http_status;
  response.body = adapter.ErrorBody(client_error);
  response.headers.emplace_back(kStatusHeader, "error");
  return response;
}

void Gateway::RecordSpend(const Provider& provider, const RequestContext& context,
                          std::string model, std::string cache_status, base::Money cost,
                          base::Money saving, std::string prediction_id,
                          std::chrono::microseconds upstream_latency, bool rehosted,
                          std::uint64_t rehosted_bytes) {
  if (spdlog::should_log(spdlog::level::debug)) {
    base::ScopedRequestId rid(context.request_id);
    spdlog::debug(
        "request provider={} model={} user={} status={} cost={} upstream_ms={} total_ms={}{}",
        provider.options->name, model, context.identity.user, cache_status,
        base::FormatUsdMicros(cost), upstream_latency.count() / 1000,
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - context.started)
            .count(),
        context.prompt.empty() ? "" : fmt::format(" prompt={:?}", context.prompt));
  }
  const auto total =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - context.started);
  deps_.metrics.RecordRequest(provider.options->name, model, cache_status, cost, saving,
                              upstream_latency, total);
  deps_.spend_sink.Record(spend::SpendEvent{
      .ts = deps_.clock.Now(),
      .request_id = context.request_id,
      .provider = provider.options->name,
      .model = std::move(model),
      .user = context.identity.user,
      .cost = cost,
      .saving = saving,
      .cache_status = std::move(cache_status),
      .prediction_id = std::move(prediction_id),
      .upstream_latency = upstream_latency,
      .total_latency = total,
      .rehosted = rehosted,
      .rehosted_bytes = rehosted_bytes,
  });
}

void Gateway::RecordBlobUsage(std::string store, std::uint64_t blobs, std::uint64_t bytes) {
  absl::MutexLock lock(&blob_usage_mu_);
  blob_usage_ =
      metrics::ScrapeSnapshot::Blobs{.store = std::move(store), .count = blobs, .bytes = bytes};
}

void Gateway::SetBody(http::Response& response, const cache::CachedResponse& entry,
                      const std::string& files_base) const {
  if (entry.blobs.empty() || !deps_.options.rehost.public_base_url.empty()) {
    response.shared_body = entry.body;  // no copy: the hit path's case
    return;
  }
  response.body = ExpandFileUrls(*entry.body, files_base);
}

std::string Gateway::FilesBase(const http::HeaderList& headers) const {
  return FilesBaseFor(deps_.options.rehost, headers,
                      fmt::format("{}:{}", deps_.options.listen_host, deps_.options.listen_port));
}

http::Response Gateway::HealthResponse() const {
  http::Response response;
  response.body = R"({"status":"ok"})";
  return response;
}

void Gateway::HandleAdmin(const http::Request& request, http::Respond respond) {
  if (!deps_.auth.IsAdmin(request.headers)) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    respond(ErrorResponse(nullptr, 401,
                          absl::UnauthenticatedError(
                              "admin endpoints need the admin key (Authorization: Bearer KEY)")));
    return;
  }
  if (request.path == "/v1/stats" && request.method == "GET") {
    RespondStats(std::move(respond));
    return;
  }
  if (request.path == "/metrics" && request.method == "GET") {
    RespondMetrics(std::move(respond));
    return;
  }
  // The spend store and the ledger read SQLite: not on the event loop.
  deps_.blocking.Post([this, request, respond = std::move(respond)] {
    respond(
        HandleAdminApi(request, deps_.options, deps_.spend_store, deps_.ledger, deps_.clock.Now()));
  });
}

void Gateway::RespondMetrics(http::Respond respond) const {
  // Cache sizes and budget balances read SQLite: not on the event loop.
  deps_.blocking.Post([this, respond = std::move(respond)] {
    metrics::ScrapeSnapshot snapshot;
    auto tiers = deps_.cache.Stats();
    snapshot.cache_tiers = {
        {.tier = "memory", .entries = tiers.memory.entries, .bytes = tiers.memory.bytes},
        {.tier = "persistent",
         .entries = tiers.persistent.entries,
         .bytes = tiers.persistent.bytes},
    };
    std::vector<budget::ScopeLimit> scopes = ScopesFor(deps_.options.budgets, "", "");
    std::erase_if(scopes, [](const auto& s) { return s.kind == budget::ScopeKind::kUserDay; });
    for (const auto& [model, limit] : deps_.options.budgets.per_model_daily) {
      scopes.push_back({.kind = budget::ScopeKind::kModelDay, .subject = model, .limit = limit});
    }
    if (auto balances = deps_.ledger.Balances(scopes, deps_.clock.Now()); balances.ok()) {
      for (const auto& b : *balances) {
        snapshot.budgets.push_back({.scope = std::string(budget::ToString(b.kind)),
                                    .subject = b.subject,
                                    .spent = b.spent,
                                    .reserved = b.reserved,
                                    .limit = b.limit});
      }
    }
    snapshot.inflight_calls = deps_.inflight.InflightCount();
    if (deps_.rehoster != nullptr) {
      const rehost::RehostStats r = deps_.rehoster->stats();
      snapshot.rehost = {.responses = r.responses,
                         .responses_failed = r.responses_failed,
                         .downloads = r.downloads,
                         .bytes_stored = r.bytes_stored,
                         .refused = r.refused};
    }
    {
      absl::MutexLock lock(&blob_usage_mu_);
      snapshot.blobs = blob_usage_;
    }
    if (deps_.near_duplicates != nullptr) {
      snapshot.near_duplicate = metrics::ScrapeSnapshot::NearDuplicate{
          .entries = deps_.near_duplicates->size(),
          .memory_bytes = deps_.near_duplicates->memory_bytes()};
    }
    snapshot.coalesced_waiters = static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, counters_.waiting_followers.load(std::memory_order_relaxed)));
    http::Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = deps_.metrics.Scrape(snapshot);
    respond(std::move(response));
  });
}

void Gateway::RespondStats(http::Respond respond) const {
  // Counting the persistent tier reads the disk: not on the event loop.
  deps_.blocking.Post([this, respond = std::move(respond)] {
    const auto& c = counters_;
    auto tiers = deps_.cache.Stats();
    http::Response response;
    response.body = fmt::format(
        R"({{"requests":{},"hits":{},"near_hits":{},"misses":{},"coalesced":{},"bypass":{},"denied":{},"errors":{},)"
        R"("upstream_creates":{},"upstream_polls":{},"passthrough":{},"store_failures":{},)"
        R"("inflight":{},"cache":{{"memory":{{"entries":{},"bytes":{}}},)"
        R"("persistent":{{"entries":{},"bytes":{}}}}},"near_duplicate_entries":{}}})",
        c.requests.load(), c.hits.load(), c.near_hits.load(), c.misses.load(), c.coalesced.load(),
        c.bypass.load(), c.denied.load(), c.errors.load(), c.upstream_creates.load(),
        c.upstream_polls.load(), c.passthrough.load(), c.store_failures.load(),
        deps_.inflight.InflightCount(), tiers.memory.entries, tiers.memory.bytes,
        tiers.persistent.entries, tiers.persistent.bytes,
        deps_.near_duplicates != nullptr ? deps_.near_duplicates->size() : 0);
    respond(std::move(response));
  });
}

}  // namespace gencache::pipeline
