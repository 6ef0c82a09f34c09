#include "gencache/pipeline/admin_api.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <cstdio>

#include "gencache/base/log.hpp"
#include "gencache/pipeline/budget_policy.hpp"
#include "gencache/spend/report_format.hpp"

namespace gencache::pipeline {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;

http::Response JsonError(int status, const std::string& message) {
  json::object error{{"message", message}, {"type", "invalid_request_error"}};
  http::Response response;
  response.status = status;
  response.body = json::serialize(json::object{{"error", std::move(error)}});
  return response;
}

absl::StatusOr<base::SystemTime> TimeParamOr(std::string_view query, std::string_view name,
                                             base::SystemTime fallback) {
  auto text = QueryParam(query, name);
  if (!text) return fallback;
  auto t = ParseTimeParam(*text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", name, std::string(t.status().message())));
  }
  return *t;
}

}  // namespace

absl::StatusOr<base::SystemTime> ParseTimeParam(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::string t(text);
  if (t.size() == 10 && std::sscanf(t.c_str(), "%4d-%2d-%2d", &y, &mo, &d) == 3) {
    // a date: its midnight, UTC
  } else if (t.size() == 20 && t.back() == 'Z' &&
             std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &s) == 6) {
  } else {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), seconds);
    if (ec != std::errc{} || end != t.data() + t.size() || t.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "'{}' is not a time (use 2026-11-26, 2026-11-26T10:00:00Z or Unix seconds)", text));
    }
    return base::SystemTime{std::chrono::seconds{seconds}};
  }
  std::chrono::year_month_day ymd{std::chrono::year{y},
                                  std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) {
    return absl::InvalidArgumentError(fmt::format("'{}' is not a valid date", text));
  }
  return base::SystemTime{std::chrono::sys_days{ymd}} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + std::chrono::seconds{s};
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  auto params = boost::urls::parse_query(boost::core::string_view(query.data(), query.size()));
  if (!params) return std::nullopt;
  for (auto param : boost::urls::params_view(*params)) {
    if (param.key == name) return std::string(param.value);
  }
  return std::nullopt;
}

std::string FormatBudgetsJson(const std::vector<budget::ScopeBalance>& balances) {
  // Amounts are written from micro-dollars as fixed decimals (0.040000),
  // as in the spend reports, not through a double.
  std::string out = R"({"scopes":[)";
  for (std::size_t i = 0; i < balances.size(); ++i) {
    const budget::ScopeBalance& b = balances[i];
    base::Money remaining = b.limit - b.spent - b.reserved;
    if (remaining.micros < 0) remaining = {};
    if (i > 0) out += ',';
    out += R"({"scope":")";
    base::AppendJsonEscaped(out, budget::ToString(b.kind));
    out += R"(","subject":")";
    base::AppendJsonEscaped(out, b.subject);
    out += R"(","window":")";
    base::AppendJsonEscaped(out, b.window);
    out += fmt::format(
        R"(","spent_usd":{},"reserved_usd":{},"limit_usd":{},"remaining_usd":{},"resets_at":"{}"}})",
        base::FormatUsdMicros(b.spent), base::FormatUsdMicros(b.reserved),
        base::FormatUsdMicros(b.limit), base::FormatUsdMicros(remaining),
        spend::FormatIsoTime(b.resets_at));
  }
  out += "]}";
  return out;
}

http::Response HandleAdminApi(const http::Request& request, const config::Options& options,
                              spend::SpendStore& spend, budget::BudgetLedger& ledger,
                              base::SystemTime now) {
  if (request.method != "GET") return JsonError(405, "admin endpoints answer GET only");
  const std::string& q = request.query;
  http::Response response;
  if (request.path == "/v1/spend/summary") {
    auto group = spend::ParseGroupBy(QueryParam(q, "group_by").value_or("model"));
    if (!group.ok()) return JsonError(400, std::string(group.status().message()));
    auto from = TimeParamOr(q, "from", now - std::chrono::days{30});
    auto to = TimeParamOr(q, "to", now + std::chrono::seconds{1});
    if (!from.ok()) return JsonError(400, std::string(from.status().message()));
    if (!to.ok()) return JsonError(400, std::string(to.status().message()));
    auto summary = spend.Summarize(*group, *from, *to);
    if (!summary.ok()) return JsonError(503, std::string(summary.status().message()));
    response.body = spend::FormatSummaryJson(*summary);
    return response;
  }
  if (request.path == "/v1/spend/events") {
    spend::EventFilter filter;
    auto from = TimeParamOr(q, "from", now - std::chrono::days{30});
    auto to = TimeParamOr(q, "to", now + std::chrono::seconds{1});
    if (!from.ok()) return JsonError(400, std::string(from.status().message()));
    if (!to.ok()) return JsonError(400, std::string(to.status().message()));
    filter.from = *from;
    filter.to = *to;
    filter.model = QueryParam(q, "model");
    filter.user = QueryParam(q, "user");
    filter.cache_status = QueryParam(q, "status");
    for (auto [name, out] :
         {std::pair{"limit", &filter.limit}, std::pair{"offset", &filter.offset}}) {
      if (auto text = QueryParam(q, name)) {
        std::int64_t v = -1;
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
        if (ec != std::errc{} || end != text->data() + text->size() || v < 0) {
          return JsonError(400, fmt::format("{} must be a non-negative integer", name));
        }
        *out = v;
      }
    }
    filter.limit = std::min<std::int64_t>(filter.limit, 1000);
    auto events = spend.Events(filter);
    if (!events.ok()) return JsonError(503, std::string(events.status().message()));
    response.body = spend::FormatEventsJson(*events, filter.limit, filter.offset);
    return response;
  }
  if (request.path == "/v1/spend/timeseries") {
    std::string bucket_name = QueryParam(q, "bucket").value_or("day");
    if (bucket_name != "day" && bucket_name != "hour") {
      return JsonError(400, "bucket must be day or hour");
    }
    spend::Bucket bucket = bucket_name == "day" ? spend::Bucket::kDay : spend::Bucket::kHour;
    auto from = TimeParamOr(q, "from", now - std::chrono::days{30});
    auto to = TimeParamOr(q, "to", now + std::chrono::seconds{1});
    if (!from.ok()) return JsonError(400, std::string(from.status().message()));
    if (!to.ok()) return JsonError(400, std::string(to.status().message()));
    auto rows = spend.Timeseries(bucket, *from, *to);
    if (!rows.ok()) return JsonError(503, std::string(rows.status().message()));
    response.body = spend::FormatTimeseriesJson(bucket, *rows);
    return response;
  }
  if (request.path == "/v1/budgets") {
    std::string user = QueryParam(q, "user").value_or("");
    std::vector<budget::ScopeLimit> scopes = ScopesFor(options.budgets, user, "");
    if (user.empty())
      std::erase_if(scopes, [](const auto& s) { return s.kind == budget::ScopeKind::kUserDay; });
    for (const auto& [model, limit] : options.budgets.per_model_daily) {
      scopes.push_back({.kind = budget::ScopeKind::kModelDay, .subject = model, .limit = limit});
    }
    auto balances = ledger.Balances(scopes, now);
    if (!balances.ok()) return JsonError(503, std::string(balances.status().message()));
    response.body = FormatBudgetsJson(*balances);
    return response;
  }
  return JsonError(404, fmt::format("no admin endpoint at {}", request.path));
}

}  // namespace gencache::pipeline
