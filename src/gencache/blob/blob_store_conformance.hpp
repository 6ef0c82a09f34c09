#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "gencache/blob/blob_store.hpp"

namespace gencache::blob {

// The behaviour every BlobStore backend shares. A backend's test binary links
// blob_store_conformance.cpp (target gencache_blob_conformance) and
// instantiates the suite with its own factory:
//   INSTANTIATE_TEST_SUITE_P(S3, BlobStoreConformance,
//                            testing::Values(BlobStoreFactory{"S3", MakeS3}),
//                            BlobStoreFactory::Name);
struct BlobStoreFactory {
  std::string name;
  // Builds an empty store; `dir` is a fresh directory the store may use (its
  // blob directory, or a spool directory for a remote store). Returns null
  // when the backend cannot be built; the test then fails.
  std::function<std::unique_ptr<BlobStore>(const std::string& dir)> make;

  static std::string Name(const testing::TestParamInfo<BlobStoreFactory>& info) {
    return info.param.name;
  }
};

// A fresh directory under /tmp for one test, removed with everything in it.
class BlobTestDir {
 public:
  BlobTestDir() {
    std::string pattern = "/tmp/gencache-blob-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~BlobTestDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  BlobTestDir(const BlobTestDir&) = delete;
  BlobTestDir& operator=(const BlobTestDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class BlobStoreConformance : public testing::TestWithParam<BlobStoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  BlobTestDir dir_;
  std::unique_ptr<BlobStore> store_;
};

}  // namespace gencache::blob
