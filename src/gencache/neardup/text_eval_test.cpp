// Stages 1 and 3 alone (normalised equality, else the verifier) over the
// committed labelled pairs (data/neardup/eval-pairs.tsv) and PAWS-Wiki
// (data/neardup/paws-wiki-dev.tsv). Asserts the precision targets the
// embedder's evaluation (neardup_test) builds on: at most 0.5% of the pairs
// of every must-not-merge category and of PAWS label 0 accepted, at least 95%
// of every must-merge category accepted. Prints the per-category table.

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gencache/neardup/normalize.hpp"
#include "gencache/neardup/verifier.hpp"

namespace gencache::neardup {
namespace {

struct Pair {
  std::string category;
  int label = 0;
  std::string a;
  std::string b;
};

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

// Reads a TSV with a header; `to_pair` turns a row's fields into a pair.
template <typename ToPair>
std::vector<Pair> ReadTsv(const std::string& path, std::size_t columns, ToPair to_pair) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::vector<Pair> pairs;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header) {
      header = false;
      continue;
    }
    if (line.empty()) continue;
    const std::vector<std::string> fields = SplitTabs(line);
    EXPECT_EQ(fields.size(), columns) << path << ": " << line;
    if (fields.size() != columns) continue;
    pairs.push_back(to_pair(fields));
  }
  return pairs;
}

struct Rate {
  std::size_t pairs = 0;
  std::size_t accepted = 0;
  std::size_t normalized_equal = 0;
  int label = 0;
  std::vector<std::string> examples;  // accepted label-0 / rejected label-1 pairs

  double accepted_rate() const { return pairs == 0 ? 0.0 : double(accepted) / double(pairs); }
};

std::map<std::string, Rate> Measure(const std::vector<Pair>& pairs) {
  std::map<std::string, Rate> rates;
  for (const Pair& pair : pairs) {
    Rate& rate = rates[pair.category];
    rate.label = pair.label;
    ++rate.pairs;
    if (NormalizePrompt(pair.a) == NormalizePrompt(pair.b)) ++rate.normalized_equal;
    const Verdict verdict = VerifySameMeaning(pair.a, pair.b);
    if (verdict.same_meaning) ++rate.accepted;
    if (verdict.same_meaning != (pair.label == 1) && rate.examples.size() < 5) {
      rate.examples.push_back(pair.a + "  |  " + pair.b +
                              (verdict.reason.empty() ? "" : "  [" + verdict.reason + "]"));
    }
  }
  return rates;
}

void Print(const std::string& title, const std::map<std::string, Rate>& rates) {
  std::ostringstream out;
  out << "\n" << title << "\n";
  out << "category            label  pairs  normalised-equal  accepted  accepted%\n";
  for (const auto& [category, rate] : rates) {
    char row[160];
    std::snprintf(row, sizeof(row), "%-18s  %5d  %5zu  %16zu  %8zu  %8.2f%%\n", category.c_str(),
                  rate.label, rate.pairs, rate.normalized_equal, rate.accepted,
                  100.0 * rate.accepted_rate());
    out << row;
    for (const std::string& example : rate.examples) out << "    wrong: " << example << "\n";
  }
  std::cout << out.str();
}

TEST(NeardupTextEvalTest, LabelledPairsMeetTheTargets) {
  const std::vector<Pair> pairs =
      ReadTsv(GENCACHE_NEARDUP_EVAL_PAIRS, 4, [](const std::vector<std::string>& f) {
        return Pair{.category = f[0], .label = f[1] == "1" ? 1 : 0, .a = f[2], .b = f[3]};
      });
  ASSERT_GE(pairs.size(), 2000u);
  const std::map<std::string, Rate> rates = Measure(pairs);
  Print("eval-pairs.tsv: normalisation + verifier", rates);
  ASSERT_GE(rates.size(), 16u);
  for (const auto& [category, rate] : rates) {
    EXPECT_GE(rate.pairs, 100u) << category;
    if (rate.label == 1) {
      EXPECT_GE(rate.accepted_rate(), 0.95) << category;
    } else {
      EXPECT_LE(rate.accepted_rate(), 0.005) << category;
    }
  }
}

TEST(NeardupTextEvalTest, PawsLookAlikesAreRejected) {
  const std::vector<Pair> pairs =
      ReadTsv(GENCACHE_NEARDUP_PAWS, 4, [](const std::vector<std::string>& f) {
        const int label = f[3] == "1" ? 1 : 0;
        return Pair{.category = label == 1 ? "paws-label-1" : "paws-label-0",
                    .label = label,
                    .a = f[1],
                    .b = f[2]};
      });
  ASSERT_EQ(pairs.size(), 8000u);
  const std::map<std::string, Rate> rates = Measure(pairs);
  Print("paws-wiki-dev.tsv: normalisation + verifier (label 1 is reported, not asserted)", rates);
  ASSERT_TRUE(rates.contains("paws-label-0"));
  EXPECT_LE(rates.at("paws-label-0").accepted_rate(), 0.005);
}

}  // namespace
}  // namespace gencache::neardup
