#pragma once

#include <compare>
#include <string>

namespace gencache::keying {

// The version tag that leads every canonical form. Bump it whenever the
// canonical form changes, so old entries can never match new requests.
inline constexpr char kKeySchemaVersion[] = "gencache-key-v1";

// SHA-256 (lower-case hex, 64 chars) of a request's canonical form. Stable
// across processes, machines and versions of the same schema.
struct CacheKey {
  std::string hex;

  friend auto operator<=>(const CacheKey&, const CacheKey&) = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& key) const noexcept {
    // The key is already a uniform hash: its first 16 hex digits suffice.
    std::size_t h = 0;
    for (std::size_t i = 0; i < 16 && i < key.hex.size(); ++i) {
      char c = key.hex[i];
      h = (h << 4) | static_cast<std::size_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return h;
  }
};

}  // namespace gencache::keying
