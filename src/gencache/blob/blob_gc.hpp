#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/blob/blob_store.hpp"

namespace gencache::blob {

// Walks every blob name that a live cache entry refers to, calling `visit`
// once per reference (duplicates allowed). An error means the walk is
// incomplete, and then nothing may be deleted.
using ReferenceWalk =
    std::function<absl::Status(const std::function<void(std::string_view sha256)>& visit)>;

struct GcReport {
  std::uint64_t blobs = 0;       // blobs seen in the store
  std::uint64_t referenced = 0;  // kept: a live entry points at them
  std::uint64_t young = 0;       // kept: unreferenced, within the grace period
  std::uint64_t deleted = 0;
  std::uint64_t deleted_bytes = 0;
  std::uint64_t kept_bytes = 0;
  std::uint64_t errors = 0;  // deletions that failed (logged; retried next run)
};

// Deletes the blobs that no live cache entry references and that were last
// used (written or re-committed) more than `grace` before `now`.
//
// Never deletes a blob an entry points at: the store is listed before the
// references are walked, so a blob committed after the listing is not a
// candidate, and every candidate is stat'ed again just before its deletion,
// so one re-committed in the meantime (identical bytes of a new entry) is
// kept. The grace period covers the time between a blob's commit and the
// entry that will point at it. Blocking (disk or network).
absl::StatusOr<GcReport> CollectGarbage(BlobStore& store, const ReferenceWalk& references,
                                        base::SystemTime now, std::chrono::seconds grace);

}  // namespace gencache::blob
