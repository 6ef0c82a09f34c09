#include "gencache/files/file_request.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "gencache/base/strings.hpp"

namespace gencache::files {
namespace {

struct Extension {
  std::string_view ext;
  std::string_view content_type;
};

// The first entry for a content type is the one ExtensionForContentType gives.
constexpr std::array<Extension, 16> kExtensions = {{
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"gif", "image/gif"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},
    {"flac", "audio/flac"},
    {"m4a", "audio/mp4"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"bin", "application/octet-stream"},
}};

constexpr std::string_view kOctetStream = "application/octet-stream";

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Decimal digits only, at least one; saturates at the maximum (a position
// that large is past any body, which is the right answer for it).
std::optional<std::uint64_t> ParseDigits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<FileName> ParseFileName(std::string_view name) {
  if (name.size() < 64 || !IsLowerHex(name.substr(0, 64))) return std::nullopt;
  const std::string_view sha256 = name.substr(0, 64);
  if (name.size() == 64) return FileName{sha256, kOctetStream};
  if (name[64] != '.') return std::nullopt;
  const std::string_view ext = name.substr(65);
  for (const Extension& entry : kExtensions) {
    if (entry.ext == ext) return FileName{sha256, entry.content_type};
  }
  return std::nullopt;
}

std::optional<std::string_view> ExtensionForContentType(std::string_view content_type) {
  const std::string_view media_type =
      base::TrimWhitespace(content_type.substr(0, content_type.find(';')));
  for (const Extension& entry : kExtensions) {
    const std::string_view table_type = entry.content_type.substr(0, entry.content_type.find(';'));
    if (base::EqualsIgnoreCase(table_type, media_type)) return entry.ext;
  }
  return std::nullopt;
}

RangeDecision DecideRange(std::string_view range_header, std::uint64_t size) {
  using Kind = RangeDecision::Kind;
  constexpr RangeDecision kWhole{};
  constexpr RangeDecision kUnsatisfiable{.kind = Kind::kUnsatisfiable};
  constexpr std::string_view kUnit = "bytes=";
  const std::string_view header = base::TrimWhitespace(range_header);
  if (header.size() < kUnit.size() ||
      !base::EqualsIgnoreCase(header.substr(0, kUnit.size()), kUnit)) {
    return kWhole;
  }
  const std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return kWhole;  // several ranges
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return kWhole;
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);

  if (first_text.empty()) {  // "-n": the last n bytes
    const std::optional<std::uint64_t> suffix = ParseDigits(last_text);
    if (!suffix) return kWhole;
    if (*suffix == 0) return kUnsatisfiable;
    if (size == 0) return kWhole;
    const std::uint64_t length = *suffix < size ? *suffix : size;
    return {.kind = Kind::kPartial, .offset = size - length, .length = length};
  }
  const std::optional<std::uint64_t> first = ParseDigits(first_text);
  if (!first) return kWhole;
  std::optional<std::uint64_t> last;
  if (!last_text.empty()) {
    last = ParseDigits(last_text);
    if (!last || *last < *first) return kWhole;  // invalid: ignored
  }
  if (*first >= size) return kUnsatisfiable;
  const std::uint64_t end = last && *last < size - 1 ? *last : size - 1;
  return {.kind = Kind::kPartial, .offset = *first, .length = end - *first + 1};
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  std::string_view rest = base::TrimWhitespace(header);
  if (rest == "*") return true;
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) {
      rest.remove_prefix(1);
    }
    if (rest.empty()) break;
    if (rest.substr(0, 2) == "W/") rest.remove_prefix(2);
    if (rest.empty() || rest.front() != '"') return false;
    const std::size_t close = rest.find('"', 1);
    if (close == std::string_view::npos) return false;
    if (rest.substr(0, close + 1) == etag) return true;
    rest.remove_prefix(close + 1);
    rest = base::TrimWhitespace(rest);
    if (!rest.empty() && rest.front() != ',') return false;
  }
  return false;
}

}  // namespace gencache::files
