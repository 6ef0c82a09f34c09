#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/spend/spend_event.hpp"

namespace gencache::spend {

// Pure formatting of spend data for the HTTP API, the CLI and log shippers.
// No I/O; thread-safe.
//
// Conventions shared by every format:
// - Times are ISO-8601 UTC: "2026-11-26T19:15:22Z", with ".mmm" added when
//   the time has a millisecond part.
// - USD amounts are written from integer micros with exactly six decimals
//   ("0.040000"); in JSON they are numbers, not strings.
// - Latencies are milliseconds with three decimals ("12.345").
// - Strings are escaped for their format. In JSON, bytes that are not valid
//   UTF-8 become U+FFFD so the document always parses.

// "model", "user", "day".
std::string_view GroupByName(GroupBy group_by);
// The inverse of GroupByName. InvalidArgument names the accepted values.
absl::StatusOr<GroupBy> ParseGroupBy(std::string_view name);

std::string FormatIsoTime(base::SystemTime t);

// {"group_by":"model","from":"..","to":"..","rows":[{"key":..,"requests":N,
//  "upstream_calls":N,"hits":N,"cost_usd":X,"saved_usd":Y},...],
//  "total":{"key":"total",...same fields}}
std::string FormatSummaryJson(const Summary& summary);

// An aligned table for terminals: a title line with the window, a header,
// one line per row, a rule and the total. Control characters in keys are
// shown as '?' so a stored name cannot drive the terminal.
std::string FormatSummaryTable(const Summary& summary);

// RFC 4180 fields, '\n' line ends. The header names the grouping
// ("model,requests,upstream_calls,hits,cost_usd,saved_usd"); there is no total
// line, so every line is a data row a spreadsheet can sum.
std::string FormatSummaryCsv(const Summary& summary);

// A per-day bar chart of spend and savings for a terminal (part of
// FormatSummaryTable's output when grouped by day).
std::string FormatDayChart(const Summary& summary);

// {"events":[{"ts":..,"request_id":..,"provider":..,"model":..,"user":..,
//  "cost_usd":X,"saving_usd":Y,"cache_status":..,"prediction_id":..,
//  "upstream_ms":L,"total_ms":L},...],"limit":N,"offset":N}
std::string FormatEventsJson(const std::vector<SpendEvent>& events, std::int64_t limit,
                             std::int64_t offset);

// {"bucket":"day"|"hour","rows":[{"t","model","cache_status","requests",
//  "cost_usd","saved_usd"}]}
std::string FormatTimeseriesJson(Bucket bucket, const std::vector<SeriesRow>& rows);

// One event for log shippers: the FormatEventsJson object with
// "event_type":"generation_cost" first. No trailing newline.
std::string FormatEventJsonLine(const SpendEvent& event);

}  // namespace gencache::spend
