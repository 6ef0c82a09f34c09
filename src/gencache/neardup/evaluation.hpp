#pragma once

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/neardup/embedder.hpp"

namespace gencache::neardup {

// One labelled prompt pair. label 1: the two must merge (same meaning);
// label 0: they must not.
struct LabelledPair {
  std::string category;
  int label = 0;
  std::string a;
  std::string b;
};

// Reads the project's labelled set (data/neardup/eval-pairs.tsv):
// `category\tlabel\tprompt_a\tprompt_b`, a header line first, LF or CRLF.
// Errors: NotFound / PermissionDenied for the file, InvalidArgument naming
// the line for a malformed row.
absl::StatusOr<std::vector<LabelledPair>> LoadEvalPairs(const std::string& path);

// Reads PAWS-Wiki (`id\tsentence1\tsentence2\tlabel`, header, CRLF); every
// pair gets category "paws".
absl::StatusOr<std::vector<LabelledPair>> LoadPawsPairs(const std::string& path);

// What the three stages say about one pair; the threshold is applied later,
// so one scoring serves a whole sweep.
struct PairScore {
  bool normalized_equal = false;  // stage 1
  float cosine = 0.0f;            // stage 2: cosine of the two embeddings
  bool verified = false;          // stage 3: VerifySameMeaning(a, b)
  std::string reason;             // the verifier's reason when not verified

  // The finder's rule: equal normalised prompts, or close embeddings the
  // verifier accepts.
  bool Merges(float threshold) const {
    return normalized_equal || (cosine >= threshold && verified);
  }
};

// Scores every pair. Errors: the embedder's first error.
absl::StatusOr<std::vector<PairScore>> ScorePairs(const std::vector<LabelledPair>& pairs,
                                                  Embedder& embedder);

// Counts for one category (or all pairs, category "ALL").
struct CategoryResult {
  std::string category;
  std::size_t positives = 0;         // label-1 pairs
  std::size_t negatives = 0;         // label-0 pairs
  std::size_t merged_positives = 0;  // label 1, merged: correct
  std::size_t merged_negatives = 0;  // label 0, merged: false merges

  // nullopt where the denominator is 0.
  std::optional<double> recall() const;            // merged_positives / positives
  std::optional<double> precision() const;         // merged_positives / merged
  std::optional<double> false_merge_rate() const;  // merged_negatives / negatives
};

// Per-category results in order of first appearance, then "ALL".
std::vector<CategoryResult> Tally(const std::vector<LabelledPair>& pairs,
                                  const std::vector<PairScore>& scores, float threshold);

// The per-category table for one threshold.
void PrintResults(std::ostream& out, const std::string& title,
                  const std::vector<CategoryResult>& results);

// A labelled set, scored once.
struct ScoredSet {
  std::string name;  // "eval-pairs", "paws"
  std::vector<LabelledPair> pairs;
  std::vector<PairScore> scores;
};

struct SweepRow {
  float threshold = 0.0f;
  double recall = 0.0;                  // over all label-1 pairs of the labelled set
  double worst_false_merge_rate = 0.0;  // the highest over label-0 categories of every set
  std::string worst_category;           // where that rate is
  double paws_false_merge_rate = 0.0;   // label-0 PAWS pairs (0 without PAWS)
  double paws_merge_rate = 0.0;         // label-1 PAWS pairs (0 without PAWS)
  bool acceptable = false;              // worst_false_merge_rate <= the limit
  // Share of the labelled set's label-0 pairs that the embedding alone lets
  // through to the verifier (cosine >= threshold): how much of the
  // precision rests on stage 3. The same for PAWS label-0 pairs.
  double exposure = 0.0;
  double paws_exposure = 0.0;
};

// One row per threshold. `sets[0]` is the labelled set whose recall counts;
// every set's label-0 categories count for the false-merge limit.
std::vector<SweepRow> Sweep(const std::vector<ScoredSet>& sets,
                            const std::vector<float>& thresholds, double max_false_merge_rate);

void PrintSweep(std::ostream& out, const std::vector<SweepRow>& rows);

// The highest threshold among the acceptable rows whose recall is within
// `recall_tolerance` of the best acceptable recall. With tolerance 0 that is
// the row with the highest recall (ties to the higher threshold). A small
// tolerance trades a little recall for a higher threshold, so fewer
// look-alikes rest on the verifier alone (SweepRow::exposure). nullopt when
// no row is acceptable.
std::optional<SweepRow> ChooseThreshold(const std::vector<SweepRow>& rows,
                                        double recall_tolerance = 0.0);

// 0.50, 0.51, ..., 1.00.
std::vector<float> DefaultSweepThresholds();

// What `gencache neardup eval` runs.
struct EvaluationOptions {
  std::string pairs_file = "data/neardup/eval-pairs.tsv";
  std::string paws_file;   // empty: no PAWS
  float threshold = 0.0f;  // the table for this threshold (0: the default)
  bool sweep = false;      // also the sweep and the threshold it chooses
  double max_false_merge_rate = 0.005;
  // See ChooseThreshold; the shipped default was chosen with 0.01.
  double recall_tolerance = 0.0;
  // Also list up to this many false merges and missed merges per set at the
  // threshold (for tuning).
  std::size_t show_examples = 0;
};

// Loads and scores the sets, prints the per-category tables at the threshold
// and, with `sweep`, the sweep table and the threshold it chooses. Errors:
// the loaders' and the embedder's.
absl::Status RunEvaluation(const EvaluationOptions& options, Embedder& embedder, std::ostream& out);

}  // namespace gencache::neardup
