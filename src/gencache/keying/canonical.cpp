#include "gencache/keying/canonical.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gencache/base/check.hpp"
#include "gencache/base/sha256.hpp"

namespace gencache::keying {
namespace {

namespace json = boost::json;

// 2^63 and 2^64 are exact doubles; every integral double in [-2^63, 2^63) is
// an int64 and every one in [2^63, 2^64) a uint64.
constexpr double kTwoPow63 = 9223372036854775808.0;
constexpr double kTwoPow64 = 18446744073709551616.0;

void AppendDouble(double d, std::string& out) {
  if (std::isnan(d)) {
    // JSON has no NaN and Boost.JSON never parses one; only a programmatic
    // value can hold it. "null" keeps the output valid JSON.
    out += "null";
    return;
  }
  if (std::isinf(d)) {
    // Boost.JSON parses overflowing literals (1e400) as infinity. This
    // spelling is valid JSON and parses back to the same infinity.
    out += d > 0 ? "1e99999" : "-1e99999";
    return;
  }
  if (std::trunc(d) == d) {
    if (d >= -kTwoPow63 && d < kTwoPow63) {
      fmt::format_to(std::back_inserter(out), "{}", static_cast<std::int64_t>(d));  // -0.0 -> 0
      return;
    }
    if (d >= 0 && d < kTwoPow64) {
      fmt::format_to(std::back_inserter(out), "{}", static_cast<std::uint64_t>(d));
      return;
    }
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), d);
  GENCACHE_CHECK(result.ec == std::errc());
  out.append(buffer, result.ptr);
}

void AppendString(json::string_view s, std::string& out) { out += json::serialize(s); }

void Append(const json::value& value, std::string& out) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      fmt::format_to(std::back_inserter(out), "{}", value.get_int64());
      return;
    case json::kind::uint64:
      fmt::format_to(std::back_inserter(out), "{}", value.get_uint64());
      return;
    case json::kind::double_:
      AppendDouble(value.get_double(), out);
      return;
    case json::kind::string:
      AppendString(value.get_string(), out);
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& element : value.get_array()) {
        if (!first) out += ',';
        first = false;
        Append(element, out);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      const json::object& object = value.get_object();
      std::vector<const json::key_value_pair*> members;
      members.reserve(object.size());
      for (const json::key_value_pair& member : object) members.push_back(&member);
      // std::string_view compares with char_traits<char>, i.e. as unsigned
      // bytes: the bytewise UTF-8 order.
      std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
        return std::string_view(a->key()) < std::string_view(b->key());
      });
      out += '{';
      bool first = true;
      for (const json::key_value_pair* member : members) {
        if (!first) out += ',';
        first = false;
        AppendString(member->key(), out);
        out += ':';
        Append(member->value(), out);
      }
      out += '}';
      return;
    }
  }
}

[[maybe_unused]] bool HasNoLineFeed(const KeyMaterial& material) {
  for (std::string_view field :
       {material.provider_kind, material.route, material.cache_namespace, material.model}) {
    if (field.find('\n') != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

std::string CanonicalJson(const json::value& value) {
  std::string out;
  Append(value, out);
  return out;
}

std::string CanonicalForm(const KeyMaterial& material) {
  GENCACHE_DCHECK(HasNoLineFeed(material));
  std::string params = material.params != nullptr ? CanonicalJson(*material.params)
                                                  : std::string(material.canonical_params);
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", kKeySchemaVersion, material.provider_kind,
                     material.route, material.cache_namespace, material.model, params);
}

CacheKey ComputeCacheKey(const KeyMaterial& material) {
  return CacheKey{base::Sha256Hex(CanonicalForm(material))};
}

}  // namespace gencache::keying
