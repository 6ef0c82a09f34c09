#include "gencache/app/blob_backend.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "gencache/blob/local_blob_store.hpp"
#include "gencache/blob/s3_blob_store.hpp"

namespace gencache::app {
namespace {

absl::StatusOr<std::string> FromEnv(const std::string& variable, std::string_view what) {
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    return absl::FailedPreconditionError(
        fmt::format("rehost.s3.{}: environment variable {} is not set", what, variable));
  }
  return std::string(value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<blob::BlobStore>> OpenBlobStore(const config::Options& options) {
  const std::filesystem::path data_dir(options.data_dir);
  if (!options.rehost.s3) {
    auto local = blob::LocalBlobStore::Create(data_dir / "blobs");
    if (!local.ok()) return local.status();
    return std::unique_ptr<blob::BlobStore>(std::move(*local));
  }
  const config::S3Section& s3 = *options.rehost.s3;
  auto access = FromEnv(s3.access_key_env, "access_key_env");
  if (!access.ok()) return access.status();
  auto secret = FromEnv(s3.secret_key_env, "secret_key_env");
  if (!secret.ok()) return secret.status();
  return blob::MakeS3BlobStore({
      .endpoint = s3.endpoint,
      .bucket = s3.bucket,
      .region = s3.region,
      .access_key = *std::move(access),
      .secret_key = *std::move(secret),
      .key_prefix = s3.prefix,
      .spool_dir = (data_dir / "s3-spool").string(),
  });
}

}  // namespace gencache::app
