#include "gencache/rehost/url_expiry.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gencache/base/strings.hpp"

namespace gencache::rehost {
namespace {

using std::chrono::seconds;

// 2200-01-01T00:00:00Z: later expiries are clamped here, which keeps every
// sum below inside system_clock's range (nanoseconds, about year 2262).
constexpr std::int64_t kLatestUnixSeconds = 7'258'118'400;

std::optional<std::int64_t> Digits(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<std::int64_t> UnixSeconds(std::string_view s) {
  auto v = Digits(s, 12);
  if (!v) return std::nullopt;
  return std::min(*v, kLatestUnixSeconds);
}

std::optional<std::int64_t> CivilSeconds(std::int64_t y, std::int64_t mo, std::int64_t d,
                                         std::int64_t h, std::int64_t mi, std::int64_t s) {
  if (y < 1970 || y > 2199 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(y)),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return days * 86400 + h * 3600 + mi * 60 + s;
}

// "20240501T103000Z" (SigV4 X-Amz-Date / X-Goog-Date).
std::optional<std::int64_t> CompactDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto y = Digits(s.substr(0, 4), 4), mo = Digits(s.substr(4, 2), 2), d = Digits(s.substr(6, 2), 2);
  auto h = Digits(s.substr(9, 2), 2), mi = Digits(s.substr(11, 2), 2),
       sec = Digits(s.substr(13, 2), 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  return CivilSeconds(*y, *mo, *d, *h, *mi, *sec);
}

// ISO 8601 as Azure writes `se`: "2024-05-01", "2024-05-01T10:30Z",
// "2024-05-01T10:30:00Z", "2024-05-01T10:30:00.1234567Z", or with a
// "+hh:mm" / "-hh:mm" offset; no zone means UTC.
std::optional<std::int64_t> Iso8601(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y = Digits(s.substr(0, 4), 4), mo = Digits(s.substr(5, 2), 2), d = Digits(s.substr(8, 2), 2);
  if (!y || !mo || !d) return std::nullopt;
  std::int64_t h = 0, mi = 0, sec = 0, offset = 0;
  std::string_view rest = s.substr(10);
  if (!rest.empty()) {
    if (rest.size() < 6 || (rest[0] != 'T' && rest[0] != 't') || rest[3] != ':') {
      return std::nullopt;
    }
    auto hh = Digits(rest.substr(1, 2), 2), mm = Digits(rest.substr(4, 2), 2);
    if (!hh || !mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    rest.remove_prefix(6);
    if (!rest.empty() && rest[0] == ':') {
      if (rest.size() < 3) return std::nullopt;
      auto ss = Digits(rest.substr(1, 2), 2);
      if (!ss) return std::nullopt;
      sec = *ss;
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
        std::size_t n = 0;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        if (n == 0) return std::nullopt;
        rest.remove_prefix(n);  // the fraction only makes the URL live longer
      }
    }
    if (rest == "Z" || rest == "z") {
      rest = {};
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
      auto oh = Digits(rest.substr(1, 2), 2), om = Digits(rest.substr(4, 2), 2);
      if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
      offset = (rest[0] == '+' ? 1 : -1) * (*oh * 3600 + *om * 60);
      rest = {};
    }
    if (!rest.empty()) return std::nullopt;
  }
  auto local = CivilSeconds(*y, *mo, *d, h, mi, sec);
  if (!local) return std::nullopt;
  return *local - offset;
}

std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
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

// The decoded key=value pairs of a query string. Written out rather than
// taken from Boost.URL's params(): iterating those crashes on some queries in
// Boost 1.81 (boostorg/url#864, e.g. "http://h/?#").
std::vector<std::pair<std::string, std::string>> QueryParams(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // a key without a value
    params.emplace_back(PercentDecode(pair.substr(0, eq)), PercentDecode(pair.substr(eq + 1)));
  }
  return params;
}

}  // namespace

std::optional<base::SystemTime> UrlExpiry(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  std::optional<std::int64_t> earliest;
  auto consider = [&earliest](std::optional<std::int64_t> t) {
    if (t && (!earliest || *t < *earliest)) earliest = t;
  };
  std::optional<std::int64_t> amz_date, amz_expires, goog_date, goog_expires;
  for (const auto& [key, value] : QueryParams(parsed->encoded_query())) {
    if (base::EqualsIgnoreCase(key, "expires") || base::EqualsIgnoreCase(key, "exp")) {
      consider(UnixSeconds(value));
    } else if (base::EqualsIgnoreCase(key, "se")) {
      consider(Iso8601(value));
    } else if (base::EqualsIgnoreCase(key, "x-amz-date")) {
      amz_date = CompactDate(value);
    } else if (base::EqualsIgnoreCase(key, "x-amz-expires")) {
      amz_expires = Digits(value, 9);
    } else if (base::EqualsIgnoreCase(key, "x-goog-date")) {
      goog_date = CompactDate(value);
    } else if (base::EqualsIgnoreCase(key, "x-goog-expires")) {
      goog_expires = Digits(value, 9);
    }
  }
  if (amz_date && amz_expires) consider(std::min(*amz_date + *amz_expires, kLatestUnixSeconds));
  if (goog_date && goog_expires) {
    consider(std::min(*goog_date + *goog_expires, kLatestUnixSeconds));
  }
  if (!earliest) return std::nullopt;
  return base::SystemTime(seconds(*earliest));
}

}  // namespace gencache::rehost
