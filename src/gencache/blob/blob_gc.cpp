#include "gencache/blob/blob_gc.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <unordered_set>
#include <vector>

namespace gencache::blob {

absl::StatusOr<GcReport> CollectGarbage(BlobStore& store, const ReferenceWalk& references,
                                        base::SystemTime now, std::chrono::seconds grace) {
  GcReport report;
  const base::SystemTime cutoff = now - grace;
  // 1. The store, first: what is committed later is not a candidate.
  std::vector<BlobInfo> old_enough;
  absl::Status listed = store.ForEach([&](const BlobInfo& info) {
    ++report.blobs;
    if (info.last_used > cutoff) {
      ++report.young;
      report.kept_bytes += info.size;
      return;
    }
    old_enough.push_back(info);
  });
  if (!listed.ok()) return listed;
  // 2. The references of every live entry.
  std::unordered_set<std::string> referenced;
  absl::Status walked = references([&](std::string_view sha256) { referenced.emplace(sha256); });
  if (!walked.ok()) return walked;
  // 3. Unreferenced and still old at the moment of deletion.
  for (const BlobInfo& info : old_enough) {
    if (referenced.contains(info.sha256)) {
      ++report.referenced;
      report.kept_bytes += info.size;
      continue;
    }
    absl::StatusOr<BlobInfo> again = store.Stat(info.sha256);
    if (!again.ok()) {
      if (again.status().code() != absl::StatusCode::kNotFound) ++report.errors;
      continue;
    }
    if (again->last_used > cutoff) {
      ++report.young;
      report.kept_bytes += again->size;
      continue;
    }
    absl::Status deleted = store.Delete(info.sha256);
    if (deleted.ok()) {
      ++report.deleted;
      report.deleted_bytes += again->size;
    } else if (deleted.code() != absl::StatusCode::kNotFound) {
      ++report.errors;
      spdlog::warn("blob gc: cannot delete {}: {}", info.sha256, deleted.ToString());
    }
  }
  return report;
}

}  // namespace gencache::blob
