#include "gencache/blob/blob_store_conformance.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/sha256.hpp"

namespace gencache::blob {
namespace {

// Only backends that link this file instantiate the suite.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlobStoreConformance);

// Stores `bytes` through one writer, appended in pieces of `piece` bytes.
absl::StatusOr<BlobInfo> Put(BlobStore& store, std::string_view bytes, std::size_t piece = 4096) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store.NewWriter();
  if (!writer.ok()) return writer.status();
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    absl::Status appended = (*writer)->Append(bytes.substr(at, piece));
    if (!appended.ok()) return appended;
  }
  return (*writer)->Commit();
}

// Reads the blob's bytes [0, size) with pread, so the descriptor's offset
// does not matter.
std::string ReadAll(const OpenBlob& blob) {
  std::string out(blob.size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(blob.fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) {
      ADD_FAILURE() << "pread stopped at " << done << " of " << out.size();
      out.resize(done);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

// Deterministic, incompressible-looking bytes.
std::string Bytes(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

std::set<std::string> Listed(BlobStore& store) {
  std::set<std::string> names;
  absl::Status walked = store.ForEach([&](const BlobInfo& info) {
    EXPECT_TRUE(IsBlobName(info.sha256)) << info.sha256;
    EXPECT_TRUE(names.insert(info.sha256).second) << "listed twice: " << info.sha256;
  });
  EXPECT_TRUE(walked.ok()) << walked;
  return names;
}

// Remote stores keep their own clock; allow for skew and coarse timestamps.
constexpr auto kClockSlack = std::chrono::minutes(5);

TEST_P(BlobStoreConformance, CommitThenStatAndOpenGiveTheBytes) {
  const std::string bytes = "a re-hosted image, say";
  absl::StatusOr<BlobInfo> put = Put(*store_, bytes, 5);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->sha256, base::Sha256Hex(bytes));
  EXPECT_EQ(put->size, bytes.size());
  const auto now = std::chrono::system_clock::now();
  EXPECT_GT(put->last_used, now - kClockSlack);
  EXPECT_LT(put->last_used, now + kClockSlack);

  absl::StatusOr<BlobInfo> stat = store_->Stat(put->sha256);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->sha256, put->sha256);
  EXPECT_EQ(stat->size, bytes.size());

  absl::StatusOr<OpenBlob> open = store_->Open(put->sha256);
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_TRUE(open->fd.valid());
  EXPECT_EQ(open->size, bytes.size());
  EXPECT_EQ(ReadAll(*open), bytes);
}

TEST_P(BlobStoreConformance, WriterCountsItsBytes) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->size(), 0u);
  ASSERT_TRUE((*writer)->Append("abc").ok());
  ASSERT_TRUE((*writer)->Append("").ok());
  ASSERT_TRUE((*writer)->Append("defg").ok());
  EXPECT_EQ((*writer)->size(), 7u);
  absl::StatusOr<BlobInfo> info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->sha256, base::Sha256Hex("abcdefg"));
}

TEST_P(BlobStoreConformance, SpentWriterRefusesMore) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append("once").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ((*writer)->Append("more").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Listed(*store_).size(), 1u);
}

TEST_P(BlobStoreConformance, IdenticalBytesAreStoredOnce) {
  const std::string bytes = Bytes(10000, 1);
  absl::StatusOr<BlobInfo> first = Put(*store_, bytes, 1000);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<BlobInfo> second = Put(*store_, bytes, 333);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->sha256, first->sha256);
  EXPECT_EQ(second->size, first->size);
  EXPECT_GE(second->last_used, first->last_used) << "a re-commit refreshes last_used";
  absl::StatusOr<BlobInfo> stat = store_->Stat(first->sha256);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_GE(stat->last_used, first->last_used);
  EXPECT_EQ(Listed(*store_), std::set<std::string>{first->sha256});
  absl::StatusOr<OpenBlob> open = store_->Open(first->sha256);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ReadAll(*open), bytes);
}

TEST_P(BlobStoreConformance, EmptyBlob) {
  absl::StatusOr<BlobInfo> put = Put(*store_, "");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(put->size, 0u);
  absl::StatusOr<BlobInfo> stat = store_->Stat(put->sha256);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->size, 0u);
  absl::StatusOr<OpenBlob> open = store_->Open(put->sha256);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_TRUE(open->fd.valid());
  EXPECT_EQ(open->size, 0u);
  EXPECT_EQ(Listed(*store_), std::set<std::string>{put->sha256});
}

TEST_P(BlobStoreConformance, LargeBlobInManyAppends) {
  constexpr std::size_t kSize = 20u << 20;
  base::Sha256Hasher expected;
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Uneven pieces, so no append lines up with a buffer boundary by luck.
  std::size_t written = 0;
  for (std::uint32_t i = 0; written < kSize; ++i) {
    const std::size_t piece = std::min<std::size_t>(kSize - written, 50'000 + (i % 7) * 12'345);
    const std::string bytes = Bytes(piece, i);
    expected.Update(bytes);
    ASSERT_TRUE((*writer)->Append(bytes).ok());
    written += piece;
  }
  EXPECT_EQ((*writer)->size(), kSize);
  absl::StatusOr<BlobInfo> info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status();
  const std::string sha = expected.FinishHex();
  EXPECT_EQ(info->sha256, sha);
  EXPECT_EQ(info->size, kSize);

  absl::StatusOr<OpenBlob> open = store_->Open(sha);
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->size, kSize);
  EXPECT_EQ(base::Sha256Hex(ReadAll(*open)), sha);
}

TEST_P(BlobStoreConformance, AbandonedWriterLeavesNothing) {
  {
    absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store_->NewWriter();
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Append(Bytes(100'000, 7)).ok());
  }
  EXPECT_TRUE(Listed(*store_).empty());
  EXPECT_EQ(store_->Stat(base::Sha256Hex(Bytes(100'000, 7))).status().code(),
            absl::StatusCode::kNotFound);
  // The store still works afterwards.
  ASSERT_TRUE(Put(*store_, "after").ok());
  EXPECT_EQ(Listed(*store_).size(), 1u);
}

TEST_P(BlobStoreConformance, UnknownBlobIsNotFound) {
  const std::string unknown = base::Sha256Hex("never stored");
  EXPECT_EQ(store_->Stat(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Open(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(unknown).code(), absl::StatusCode::kNotFound);
}

TEST_P(BlobStoreConformance, InvalidNamesAreRejected) {
  const std::string valid = base::Sha256Hex("x");
  std::string upper = valid;
  upper[0] = 'A';
  upper[1] = 'B';
  const std::vector<std::string> names = {
      "",
      upper,
      valid.substr(0, 63),
      valid + "0",
      "../../etc/passwd",
      "../" + valid.substr(3),
      valid.substr(0, 2) + "/" + valid.substr(3),
      std::string(64, 'g'),
      std::string(64, '.'),
      valid.substr(0, 32) + std::string(1, '\0') + valid.substr(33),
  };
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(IsBlobName(name));
    EXPECT_EQ(store_->Stat(name).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Open(name).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete(name).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(IsBlobName(valid));
}

TEST_P(BlobStoreConformance, DeleteRemoves) {
  absl::StatusOr<BlobInfo> a = Put(*store_, "a");
  absl::StatusOr<BlobInfo> b = Put(*store_, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(store_->Delete(a->sha256).ok());
  EXPECT_EQ(store_->Stat(a->sha256).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Open(a->sha256).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(a->sha256).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Stat(b->sha256).ok());
  EXPECT_EQ(Listed(*store_), std::set<std::string>{b->sha256});
  // The same bytes can come back after a delete.
  absl::StatusOr<BlobInfo> again = Put(*store_, "a");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->sha256, a->sha256);
  EXPECT_TRUE(store_->Stat(a->sha256).ok());
}

TEST_P(BlobStoreConformance, OpenBlobOutlivesDelete) {
  const std::string bytes = Bytes(70'000, 3);
  absl::StatusOr<BlobInfo> put = Put(*store_, bytes);
  ASSERT_TRUE(put.ok()) << put.status();
  absl::StatusOr<OpenBlob> open = store_->Open(put->sha256);
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_TRUE(store_->Delete(put->sha256).ok());
  EXPECT_EQ(ReadAll(*open), bytes) << "a reader keeps its bytes while GC deletes";
}

TEST_P(BlobStoreConformance, ForEachListsExactlyTheCommittedBlobs) {
  EXPECT_TRUE(Listed(*store_).empty());
  std::set<std::string> expected;
  std::set<std::uint64_t> sizes;
  for (std::uint32_t i = 0; i < 20; ++i) {
    absl::StatusOr<BlobInfo> put = Put(*store_, Bytes(i * 100, i));
    ASSERT_TRUE(put.ok()) << put.status();
    expected.insert(put->sha256);
  }
  // One writer left open mid-walk is not a blob.
  absl::StatusOr<std::unique_ptr<BlobWriter>> pending = store_->NewWriter();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_TRUE((*pending)->Append("in flight").ok());

  std::vector<BlobInfo> walk;
  absl::Status walked = store_->ForEach([&](const BlobInfo& info) { walk.push_back(info); });
  ASSERT_TRUE(walked.ok()) << walked;
  std::set<std::string> seen;
  for (const BlobInfo& info : walk) {
    seen.insert(info.sha256);
    sizes.insert(info.size);
    absl::StatusOr<BlobInfo> stat = store_->Stat(info.sha256);
    ASSERT_TRUE(stat.ok()) << stat.status();
    EXPECT_EQ(stat->size, info.size);
  }
  EXPECT_EQ(walk.size(), 20u);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(sizes.size(), 20u);
  EXPECT_EQ(*sizes.begin(), 0u);
  EXPECT_EQ(*sizes.rbegin(), 1900u);
}

TEST_P(BlobStoreConformance, ConcurrentWritersOfTheSameBytes) {
  constexpr int kThreads = 8;
  const std::string bytes = Bytes(1u << 20, 9);
  const std::string sha = base::Sha256Hex(bytes);
  std::vector<absl::StatusOr<BlobInfo>> results(kThreads, absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] { results[i] = Put(*store_, bytes, 8192 + 1000 * i); });
    }
    for (std::thread& t : threads) t.join();
  }
  for (const absl::StatusOr<BlobInfo>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->sha256, sha);
    EXPECT_EQ(result->size, bytes.size());
  }
  EXPECT_EQ(Listed(*store_), std::set<std::string>{sha});
  absl::StatusOr<OpenBlob> open = store_->Open(sha);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ReadAll(*open), bytes);
}

TEST_P(BlobStoreConformance, ConcurrentWritersOfDifferentBytes) {
  constexpr int kThreads = 8;
  std::vector<absl::StatusOr<BlobInfo>> results(kThreads, absl::UnknownError("not run"));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        results[i] = Put(*store_, Bytes(200'000, static_cast<std::uint32_t>(100 + i)));
      });
    }
    for (std::thread& t : threads) t.join();
  }
  std::set<std::string> expected;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->sha256,
              base::Sha256Hex(Bytes(200'000, static_cast<std::uint32_t>(100 + i))));
    expected.insert(results[i]->sha256);
  }
  EXPECT_EQ(Listed(*store_), expected);
}

}  // namespace
}  // namespace gencache::blob
