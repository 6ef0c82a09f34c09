#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "gencache/blob/blob_store.hpp"
#include "gencache/config/options.hpp"

namespace gencache::app {

// The blob store the options name: the S3-compatible bucket of `rehost.s3`
// (credentials read from its environment variables, spool files under
// DATA_DIR/s3-spool), else the local directory DATA_DIR/blobs.
// FailedPrecondition when a credential variable is unset or empty.
absl::StatusOr<std::unique_ptr<blob::BlobStore>> OpenBlobStore(const config::Options& options);

}  // namespace gencache::app
