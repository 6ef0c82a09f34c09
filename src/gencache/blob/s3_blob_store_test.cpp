#include "gencache/blob/s3_blob_store.hpp"

#include <curl/curl.h>
#include <dirent.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gencache/base/sha256.hpp"
#include "gencache/base/unique_fd.hpp"
#include "gencache/blob/blob_store_conformance.hpp"
#include "tests/support/s3_server.hpp"

namespace gencache::blob {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// One s3rver for the whole binary; each store gets its own key prefix, so
// every store starts out empty.
gencache::testing::S3Server* g_server = nullptr;

class S3ServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<gencache::testing::S3Server>> server =
        gencache::testing::S3Server::Start();
    ASSERT_TRUE(server.ok()) << "cannot start s3rver: " << server.status();
    server_ = std::move(*server);
    g_server = server_.get();
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<gencache::testing::S3Server> server_;
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new S3ServerEnvironment);

std::atomic<int> g_next_prefix{0};

S3BlobStoreOptions OptionsFor(const gencache::testing::S3Server& server,
                              const std::string& spool_dir) {
  return S3BlobStoreOptions{
      .endpoint = server.endpoint(),
      .bucket = server.options().bucket,
      .region = server.options().region,
      .access_key = server.options().access_key,
      .secret_key = server.options().secret_key,
      .key_prefix = fmt::format("t{}/blobs/", g_next_prefix++),
      .spool_dir = spool_dir,
      .connect_timeout = milliseconds(2'000),
      .request_timeout = milliseconds(10'000),
      .transfer_timeout = milliseconds(120'000),
  };
}

std::unique_ptr<BlobStore> MakeForConformance(const std::string& dir) {
  if (g_server == nullptr) return nullptr;
  absl::StatusOr<std::unique_ptr<BlobStore>> store = MakeS3BlobStore(OptionsFor(*g_server, dir));
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  return std::move(*store);
}

INSTANTIATE_TEST_SUITE_P(S3, BlobStoreConformance,
                         ::testing::Values(BlobStoreFactory{"S3", MakeForConformance}),
                         BlobStoreFactory::Name);

absl::StatusOr<BlobInfo> Put(BlobStore& store, std::string_view bytes) {
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store.NewWriter();
  if (!writer.ok()) return writer.status();
  if (absl::Status appended = (*writer)->Append(bytes); !appended.ok()) return appended;
  return (*writer)->Commit();
}

// PUTs `bytes` under `key` with a request of the test's own (signed by
// libcurl as well), to plant objects the store would never write.
long RawPut(const gencache::testing::S3Server& server, const std::string& key,
            const std::string& bytes) {
  CURL* easy = curl_easy_init();
  const std::string url = fmt::format("{}/{}/{}", server.endpoint(), server.options().bucket, key);
  const std::string sigv4 = fmt::format("aws:amz:{}:s3", server.options().region);
  const std::string hash_header = "x-amz-content-sha256: " + base::Sha256Hex(bytes);
  curl_slist* headers = curl_slist_append(nullptr, hash_header.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, bytes.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(bytes.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(easy, CURLOPT_USERNAME, server.options().access_key.c_str());
  curl_easy_setopt(easy, CURLOPT_PASSWORD, server.options().secret_key.c_str());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10'000L);
  long status = 0;
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return status;
}

std::set<std::string> Listed(BlobStore& store) {
  std::set<std::string> names;
  absl::Status walked = store.ForEach([&](const BlobInfo& info) { names.insert(info.sha256); });
  EXPECT_TRUE(walked.ok()) << walked;
  return names;
}

std::string ReadAll(const OpenBlob& blob) {
  std::string out(blob.size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(blob.fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

// Names in `dir` (the spool directory must stay empty: its files are
// unlinked as soon as they are made).
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// Peak resident set (VmHWM) in KiB, after ResetPeakRss() when it worked.
long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

class S3BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(g_server, nullptr) << "s3rver did not start"; }

  std::unique_ptr<BlobStore> Make(const std::function<void(S3BlobStoreOptions&)>& adjust = {}) {
    S3BlobStoreOptions options = OptionsFor(*g_server, spool_.path());
    if (adjust) adjust(options);
    absl::StatusOr<std::unique_ptr<BlobStore>> store = MakeS3BlobStore(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  BlobTestDir spool_;
};

TEST_F(S3BlobStoreTest, KindAndOpenCost) {
  std::unique_ptr<BlobStore> store = Make();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->kind(), "s3");
  EXPECT_FALSE(store->OpenIsCheap());
}

TEST_F(S3BlobStoreTest, WrongSecretIsPermissionDenied) {
  std::string prefix;
  std::unique_ptr<BlobStore> good = Make([&](S3BlobStoreOptions& o) { prefix = o.key_prefix; });
  ASSERT_NE(good, nullptr);
  absl::StatusOr<BlobInfo> put = Put(*good, "signed properly");
  ASSERT_TRUE(put.ok()) << put.status();

  const std::string wrong_secret = "not-the-secret-0123456789";
  std::unique_ptr<BlobStore> bad = Make([&](S3BlobStoreOptions& o) {
    o.secret_key = wrong_secret;
    o.key_prefix = prefix;
  });
  ASSERT_NE(bad, nullptr);

  absl::StatusOr<BlobInfo> stat = bad->Stat(put->sha256);
  EXPECT_EQ(stat.status().code(), absl::StatusCode::kPermissionDenied) << stat.status();
  absl::StatusOr<OpenBlob> open = bad->Open(put->sha256);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kPermissionDenied) << open.status();
  EXPECT_NE(open.status().message().find("SignatureDoesNotMatch"), std::string_view::npos)
      << open.status();
  absl::Status walked = bad->ForEach([](const BlobInfo&) { ADD_FAILURE() << "listed"; });
  EXPECT_EQ(walked.code(), absl::StatusCode::kPermissionDenied) << walked;
  EXPECT_NE(walked.message().find("SignatureDoesNotMatch"), std::string_view::npos) << walked;
  absl::StatusOr<BlobInfo> commit = Put(*bad, "never stored");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kPermissionDenied) << commit.status();
  EXPECT_EQ(bad->Delete(put->sha256).code(), absl::StatusCode::kPermissionDenied);

  for (const absl::Status& status : {stat.status(), open.status(), walked, commit.status()}) {
    EXPECT_EQ(status.message().find(wrong_secret), std::string_view::npos) << status;
    EXPECT_EQ(status.message().find("S3RVER"), std::string_view::npos) << status;
  }
  EXPECT_EQ(Listed(*good), std::set<std::string>{put->sha256}) << "nothing written or deleted";
}

TEST_F(S3BlobStoreTest, UnknownAccessKeyIsPermissionDenied) {
  std::unique_ptr<BlobStore> store = Make([](S3BlobStoreOptions& o) { o.access_key = "NOBODY"; });
  ASSERT_NE(store, nullptr);
  absl::Status walked = store->ForEach([](const BlobInfo&) {});
  EXPECT_EQ(walked.code(), absl::StatusCode::kPermissionDenied) << walked;
  EXPECT_NE(walked.message().find("InvalidAccessKeyId"), std::string_view::npos) << walked;
}

TEST_F(S3BlobStoreTest, WrongRegionIsFailedPrecondition) {
  std::unique_ptr<BlobStore> store = Make([](S3BlobStoreOptions& o) { o.region = "eu-west-1"; });
  ASSERT_NE(store, nullptr);
  absl::Status walked = store->ForEach([](const BlobInfo&) {});
  EXPECT_EQ(walked.code(), absl::StatusCode::kFailedPrecondition) << walked;
  EXPECT_NE(walked.message().find("AuthorizationHeaderMalformed"), std::string_view::npos)
      << walked;
}

TEST_F(S3BlobStoreTest, MissingBucketIsFailedPrecondition) {
  std::unique_ptr<BlobStore> store = Make([](S3BlobStoreOptions& o) { o.bucket = "no-such"; });
  ASSERT_NE(store, nullptr);
  absl::Status walked = store->ForEach([](const BlobInfo&) {});
  EXPECT_EQ(walked.code(), absl::StatusCode::kFailedPrecondition) << walked;
  EXPECT_NE(walked.message().find("NoSuchBucket"), std::string_view::npos) << walked;
  absl::StatusOr<BlobInfo> commit = Put(*store, "nowhere to go");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kFailedPrecondition) << commit.status();
}

TEST_F(S3BlobStoreTest, StoppedServerIsUnavailable) {
  absl::StatusOr<std::unique_ptr<gencache::testing::S3Server>> own =
      gencache::testing::S3Server::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  S3BlobStoreOptions options = OptionsFor(**own, spool_.path());
  options.connect_timeout = milliseconds(1'000);
  options.request_timeout = milliseconds(2'000);
  absl::StatusOr<std::unique_ptr<BlobStore>> store = MakeS3BlobStore(options);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<BlobInfo> put = Put(**store, "then the server went away");
  ASSERT_TRUE(put.ok()) << put.status();

  (*own)->Stop();
  const auto started = steady_clock::now();
  EXPECT_EQ((*store)->Stat(put->sha256).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Open(put->sha256).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Delete(put->sha256).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->ForEach([](const BlobInfo&) {}).code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<BlobInfo> commit = Put(**store, "lost");
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_LT(steady_clock::now() - started, milliseconds(5 * 1'000))
      << "a refused connection fails at once, well inside the timeouts";
  EXPECT_TRUE(Entries(spool_.path()).empty());
}

TEST_F(S3BlobStoreTest, SilentServerTimesOutAsUnavailable) {
  // A socket that listens but never accepts: the kernel completes the
  // handshake and nothing ever answers.
  base::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 16), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);

  std::unique_ptr<BlobStore> store = Make([&](S3BlobStoreOptions& o) {
    o.endpoint = fmt::format("http://127.0.0.1:{}", ntohs(address.sin_port));
    o.request_timeout = milliseconds(500);
    o.transfer_timeout = milliseconds(1'500);
  });
  ASSERT_NE(store, nullptr);
  const std::string sha = base::Sha256Hex("x");

  auto started = steady_clock::now();
  absl::StatusOr<BlobInfo> stat = store->Stat(sha);
  auto took = steady_clock::now() - started;
  EXPECT_EQ(stat.status().code(), absl::StatusCode::kUnavailable) << stat.status();
  EXPECT_NE(stat.status().message().find("timed out"), std::string_view::npos) << stat.status();
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, milliseconds(3'000));

  started = steady_clock::now();
  absl::StatusOr<OpenBlob> open = store->Open(sha);
  took = steady_clock::now() - started;
  EXPECT_EQ(open.status().code(), absl::StatusCode::kUnavailable) << open.status();
  EXPECT_LT(took, milliseconds(4'000)) << "a stalled download gives up after ~1 s";
}

TEST_F(S3BlobStoreTest, ForEachFollowsContinuationTokens) {
  std::string prefix;
  std::unique_ptr<BlobStore> store = Make([&](S3BlobStoreOptions& o) {
    o.list_page_size = 3;
    prefix = o.key_prefix;
  });
  ASSERT_NE(store, nullptr);
  std::set<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<BlobInfo> put = Put(*store, fmt::format("blob number {}", i));
    ASSERT_TRUE(put.ok()) << put.status();
    expected.insert(put->sha256);
  }
  // Keys under the prefix that are not blobs are skipped, wherever they
  // fall among the pages.
  const std::string sha = base::Sha256Hex("foreign");
  for (const std::string& key : {prefix + "README", prefix + "sub/" + sha, prefix + sha + ".tmp",
                                 prefix + sha.substr(0, 63), prefix + "0" + sha.substr(1, 62)}) {
    ASSERT_EQ(RawPut(*g_server, key, "not a blob"), 200) << key;
  }
  ASSERT_EQ(RawPut(*g_server, "elsewhere/" + sha, "outside the prefix"), 200);

  std::vector<std::string> seen;
  absl::Status walked = store->ForEach([&](const BlobInfo& info) {
    seen.push_back(info.sha256);
    EXPECT_GT(info.size, 0u);
    EXPECT_GT(info.last_used, std::chrono::system_clock::now() - std::chrono::minutes(5));
  });
  ASSERT_TRUE(walked.ok()) << walked;
  EXPECT_EQ(seen.size(), expected.size()) << "each blob once, over four pages";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
}

TEST_F(S3BlobStoreTest, CorruptObjectIsDataLossAndACommitOfADifferentSizeReplacesIt) {
  std::string prefix;
  std::unique_ptr<BlobStore> store = Make([&](S3BlobStoreOptions& o) { prefix = o.key_prefix; });
  ASSERT_NE(store, nullptr);

  // Same size, other bytes: only the download's hash can tell.
  const std::string sha_good = base::Sha256Hex("good");
  ASSERT_EQ(RawPut(*g_server, prefix + sha_good, "evil"), 200);
  absl::StatusOr<OpenBlob> open = store->Open(sha_good);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kDataLoss) << open.status();

  // A different size is caught by Commit, which uploads over it.
  const std::string bytes = "the real bytes";
  const std::string sha = base::Sha256Hex(bytes);
  ASSERT_EQ(RawPut(*g_server, prefix + sha, "truncat"), 200);
  absl::StatusOr<BlobInfo> put = Put(*store, bytes);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->size, bytes.size());
  open = store->Open(sha);
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(ReadAll(*open), bytes);
  EXPECT_TRUE(Entries(spool_.path()).empty());
}

TEST_F(S3BlobStoreTest, OpenGivesARewoundPrivateFile) {
  std::unique_ptr<BlobStore> store = Make();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<BlobInfo> put = Put(*store, "read me with read(2)");
  ASSERT_TRUE(put.ok()) << put.status();
  absl::StatusOr<OpenBlob> open = store->Open(put->sha256);
  ASSERT_TRUE(open.ok()) << open.status();
  char buffer[64] = {};
  const ssize_t n = ::read(open->fd.get(), buffer, sizeof buffer);
  EXPECT_EQ(std::string_view(buffer, n > 0 ? static_cast<std::size_t>(n) : 0),
            "read me with read(2)");
  EXPECT_TRUE(Entries(spool_.path()).empty()) << "the copy has no name";
}

TEST_F(S3BlobStoreTest, FiftyMegabytesRoundTripInBoundedMemory) {
  constexpr std::size_t kSize = 50u << 20;
  constexpr std::size_t kPiece = 64u << 10;
  std::unique_ptr<BlobStore> store = Make();
  ASSERT_NE(store, nullptr);
  const bool reset = ResetPeakRss();
  const long rss_before = PeakRssKib();

  std::string piece(kPiece, '\0');
  std::uint64_t x = 88172645463325252ull;
  base::Sha256Hasher expected;
  const auto started = steady_clock::now();
  absl::StatusOr<std::unique_ptr<BlobWriter>> writer = store->NewWriter();
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (std::size_t written = 0; written < kSize; written += kPiece) {
    for (char& c : piece) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    expected.Update(piece);
    ASSERT_TRUE((*writer)->Append(piece).ok());
  }
  absl::StatusOr<BlobInfo> info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status();
  const auto uploaded = steady_clock::now();
  const std::string sha = expected.FinishHex();
  EXPECT_EQ(info->sha256, sha);
  EXPECT_EQ(info->size, kSize);

  absl::StatusOr<OpenBlob> open = store->Open(sha);
  ASSERT_TRUE(open.ok()) << open.status();
  const auto downloaded = steady_clock::now();
  ASSERT_EQ(open->size, kSize);
  base::Sha256Hasher actual;
  for (std::size_t at = 0; at < kSize; at += kPiece) {
    const ssize_t n = ::pread(open->fd.get(), piece.data(), kPiece, static_cast<off_t>(at));
    ASSERT_EQ(n, static_cast<ssize_t>(kPiece));
    actual.Update(piece);
  }
  EXPECT_EQ(actual.FinishHex(), sha);

  const long growth_kib = PeakRssKib() - rss_before;
  std::printf(
      "50 MiB: commit %lld ms, open %lld ms, peak RSS growth %ld KiB%s\n",
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(uploaded - started).count()),
      static_cast<long long>(
          std::chrono::duration_cast<milliseconds>(downloaded - uploaded).count()),
      growth_kib, reset ? "" : " (peak not reset: upper bound only)");
  EXPECT_LT(growth_kib, 16 * 1024) << "the blob went through memory";
  EXPECT_TRUE(Entries(spool_.path()).empty());
}

TEST(S3BlobStoreOptionsTest, RejectsBadOptions) {
  BlobTestDir dir;
  const S3BlobStoreOptions valid{.endpoint = "http://127.0.0.1:9",
                                 .bucket = "bucket",
                                 .region = "us-east-1",
                                 .access_key = "AKID",
                                 .secret_key = "secret-value-42",
                                 .spool_dir = dir.path() + "/spool"};
  ASSERT_TRUE(MakeS3BlobStore(valid).ok());
  EXPECT_TRUE(std::filesystem::is_directory(valid.spool_dir));
  EXPECT_TRUE(Entries(valid.spool_dir).empty());
  S3BlobStoreOptions slash = valid;
  slash.endpoint = "https://s3.eu-west-1.amazonaws.com/";
  EXPECT_TRUE(MakeS3BlobStore(slash).ok());

  const std::vector<std::function<void(S3BlobStoreOptions&)>> breakers = {
      [](S3BlobStoreOptions& o) { o.endpoint = ""; },
      [](S3BlobStoreOptions& o) { o.endpoint = "127.0.0.1:9000 x"; },
      [](S3BlobStoreOptions& o) { o.endpoint = "ftp://127.0.0.1"; },
      [](S3BlobStoreOptions& o) { o.endpoint = "http://127.0.0.1:9/bucket"; },
      [](S3BlobStoreOptions& o) { o.endpoint = "http://127.0.0.1:9/?x=1"; },
      [](S3BlobStoreOptions& o) { o.endpoint = "http://AKID:secret-value-42@127.0.0.1:9"; },
      [](S3BlobStoreOptions& o) { o.bucket = ""; },
      [](S3BlobStoreOptions& o) { o.bucket = "a/b"; },
      [](S3BlobStoreOptions& o) { o.region = ""; },
      [](S3BlobStoreOptions& o) { o.region = "us:east"; },
      [](S3BlobStoreOptions& o) { o.access_key = ""; },
      [](S3BlobStoreOptions& o) { o.secret_key = ""; },
      [](S3BlobStoreOptions& o) { o.key_prefix = "/blobs/"; },
      [](S3BlobStoreOptions& o) { o.key_prefix = "a b/"; },
      [](S3BlobStoreOptions& o) { o.spool_dir = ""; },
      [](S3BlobStoreOptions& o) { o.request_timeout = milliseconds(0); },
      [](S3BlobStoreOptions& o) { o.list_page_size = 0; },
      [](S3BlobStoreOptions& o) { o.list_page_size = 1001; },
  };
  for (std::size_t i = 0; i < breakers.size(); ++i) {
    S3BlobStoreOptions options = valid;
    breakers[i](options);
    absl::StatusOr<std::unique_ptr<BlobStore>> store = MakeS3BlobStore(options);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << i;
    EXPECT_EQ(store.status().message().find("secret-value-42"), std::string_view::npos)
        << store.status();
  }

  S3BlobStoreOptions unwritable = valid;
  unwritable.spool_dir = "/proc/gencache-cannot-be-here";
  EXPECT_EQ(MakeS3BlobStore(unwritable).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace gencache::blob
