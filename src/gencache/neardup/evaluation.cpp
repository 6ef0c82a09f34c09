#include "gencache/neardup/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <ostream>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "gencache/neardup/near_duplicate_finder.hpp"
#include "gencache/neardup/normalize.hpp"
#include "gencache/neardup/verifier.hpp"

namespace gencache::neardup {
namespace {

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::optional<int> ParseLabel(std::string_view field) {
  if (field == "0") return 0;
  if (field == "1") return 1;
  return std::nullopt;
}

// Calls `row(line_number, fields)` for every line after the header;
// `row` returns an error to stop.
template <typename Row>
absl::Status ForEachRow(const std::string& path, Row&& row) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot open {}", path));
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 || line.empty()) continue;
    if (absl::Status s = row(number, SplitTabs(line)); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: {}", path, number, std::string(s.message())));
    }
  }
  if (number == 0) return absl::InvalidArgumentError(fmt::format("{} is empty", path));
  return absl::OkStatus();
}

std::string Percent(std::optional<double> value) {
  return value ? fmt::format("{:.2f}%", *value * 100.0) : std::string("-");
}

}  // namespace

absl::StatusOr<std::vector<LabelledPair>> LoadEvalPairs(const std::string& path) {
  std::vector<LabelledPair> pairs;
  absl::Status status =
      ForEachRow(path, [&](std::size_t, const std::vector<std::string_view>& f) -> absl::Status {
        if (f.size() != 4) {
          return absl::InvalidArgumentError(fmt::format("expected 4 fields, got {}", f.size()));
        }
        auto label = ParseLabel(f[1]);
        if (!label) return absl::InvalidArgumentError("label must be 0 or 1");
        if (f[0].empty()) return absl::InvalidArgumentError("empty category");
        pairs.push_back({std::string(f[0]), *label, std::string(f[2]), std::string(f[3])});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return pairs;
}

absl::StatusOr<std::vector<LabelledPair>> LoadPawsPairs(const std::string& path) {
  std::vector<LabelledPair> pairs;
  absl::Status status =
      ForEachRow(path, [&](std::size_t, const std::vector<std::string_view>& f) -> absl::Status {
        if (f.size() != 4) {
          return absl::InvalidArgumentError(fmt::format("expected 4 fields, got {}", f.size()));
        }
        auto label = ParseLabel(f[3]);
        if (!label) return absl::InvalidArgumentError("label must be 0 or 1");
        pairs.push_back({"paws", *label, std::string(f[1]), std::string(f[2])});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return pairs;
}

absl::StatusOr<std::vector<PairScore>> ScorePairs(const std::vector<LabelledPair>& pairs,
                                                  Embedder& embedder) {
  std::vector<PairScore> scores;
  scores.reserve(pairs.size());
  for (const LabelledPair& pair : pairs) {
    PairScore score;
    const std::string na = NormalizePrompt(pair.a);
    const std::string nb = NormalizePrompt(pair.b);
    score.normalized_equal = na == nb;
    auto va = embedder.Embed(na);
    if (!va.ok()) return va.status();
    auto vb = embedder.Embed(nb);
    if (!vb.ok()) return vb.status();
    score.cosine = Cosine(*va, *vb);
    Verdict verdict = VerifySameMeaning(pair.a, pair.b);
    score.verified = verdict.same_meaning;
    score.reason = std::move(verdict.reason);
    scores.push_back(std::move(score));
  }
  return scores;
}

std::optional<double> CategoryResult::recall() const {
  if (positives == 0) return std::nullopt;
  return static_cast<double>(merged_positives) / static_cast<double>(positives);
}

std::optional<double> CategoryResult::precision() const {
  const std::size_t merged = merged_positives + merged_negatives;
  if (merged == 0) return std::nullopt;
  return static_cast<double>(merged_positives) / static_cast<double>(merged);
}

std::optional<double> CategoryResult::false_merge_rate() const {
  if (negatives == 0) return std::nullopt;
  return static_cast<double>(merged_negatives) / static_cast<double>(negatives);
}

std::vector<CategoryResult> Tally(const std::vector<LabelledPair>& pairs,
                                  const std::vector<PairScore>& scores, float threshold) {
  std::vector<CategoryResult> results;
  absl::flat_hash_map<std::string, std::size_t> position;
  CategoryResult all{.category = "ALL"};
  for (std::size_t i = 0; i < pairs.size() && i < scores.size(); ++i) {
    auto [it, inserted] = position.try_emplace(pairs[i].category, results.size());
    if (inserted) results.push_back({.category = pairs[i].category});
    const bool merged = scores[i].Merges(threshold);
    for (CategoryResult* r : {&results[it->second], &all}) {
      if (pairs[i].label == 1) {
        ++r->positives;
        r->merged_positives += merged ? 1 : 0;
      } else {
        ++r->negatives;
        r->merged_negatives += merged ? 1 : 0;
      }
    }
  }
  results.push_back(all);
  return results;
}

void PrintResults(std::ostream& out, const std::string& title,
                  const std::vector<CategoryResult>& results) {
  out << title << "\n";
  out << fmt::format("{:<24} {:>6} {:>6} {:>7} {:>10} {:>10} {:>12}\n", "category", "must", "must",
                     "merged", "recall", "precision", "false-merge");
  out << fmt::format("{:<24} {:>6} {:>6} {:>7} {:>10} {:>10} {:>12}\n", "", "merge", "not", "", "",
                     "", "rate");
  for (const CategoryResult& r : results) {
    out << fmt::format("{:<24} {:>6} {:>6} {:>7} {:>10} {:>10} {:>12}\n", r.category, r.positives,
                       r.negatives, r.merged_positives + r.merged_negatives, Percent(r.recall()),
                       Percent(r.precision()), Percent(r.false_merge_rate()));
  }
  out << "\n";
}

std::vector<SweepRow> Sweep(const std::vector<ScoredSet>& sets,
                            const std::vector<float>& thresholds, double max_false_merge_rate) {
  std::vector<SweepRow> rows;
  for (float threshold : thresholds) {
    SweepRow row{.threshold = threshold};
    for (std::size_t s = 0; s < sets.size(); ++s) {
      const std::vector<CategoryResult> results = Tally(sets[s].pairs, sets[s].scores, threshold);
      const CategoryResult& all = results.back();
      if (s == 0) row.recall = all.recall().value_or(0.0);
      if (sets[s].name == "paws") {
        row.paws_false_merge_rate = all.false_merge_rate().value_or(0.0);
        row.paws_merge_rate = all.recall().value_or(0.0);
      }
      for (std::size_t c = 0; c + 1 < results.size(); ++c) {
        auto rate = results[c].false_merge_rate();
        if (rate && (*rate > row.worst_false_merge_rate || row.worst_category.empty())) {
          row.worst_false_merge_rate = *rate;
          row.worst_category = sets[s].name == "paws" ? "paws" : results[c].category;
        }
      }
    }
    for (std::size_t s = 0; s < sets.size(); ++s) {
      std::size_t negatives = 0;
      std::size_t through = 0;
      for (std::size_t i = 0; i < sets[s].pairs.size(); ++i) {
        if (sets[s].pairs[i].label != 0) continue;
        ++negatives;
        through += sets[s].scores[i].cosine >= threshold ? 1 : 0;
      }
      const double share =
          negatives == 0 ? 0.0 : static_cast<double>(through) / static_cast<double>(negatives);
      if (s == 0) row.exposure = share;
      if (sets[s].name == "paws") row.paws_exposure = share;
    }
    row.acceptable = row.worst_false_merge_rate <= max_false_merge_rate;
    rows.push_back(std::move(row));
  }
  return rows;
}

void PrintSweep(std::ostream& out, const std::vector<SweepRow>& rows) {
  out << fmt::format("{:>9} {:>8} {:>12} {:<14} {:>11} {:>11} {:>9} {:>9} {}\n", "threshold",
                     "recall", "worst-false", "worst category", "paws-false", "paws-merge",
                     "exposure", "paws-exp", "ok");
  for (const SweepRow& r : rows) {
    out << fmt::format("{:>9.2f} {:>8} {:>12} {:<14} {:>11} {:>11} {:>9} {:>9} {}\n", r.threshold,
                       Percent(r.recall), Percent(r.worst_false_merge_rate),
                       r.worst_false_merge_rate > 0.0 ? r.worst_category : "-",
                       Percent(r.paws_false_merge_rate), Percent(r.paws_merge_rate),
                       Percent(r.exposure), Percent(r.paws_exposure), r.acceptable ? "yes" : "no");
  }
  out << "exposure: share of must-not-merge pairs whose cosine reaches the threshold, i.e.\n"
         "left to the verifier alone (labelled set; paws-exp: PAWS label 0)\n";
  out << "\n";
}

std::optional<SweepRow> ChooseThreshold(const std::vector<SweepRow>& rows,
                                        double recall_tolerance) {
  std::optional<double> best_recall;
  for (const SweepRow& r : rows) {
    if (r.acceptable && (!best_recall || r.recall > *best_recall)) best_recall = r.recall;
  }
  if (!best_recall) return std::nullopt;
  std::optional<SweepRow> chosen;
  for (const SweepRow& r : rows) {
    // The epsilon keeps a tolerance of exactly the gap between two recalls
    // (both ratios of the same counts) from failing on rounding.
    if (!r.acceptable || r.recall < *best_recall - recall_tolerance - 1e-12) continue;
    if (!chosen || r.threshold > chosen->threshold) chosen = r;
  }
  return chosen;
}

std::vector<float> DefaultSweepThresholds() {
  std::vector<float> thresholds;
  for (int i = 50; i <= 100; ++i) thresholds.push_back(static_cast<float>(i) / 100.0f);
  return thresholds;
}

absl::Status RunEvaluation(const EvaluationOptions& options, Embedder& embedder,
                           std::ostream& out) {
  const float threshold =
      options.threshold > 0.0f ? options.threshold : kDefaultNearDuplicateThreshold;
  std::vector<ScoredSet> sets;
  auto load = [&](std::string name,
                  absl::StatusOr<std::vector<LabelledPair>> pairs) -> absl::Status {
    if (!pairs.ok()) return pairs.status();
    auto scores = ScorePairs(*pairs, embedder);
    if (!scores.ok()) return scores.status();
    sets.push_back({std::move(name), *std::move(pairs), *std::move(scores)});
    return absl::OkStatus();
  };
  if (absl::Status s = load("eval-pairs", LoadEvalPairs(options.pairs_file)); !s.ok()) return s;
  if (!options.paws_file.empty()) {
    if (absl::Status s = load("paws", LoadPawsPairs(options.paws_file)); !s.ok()) return s;
  }

  out << fmt::format("embedder {}, threshold {:.2f}\n\n", embedder.name(), threshold);
  for (const ScoredSet& set : sets) {
    PrintResults(out, fmt::format("{} ({} pairs)", set.name, set.pairs.size()),
                 Tally(set.pairs, set.scores, threshold));
    if (options.show_examples == 0) continue;
    std::size_t false_merges = 0;
    std::size_t missed = 0;
    for (std::size_t i = 0; i < set.pairs.size(); ++i) {
      const LabelledPair& p = set.pairs[i];
      const PairScore& s = set.scores[i];
      const bool merged = s.Merges(threshold);
      if (p.label == 0 && merged && false_merges++ < options.show_examples) {
        out << fmt::format("  FALSE MERGE [{}] cos={:.3f} norm={}\n    a: {}\n    b: {}\n",
                           p.category, s.cosine, s.normalized_equal, p.a, p.b);
      }
      if (p.label == 1 && !merged && missed++ < options.show_examples) {
        out << fmt::format("  MISSED [{}] cos={:.3f} verifier={}\n    a: {}\n    b: {}\n",
                           p.category, s.cosine, s.verified ? "same" : s.reason, p.a, p.b);
      }
    }
    out << "\n";
  }
  if (options.sweep) {
    const std::vector<SweepRow> rows =
        Sweep(sets, DefaultSweepThresholds(), options.max_false_merge_rate);
    PrintSweep(out, rows);
    auto best = ChooseThreshold(rows);
    auto chosen = ChooseThreshold(rows, options.recall_tolerance);
    if (best && chosen) {
      out << fmt::format(
          "highest recall: threshold {:.2f}, recall {}, exposure {}\n"
          "chosen (recall within {:.1f} points of it, highest threshold): {:.2f}, recall {}, "
          "exposure {}, worst false-merge rate {}, limit {}\n",
          best->threshold, Percent(best->recall), Percent(best->exposure),
          options.recall_tolerance * 100.0, chosen->threshold, Percent(chosen->recall),
          Percent(chosen->exposure), Percent(chosen->worst_false_merge_rate),
          Percent(options.max_false_merge_rate));
    } else {
      out << fmt::format("no threshold keeps every false-merge rate under {}\n",
                         Percent(options.max_false_merge_rate));
    }
  }
  return absl::OkStatus();
}

}  // namespace gencache::neardup
