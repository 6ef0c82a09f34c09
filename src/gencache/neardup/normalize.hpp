#pragma once

#include <string>
#include <string_view>

namespace gencache::neardup {

// Stage 1 of near-duplicate matching: a canonical spelling of a prompt such
// that prompts equal after it say the same thing. Unicode NFKC, case folding,
// whitespace and punctuation collapse, and order-insensitive comparison of
// comma-separated style tags ("4k, trending, detailed" and "detailed, 4k,
// trending" normalise alike), never of the words of a sentence. Invalid UTF-8
// is kept byte-for-byte (it then only matches itself).
//
// The rules, in order:
//  1. Characters: NFKC (fullwidth forms, ligatures, NBSP, composed and
//     decomposed accents become one spelling), default-ignorable characters
//     dropped (zero-width space, soft hyphen, BOM), utf8proc's "lump" (curly
//     quotes, dashes and the minus sign as ASCII), then case folding ("ß" ->
//     "ss"). Accents are kept: they can carry meaning ("año" / "ano").
//  2. Tokens: runs of letters, marks and digits are words. Punctuation and
//     whitespace separate words, except inside a number: "." "," ":" "/" "-"
//     between two digits (3.5, 1,000, 16:9, 1/2, 5-10) and "-" or "." before
//     a digit at the start of a token (-5, .5), so "3.5" never becomes "3 5";
//     and "'" between two letters (don't). Symbols (Unicode S*, "%" and "&")
//     are tokens of their own ("50 %", "black & white", emoji, skin tones).
//  3. Segments: "," ";" "|" "、" and line breaks separate list items; "." "!"
//     "?" "。" end sentences. Both split the tokens into segments.
//  4. Tags: a segment of one to three tokens with no determiner or pronoun
//     (a, the, this, his, ...), no copula and no verb that relates two things
//     (chasing, bites, holding; an unknown -ing word counts as such a verb) is
//     a tag. The tag tail is the longest run of tags at the end of the prompt
//     joined by list separators only; with two or more tags it is sorted. So
//     "a red fox in the snow, watercolor, 4k" sorts its last two segments, and
//     "a cat, sitting on a mat", "dog, chasing, cat" and "Mr. Smith, Dr. Jones"
//     keep their order. A segment that is only a connector ("on", "and", "&",
//     "with") links its neighbours and turns sorting off for the prompt; so do
//     two one-word tags of one meaning class ("stripes, red, white, blue",
//     "steps, 1, 2, 3"), which may be a sequence.
//  5. Output: the tokens before the tail joined by single spaces, then the
//     sorted tags joined by ", " (after ", " or, when a sentence end preceded
//     the tail, ". "). Other punctuation is gone: "a red fox in the snow." and
//     "A red fox in the snow" are equal. Prompt weighting syntax is not
//     interpreted: "((cat))" equals "cat", "(cat:1.2)" does not equal
//     "(cat:1.5)".
// Idempotent: NormalizePrompt(NormalizePrompt(p)) == NormalizePrompt(p)
// (checked by fuzz_neardup). Pure and thread-safe.
std::string NormalizePrompt(std::string_view prompt);

}  // namespace gencache::neardup
