# The S3-compatible blob store: libcurl signs (SigV4), tinyxml2 reads
# ListObjectsV2 pages and error documents.
pkg_check_modules(TINYXML2 REQUIRED IMPORTED_TARGET tinyxml2)

gencache_library(gencache_blob_s3
  SOURCES s3_blob_store.cpp
  DEPS gencache_blob gencache_base CURL::libcurl PkgConfig::TINYXML2 absl::status
       absl::statusor absl::strings absl::synchronization absl::time fmt::fmt spdlog::spdlog)

# Against a real S3-compatible server (s3rver under node), started per test
# binary: the shared conformance suite plus S3-specific failure modes.
gencache_test(s3_blob_store_test
  SOURCES s3_blob_store_test.cpp
  DEPS gencache_blob_s3 gencache_blob_conformance gencache_s3_test_support CURL::libcurl
  LABELS integration
  TIMEOUT 300)
