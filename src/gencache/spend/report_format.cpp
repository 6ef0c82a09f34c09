#include "gencache/spend/report_format.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>

#include "fmt/format.h"
#include "gencache/base/money.hpp"

namespace gencache::spend {
namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629:
// no overlongs, no surrogates, nothing above U+10FFFF), or 0.
std::size_t ValidUtf8Length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  const unsigned lead = byte(0);
  std::size_t length = 0;
  unsigned second_min = 0x80;
  unsigned second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  const unsigned second = byte(1);
  if (second < second_min || second > second_max) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    const unsigned next = byte(k);
    if (next < 0x80 || next > 0xBF) return 0;
  }
  return length;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t length = ValidUtf8Length(s, i);
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

std::string FormatMillis(std::chrono::microseconds d) {
  const std::int64_t us = d.count();
  const std::int64_t abs = std::llabs(us);
  return fmt::format("{}{}.{:03}", us < 0 ? "-" : "", abs / 1000, abs % 1000);
}

void AppendSummaryRowJson(std::string& out, const SummaryRow& row) {
  out += fmt::format(
      R"({{"key":{},"requests":{},"upstream_calls":{},"hits":{},"cost_usd":{},"saved_usd":{}}})",
      JsonString(row.key), row.requests, row.upstream_calls, row.hits,
      base::FormatUsdMicros(row.cost), base::FormatUsdMicros(row.saved));
}

void AppendEventFieldsJson(std::string& out, const SpendEvent& e) {
  out += fmt::format(
      R"("ts":{},"request_id":{},"provider":{},"model":{},"user":{},"cost_usd":{},)"
      R"("saving_usd":{},"cache_status":{},"prediction_id":{},"upstream_ms":{},"total_ms":{},)"
      R"("rehosted":{},"rehosted_bytes":{})",
      JsonString(FormatIsoTime(e.ts)), JsonString(e.request_id), JsonString(e.provider),
      JsonString(e.model), JsonString(e.user), base::FormatUsdMicros(e.cost),
      base::FormatUsdMicros(e.saving), JsonString(e.cache_status), JsonString(e.prediction_id),
      FormatMillis(e.upstream_latency), FormatMillis(e.total_latency), e.rehosted,
      e.rehosted_bytes);
}

constexpr std::size_t kColumns = 6;
using Cells = std::array<std::string, kColumns>;

Cells RowCells(const SummaryRow& row, std::string key) {
  return {
      std::move(key),           std::to_string(row.requests),    std::to_string(row.upstream_calls),
      std::to_string(row.hits), base::FormatUsdMicros(row.cost), base::FormatUsdMicros(row.saved)};
}

Cells HeaderCells(GroupBy group_by) {
  return {std::string(GroupByName(group_by)),
          "requests",
          "upstream_calls",
          "hits",
          "cost_usd",
          "saved_usd"};
}

// Control characters (C0 and DEL) become '?': a key must not move the cursor
// or start an escape sequence on the operator's terminal.
std::string TerminalSafe(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = '?';
  }
  return out;
}

// Columns on a terminal, counting one per code point (not per byte).
std::size_t DisplayWidth(std::string_view s) {
  std::size_t width = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string_view GroupByName(GroupBy group_by) {
  switch (group_by) {
    case GroupBy::kModel:
      return "model";
    case GroupBy::kUser:
      return "user";
    case GroupBy::kDay:
      return "day";
  }
  return "model";
}

absl::StatusOr<GroupBy> ParseGroupBy(std::string_view name) {
  for (GroupBy g : {GroupBy::kModel, GroupBy::kUser, GroupBy::kDay}) {
    if (name == GroupByName(g)) return g;
  }
  return absl::InvalidArgumentError(
      fmt::format("group_by must be one of model, user, day (got '{}')", name));
}

std::string FormatIsoTime(base::SystemTime t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock_time{ms - day};
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                                static_cast<unsigned>(date.day()), clock_time.hours().count(),
                                clock_time.minutes().count(), clock_time.seconds().count());
  if (clock_time.subseconds().count() != 0)
    out += fmt::format(".{:03}", clock_time.subseconds().count());
  out += 'Z';
  return out;
}

std::string FormatSummaryJson(const Summary& summary) {
  std::string out = fmt::format(
      R"({{"group_by":{},"from":{},"to":{},"rows":[)", JsonString(GroupByName(summary.group_by)),
      JsonString(FormatIsoTime(summary.from)), JsonString(FormatIsoTime(summary.to)));
  for (std::size_t i = 0; i < summary.rows.size(); ++i) {
    if (i > 0) out += ',';
    AppendSummaryRowJson(out, summary.rows[i]);
  }
  out += R"(],"total":)";
  AppendSummaryRowJson(out, summary.total);
  out += '}';
  return out;
}

std::string FormatDayChart(const Summary& summary) {
  // Days in calendar order; each bar is the day's cost (#) followed by
  // what the cache saved (=), scaled to the largest day.
  std::vector<const SummaryRow*> days;
  for (const SummaryRow& row : summary.rows) days.push_back(&row);
  std::sort(days.begin(), days.end(), [](auto* a, auto* b) { return a->key < b->key; });
  std::int64_t largest = 1;
  for (const SummaryRow* d : days) largest = std::max(largest, d->cost.micros + d->saved.micros);
  constexpr int kWidth = 50;
  std::string out = "\nPer day: # spent, = saved\n";
  for (const SummaryRow* d : days) {
    auto scale = [&](std::int64_t micros) {
      return static_cast<int>((micros * kWidth + largest / 2) / largest);  // rounded
    };
    int spent = scale(d->cost.micros);
    int saved = std::min(kWidth - spent, scale(d->cost.micros + d->saved.micros) - spent);
    out +=
        fmt::format("{}  {}{}{}  {} spent, {} saved\n", TerminalSafe(d->key),
                    std::string(static_cast<std::size_t>(spent), '#'),
                    std::string(static_cast<std::size_t>(std::max(0, saved)), '='),
                    std::string(static_cast<std::size_t>(kWidth - spent - std::max(0, saved)), ' '),
                    base::FormatUsdCents(d->cost), base::FormatUsdCents(d->saved));
  }
  return out;
}

std::string FormatSummaryTable(const Summary& summary) {
  std::vector<Cells> lines;
  lines.reserve(summary.rows.size() + 2);
  lines.push_back(HeaderCells(summary.group_by));
  for (const SummaryRow& row : summary.rows) lines.push_back(RowCells(row, TerminalSafe(row.key)));
  lines.push_back(RowCells(summary.total, "total"));

  std::array<std::size_t, kColumns> widths{};
  for (const Cells& cells : lines) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(cells[c]));
    }
  }
  std::size_t rule_width = 0;
  for (std::size_t c = 0; c < kColumns; ++c) rule_width += widths[c] + (c > 0 ? 2 : 0);

  std::string out = fmt::format("Spend by {} from {} to {}\n", GroupByName(summary.group_by),
                                FormatIsoTime(summary.from), FormatIsoTime(summary.to));
  for (std::size_t l = 0; l < lines.size(); ++l) {
    if (l + 1 == lines.size()) out += std::string(rule_width, '-') + "\n";
    const Cells& cells = lines[l];
    std::string line;
    for (std::size_t c = 0; c < kColumns; ++c) {
      const std::string padding(widths[c] - DisplayWidth(cells[c]), ' ');
      if (c > 0) line += "  ";
      // The key column reads left to right; numbers line up on the right.
      line += c == 0 ? cells[c] + padding : padding + cells[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  if (summary.group_by == GroupBy::kDay && !summary.rows.empty()) out += FormatDayChart(summary);
  return out;
}

std::string FormatSummaryCsv(const Summary& summary) {
  std::string out;
  const auto append = [&out](const Cells& cells) {
    for (std::size_t c = 0; c < kColumns; ++c) {
      if (c > 0) out += ',';
      out += CsvField(cells[c]);
    }
    out += '\n';
  };
  append(HeaderCells(summary.group_by));
  for (const SummaryRow& row : summary.rows) append(RowCells(row, row.key));
  return out;
}

std::string FormatEventsJson(const std::vector<SpendEvent>& events, std::int64_t limit,
                             std::int64_t offset) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    AppendEventFieldsJson(out, events[i]);
    out += '}';
  }
  out += fmt::format(R"(],"limit":{},"offset":{}}})", limit, offset);
  return out;
}

std::string FormatTimeseriesJson(Bucket bucket, const std::vector<SeriesRow>& rows) {
  std::string out =
      bucket == Bucket::kDay ? R"({"bucket":"day","rows":[)" : R"({"bucket":"hour","rows":[)";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SeriesRow& r = rows[i];
    if (i > 0) out += ',';
    out += R"({"t":)";
    AppendJsonString(out, r.t);
    out += R"(,"model":)";
    AppendJsonString(out, r.model);
    out += R"(,"cache_status":)";
    AppendJsonString(out, r.cache_status);
    out += fmt::format(R"(,"requests":{},"cost_usd":{},"saved_usd":{}}})", r.requests,
                       base::FormatUsdMicros(r.cost), base::FormatUsdMicros(r.saved));
  }
  out += "]}";
  return out;
}

std::string FormatEventJsonLine(const SpendEvent& event) {
  std::string out = R"({"event_type":"generation_cost",)";
  AppendEventFieldsJson(out, event);
  out += '}';
  return out;
}

}  // namespace gencache::spend
