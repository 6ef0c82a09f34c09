// Feeds arbitrary bytes, split at the first 0xFF byte (or in half) into two
// prompts, through NormalizePrompt and VerifySameMeaning, and checks what the
// near-duplicate cache relies on: normalisation is idempotent, a prompt is
// always the same as itself and as its normal form, the verdict (and its
// reason) does not depend on the order of the prompts, and a "same" verdict
// carries no reason while a "different" one names it.
// Also built into neardup_corpus_replay_test, which replays the seed corpus.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gencache/neardup/normalize.hpp"
#include "gencache/neardup/verifier.hpp"

namespace {

using gencache::neardup::NormalizePrompt;
using gencache::neardup::Verdict;
using gencache::neardup::VerifySameMeaning;

void Require(bool condition) {
  if (!condition) std::abort();
}

void CheckPrompt(std::string_view prompt) {
  const std::string normalized = NormalizePrompt(prompt);
  Require(NormalizePrompt(normalized) == normalized);
  const Verdict self = VerifySameMeaning(prompt, prompt);
  Require(self.same_meaning && self.reason.empty());
  Require(VerifySameMeaning(prompt, normalized).same_meaning);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Prompts are at most a few kilobytes; longer inputs only slow the search.
  if (size > 4096) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t split = input.find('\xff');
  std::string_view a;
  std::string_view b;
  if (split == std::string_view::npos) {
    a = input.substr(0, size / 2);
    b = input.substr(size / 2);
  } else {
    a = input.substr(0, split);
    b = input.substr(split + 1);
  }
  CheckPrompt(a);
  CheckPrompt(b);
  const Verdict ab = VerifySameMeaning(a, b);
  const Verdict ba = VerifySameMeaning(b, a);
  Require(ab.same_meaning == ba.same_meaning && ab.reason == ba.reason);
  Require(ab.same_meaning == ab.reason.empty());
  if (NormalizePrompt(a) == NormalizePrompt(b)) Require(ab.same_meaning);
  return 0;
}
