// Feeds arbitrary bytes through the /files/ request parsers (the name, the
// Range header against a body size, If-None-Match) and checks what the
// handler relies on: an accepted name is exactly 64 lowercase hex digits
// plus an optional known extension (so it can never reach outside the blob
// directory), and a partial range lies inside the body and is not empty.
// Input: "<name>\n<range header>\n<if-none-match>\n<size digits>", each part
// optional. Also built into files_fuzz_corpus_replay_test.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gencache/files/file_request.hpp"

namespace {

using gencache::files::DecideRange;
using gencache::files::IfNoneMatchMatches;
using gencache::files::ParseFileName;
using gencache::files::RangeDecision;

void Require(bool condition) {
  if (!condition) std::abort();
}

std::string_view NextLine(std::string_view& rest) {
  const std::size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

void CheckName(std::string_view name) {
  const auto parsed = ParseFileName(name);
  if (!parsed) return;
  Require(parsed->sha256.size() == 64);
  Require(parsed->sha256.data() == name.data());
  for (char c : parsed->sha256) Require(IsLowerHex(c));
  Require(!parsed->content_type.empty());
  Require(name.size() == 64 || name[64] == '.');
  for (char c : name) Require(c != '/' && c != '%' && c != '\\' && c != '\0' && c != '?');
  Require(name.find("..") == std::string_view::npos);
}

void CheckRange(std::string_view header, std::uint64_t size) {
  const RangeDecision d = DecideRange(header, size);
  if (d.kind == RangeDecision::Kind::kPartial) {
    Require(d.length > 0);
    Require(d.offset < size);
    Require(d.length <= size - d.offset);
  }
}

std::uint64_t SizeFrom(std::string_view digits) {
  std::uint64_t size = 0;
  for (char c : digits.substr(0, 19)) {
    if (c < '0' || c > '9') break;
    size = size * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view whole = rest;
  const std::string_view name = NextLine(rest);
  const std::string_view range = NextLine(rest);
  const std::string_view inm = NextLine(rest);
  const std::uint64_t body_size = SizeFrom(NextLine(rest));

  CheckName(name);
  CheckName(whole);
  for (std::uint64_t s :
       {body_size, std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    CheckRange(range, s);
    CheckRange(whole, s);
  }
  if (const auto parsed = ParseFileName(name)) {
    const std::string etag = "\"" + std::string(parsed->sha256) + "\"";
    if (IfNoneMatchMatches(inm, etag)) {
      // A match needs the tag (or "*") to be in the header.
      Require(inm.find(parsed->sha256) != std::string_view::npos ||
              inm.find('*') != std::string_view::npos);
    }
  }
  IfNoneMatchMatches(inm, "\"x\"");
  IfNoneMatchMatches(whole, "\"x\"");
  return 0;
}
