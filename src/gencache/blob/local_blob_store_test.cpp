#include "gencache/blob/local_blob_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gencache/base/sha256.hpp"
#include "gencache/blob/blob_store_conformance.hpp"

namespace gencache::blob {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<BlobStore> MakeLocal(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<LocalBlobStore>> store = LocalBlobStore::Create(dir + "/blobs");
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  return std::move(*store);
}

INSTANTIATE_TEST_SUITE_P(Local, BlobStoreConformance,
                         testing::Values(BlobStoreFactory{"Local", MakeLocal}),
                         BlobStoreFactory::Name);

class LocalBlobStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalBlobStore>> store = LocalBlobStore::Create(root());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  fs::path root() const { return fs::path(dir_.path()) / "blobs"; }

  BlobInfo Put(std::string_view bytes) {
    absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    EXPECT_TRUE(writer.ok()) << writer.status();
    EXPECT_TRUE((*writer)->Append(bytes).ok());
    absl::StatusOr<BlobInfo> info = (*writer)->Commit();
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : BlobInfo{};
  }

  std::vector<fs::path> SpoolFiles() const {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(root() / "tmp")) out.push_back(entry.path());
    return out;
  }

  BlobTestDir dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(LocalBlobStoreTest, LayoutIsShardedByTheFirstTwoHexDigits) {
  const BlobInfo info = Put("hello");
  const fs::path expected = root() / info.sha256.substr(0, 2) / info.sha256;
  EXPECT_EQ(store_->PathOf(info.sha256), expected);
  ASSERT_TRUE(fs::is_regular_file(expected));
  std::ifstream in(expected, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, "hello");
  EXPECT_TRUE(SpoolFiles().empty()) << "commit leaves no spool file";
  EXPECT_EQ(store_->kind(), "local");
  EXPECT_TRUE(store_->OpenIsCheap());
}

TEST_F(LocalBlobStoreTest, NothingUnderAFinalNameBeforeCommit) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append("partial").ok());
  ASSERT_EQ(SpoolFiles().size(), 1u) << "bytes are spooled under tmp/";
  EXPECT_FALSE(fs::exists(store_->PathOf(base::Sha256Hex("partial"))));
  writer->reset();
  EXPECT_TRUE(SpoolFiles().empty()) << "an abandoned writer removes its spool file";
}

TEST_F(LocalBlobStoreTest, RecommitRefreshesTheMtime) {
  const BlobInfo info = Put("refresh me");
  const fs::path path = store_->PathOf(info.sha256);
  // Age the blob by a day, as GC would see an old one.
  struct timespec old[2];
  old[0].tv_sec = old[1].tv_sec = ::time(nullptr) - 86400;
  old[0].tv_nsec = old[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  absl::StatusOr<BlobInfo> aged = store_->Stat(info.sha256);
  ASSERT_TRUE(aged.ok());
  EXPECT_LT(aged->last_used, std::chrono::system_clock::now() - std::chrono::hours(23));

  const BlobInfo again = Put("refresh me");
  EXPECT_GT(again.last_used, std::chrono::system_clock::now() - std::chrono::minutes(1));
  absl::StatusOr<BlobInfo> stat = store_->Stat(info.sha256);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->last_used, again.last_used);
  EXPECT_TRUE(SpoolFiles().empty());
}

TEST_F(LocalBlobStoreTest, DamagedBlobIsReplacedOnRecommit) {
  const BlobInfo info = Put("the right bytes");
  ASSERT_EQ(::truncate(store_->PathOf(info.sha256).c_str(), 3), 0);
  const BlobInfo again = Put("the right bytes");
  EXPECT_EQ(again.size, 15u);
  absl::StatusOr<OpenBlob> open = store_->Open(info.sha256);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size, 15u);
}

TEST_F(LocalBlobStoreTest, CreateRemovesStaleSpoolFiles) {
  // A crash mid-download leaves spool files named after a pid that is gone
  // (or, after a restart in a container, this very pid).
  const fs::path tmp = root() / "tmp";
  const fs::path dead = tmp / "999999999.1.00000000000000aa";
  const fs::path mine = tmp / (std::to_string(::getpid()) + ".7.00000000000000bb");
  const fs::path odd = tmp / "not-a-spool-name";
  // pid 1 is alive in every pid namespace: its spool files are kept.
  const fs::path alive = tmp / "1.3.00000000000000cc";
  for (const fs::path& p : {dead, mine, odd, alive}) std::ofstream(p) << "partial";

  absl::StatusOr<std::unique_ptr<LocalBlobStore>> reopened = LocalBlobStore::Create(root());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_FALSE(fs::exists(odd));
  EXPECT_TRUE(fs::exists(alive));
}

TEST_F(LocalBlobStoreTest, BlobsSurviveReopen) {
  const BlobInfo info = Put("durable");
  store_.reset();
  absl::StatusOr<std::unique_ptr<LocalBlobStore>> reopened = LocalBlobStore::Create(root());
  ASSERT_TRUE(reopened.ok());
  absl::StatusOr<BlobInfo> stat = (*reopened)->Stat(info.sha256);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->size, 7u);
}

TEST_F(LocalBlobStoreTest, ForEachIgnoresForeignFiles) {
  const BlobInfo info = Put("real");
  std::ofstream(root() / "README") << "x";
  fs::create_directories(root() / "zz");
  std::ofstream(root() / "zz" / std::string(64, 'a')) << "wrong shard name";
  std::ofstream(root() / info.sha256.substr(0, 2) / "notes.txt") << "x";
  const std::string other = base::Sha256Hex("other");
  std::ofstream(root() / info.sha256.substr(0, 2) / other) << "in the wrong shard";
  ASSERT_NE(other.substr(0, 2), info.sha256.substr(0, 2)) << "pick bytes in another shard";
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->ForEach([&](const BlobInfo& b) { seen.push_back(b.sha256); }).ok());
  EXPECT_EQ(seen, std::vector<std::string>{info.sha256});
}

TEST_F(LocalBlobStoreTest, CreateFailsOnAFile) {
  std::ofstream(fs::path(dir_.path()) / "file") << "x";
  absl::StatusOr<std::unique_ptr<LocalBlobStore>> store =
      LocalBlobStore::Create(fs::path(dir_.path()) / "file");
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace gencache::blob
