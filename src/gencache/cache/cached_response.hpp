#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

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
  // SHA-256 names of the re-hosted blobs the body's URLs point at: garbage
  // collection keeps them while the entry lives. Empty when the body holds
  // provider URLs (or no outputs).
  std::vector<std::string> blobs;
  // The prompt and its partition key (a hash of everything in the request but
  // the prompt), so the near-duplicate index can be rebuilt from the store.
  // Empty when the entry is not a near-duplicate candidate.
  std::string prompt;
  std::string prompt_partition;

  bool Live(base::SystemTime now) const { return now < expires; }
  // Memory charged to the entry by byte-bounded tiers.
  std::size_t ApproxBytes() const {
    return sizeof(*this) + (body ? body->size() : 0) + content_type.size() + provider.size() +
           model.size() + prediction_id.size() + blobs.size() * 96 + prompt.size() +
           prompt_partition.size() + 64 /* key */;
  }
};

using CachedResponsePtr = std::shared_ptr<const CachedResponse>;

}  // namespace gencache::cache
