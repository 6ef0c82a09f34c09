#include "gencache/blob/blob_store.hpp"

#include <string_view>

namespace gencache::blob {

bool IsBlobName(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    const bool digit = c >= '0' && c <= '9';
    const bool lower_hex = c >= 'a' && c <= 'f';
    if (!digit && !lower_hex) return false;
  }
  return true;
}

}  // namespace gencache::blob
