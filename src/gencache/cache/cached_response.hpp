#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "gencache/base/clock.hpp"

namespace gencache::cache {

// A stored provider answer. Immutable once built and shared between the
// tiers, the in-flight registry and the responses being written.
struct CachedResponse {
  int http_status = 200;
  std::string content_type = "application/json";
  // Body bytes exactly as returned to the client. Shared so a hit is written
  // without copying it.
  std::shared_ptr<const std::string> body;
  std::string provider;  // mount name, e.g. "skytells"
  std::string model;
  std::string prediction_id;  // provider's id, empty when it has none
  base::SystemTime created{};
  base::SystemTime expires{};

  bool Live(base::SystemTime now) const { return now < expires; }
  // Memory charged to the entry by byte-bounded tiers.
  std::size_t ApproxBytes() const {
    return sizeof(*this) + (body ? body->size() : 0) + content_type.size() + provider.size() +
           model.size() + prediction_id.size() + 64 /* key */;
  }
};

using CachedResponsePtr = std::shared_ptr<const CachedResponse>;

}  // namespace gencache::cache
