#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gencache::neardup {

// The tokeniser shared by NormalizePrompt and VerifySameMeaning (internal to
// gencache_neardup_text; normalize.hpp documents the rules it implements).

struct Token {
  std::string text;               // NFKC, case-folded
  bool symbol = false;            // a single symbol character (%, &, $, +, emoji)
  bool capitalised = false;       // its first letter was upper or title case
  bool sentence_initial = false;  // first token of the prompt or after . ! ? or a line break
};

// What separates a segment from the one before it.
enum class Boundary {
  kStart,     // the first segment
  kComma,     // , ; | 、 or a line break: a list
  kSentence,  // . ! ? 。: a new sentence
};

// A run of tokens between boundaries, [begin, end) into the token vector.
struct Segment {
  std::size_t begin = 0;
  std::size_t end = 0;
  Boundary before = Boundary::kStart;
};

struct TokenizedPrompt {
  bool valid_utf8 = true;
  std::vector<Token> tokens;
  std::vector<Segment> segments;  // never empty ones
  // The first segment of the order-free tag tail; segments.size() when the
  // prompt has none.
  std::size_t tag_tail = 0;
  // At least 4 in 5 of its words (3 or more, sentence starts aside) are
  // capitalised (title case, all caps): capitals then say nothing about names.
  bool mostly_capitalised = false;
};

// Splits a prompt into tokens and segments and finds its tag tail. Invalid
// UTF-8 gives valid_utf8 = false and no tokens.
TokenizedPrompt TokenizePrompt(std::string_view prompt);

// The tag tail's segment indices, in the order of their tags' text (tokens
// joined by spaces).
std::vector<std::size_t> SortedTagSegments(const TokenizedPrompt& prompt);

// One application of the normalisation rules (normalize.hpp) to a prompt
// tokenised by TokenizePrompt; NormalizePrompt repeats it until the result is
// stable. `prompt` is returned as it is when it is not valid UTF-8.
std::string NormalizeOnce(std::string_view prompt, const TokenizedPrompt& tokenized);

// NormalizePrompt for a prompt already tokenised (saves the verifier a pass).
std::string NormalizeTokenized(std::string_view prompt, const TokenizedPrompt& tokenized);

}  // namespace gencache::neardup
