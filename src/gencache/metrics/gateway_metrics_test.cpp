#include "gencache/metrics/gateway_metrics.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace gencache::metrics {
namespace {

using std::chrono::microseconds;
using Labels = std::map<std::string, std::string>;

// A strict parser for the Prometheus text exposition format 0.0.4, as far as
// a scrape of ours can use it: `# HELP`, `# TYPE`, and `name{labels} value`
// samples. It rejects anything else, so a formatting regression fails here
// rather than in a Prometheus server.
class Exposition {
 public:
  struct Family {
    std::string type;
    std::optional<std::string> help;
  };

  // Parses `text`; on failure `error()` says which line and why.
  explicit Exposition(const std::string& text) {
    std::size_t line_no = 0;
    std::size_t start = 0;
    if (!text.empty() && text.back() != '\n') {
      error_ = "output does not end with a newline";
      return;
    }
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      ++line_no;
      std::string why = ParseLine(line);
      if (!why.empty()) {
        error_ = fmt::format("line {}: {}: '{}'", line_no, why, line);
        return;
      }
    }
    error_ = CheckHistograms();
  }

  const std::string& error() const { return error_; }
  const std::map<std::string, Family>& families() const { return families_; }

  std::optional<double> Value(const std::string& name, const Labels& labels) const {
    auto it = samples_.find(Key(name, labels));
    if (it == samples_.end()) return std::nullopt;
    return it->second;
  }
  // Every label set that a sample name has.
  std::vector<Labels> LabelSets(const std::string& name) const {
    std::vector<Labels> out;
    for (const auto& [n, labels] : sample_labels_) {
      if (n == name) out.push_back(labels);
    }
    return out;
  }

 private:
  static bool IsNameStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  }
  static bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
  static bool IsMetricName(const std::string& s) {
    if (s.empty() || !IsNameStart(s[0])) return false;
    for (char c : s) {
      if (!IsNameChar(c)) return false;
    }
    return true;
  }
  static bool IsLabelName(const std::string& s) {
    return IsMetricName(s) && s.find(':') == std::string::npos;
  }
  static std::string Key(const std::string& name, const Labels& labels) {
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=" + v + "\x1f";
    return key + "}";
  }

  static std::optional<double> ParseValue(const std::string& s) {
    if (s == "+Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    if (s == "NaN") return std::nan("");
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    // strtod accepts "inf", "nan" and hex floats; the format does not.
    for (char c : s) {
      if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) {
        return std::nullopt;
      }
    }
    return v;
  }

  std::string ParseLine(const std::string& line) {
    if (line.empty()) return "empty line";
    if (line[0] == '#') return ParseComment(line);
    return ParseSample(line);
  }

  std::string ParseComment(const std::string& line) {
    const bool help = line.rfind("# HELP ", 0) == 0;
    const bool type = line.rfind("# TYPE ", 0) == 0;
    if (!help && !type) return "comment that is neither HELP nor TYPE";
    const std::string rest = line.substr(7);
    const std::size_t space = rest.find(' ');
    if (space == std::string::npos) return "missing text after the metric name";
    const std::string name = rest.substr(0, space);
    const std::string text = rest.substr(space + 1);
    if (!IsMetricName(name)) return "invalid metric name";
    Family& family = families_[name];
    if (help) {
      if (family.help) return "second HELP for a family";
      if (seen_samples_.contains(name)) return "HELP after the family's samples";
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\') {
          if (i + 1 >= text.size() || (text[i + 1] != '\\' && text[i + 1] != 'n')) {
            return "invalid escape in HELP";
          }
          ++i;
        }
      }
      family.help = text;
      return "";
    }
    if (!family.type.empty()) return "second TYPE for a family";
    if (seen_samples_.contains(name)) return "TYPE after the family's samples";
    static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                 "untyped"};
    if (!kTypes.contains(text)) return "unknown TYPE";
    family.type = text;
    return "";
  }

  // The family a sample belongs to, by its TYPE; empty when none matches.
  std::string FamilyOf(const std::string& name) const {
    if (auto it = families_.find(name); it != families_.end() && !it->second.type.empty()) {
      if (it->second.type != "histogram") return name;
    }
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string base = name.substr(0, name.size() - suffix.size());
        auto it = families_.find(base);
        if (it != families_.end() && it->second.type == "histogram") return base;
        if (it != families_.end() && it->second.type == "summary" && suffix != "_bucket") {
          return base;
        }
      }
    }
    return "";
  }

  std::string ParseSample(const std::string& line) {
    std::size_t i = 0;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    const std::string name = line.substr(0, i);
    if (!IsMetricName(name)) return "invalid metric name";
    Labels labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i >= line.size()) return "unterminated label set";
        if (line[i] == '}') {
          ++i;
          break;
        }
        std::size_t name_end = i;
        while (name_end < line.size() && IsNameChar(line[name_end])) ++name_end;
        const std::string label = line.substr(i, name_end - i);
        if (!IsLabelName(label)) return "invalid label name";
        if (label.rfind("__", 0) == 0) return "reserved label name";
        i = name_end;
        if (line.compare(i, 2, "=\"") != 0) return "label without =\"";
        i += 2;
        std::string value;
        while (true) {
          if (i >= line.size()) return "unterminated label value";
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return "dangling backslash";
            const char e = line[i++];
            if (e == '\\') {
              value += '\\';
            } else if (e == '"') {
              value += '"';
            } else if (e == 'n') {
              value += '\n';
            } else {
              return "invalid escape in label value";
            }
          } else {
            value += c;
          }
        }
        if (!labels.emplace(label, value).second) return "duplicate label";
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          return "expected , or } after a label";
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') return "expected one space before the value";
    ++i;
    const std::string rest = line.substr(i);
    const std::size_t space = rest.find(' ');
    const std::optional<double> value = ParseValue(rest.substr(0, space));
    if (!value) return "invalid value";
    if (space != std::string::npos) {
      const std::string ts = rest.substr(space + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) {
        return "invalid timestamp";
      }
    }
    const std::string family = FamilyOf(name);
    if (family.empty()) return "sample whose family has no TYPE";
    const std::string& type = families_.at(family).type;
    if (type == "histogram" && name == family + "_bucket" && !labels.contains("le")) {
      return "histogram bucket without le";
    }
    if (type == "counter" && *value < 0) return "negative counter";
    seen_samples_.insert(family);
    if (!samples_.emplace(Key(name, labels), *value).second) return "duplicate sample";
    sample_labels_.emplace_back(name, labels);
    return "";
  }

  // Each histogram series: non-decreasing buckets ending in le="+Inf" equal
  // to _count, and a _sum.
  std::string CheckHistograms() const {
    for (const auto& [family, f] : families_) {
      if (f.type != "histogram") continue;
      for (Labels labels : LabelSets(family + "_count")) {
        const double count = *Value(family + "_count", labels);
        if (!Value(family + "_sum", labels)) return family + ": _count without _sum";
        std::vector<std::pair<double, double>> buckets;
        for (const Labels& b : LabelSets(family + "_bucket")) {
          Labels rest = b;
          rest.erase("le");
          if (rest != labels) continue;
          buckets.emplace_back(*ParseValue(b.at("le")), *Value(family + "_bucket", b));
        }
        std::sort(buckets.begin(), buckets.end());
        if (buckets.empty() || !std::isinf(buckets.back().first)) {
          return family + ": no le=\"+Inf\" bucket";
        }
        if (buckets.back().second != count) return family + ": +Inf bucket differs from _count";
        for (std::size_t k = 1; k < buckets.size(); ++k) {
          if (buckets[k].second < buckets[k - 1].second) return family + ": decreasing buckets";
        }
      }
    }
    return "";
  }

  std::string error_;
  std::map<std::string, Family> families_;
  std::set<std::string> seen_samples_;
  std::map<std::string, double> samples_;
  std::vector<std::pair<std::string, Labels>> sample_labels_;
};

Exposition Parse(const std::string& text) {
  Exposition e(text);
  EXPECT_EQ(e.error(), "") << text;
  return e;
}

base::Money Micros(std::int64_t m) { return base::Money::FromMicros(m); }

TEST(ExpositionParserTest, RejectsMalformedOutput) {
  EXPECT_NE(Exposition("x 1\n").error(), "");  // no TYPE
  EXPECT_NE(Exposition("# TYPE x counter\nx{a=\"b\\t\"} 1\n").error(), "");
  EXPECT_NE(Exposition("# TYPE x counter\nx{a=\"b} 1\n").error(), "");
  EXPECT_NE(Exposition("# TYPE x counter\nx 1").error(), "");  // no final newline
  EXPECT_NE(Exposition("# TYPE x counter\nx  1\n").error(), "");
  EXPECT_NE(Exposition("# TYPE x counter\nx 1\nx 2\n").error(), "");
  EXPECT_NE(Exposition("# TYPE x counter\nx inf\n").error(), "");
  EXPECT_NE(Exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n").error(),
            "");  // no +Inf bucket
  EXPECT_EQ(Exposition("# HELP x a \\\\ b\n# TYPE x counter\nx{a=\"\\\"\\n\"} 1.5\n").error(), "");
}

TEST(GatewayMetricsTest, KnownSequenceGivesExactValues) {
  GatewayMetrics m;
  m.RecordRequest("skytells", "flux", "miss", Micros(1'234'567), Micros(0), microseconds(300),
                  microseconds(350));
  m.RecordRequest("skytells", "flux", "hit", Micros(0), Micros(1'234'567), microseconds(0),
                  microseconds(40));
  m.RecordRequest("skytells", "flux", "hit", Micros(0), Micros(1'234'567), microseconds(0),
                  microseconds(60));
  m.RecordRequest("openai", "gpt-4o", "miss", Micros(1), Micros(0), microseconds(2'000'000),
                  microseconds(2'000'100));
  m.RecordError("budget_exceeded");
  m.RecordError("budget_exceeded");
  m.RecordError("upstream_timeout");

  ScrapeSnapshot snap;
  snap.cache_tiers = {{.tier = "memory", .entries = 3, .bytes = 4096}};
  snap.budgets = {{.scope = "daily",
                   .subject = "",
                   .spent = Micros(1'500'000),
                   .reserved = Micros(250'000),
                   .limit = Micros(100'000'000)}};
  snap.inflight_calls = 2;
  snap.coalesced_waiters = 5;
  const std::string text = m.Scrape(snap);
  const Exposition e = Parse(text);

  const auto req = [](std::string p, std::string model, std::string s) {
    return Labels{{"provider", p}, {"model", model}, {"cache_status", s}};
  };
  EXPECT_EQ(e.Value("gencache_requests_total", req("skytells", "flux", "miss")), 1);
  EXPECT_EQ(e.Value("gencache_requests_total", req("skytells", "flux", "hit")), 2);
  EXPECT_EQ(e.Value("gencache_requests_total", req("openai", "gpt-4o", "miss")), 1);
  EXPECT_EQ(e.LabelSets("gencache_requests_total").size(), 3u);

  // Money is summed in micros, so these are exact decimals in the text.
  EXPECT_NE(text.find("gencache_spend_usd_total{model=\"flux\"} 1.234567\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("gencache_saving_usd_total{model=\"flux\"} 2.469134\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("gencache_spend_usd_total{model=\"gpt-4o\"} 1e-06\n"), std::string::npos)
      << text;
  EXPECT_EQ(e.Value("gencache_saving_usd_total", {{"model", "gpt-4o"}}), 0);

  EXPECT_EQ(e.Value("gencache_errors_total", {{"kind", "budget_exceeded"}}), 2);
  EXPECT_EQ(e.Value("gencache_errors_total", {{"kind", "upstream_timeout"}}), 1);

  // Upstream latency only for the two requests that made a call.
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_count", {{"provider", "skytells"}}), 1);
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_sum", {{"provider", "skytells"}}), 0.0003);
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_bucket",
                    {{"provider", "skytells"}, {"le", "0.00025"}}),
            0);
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_bucket",
                    {{"provider", "skytells"}, {"le", "0.0005"}}),
            1);
  EXPECT_EQ(
      e.Value("gencache_upstream_latency_seconds_bucket", {{"provider", "openai"}, {"le", "+Inf"}}),
      1);
  EXPECT_EQ(
      e.Value("gencache_upstream_latency_seconds_bucket", {{"provider", "openai"}, {"le", "1"}}),
      0);
  EXPECT_EQ(
      e.Value("gencache_upstream_latency_seconds_bucket", {{"provider", "openai"}, {"le", "2.5"}}),
      1);

  // Overhead: 50, 40, 60 and 100 µs.
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_count", {}), 4);
  EXPECT_NEAR(*e.Value("gencache_gateway_overhead_seconds_sum", {}), 0.00025, 1e-12);
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_bucket", {{"le", "5e-05"}}), 2);
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_bucket", {{"le", "0.0001"}}), 4);

  const Labels daily{{"scope", "daily"}, {"subject", ""}};
  EXPECT_EQ(e.Value("gencache_budget_spent_usd", daily), 1.5);
  EXPECT_EQ(e.Value("gencache_budget_reserved_usd", daily), 0.25);
  EXPECT_EQ(e.Value("gencache_budget_limit_usd", daily), 100);
  EXPECT_EQ(e.Value("gencache_cache_entries", {{"tier", "memory"}}), 3);
  EXPECT_EQ(e.Value("gencache_cache_bytes", {{"tier", "memory"}}), 4096);
  EXPECT_EQ(e.Value("gencache_inflight_calls", {}), 2);
  EXPECT_EQ(e.Value("gencache_coalesced_waiters", {}), 5);

  const std::map<std::string, std::string> expected_types = {
      {"gencache_requests_total", "counter"},
      {"gencache_spend_usd_total", "counter"},
      {"gencache_saving_usd_total", "counter"},
      {"gencache_errors_total", "counter"},
      {"gencache_upstream_latency_seconds", "histogram"},
      {"gencache_gateway_overhead_seconds", "histogram"},
      {"gencache_budget_spent_usd", "gauge"},
      {"gencache_budget_reserved_usd", "gauge"},
      {"gencache_budget_limit_usd", "gauge"},
      {"gencache_cache_entries", "gauge"},
      {"gencache_cache_bytes", "gauge"},
      {"gencache_inflight_calls", "gauge"},
      {"gencache_coalesced_waiters", "gauge"},
      {"gencache_rehost_responses_total", "counter"},
      {"gencache_rehost_downloads_total", "counter"},
      {"gencache_rehost_bytes_total", "counter"},
      {"gencache_rehost_refused_total", "counter"},
  };
  for (const auto& [name, type] : expected_types) {
    ASSERT_TRUE(e.families().contains(name)) << name;
    EXPECT_EQ(e.families().at(name).type, type) << name;
    EXPECT_TRUE(e.families().at(name).help.has_value()) << name;
  }
  EXPECT_EQ(e.families().size(), expected_types.size());
}

TEST(GatewayMetricsTest, ScrapesAreCumulative) {
  GatewayMetrics m;
  m.RecordRequest("p", "m", "hit", Micros(0), Micros(10), microseconds(0), microseconds(5));
  Parse(m.Scrape({}));
  m.RecordRequest("p", "m", "hit", Micros(0), Micros(10), microseconds(0), microseconds(5));
  const Exposition e = Parse(m.Scrape({}));
  EXPECT_EQ(e.Value("gencache_requests_total",
                    {{"provider", "p"}, {"model", "m"}, {"cache_status", "hit"}}),
            2);
  EXPECT_EQ(e.Value("gencache_saving_usd_total", {{"model", "m"}}), 2e-5);
}

TEST(GatewayMetricsTest, RehostCountersFollowTheirSourceAndStoresAreGauges) {
  GatewayMetrics m;
  ScrapeSnapshot snap;
  snap.rehost = {
      .responses = 5, .responses_failed = 1, .downloads = 7, .bytes_stored = 4096, .refused = 1};
  snap.blobs = ScrapeSnapshot::Blobs{.store = "local", .count = 3, .bytes = 9000};
  snap.near_duplicate = ScrapeSnapshot::NearDuplicate{.entries = 12, .memory_bytes = 4000};
  Parse(m.Scrape(snap));
  snap.rehost = {
      .responses = 8, .responses_failed = 2, .downloads = 10, .bytes_stored = 8192, .refused = 2};
  const Exposition e = Parse(m.Scrape(snap));
  EXPECT_EQ(e.Value("gencache_rehost_responses_total", {{"result", "ok"}}), 6);
  EXPECT_EQ(e.Value("gencache_rehost_responses_total", {{"result", "failed"}}), 2);
  EXPECT_EQ(e.Value("gencache_rehost_downloads_total", {}), 10);
  EXPECT_EQ(e.Value("gencache_rehost_bytes_total", {}), 8192);
  EXPECT_EQ(e.Value("gencache_rehost_refused_total", {}), 2);
  EXPECT_EQ(e.Value("gencache_blob_store_blobs", {{"store", "local"}}), 3);
  EXPECT_EQ(e.Value("gencache_blob_store_bytes", {{"store", "local"}}), 9000);
  EXPECT_EQ(e.Value("gencache_near_duplicate_index_entries", {}), 12);
  EXPECT_EQ(e.Value("gencache_near_duplicate_index_bytes", {}), 4000);
}

TEST(GatewayMetricsTest, NothingRecordedStillParses) {
  GatewayMetrics m;
  const Exposition e = Parse(m.Scrape({}));
  EXPECT_EQ(e.Value("gencache_inflight_calls", {}), 0);
  EXPECT_TRUE(e.LabelSets("gencache_requests_total").empty());
}

TEST(GatewayMetricsTest, OverheadIsClampedAtZeroAndZeroUpstreamIsNotObserved) {
  GatewayMetrics m;
  // A clock step can make total < upstream.
  m.RecordRequest("p", "m", "miss", Micros(0), Micros(0), microseconds(500), microseconds(400));
  m.RecordRequest("p", "m", "denied", Micros(0), Micros(0), microseconds(0), microseconds(20));
  const Exposition e = Parse(m.Scrape({}));
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_count", {{"provider", "p"}}), 1);
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_sum", {}), 0.00002);
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_bucket", {{"le", "1e-05"}}), 1);
}

TEST(GatewayMetricsTest, LabelValuesAreEscapedAndSanitized) {
  GatewayMetrics m;
  const std::string tricky = "a\"b\\c\nd";
  m.RecordRequest("p", tricky, "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  const std::string invalid_utf8 = std::string("caf\xC3\xA9-") + "\xFF\xC0\xAF" + "x";
  m.RecordRequest("p", invalid_utf8, "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  m.RecordRequest("p", invalid_utf8, "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  // 127 ASCII bytes then a 2-byte character that would cross the 128 limit.
  const std::string long_name = std::string(127, 'm') + "\xC3\xA9" + std::string(500, 'z');
  m.RecordRequest("p", long_name, "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  const Exposition e = Parse(m.Scrape({}));
  const auto req = [](std::string model) {
    return Labels{{"provider", "p"}, {"model", model}, {"cache_status", "hit"}};
  };
  EXPECT_EQ(e.Value("gencache_requests_total", req(tricky)), 1);
  EXPECT_EQ(e.Value("gencache_requests_total", req("caf\xC3\xA9-???x")), 2);
  EXPECT_EQ(e.Value("gencache_requests_total", req(std::string(127, 'm'))), 1);
}

TEST(GatewayMetricsTest, StaleBudgetScopesAndTiersDisappear) {
  GatewayMetrics m;
  ScrapeSnapshot first;
  first.budgets = {
      {.scope = "daily", .subject = "", .spent = Micros(1), .limit = Micros(10)},
      {.scope = "user_daily", .subject = "alice", .spent = Micros(2), .limit = Micros(20)},
      {.scope = "user_daily", .subject = "bob", .spent = Micros(3), .limit = Micros(30)},
  };
  first.cache_tiers = {{.tier = "memory", .entries = 1, .bytes = 1},
                       {.tier = "persistent", .entries = 2, .bytes = 2}};
  Exposition e = Parse(m.Scrape(first));
  EXPECT_EQ(e.LabelSets("gencache_budget_spent_usd").size(), 3u);
  EXPECT_EQ(e.LabelSets("gencache_cache_entries").size(), 2u);

  ScrapeSnapshot second;
  second.budgets = {
      {.scope = "user_daily", .subject = "bob", .spent = Micros(5'000'000), .limit = Micros(30)},
  };
  second.cache_tiers = {{.tier = "persistent", .entries = 7, .bytes = 8}};
  e = Parse(m.Scrape(second));
  for (const char* name :
       {"gencache_budget_spent_usd", "gencache_budget_reserved_usd", "gencache_budget_limit_usd"}) {
    ASSERT_EQ(e.LabelSets(name).size(), 1u) << name;
    EXPECT_EQ(e.LabelSets(name)[0], (Labels{{"scope", "user_daily"}, {"subject", "bob"}}));
  }
  EXPECT_EQ(e.Value("gencache_budget_spent_usd", {{"scope", "user_daily"}, {"subject", "bob"}}), 5);
  EXPECT_EQ(e.LabelSets("gencache_cache_entries").size(), 1u);
  EXPECT_EQ(e.Value("gencache_cache_entries", {{"tier", "persistent"}}), 7);
  EXPECT_FALSE(e.Value("gencache_cache_bytes", {{"tier", "memory"}}).has_value());

  // A scope that comes back is exported again.
  e = Parse(m.Scrape(first));
  EXPECT_EQ(e.LabelSets("gencache_budget_limit_usd").size(), 3u);
  EXPECT_EQ(e.Value("gencache_budget_spent_usd", {{"scope", "user_daily"}, {"subject", "bob"}}),
            3e-6);

  e = Parse(m.Scrape({}));
  EXPECT_TRUE(e.LabelSets("gencache_budget_spent_usd").empty());
  EXPECT_TRUE(e.LabelSets("gencache_cache_bytes").empty());
}

TEST(GatewayMetricsTest, DuplicateBudgetScopeInOneSnapshotKeepsTheLast) {
  GatewayMetrics m;
  ScrapeSnapshot snap;
  snap.budgets = {{.scope = "daily", .spent = Micros(1)}, {.scope = "daily", .spent = Micros(2)}};
  const Exposition e = Parse(m.Scrape(snap));
  EXPECT_EQ(e.Value("gencache_budget_spent_usd", {{"scope", "daily"}, {"subject", ""}}), 2e-6);
}

TEST(GatewayMetricsTest, ModelLabelsAreCappedUnderOther) {
  GatewayMetrics m;
  const std::size_t extra = 50;
  for (std::size_t i = 0; i < GatewayMetrics::kMaxModels + extra; ++i) {
    // Twice each, so the folded path is taken from cache-miss and repeat.
    for (int k = 0; k < 2; ++k) {
      m.RecordRequest("p", fmt::format("model-{}", i), "miss", Micros(1), Micros(0),
                      microseconds(10), microseconds(20));
    }
  }
  const Exposition e = Parse(m.Scrape({}));
  const std::vector<Labels> sets = e.LabelSets("gencache_requests_total");
  EXPECT_EQ(sets.size(), GatewayMetrics::kMaxModels + 1);
  const Labels other{{"provider", "p"}, {"model", "other"}, {"cache_status", "miss"}};
  EXPECT_EQ(e.Value("gencache_requests_total", other), 2.0 * extra);
  EXPECT_EQ(e.Value("gencache_requests_total",
                    {{"provider", "p"}, {"model", "model-999"}, {"cache_status", "miss"}}),
            2);
  EXPECT_FALSE(e.Value("gencache_requests_total",
                       {{"provider", "p"}, {"model", "model-1000"}, {"cache_status", "miss"}})
                   .has_value());
  EXPECT_EQ(e.Value("gencache_spend_usd_total", {{"model", "other"}}), 2.0 * extra / 1e6);
  EXPECT_EQ(e.LabelSets("gencache_spend_usd_total").size(), GatewayMetrics::kMaxModels + 1);
  // A model admitted before the cap keeps its own label.
  m.RecordRequest("p", "model-0", "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  EXPECT_EQ(Parse(m.Scrape({}))
                .Value("gencache_requests_total",
                       {{"provider", "p"}, {"model", "model-0"}, {"cache_status", "hit"}}),
            1);
}

TEST(GatewayMetricsTest, ProviderStatusAndErrorKindsAreCapped) {
  GatewayMetrics m;
  for (std::size_t i = 0; i < GatewayMetrics::kMaxProviders + 3; ++i) {
    m.RecordRequest(fmt::format("p{}", i), "m", "hit", Micros(0), Micros(0), microseconds(1),
                    microseconds(2));
  }
  for (std::size_t i = 0; i < GatewayMetrics::kMaxStatuses + 3; ++i) {
    m.RecordRequest("p0", "m", fmt::format("s{}", i), Micros(0), Micros(0), microseconds(0),
                    microseconds(2));
  }
  for (std::size_t i = 0; i < GatewayMetrics::kMaxErrorKinds + 3; ++i) {
    m.RecordError(fmt::format("kind{}", i));
  }
  const Exposition e = Parse(m.Scrape({}));
  EXPECT_EQ(e.LabelSets("gencache_upstream_latency_seconds_count").size(),
            GatewayMetrics::kMaxProviders + 1);
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_count", {{"provider", "other"}}), 3);
  EXPECT_EQ(e.Value("gencache_requests_total",
                    {{"provider", "p0"}, {"model", "m"}, {"cache_status", "other"}}),
            3 + 1);  // "hit" took one status slot, so s31..s34 fold
  EXPECT_EQ(e.LabelSets("gencache_errors_total").size(), GatewayMetrics::kMaxErrorKinds + 1);
  EXPECT_EQ(e.Value("gencache_errors_total", {{"kind", "other"}}), 3);
}

TEST(GatewayMetricsTest, InstancesDoNotShareCachedSeries) {
  const Labels hit{{"provider", "p"}, {"model", "m"}, {"cache_status", "hit"}};
  const auto record = [](GatewayMetrics& m) {
    m.RecordRequest("p", "m", "hit", Micros(0), Micros(0), microseconds(0), microseconds(1));
  };
  {
    // Alternating on one thread: each instance counts only its own calls.
    GatewayMetrics a;
    GatewayMetrics b;
    record(a);
    record(b);
    record(a);
    EXPECT_EQ(Parse(a.Scrape({})).Value("gencache_requests_total", hit), 2);
    EXPECT_EQ(Parse(b.Scrape({})).Value("gencache_requests_total", hit), 1);
  }
  // A new instance after the old ones are gone (possibly at the same
  // address) starts from zero; under ASan a stale pointer would be caught.
  for (int i = 0; i < 3; ++i) {
    auto m = std::make_unique<GatewayMetrics>();
    record(*m);
    EXPECT_EQ(Parse(m->Scrape({})).Value("gencache_requests_total", hit), 1);
  }
}

TEST(GatewayMetricsTest, ConcurrentRecordsCountExactly) {
  GatewayMetrics m;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // A shared series, one per thread, and new series created while
        // other threads read the cache.
        m.RecordRequest("p", "shared", "hit", Micros(3), Micros(7), microseconds(i % 2),
                        microseconds(5));
        m.RecordRequest("p", fmt::format("t{}", t), "miss", Micros(1), Micros(0), microseconds(0),
                        microseconds(5));
        if (i % 1000 == 0) {
          m.RecordRequest("p", fmt::format("t{}-{}", t, i), "miss", Micros(0), Micros(0),
                          microseconds(0), microseconds(5));
          m.RecordError("concurrent");
        }
      }
    });
  }
  // Scrapes run beside the writers and must parse too.
  for (int i = 0; i < 5; ++i) Parse(m.Scrape({}));
  for (std::thread& t : threads) t.join();

  const Exposition e = Parse(m.Scrape({}));
  const double total = double{kThreads} * kPerThread;
  EXPECT_EQ(e.Value("gencache_requests_total",
                    {{"provider", "p"}, {"model", "shared"}, {"cache_status", "hit"}}),
            total);
  EXPECT_EQ(e.Value("gencache_spend_usd_total", {{"model", "shared"}}), total * 3 / 1e6);
  EXPECT_EQ(e.Value("gencache_saving_usd_total", {{"model", "shared"}}), total * 7 / 1e6);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(
        e.Value("gencache_requests_total",
                {{"provider", "p"}, {"model", fmt::format("t{}", t)}, {"cache_status", "miss"}}),
        kPerThread);
  }
  EXPECT_EQ(e.Value("gencache_errors_total", {{"kind", "concurrent"}}), kThreads * 20);
  EXPECT_EQ(e.Value("gencache_upstream_latency_seconds_count", {{"provider", "p"}}), total / 2);
  EXPECT_EQ(e.Value("gencache_gateway_overhead_seconds_count", {}), total * 2 + kThreads * 20);
}

}  // namespace
}  // namespace gencache::metrics
