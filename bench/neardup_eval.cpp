// neardup_eval: prints the near-duplicate evaluation (neardup/evaluation.hpp)
// with the lexical embedder: per-category precision, recall and false-merge
// rate at a threshold on the labelled pairs and on PAWS, and with --sweep the
// sweep over thresholds and the threshold it chooses. The same function backs
// `gencache neardup eval`; this binary lets the embedder's options be varied
// while tuning.

#include <CLI/CLI.hpp>
#include <iostream>

#include "gencache/neardup/evaluation.hpp"
#include "gencache/neardup/lexical_embedder.hpp"

int main(int argc, char** argv) {
  gencache::neardup::EvaluationOptions options;
  gencache::neardup::LexicalEmbedderOptions lexical;
  CLI::App app{"Near-duplicate evaluation with the lexical embedder"};
  app.add_option("--pairs", options.pairs_file, "labelled pairs (category, label, a, b)");
  app.add_option("--paws", options.paws_file, "PAWS-Wiki TSV");
  app.add_option("--threshold", options.threshold, "cosine threshold (default: the shipped one)");
  app.add_flag("--sweep", options.sweep, "sweep thresholds 0.50-1.00 and choose one");
  app.add_option("--max-false-merge-rate", options.max_false_merge_rate);
  app.add_option("--recall-tolerance", options.recall_tolerance);
  app.add_option("--examples", options.show_examples, "list this many errors per set");
  app.add_option("--dimension", lexical.dimension);
  app.add_option("--char-weight", lexical.char_ngram_weight);
  app.add_option("--word-weight", lexical.word_weight);
  app.add_option("--bigram-weight", lexical.word_bigram_weight);
  app.add_option("--ngram-min", lexical.char_ngram_min);
  app.add_option("--ngram-max", lexical.char_ngram_max);
  CLI11_PARSE(app, argc, argv);
  gencache::neardup::LexicalEmbedder embedder(lexical);
  if (auto status = gencache::neardup::RunEvaluation(options, embedder, std::cout); !status.ok()) {
    std::cerr << status << "\n";
    return 1;
  }
  return 0;
}
