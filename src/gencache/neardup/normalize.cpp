#include "gencache/neardup/normalize.hpp"

#include <algorithm>
#include <utility>

#include "gencache/neardup/tokens.hpp"

namespace gencache::neardup {

std::string NormalizeTokenized(std::string_view prompt, const TokenizedPrompt& tokenized) {
  std::string current = NormalizeOnce(prompt, tokenized);
  // ASCII output is stable: mapping and case folding leave it as it is.
  if (std::all_of(current.begin(), current.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return current;
  }
  // One pass is stable for ordinary text; a second can differ when case
  // folding yields characters that the first pass would have split on. The
  // bound keeps hostile input cheap; the fuzzer checks that the result is
  // stable.
  for (int pass = 0; pass < 3; ++pass) {
    std::string next = NormalizeOnce(current, TokenizePrompt(current));
    if (next == current) break;
    current = std::move(next);
  }
  return current;
}

std::string NormalizePrompt(std::string_view prompt) {
  return NormalizeTokenized(prompt, TokenizePrompt(prompt));
}

}  // namespace gencache::neardup
