#include "gencache/neardup/embedder.hpp"

#include <cmath>

#include "gencache/base/check.hpp"

namespace gencache::neardup {

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  GENCACHE_CHECK(a.size() == b.size());
  float sum = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

void NormalizeL2(std::vector<float>& v) {
  double sum = 0.0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0.0) return;
  const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= scale;
}

}  // namespace gencache::neardup
