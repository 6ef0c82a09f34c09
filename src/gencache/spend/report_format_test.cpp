#include "gencache/spend/report_format.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace gencache::spend {
namespace {

namespace json = boost::json;
using std::chrono::sys_days;
using namespace std::chrono_literals;

base::Money Usd(std::int64_t micros) { return base::Money::FromMicros(micros); }

const base::SystemTime kFrom = sys_days{std::chrono::year{2026} / 11 / 25};
const base::SystemTime kTo = sys_days{std::chrono::year{2026} / 11 / 27};

Summary ModelSummary() {
  Summary s{.group_by = GroupBy::kModel, .from = kFrom, .to = kTo};
  s.rows.push_back(SummaryRow{.key = "truefusion-pro",
                              .requests = 10,
                              .upstream_calls = 4,
                              .hits = 6,
                              .cost = Usd(160'000),
                              .saved = Usd(240'000)});
  s.rows.push_back(SummaryRow{.key = "truefusion-edge",
                              .requests = 3,
                              .upstream_calls = 3,
                              .hits = 0,
                              .cost = Usd(30'000),
                              .saved = Usd(0)});
  s.total = SummaryRow{.key = "total",
                       .requests = 13,
                       .upstream_calls = 7,
                       .hits = 6,
                       .cost = Usd(190'000),
                       .saved = Usd(240'000)};
  return s;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ReportFormatTest, IsoTimeIsUtcWithMillisecondsOnlyWhenPresent) {
  EXPECT_EQ(FormatIsoTime(kFrom), "2026-11-25T00:00:00Z");
  EXPECT_EQ(FormatIsoTime(kFrom + 19h + 15min + 22s), "2026-11-25T19:15:22Z");
  EXPECT_EQ(FormatIsoTime(kFrom + 1s + 7ms), "2026-11-25T00:00:01.007Z");
  // Sub-millisecond parts are truncated, never rounded up into the next second.
  EXPECT_EQ(FormatIsoTime(kFrom - 1us), "2026-11-24T23:59:59.999Z");
  EXPECT_EQ(FormatIsoTime(base::SystemTime{}), "1970-01-01T00:00:00Z");
}

TEST(ReportFormatTest, GroupByNamesRoundTrip) {
  for (GroupBy g : {GroupBy::kModel, GroupBy::kUser, GroupBy::kDay}) {
    absl::StatusOr<GroupBy> parsed = ParseGroupBy(GroupByName(g));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, g);
  }
  absl::StatusOr<GroupBy> bad = ParseGroupBy("provider");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("provider"), absl::string_view::npos);
}

TEST(ReportFormatTest, SummaryJsonHasTheDocumentedShapeExactly) {
  const std::string text = FormatSummaryJson(ModelSummary());
  EXPECT_EQ(text,
            R"({"group_by":"model","from":"2026-11-25T00:00:00Z","to":"2026-11-27T00:00:00Z",)"
            R"("rows":[{"key":"truefusion-pro","requests":10,"upstream_calls":4,"hits":6,)"
            R"("cost_usd":0.160000,"saved_usd":0.240000},)"
            R"({"key":"truefusion-edge","requests":3,"upstream_calls":3,"hits":0,)"
            R"("cost_usd":0.030000,"saved_usd":0.000000}],)"
            R"("total":{"key":"total","requests":13,"upstream_calls":7,"hits":6,)"
            R"("cost_usd":0.190000,"saved_usd":0.240000}})");

  const json::value doc = json::parse(text);
  const json::object& root = doc.as_object();
  EXPECT_EQ(root.at("group_by").as_string(), "model");
  EXPECT_EQ(root.at("from").as_string(), "2026-11-25T00:00:00Z");
  EXPECT_EQ(root.at("to").as_string(), "2026-11-27T00:00:00Z");
  const json::array& rows = root.at("rows").as_array();
  ASSERT_EQ(rows.size(), 2u);
  const json::object& first = rows[0].as_object();
  EXPECT_EQ(first.size(), 6u);
  EXPECT_EQ(first.at("key").as_string(), "truefusion-pro");
  EXPECT_EQ(first.at("requests").as_int64(), 10);
  EXPECT_EQ(first.at("upstream_calls").as_int64(), 4);
  EXPECT_EQ(first.at("hits").as_int64(), 6);
  // Numbers, not strings.
  EXPECT_DOUBLE_EQ(first.at("cost_usd").as_double(), 0.16);
  EXPECT_DOUBLE_EQ(first.at("saved_usd").as_double(), 0.24);
  const json::object& total = root.at("total").as_object();
  EXPECT_EQ(total.at("requests").as_int64(), 13);
  EXPECT_DOUBLE_EQ(total.at("cost_usd").as_double(), 0.19);
}

TEST(ReportFormatTest, SummaryJsonOfAnEmptyWindow) {
  Summary s{.group_by = GroupBy::kDay, .from = kFrom, .to = kTo};
  s.total.key = "total";
  const json::value doc = json::parse(FormatSummaryJson(s));
  EXPECT_EQ(doc.at("group_by").as_string(), "day");
  EXPECT_TRUE(doc.at("rows").as_array().empty());
  EXPECT_EQ(doc.at("total").at("requests").as_int64(), 0);
  EXPECT_DOUBLE_EQ(doc.at("total").at("cost_usd").as_double(), 0.0);
}

TEST(ReportFormatTest, LargeAndNegativeAmountsKeepEveryMicro) {
  Summary s = ModelSummary();
  s.rows[0].cost = Usd(123'456'789'012);
  s.rows[1].saved = Usd(-1);
  const std::string text = FormatSummaryJson(s);
  EXPECT_NE(text.find(R"("cost_usd":123456.789012)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("saved_usd":-0.000001)"), std::string::npos) << text;
  EXPECT_NO_THROW(json::parse(text));
}

TEST(ReportFormatTest, JsonEscapesEveryAwkwardKey) {
  const std::string awkward = std::string(
                                  "a\"b\\c\nd\te\x01"
                                  "f") +
                              "\x7f" + "\xC3\xA9" + "\xE2\x82\xAC" + "\xF0\x9F\x98\x80";
  const std::string invalid = std::string("x\xFFy\xC3") + "z" + "\xED\xA0\x80" + "\xC0\xAF";
  Summary s = ModelSummary();
  s.rows[0].key = awkward;
  s.rows[1].key = invalid;
  const std::string text = FormatSummaryJson(s);
  json::value doc;
  ASSERT_NO_THROW(doc = json::parse(text)) << text;
  EXPECT_EQ(doc.at("rows").at(0).at("key").as_string(), awkward);
  // Each byte that is not part of a well-formed sequence becomes U+FFFD.
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(doc.at("rows").at(1).at("key").as_string(),
            "x" + r + "y" + r + "z" + r + r + r + r + r);
  EXPECT_NE(text.find(R"(\u0001)"), std::string::npos);
}

TEST(ReportFormatTest, TableIsAligned) {
  const std::vector<std::string> lines = Lines(FormatSummaryTable(ModelSummary()));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "Spend by model from 2026-11-25T00:00:00Z to 2026-11-27T00:00:00Z");
  EXPECT_EQ(lines[1], "model            requests  upstream_calls  hits  cost_usd  saved_usd");
  EXPECT_EQ(lines[2], "truefusion-pro         10               4     6  0.160000   0.240000");
  EXPECT_EQ(lines[3], "truefusion-edge         3               3     0  0.030000   0.000000");
  EXPECT_EQ(lines[4], std::string(lines[1].size(), '-'));
  EXPECT_EQ(lines[5], "total                  13               7     6  0.190000   0.240000");
}

TEST(ReportFormatTest, TableCountsCodePointsAndNeutralisesControlCharacters) {
  Summary s = ModelSummary();
  s.rows[0].key = "caf\xC3\xA9";  // 4 columns, 5 bytes
  s.rows[1].key = "\x1b[31mred";  // an escape sequence must not reach the terminal
  const std::string table = FormatSummaryTable(s);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[1], "model     requests  upstream_calls  hits  cost_usd  saved_usd");
  EXPECT_EQ(lines[2], "caf\xC3\xA9            10               4     6  0.160000   0.240000");
  EXPECT_EQ(lines[3], "?[31mred         3               3     0  0.030000   0.000000");
}

TEST(ReportFormatTest, CsvHasAHeaderAndQuotesWhereNeeded) {
  Summary s = ModelSummary();
  s.group_by = GroupBy::kUser;
  s.rows[0].key = "alice, \"the admin\"";
  s.rows[1].key = "bob\nsmith";
  EXPECT_EQ(FormatSummaryCsv(s),
            "user,requests,upstream_calls,hits,cost_usd,saved_usd\n"
            "\"alice, \"\"the admin\"\"\",10,4,6,0.160000,0.240000\n"
            "\"bob\nsmith\",3,3,0,0.030000,0.000000\n");
  Summary empty{.group_by = GroupBy::kDay};
  EXPECT_EQ(FormatSummaryCsv(empty), "day,requests,upstream_calls,hits,cost_usd,saved_usd\n");
}

SpendEvent SampleEvent() {
  return SpendEvent{.ts = kFrom + 10h + 5ms,
                    .request_id = "req-1",
                    .provider = "skytells",
                    .model = "truefusion-pro",
                    .user = "al\"ice",
                    .cost = Usd(40'000),
                    .saving = Usd(0),
                    .cache_status = "miss",
                    .prediction_id = "pred-1",
                    .upstream_latency = 1'234'567us,
                    .total_latency = 1'240'001us};
}

void ExpectEventFields(const json::object& e) {
  EXPECT_EQ(e.at("ts").as_string(), "2026-11-25T10:00:00.005Z");
  EXPECT_EQ(e.at("request_id").as_string(), "req-1");
  EXPECT_EQ(e.at("provider").as_string(), "skytells");
  EXPECT_EQ(e.at("model").as_string(), "truefusion-pro");
  EXPECT_EQ(e.at("user").as_string(), "al\"ice");
  EXPECT_DOUBLE_EQ(e.at("cost_usd").as_double(), 0.04);
  EXPECT_DOUBLE_EQ(e.at("saving_usd").as_double(), 0.0);
  EXPECT_EQ(e.at("cache_status").as_string(), "miss");
  EXPECT_EQ(e.at("prediction_id").as_string(), "pred-1");
  EXPECT_DOUBLE_EQ(e.at("upstream_ms").as_double(), 1234.567);
  EXPECT_DOUBLE_EQ(e.at("total_ms").as_double(), 1240.001);
}

TEST(ReportFormatTest, EventsJsonCarriesEveryFieldAndThePage) {
  const std::string text = FormatEventsJson({SampleEvent(), SampleEvent()}, 2, 40);
  const json::value doc = json::parse(text);
  EXPECT_EQ(doc.at("limit").as_int64(), 2);
  EXPECT_EQ(doc.at("offset").as_int64(), 40);
  const json::array& events = doc.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].as_object().size(), 13u);
  ExpectEventFields(events[0].as_object());
  EXPECT_NE(text.find(R"("cost_usd":0.040000)"), std::string::npos) << text;

  EXPECT_EQ(FormatEventsJson({}, 100, 0), R"({"events":[],"limit":100,"offset":0})");
}

TEST(ReportFormatTest, EventJsonLineIsOneLineWithTheEventType) {
  SpendEvent event = SampleEvent();
  event.prediction_id = "line\nbreak";
  const std::string line = FormatEventJsonLine(event);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind(R"({"event_type":"generation_cost",)", 0), 0u) << line;
  const json::value doc = json::parse(line);
  EXPECT_EQ(doc.at("prediction_id").as_string(), "line\nbreak");
  json::object fields = doc.as_object();
  EXPECT_EQ(fields.at("event_type").as_string(), "generation_cost");
  fields.erase("event_type");
  fields["prediction_id"] = "pred-1";
  ExpectEventFields(fields);
}

}  // namespace
}  // namespace gencache::spend

namespace gencache::spend {
namespace {

TEST(FormatDayChart, BarsScaleToTheLargestDay) {
  Summary summary;
  summary.group_by = GroupBy::kDay;
  summary.rows = {
      {.key = "2026-11-25",
       .requests = 1,
       .cost = base::Money::FromMicros(500'000),
       .saved = base::Money::FromMicros(500'000)},
      {.key = "2026-11-24",
       .requests = 1,
       .cost = base::Money::FromMicros(250'000),
       .saved = base::Money::FromMicros(0)},
  };
  std::string chart = FormatDayChart(summary);
  auto first = chart.find("2026-11-24");
  auto second = chart.find("2026-11-25");
  ASSERT_NE(first, std::string::npos);
  ASSERT_LT(first, second);  // calendar order
  EXPECT_NE(chart.find("2026-11-25  " + std::string(25, '#') + std::string(25, '=') +
                       "  $0.50 spent, $0.50 saved"),
            std::string::npos)
      << chart;
  EXPECT_NE(chart.find("2026-11-24  " + std::string(13, '#') + std::string(37, ' ') +
                       "  $0.25 spent, $0.00 saved"),
            std::string::npos)
      << chart;
  EXPECT_NE(FormatSummaryTable(summary).find("Per day"), std::string::npos);
}

}  // namespace
}  // namespace gencache::spend
