#include "gencache/rehost/output_urls.hpp"

#include <boost/json.hpp>
#include <set>

namespace gencache::rehost {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxDepth = 64;

// "scheme://..." with an RFC 3986 scheme.
bool LooksLikeUrl(std::string_view s) {
  const std::size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  for (char c : s.substr(0, sep)) {
    const bool ok = alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

class Collector {
 public:
  void Add(const json::value& v) {
    if (!v.is_string()) return;
    std::string s(v.as_string());
    if (LooksLikeUrl(s) && seen_.insert(s).second) urls_.push_back(std::move(s));
  }
  void AddDeep(const json::value& v, std::size_t depth) {
    if (depth > kMaxDepth) return;
    if (v.is_array()) {
      for (const json::value& item : v.as_array()) AddDeep(item, depth + 1);
    } else if (v.is_object()) {
      for (const auto& [key, item] : v.as_object()) AddDeep(item, depth + 1);
    } else {
      Add(v);
    }
  }
  std::vector<std::string> Take() { return std::move(urls_); }

 private:
  std::set<std::string, std::less<>> seen_;
  std::vector<std::string> urls_;
};

absl::StatusOr<json::value> Parse(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 256;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) return absl::InvalidArgumentError("response body is not valid JSON");
  return v;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> FindOutputUrls(providers::ProviderKind kind,
                                                        std::string_view body) {
  absl::StatusOr<json::value> parsed = Parse(body);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return absl::InvalidArgumentError("response body is not a JSON object");
  const json::object& o = parsed->as_object();
  Collector urls;
  switch (kind) {
    case providers::ProviderKind::kSkytells:
      if (const json::value* output = o.if_contains("output")) {
        if (output->is_array()) {
          for (const json::value& item : output->as_array()) urls.Add(item);
        } else {
          urls.Add(*output);
        }
      }
      break;
    case providers::ProviderKind::kReplicate:
      if (const json::value* output = o.if_contains("output")) urls.AddDeep(*output, 0);
      break;
    case providers::ProviderKind::kOpenAI:
      if (const json::value* data = o.if_contains("data"); data != nullptr && data->is_array()) {
        for (const json::value& item : data->as_array()) {
          if (!item.is_object()) continue;
          if (const json::value* url = item.as_object().if_contains("url")) urls.Add(*url);
        }
      }
      break;
  }
  return urls.Take();
}

absl::StatusOr<std::string> ReplaceJsonStrings(
    std::string_view body, const std::map<std::string, std::string, std::less<>>& replacements) {
  // Validating first makes the scan below a plain lexer: outside a string
  // literal a '"' can only open the next one.
  absl::StatusOr<json::value> parsed = Parse(body);
  if (!parsed.ok()) return parsed.status();
  std::string out;
  out.reserve(body.size());
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t open = body.find('"', i);
    if (open == std::string_view::npos) break;
    std::size_t close = open + 1;
    bool escaped = false;
    while (close < body.size() && body[close] != '"') {
      if (body[close] == '\\') {
        escaped = true;
        ++close;
      }
      ++close;
    }
    if (close >= body.size()) return absl::InvalidArgumentError("unterminated JSON string");
    const std::string_view literal = body.substr(open, close - open + 1);
    out.append(body.substr(i, open - i));
    std::string decoded;
    if (escaped) {
      boost::system::error_code ec;
      json::value v = json::parse(literal, ec);
      if (!ec && v.is_string()) decoded = std::string(v.as_string());
    } else {
      decoded = std::string(literal.substr(1, literal.size() - 2));
    }
    auto it = replacements.find(decoded);
    if (it != replacements.end()) {
      out += json::serialize(json::string_view(it->second));
    } else {
      out.append(literal);
    }
    i = close + 1;
  }
  out.append(body.substr(i));
  return out;
}

}  // namespace gencache::rehost
