#include "gencache/neardup/tokens.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#include "gencache/neardup/lexicon.hpp"

namespace gencache::neardup {
namespace {

constexpr auto kMapOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_IGNORE | UTF8PROC_LUMP);
constexpr auto kFoldOptions = static_cast<utf8proc_option_t>(kMapOptions | UTF8PROC_CASEFOLD);

// utf8proc_map over a view; nullopt for invalid UTF-8.
std::optional<std::string> Map(std::string_view text, utf8proc_option_t options) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped, options);
  if (n < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
  std::free(mapped);
  return out;
}

std::string FoldCase(std::string_view token) {
  bool ascii = true;
  for (char c : token) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(token);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  // The token is valid UTF-8 (it came out of utf8proc_map).
  return Map(token, kFoldOptions).value_or(std::string(token));
}

enum class CharKind {
  kLetter,     // letters, marks, non-ASCII digits, private use, unassigned
  kDigit,      // 0-9
  kSymbol,     // a token of its own: symbols (S*), % and &
  kSpace,      // spaces, controls, format characters
  kPunct,      // other punctuation: a separator
  kComma,      // , ; | 、
  kLineBreak,  // a list separator that also starts a sentence
  kSentence,   // . ! ? 。
};

CharKind Classify(std::int32_t cp) {
  if (cp >= '0' && cp <= '9') return CharKind::kDigit;
  switch (cp) {
    case ',':
    case ';':
    case '|':
    case 0x3001:  // 、
      return CharKind::kComma;
    case '\n':
    case '\r':
    case '\v':
    case '\f':
    case 0x85:
    case 0x2028:
    case 0x2029:
      return CharKind::kLineBreak;
    case '.':
    case '!':
    case '?':
    case 0x3002:  // 。
      return CharKind::kSentence;
    case '%':
    case '&':
      return CharKind::kSymbol;
    default:
      break;
  }
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return CharKind::kLetter;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return CharKind::kSymbol;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return CharKind::kPunct;
    default:
      return CharKind::kSpace;
  }
}

bool IsWordChar(CharKind kind) { return kind == CharKind::kLetter || kind == CharKind::kDigit; }

void AppendUtf8(std::string& out, std::int32_t cp) {
  utf8proc_uint8_t buffer[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(cp, buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n));
}

// Builds tokens and segments while scanning code points.
class Scanner {
 public:
  explicit Scanner(TokenizedPrompt& out) : out_(out) {}

  void Scan(const std::vector<std::int32_t>& cps) {
    for (std::size_t i = 0; i < cps.size(); ++i) {
      const std::int32_t cp = cps[i];
      const CharKind kind = Classify(cp);
      const bool next_is_digit = i + 1 < cps.size() && Classify(cps[i + 1]) == CharKind::kDigit;
      const bool next_is_letter = i + 1 < cps.size() && Classify(cps[i + 1]) == CharKind::kLetter;
      if (IsWordChar(kind)) {
        Append(cp, kind);
      } else if ((cp == '.' || cp == ',' || cp == ':' || cp == '/' || cp == '-') &&
                 last_ == CharKind::kDigit && next_is_digit) {
        Append(cp, CharKind::kPunct);  // 3.5, 1,000, 16:9, 1/2, 5-10
      } else if ((cp == '-' || cp == '.') && current_.empty() && next_is_digit) {
        Append(cp, CharKind::kPunct);  // -5, .5
      } else if (cp == '\'' && last_ == CharKind::kLetter && next_is_letter) {
        Append(cp, CharKind::kPunct);  // don't, o'clock
      } else {
        Flush();
        Separate(cp, kind);
      }
    }
    Flush();
  }

 private:
  void Append(std::int32_t cp, CharKind kind) {
    if (current_.empty()) {
      const utf8proc_category_t category = utf8proc_category(cp);
      capitalised_ = category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LT;
    }
    AppendUtf8(current_, cp);
    last_ = kind;
  }

  void Separate(std::int32_t cp, CharKind kind) {
    switch (kind) {
      case CharKind::kSymbol: {
        std::string symbol;
        AppendUtf8(symbol, cp);
        Emit(Token{.text = FoldCase(symbol), .symbol = true});
        break;
      }
      case CharKind::kComma:
        if (boundary_ != Boundary::kSentence) boundary_ = Boundary::kComma;
        break;
      case CharKind::kLineBreak:
        if (boundary_ != Boundary::kSentence) boundary_ = Boundary::kComma;
        sentence_start_ = true;
        break;
      case CharKind::kSentence:
        boundary_ = Boundary::kSentence;
        sentence_start_ = true;
        break;
      default:
        break;
    }
  }

  void Flush() {
    if (current_.empty()) return;
    Emit(Token{.text = FoldCase(current_),
               .capitalised = capitalised_,
               .sentence_initial = sentence_start_});
    sentence_start_ = false;
    current_.clear();
    last_ = CharKind::kSpace;
  }

  void Emit(Token token) {
    if (out_.tokens.empty()) {
      out_.segments.push_back(Segment{.begin = 0, .end = 0, .before = Boundary::kStart});
    } else if (boundary_ != Boundary::kStart) {
      out_.segments.push_back(
          Segment{.begin = out_.tokens.size(), .end = out_.tokens.size(), .before = boundary_});
    }
    boundary_ = Boundary::kStart;
    out_.tokens.push_back(std::move(token));
    out_.segments.back().end = out_.tokens.size();
  }

  TokenizedPrompt& out_;
  std::string current_;
  CharKind last_ = CharKind::kSpace;  // kind of the last code point in current_
  bool capitalised_ = false;
  bool sentence_start_ = true;
  // The strongest boundary since the last token; kStart means none.
  Boundary boundary_ = Boundary::kStart;
};

// Digits and letters in one token: "4k", "1080p", "1girl".
bool IsLabel(std::string_view text) {
  bool digit = false;
  bool other = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '.' && c != ',' && c != '-' && c != ':' && c != '/') {
      other = true;
    }
  }
  return digit && other;
}

void FindTagTail(TokenizedPrompt& prompt) {
  const std::size_t n = prompt.segments.size();
  prompt.tag_tail = n;
  std::vector<bool> is_tag(n, false);
  for (std::size_t s = 0; s < n; ++s) {
    const Segment& segment = prompt.segments[s];
    const std::size_t size = segment.end - segment.begin;
    // A segment that is only "on", "and" or "&" links its neighbours: the
    // order of the segments then carries meaning.
    if (size == 1 && IsConnector(prompt.tokens[segment.begin].text)) return;
    bool tag = size >= 1 && size <= 3;
    for (std::size_t t = segment.begin; tag && t < segment.end; ++t) {
      tag = !IsTagBreaker(prompt.tokens[t].text);
    }
    is_tag[s] = tag;
  }
  std::size_t first = n;
  while (first > 0 && is_tag[first - 1] &&
         (first == n || prompt.segments[first].before == Boundary::kComma)) {
    --first;
  }
  if (n - first < 2) return;
  // Lone colours, numbers, sizes or directions in a row may be a sequence
  // ("stripes, red, white, blue"): their order can carry meaning. Labels
  // such as "4k" and "1080p" are not numbers in a sequence.
  int lone[6] = {};
  for (std::size_t s = first; s < n; ++s) {
    const Segment& segment = prompt.segments[s];
    if (segment.end - segment.begin != 1) continue;
    const std::string& text = prompt.tokens[segment.begin].text;
    const WordClass word_class = ClassifyWord(text);
    if (word_class == WordClass::kOther) continue;
    if (word_class == WordClass::kNumber && IsLabel(text)) continue;
    if (++lone[static_cast<int>(word_class)] >= 2) return;
  }
  prompt.tag_tail = first;
}

void FindCapitalisation(TokenizedPrompt& prompt) {
  std::size_t words = 0;
  std::size_t capitalised = 0;
  for (const Token& token : prompt.tokens) {
    if (token.symbol || token.sentence_initial) continue;
    ++words;
    if (token.capitalised) ++capitalised;
  }
  prompt.mostly_capitalised = words >= 3 && capitalised * 5 >= words * 4;
}

std::string SegmentText(const TokenizedPrompt& prompt, std::size_t s) {
  std::string text;
  for (std::size_t t = prompt.segments[s].begin; t < prompt.segments[s].end; ++t) {
    if (!text.empty()) text += ' ';
    text += prompt.tokens[t].text;
  }
  return text;
}

}  // namespace

TokenizedPrompt TokenizePrompt(std::string_view prompt) {
  TokenizedPrompt result;
  std::optional<std::string> mapped = Map(prompt, kMapOptions);
  if (!mapped) {
    result.valid_utf8 = false;
    return result;
  }
  std::vector<std::int32_t> cps;
  cps.reserve(mapped->size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(mapped->data());
  utf8proc_ssize_t remaining = static_cast<utf8proc_ssize_t>(mapped->size());
  while (remaining > 0) {
    std::int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes, remaining, &cp);
    if (n <= 0) break;  // cannot happen: utf8proc_map's output is valid UTF-8
    cps.push_back(cp);
    bytes += n;
    remaining -= n;
  }
  Scanner(result).Scan(cps);
  FindTagTail(result);
  FindCapitalisation(result);
  return result;
}

std::vector<std::size_t> SortedTagSegments(const TokenizedPrompt& prompt) {
  std::vector<std::pair<std::string, std::size_t>> tags;
  for (std::size_t s = prompt.tag_tail; s < prompt.segments.size(); ++s) {
    tags.emplace_back(SegmentText(prompt, s), s);
  }
  std::sort(tags.begin(), tags.end());
  std::vector<std::size_t> order;
  order.reserve(tags.size());
  for (const auto& tag : tags) order.push_back(tag.second);
  return order;
}

std::string NormalizeOnce(std::string_view prompt, const TokenizedPrompt& tokenized) {
  if (!tokenized.valid_utf8) return std::string(prompt);
  std::string out;
  out.reserve(prompt.size());
  const std::size_t head_end = tokenized.tag_tail < tokenized.segments.size()
                                   ? tokenized.segments[tokenized.tag_tail].begin
                                   : tokenized.tokens.size();
  for (std::size_t t = 0; t < head_end; ++t) {
    if (!out.empty()) out += ' ';
    out += tokenized.tokens[t].text;
  }
  if (tokenized.tag_tail == tokenized.segments.size()) return out;
  // Keeps the kind of boundary before the tail, so that normalising again
  // finds the same tail.
  if (tokenized.tag_tail > 0) {
    out += tokenized.segments[tokenized.tag_tail].before == Boundary::kSentence ? ". " : ", ";
  }
  bool first = true;
  for (std::size_t s : SortedTagSegments(tokenized)) {
    if (!first) out += ", ";
    out += SegmentText(tokenized, s);
    first = false;
  }
  return out;
}

}  // namespace gencache::neardup
