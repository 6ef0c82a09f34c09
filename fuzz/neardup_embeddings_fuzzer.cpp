// Feeds arbitrary bytes to ParseEmbeddingsResponse, the parser of what a
// remote embeddings endpoint answers (untrusted): it must return a vector or
// an error, never crash, and a vector it returns holds finite numbers only.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gencache/neardup/remote_embedder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto vector = gencache::neardup::ParseEmbeddingsResponse(body);
  if (vector.ok()) {
    if (vector->empty()) std::abort();
    for (float x : *vector) {
      if (!std::isfinite(x)) std::abort();
    }
  }
  return 0;
}
