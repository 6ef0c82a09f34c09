#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gencache::neardup {

// Stage 2 of near-duplicate matching, first half: turns a prompt into a
// vector whose cosine with another prompt's vector says how alike the two
// read. Vectors are L2-normalised (length 1), so cosine is a dot product and
// the vector index can use inner-product search.
//
// Callers pass the normalised prompt (NormalizePrompt), so spelling noise the
// normaliser removes never reaches the embedder.
//
// Thread-safety: implementations are thread-safe. Blocking: Embed may block
// (a remote embedder waits for the network): call it on a worker thread,
// never on an event loop.
//
// Errors: an embedder that cannot answer (remote endpoint down, slow or
// malformed) returns Unavailable or DeadlineExceeded; near-duplicate
// matching then fails open (the request is treated as a miss).
class Embedder {
 public:
  virtual ~Embedder() = default;

  // The embedding of `text`: dimension() floats, L2 norm 1 (or all zeros for
  // text without features, e.g. the empty string).
  virtual absl::StatusOr<std::vector<float>> Embed(std::string_view text) = 0;

  // Length of every vector Embed returns. 0 while unknown: a remote embedder
  // configured without a dimension learns it from its first answer.
  virtual std::size_t dimension() const = 0;

  // For logs and reports: "lexical-256", "remote:text-embedding-3-small".
  virtual std::string_view name() const = 0;
};

// Dot product of two equally long vectors (cosine for L2-normalised ones).
// REQUIRES: a.size() == b.size().
float Cosine(const std::vector<float>& a, const std::vector<float>& b);

// Scales `v` to L2 norm 1 in place; leaves an all-zero vector as it is.
void NormalizeL2(std::vector<float>& v);

}  // namespace gencache::neardup
