#include "gencache/files/files_handler.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "gencache/base/sha256.hpp"
#include "gencache/base/worker_pool.hpp"
#include "gencache/blob/blob_store_conformance.hpp"
#include "gencache/blob/local_blob_store.hpp"

namespace gencache::files {
namespace {

// A local store that claims Open is expensive, so the handler takes the
// worker-pool path a remote store would.
class SlowOpenStore final : public blob::BlobStore {
 public:
  explicit SlowOpenStore(blob::BlobStore& inner) : inner_(inner) {}
  std::string_view kind() const override { return "slow"; }
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> NewWriter() override {
    return inner_.NewWriter();
  }
  absl::StatusOr<blob::BlobInfo> Stat(std::string_view sha) override {
    CheckOffLoop();
    ++stats;
    return inner_.Stat(sha);
  }
  absl::StatusOr<blob::OpenBlob> Open(std::string_view sha) override {
    CheckOffLoop();
    ++opens;
    return inner_.Open(sha);
  }
  bool OpenIsCheap() const override { return false; }
  absl::Status Delete(std::string_view sha) override { return inner_.Delete(sha); }
  absl::Status ForEach(const std::function<void(const blob::BlobInfo&)>& visit) override {
    return inner_.ForEach(visit);
  }
  void CheckOffLoop() const {
    EXPECT_NE(std::this_thread::get_id(), test_thread) << "store call on the caller's thread";
  }

  std::thread::id test_thread = std::this_thread::get_id();
  std::atomic<int> stats{0};
  std::atomic<int> opens{0};

 private:
  blob::BlobStore& inner_;
};

class FilesHandlerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = blob::LocalBlobStore::Create(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    content_ = std::string(10'000, '\0');
    for (std::size_t i = 0; i < content_.size(); ++i) {
      content_[i] = static_cast<char>('a' + i % 26);
    }
    sha_ = Put(content_);
    etag_ = "\"" + sha_ + "\"";
  }

  std::string Put(std::string_view bytes) {
    auto writer = store_->NewWriter();
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Append(bytes).ok());
    auto info = (*writer)->Commit();
    EXPECT_TRUE(info.ok());
    return info->sha256;
  }

  // Calls the handler and waits (bounded) for its answer.
  http::Response Get(std::string name, http::HeaderList headers = {}, std::string method = "GET",
                     blob::BlobStore* store = nullptr) {
    http::Request request;
    request.method = std::move(method);
    request.path = "/files/" + name;
    request.target = request.path;
    request.headers = std::move(headers);
    FilesHandler handler(store ? *store : *store_, pool_);
    absl::Mutex mu;
    std::optional<http::Response> answer;
    int calls = 0;
    handler.Handle(request, name, [&](http::Response r) {
      absl::MutexLock lock(&mu);
      ++calls;
      answer = std::move(r);
    });
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(
        absl::Condition(
            +[](std::optional<http::Response>* a) { return a->has_value(); }, &answer),
        absl::Seconds(10));
    EXPECT_EQ(calls, 1);
    if (!answer) {
      ADD_FAILURE() << "no answer";
      return {};
    }
    return std::move(*answer);
  }

  static std::string Header(const http::Response& r, std::string_view name) {
    auto v = http::FindHeader(r.headers, name);
    return v ? std::string(*v) : "";
  }

  // The bytes a file answer would send.
  static std::string FileBytes(const http::Response& r) {
    if (!r.file) return "";
    std::string out(r.file->length, '\0');
    const ssize_t n =
        ::pread(r.file->fd.get(), out.data(), out.size(), static_cast<off_t>(r.file->offset));
    EXPECT_EQ(n, static_cast<ssize_t>(out.size()));
    return out;
  }

  blob::BlobTestDir dir_;
  std::unique_ptr<blob::LocalBlobStore> store_;
  base::WorkerPool pool_{2};
  std::string content_;
  std::string sha_;
  std::string etag_;
};

TEST_F(FilesHandlerTest, GetWholeFile) {
  http::Response r = Get(sha_ + ".png");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/png");
  EXPECT_EQ(Header(r, "ETag"), etag_);
  EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(r, "Accept-Ranges"), "bytes");
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(r, "Content-Range"), "");
  ASSERT_NE(r.file, nullptr);
  EXPECT_EQ(r.BodySize(), content_.size());
  EXPECT_EQ(r.file->offset, 0u);
  EXPECT_EQ(FileBytes(r), content_);
}

TEST_F(FilesHandlerTest, BareHashIsOctetStream) {
  http::Response r = Get(sha_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/octet-stream");
  EXPECT_EQ(FileBytes(r), content_);
}

TEST_F(FilesHandlerTest, RangeGives206) {
  http::Response r = Get(sha_ + ".mp4", {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.content_type, "video/mp4");
  EXPECT_EQ(Header(r, "Content-Range"), "bytes 100-199/10000");
  EXPECT_EQ(Header(r, "ETag"), etag_);
  EXPECT_EQ(r.BodySize(), 100u);
  EXPECT_EQ(FileBytes(r), content_.substr(100, 100));

  r = Get(sha_ + ".mp4", {{"range", "bytes=-10"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(Header(r, "Content-Range"), "bytes 9990-9999/10000");
  EXPECT_EQ(FileBytes(r), content_.substr(9990));

  r = Get(sha_ + ".mp4", {{"Range", "bytes=9000-"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(Header(r, "Content-Range"), "bytes 9000-9999/10000");
  EXPECT_EQ(FileBytes(r), content_.substr(9000));
}

TEST_F(FilesHandlerTest, UnsatisfiableRangeIs416) {
  http::Response r = Get(sha_ + ".mp4", {{"Range", "bytes=10000-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(Header(r, "Content-Range"), "bytes */10000");
  EXPECT_EQ(r.file, nullptr);
  EXPECT_NE(r.body.find("\"code\":\"range_not_satisfiable\""), std::string::npos) << r.body;
}

TEST_F(FilesHandlerTest, IgnoredRangesGiveTheWholeFile) {
  for (const char* range : {"bytes=0-1,5-6", "bytes=9-3", "lines=1-2", "bytes=x-"}) {
    SCOPED_TRACE(range);
    http::Response r = Get(sha_ + ".bin", {{"Range", range}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.BodySize(), content_.size());
  }
}

TEST_F(FilesHandlerTest, IfRangeMustBeTheEtag) {
  http::Response r = Get(sha_, {{"Range", "bytes=0-9"}, {"If-Range", etag_}});
  EXPECT_EQ(r.status, 206);
  r = Get(sha_, {{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.BodySize(), content_.size());
  r = Get(sha_, {{"Range", "bytes=0-9"}, {"If-Range", "Wed, 21 Oct 2015 07:28:00 GMT"}});
  EXPECT_EQ(r.status, 200);
}

TEST_F(FilesHandlerTest, IfNoneMatchGives304) {
  for (const std::string& inm : {etag_, "W/" + etag_, "\"x\", " + etag_, std::string("*")}) {
    SCOPED_TRACE(inm);
    http::Response r = Get(sha_ + ".png", {{"If-None-Match", inm}});
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(Header(r, "ETag"), etag_);
    EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(r.file, nullptr);
    EXPECT_TRUE(r.body.empty());
    EXPECT_TRUE(r.content_type.empty());
  }
  http::Response r = Get(sha_ + ".png", {{"If-None-Match", "\"other\""}});
  EXPECT_EQ(r.status, 200);
  // A matching tag for a blob that is gone is still a 404.
  const std::string gone = base::Sha256Hex("gone");
  r = Get(gone, {{"If-None-Match", "\"" + gone + "\""}});
  EXPECT_EQ(r.status, 404);
}

TEST_F(FilesHandlerTest, HeadHasTheLengthButNoFile) {
  http::Response r = Get(sha_ + ".png", {{"Range", "bytes=0-9"}}, "HEAD");
  EXPECT_EQ(r.status, 200) << "Range is for GET only";
  EXPECT_EQ(r.content_type, "image/png");
  EXPECT_EQ(r.BodySize(), content_.size());
  ASSERT_NE(r.file, nullptr);
  EXPECT_FALSE(r.file->fd.valid()) << "HEAD needs no open file";
  EXPECT_EQ(Header(r, "ETag"), etag_);
  EXPECT_EQ(Get(base::Sha256Hex("nope"), {}, "HEAD").status, 404);
}

TEST_F(FilesHandlerTest, UnknownOrMalformedNamesAre404) {
  std::string upper = sha_;
  upper[0] = 'A';
  const std::string names[] = {
      base::Sha256Hex("never stored") + ".png",
      base::Sha256Hex("never stored"),
      "",
      "x",
      upper,
      sha_ + ".svg",
      sha_ + ".html",
      sha_ + ".PNG",
      "../" + sha_,
      "../../etc/passwd",
      sha_.substr(0, 2) + "/" + sha_,
      "tmp/" + sha_,
      sha_ + "/..",
      "%2e%2e/" + sha_,
      sha_.substr(0, 63) + "%61",
      sha_ + "%2epng",
      sha_ + ".png/",
  };
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    http::Response r = Get(name);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.file, nullptr);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no such file"}})");
  }
}

TEST_F(FilesHandlerTest, OtherMethodsAre405) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"}) {
    SCOPED_TRACE(method);
    http::Response r = Get(sha_ + ".png", {}, method);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
    EXPECT_NE(r.body.find("\"code\":\"method_not_allowed\""), std::string::npos);
  }
}

TEST_F(FilesHandlerTest, EmptyBlob) {
  const std::string empty = Put("");
  http::Response r = Get(empty + ".txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.BodySize(), 0u);
  EXPECT_EQ(Get(empty, {{"Range", "bytes=0-"}}).status, 416);
}

TEST_F(FilesHandlerTest, ExpensiveStoreIsAskedOnThePool) {
  SlowOpenStore slow(*store_);
  http::Response r = Get(sha_ + ".png", {{"Range", "bytes=0-4"}}, "GET", &slow);
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(FileBytes(r), content_.substr(0, 5));
  EXPECT_EQ(Get(sha_, {}, "HEAD", &slow).status, 200);
  EXPECT_EQ(Get(sha_, {{"If-None-Match", etag_}}, "GET", &slow).status, 304);
  EXPECT_EQ(Get(base::Sha256Hex("nope"), {}, "GET", &slow).status, 404);
  EXPECT_EQ(slow.opens.load(), 2) << "HEAD and 304 need Stat only";
  EXPECT_EQ(slow.stats.load(), 2);
  // Malformed names and wrong methods never reach the store.
  EXPECT_EQ(Get("../x", {}, "GET", &slow).status, 404);
  EXPECT_EQ(Get(sha_, {}, "POST", &slow).status, 405);
  EXPECT_EQ(slow.opens.load() + slow.stats.load(), 4);
}

TEST_F(FilesHandlerTest, StoreFailureIs500) {
  // A blob name that is a directory: open(2) works but it is not a file.
  std::filesystem::create_directories(store_->PathOf(base::Sha256Hex("dir")));
  http::Response r = Get(base::Sha256Hex("dir"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.file, nullptr);
  EXPECT_NE(r.body.find("\"code\":\"internal_error\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace gencache::files
