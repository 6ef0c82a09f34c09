#include "gencache/blob/blob_gc.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gencache/blob/blob_store_conformance.hpp"
#include "gencache/blob/local_blob_store.hpp"

namespace gencache::blob {
namespace {

using std::chrono::hours;

class BlobGcTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalBlobStore::Create(std::string(dir_.path()) + "/blobs");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::string Put(std::string_view bytes) {
    auto writer = store_->NewWriter();
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Append(bytes).ok());
    auto info = (*writer)->Commit();
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->sha256 : "";
  }

  // Makes the blob look last used `age` ago.
  void Age(const std::string& sha, std::chrono::seconds age) {
    const auto then = std::chrono::system_clock::now() - age;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(then.time_since_epoch());
    timespec times[2] = {{.tv_sec = secs.count(), .tv_nsec = 0},
                         {.tv_sec = secs.count(), .tv_nsec = 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, store_->PathOf(sha).c_str(), times, 0), 0);
  }

  static ReferenceWalk Refs(std::vector<std::string> shas) {
    return [shas](const std::function<void(std::string_view)>& visit) {
      for (const auto& s : shas) visit(s);
      return absl::OkStatus();
    };
  }

  bool Exists(const std::string& sha) { return store_->Stat(sha).ok(); }

  BlobTestDir dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(BlobGcTest, DeletesOnlyOldUnreferencedBlobs) {
  const std::string referenced = Put("referenced");
  const std::string orphan = Put("orphan bytes");
  const std::string young = Put("young");
  Age(referenced, hours(5));
  Age(orphan, hours(5));

  auto report =
      CollectGarbage(*store_, Refs({referenced}), std::chrono::system_clock::now(), hours(1));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->blobs, 3u);
  EXPECT_EQ(report->referenced, 1u);
  EXPECT_EQ(report->young, 1u);
  EXPECT_EQ(report->deleted, 1u);
  EXPECT_EQ(report->deleted_bytes, std::string("orphan bytes").size());
  EXPECT_TRUE(Exists(referenced));
  EXPECT_FALSE(Exists(orphan));
  EXPECT_TRUE(Exists(young));
}

TEST_F(BlobGcTest, AnIncompleteReferenceWalkDeletesNothing) {
  const std::string orphan = Put("orphan");
  Age(orphan, hours(5));
  auto failing = [](const std::function<void(std::string_view)>&) {
    return absl::UnavailableError("cache store down");
  };
  auto report = CollectGarbage(*store_, failing, std::chrono::system_clock::now(), hours(1));
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(Exists(orphan));
}

TEST_F(BlobGcTest, ABlobRecommittedDuringTheWalkIsKept) {
  const std::string sha = Put("shared output");
  Age(sha, hours(5));
  // A new entry re-hosts identical bytes while the collector walks the
  // references (before that entry is visible to the walk).
  auto walk = [this](const std::function<void(std::string_view)>&) {
    Put("shared output");
    return absl::OkStatus();
  };
  auto report = CollectGarbage(*store_, walk, std::chrono::system_clock::now(), hours(1));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->deleted, 0u);
  EXPECT_TRUE(Exists(sha));
}

}  // namespace
}  // namespace gencache::blob
