#include "gencache/blob/s3_blob_store.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tinyxml2.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gencache/base/check.hpp"
#include "gencache/base/sha256.hpp"
#include "gencache/base/unique_fd.hpp"

namespace gencache::blob {
namespace {

// SHA-256 of no bytes: the payload hash of every request without a body.
constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// Bodies kept in memory: error documents and ListObjectsV2 pages (a full page
// of 1000 keys is about 350 KB).
constexpr std::size_t kMaxResponseBody = 16u << 20;
// S3's limit for one PUT; larger objects need a multipart upload.
constexpr std::uint64_t kMaxSinglePut = 5ull << 30;
// Idle handles kept for their open connections; more are made on demand.
constexpr std::size_t kMaxIdleHandles = 16;

void InitCurlOnce() {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  GENCACHE_CHECK(initialised);
}

std::string Errno(int error) { return std::error_code(error, std::generic_category()).message(); }

// A file in `dir` that already has no name: it vanishes with its last
// descriptor, whatever happens to the process.
absl::StatusOr<base::UniqueFd> MakeSpoolFile(const std::string& dir) {
  std::string path = dir + "/gencache-s3-XXXXXX";
  base::UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd.valid()) {
    return absl::InternalError(
        fmt::format("cannot create a spool file in {}: {}", dir, Errno(errno)));
  }
  if (::unlink(path.c_str()) != 0) {
    return absl::InternalError(fmt::format("cannot unlink spool file {}: {}", path, Errno(errno)));
  }
  return fd;
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// RFC 3986 percent-encoding of everything but unreserved characters, as
// SigV4's canonical query string requires.
std::string UriEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool AllOf(std::string_view s, std::string_view allowed_punctuation) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           allowed_punctuation.find(c) != std::string_view::npos;
  });
}

std::string TextOf(const tinyxml2::XMLElement* parent, const char* name) {
  const tinyxml2::XMLElement* child = parent->FirstChildElement(name);
  if (child == nullptr || child->GetText() == nullptr) return "";
  return child->GetText();
}

struct S3Error {
  std::string code;
  std::string message;
};

// S3's <Error><Code/><Message/></Error> document, or empty fields.
S3Error ParseS3Error(const std::string& body) {
  if (body.empty()) return {};
  tinyxml2::XMLDocument doc;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) return {};
  const tinyxml2::XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string_view(root->Name()) != "Error") return {};
  S3Error error{TextOf(root, "Code"), TextOf(root, "Message")};
  if (error.message.size() > 300) error.message = error.message.substr(0, 300) + "...";
  return error;
}

absl::Status ErrorStatus(std::string_view what, long http_status, const S3Error& error) {
  std::string message = fmt::format("{}: HTTP {}", what, http_status);
  if (!error.code.empty()) message += fmt::format(" {}", error.code);
  if (!error.message.empty()) message += fmt::format(": {}", error.message);
  if (http_status == 404) {
    if (error.code == "NoSuchBucket") return absl::FailedPreconditionError(message);
    return absl::NotFoundError(message);
  }
  if (http_status == 401 || http_status == 403) return absl::PermissionDeniedError(message);
  if (http_status >= 500 || http_status == 429 || error.code == "SlowDown" ||
      error.code == "InternalError" || error.code == "ServiceUnavailable") {
    return absl::UnavailableError(message);
  }
  return absl::FailedPreconditionError(message);
}

absl::StatusOr<base::SystemTime> ParseIso8601(const std::string& text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(error);
  }
  // Whole seconds, like Last-Modified on HEAD, so Stat and ForEach agree.
  return base::SystemTime{std::chrono::seconds{absl::ToUnixSeconds(time)}};
}

enum class Method { kGet, kHead, kPut, kDelete };

// Which timeout bounds an exchange (see S3BlobStoreOptions).
enum class Budget {
  kRequest,   // request_timeout for the whole exchange
  kTransfer,  // transfer_timeout, and request_timeout without progress
};

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
  }
  return "?";
}

struct Request {
  Method method = Method::kGet;
  // The object's key; empty addresses the bucket.
  std::string key;
  // Already in SigV4 canonical form (names sorted, values UriEncode'd):
  // libcurl 7.88 signs the query string exactly as given.
  std::string query;
  // More headers ("name: value"); every one is signed.
  std::vector<std::string> headers;
  std::string payload_sha256{kEmptyPayloadSha256};
  Budget budget = Budget::kRequest;
  // A PUT's body: bytes [0, upload_size) of upload_fd. -1 sends no body.
  int upload_fd = -1;
  std::uint64_t upload_size = 0;
  // A GET's body on success goes here (appended, and hashed) instead of into
  // Response::body. -1 keeps it in memory.
  int download_fd = -1;
  base::Sha256Hasher* download_hash = nullptr;
};

struct Response {
  long status = 0;
  std::string body;
  // From Content-Length and Last-Modified; -1 when absent.
  std::int64_t content_length = -1;
  std::int64_t last_modified = -1;
  std::uint64_t downloaded = 0;
};

// What the libcurl callbacks of one exchange share.
struct Exchange {
  const Request* request = nullptr;
  Response* response = nullptr;
  CURL* easy = nullptr;
  std::uint64_t upload_offset = 0;
  bool body_too_large = false;
  int local_errno = 0;  // a spool file read or write failed
};

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::uint64_t left = x->request->upload_size - x->upload_offset;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, size * count));
  if (want == 0) return 0;
  ssize_t n = 0;
  do {
    n = ::pread(x->request->upload_fd, buffer, want, static_cast<off_t>(x->upload_offset));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    x->local_errno = n < 0 ? errno : EIO;  // 0: the spool file is shorter than it was
    return CURL_READFUNC_ABORT;
  }
  x->upload_offset += static_cast<std::uint64_t>(n);
  return static_cast<size_t>(n);
}

// libcurl rewinds an upload to resend it (a reused connection that turned out
// closed, an answer to Expect: 100-continue).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* x = static_cast<Exchange*>(user);
  if (origin != SEEK_SET || offset < 0 ||
      static_cast<std::uint64_t>(offset) > x->request->upload_size) {
    return CURL_SEEKFUNC_FAIL;
  }
  x->upload_offset = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (x->request->download_fd >= 0 && status >= 200 && status < 300) {
    if (!WriteAll(x->request->download_fd, data, n)) {
      x->local_errno = errno;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    if (x->request->download_hash != nullptr) x->request->download_hash->Update({data, n});
    x->response->downloaded += n;
    return n;
  }
  if (x->response->body.size() + n > kMaxResponseBody) {
    x->body_too_large = true;
    return 0;
  }
  x->response->body.append(data, n);
  return n;
}

// Idle easy handles, each keeping its connection open for the next call.
class EasyPool {
 public:
  EasyPool() = default;
  EasyPool(const EasyPool&) = delete;
  EasyPool& operator=(const EasyPool&) = delete;
  ~EasyPool() {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
  }

  CURL* Take() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* easy = idle_.back();
        idle_.pop_back();
        return easy;
      }
    }
    CURL* easy = curl_easy_init();
    GENCACHE_CHECK(easy != nullptr);
    return easy;
  }

  void Give(CURL* easy) {
    // Drops every option (and the pointers into the finished exchange) but
    // keeps the connection and DNS caches.
    curl_easy_reset(easy);
    {
      absl::MutexLock lock(&mu_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(easy);
        return;
      }
    }
    curl_easy_cleanup(easy);
  }

 private:
  absl::Mutex mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mu_);
};

struct EasyReturn {
  EasyPool* pool;
  void operator()(CURL* easy) const { pool->Give(easy); }
};

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One ListObjectsV2 page: its blobs and where the next page starts.
struct ListPage {
  std::vector<BlobInfo> blobs;
  bool truncated = false;
  std::string next_token;
};

// The bucket behind the store and its writers (which may outlive the store
// object, hence shared).
class S3Client {
 public:
  S3Client(S3BlobStoreOptions options, std::string base_url)
      : options_(std::move(options)),
        base_url_(std::move(base_url)),
        sigv4_(fmt::format("aws:amz:{}:s3", options_.region)) {}

  const S3BlobStoreOptions& options() const { return options_; }

  std::string KeyOf(std::string_view sha256) const {
    return fmt::format("{}{}", options_.key_prefix, sha256);
  }

  absl::StatusOr<BlobInfo> Head(std::string_view sha256) {
    Request request{.method = Method::kHead, .key = KeyOf(sha256)};
    absl::StatusOr<Response> response = Perform(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) return ErrorStatus(Describe(request), response->status, {});
    if (response->content_length < 0) {
      return absl::FailedPreconditionError(
          fmt::format("{}: answer without Content-Length", Describe(request)));
    }
    BlobInfo info{.sha256 = std::string(sha256),
                  .size = static_cast<std::uint64_t>(response->content_length)};
    if (response->last_modified >= 0) {
      info.last_used = base::SystemTime{std::chrono::seconds{response->last_modified}};
    } else {
      // No Last-Modified (S3 always sends one): count the blob as just used,
      // so garbage collection keeps it rather than guessing it old.
      info.last_used =
          std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    }
    return info;
  }

  absl::StatusOr<OpenBlob> Get(std::string_view sha256) {
    absl::StatusOr<base::UniqueFd> fd = MakeSpoolFile(options_.spool_dir);
    if (!fd.ok()) return fd.status();
    base::Sha256Hasher hasher;
    Request request{.method = Method::kGet,
                    .key = KeyOf(sha256),
                    .budget = Budget::kTransfer,
                    .download_fd = fd->get(),
                    .download_hash = &hasher};
    absl::StatusOr<Response> response = Perform(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return ErrorStatus(Describe(request), response->status, ParseS3Error(response->body));
    }
    if (response->content_length >= 0 &&
        response->downloaded != static_cast<std::uint64_t>(response->content_length)) {
      return absl::UnavailableError(fmt::format("{}: got {} of {} bytes", Describe(request),
                                                response->downloaded, response->content_length));
    }
    const std::string digest = hasher.FinishHex();
    if (digest != sha256) {
      return absl::DataLossError(
          fmt::format("{}: the object's bytes have SHA-256 {}", Describe(request), digest));
    }
    if (::lseek(fd->get(), 0, SEEK_SET) != 0) {
      return absl::InternalError(fmt::format("cannot rewind spool file: {}", Errno(errno)));
    }
    return OpenBlob{.fd = std::move(*fd), .size = response->downloaded};
  }

  absl::Status Delete(std::string_view sha256) {
    // S3's DELETE answers 204 whether or not the key exists.
    absl::StatusOr<BlobInfo> existing = Head(sha256);
    if (!existing.ok()) return existing.status();
    Request request{.method = Method::kDelete, .key = KeyOf(sha256)};
    absl::StatusOr<Response> response = Perform(request);
    if (!response.ok()) return response.status();
    if (response->status != 204 && response->status != 200) {
      return ErrorStatus(Describe(request), response->status, ParseS3Error(response->body));
    }
    return absl::OkStatus();
  }

  absl::Status ForEach(const std::function<void(const BlobInfo&)>& visit) {
    std::string token;
    for (;;) {
      std::string query;
      if (!token.empty()) query += fmt::format("continuation-token={}&", UriEncode(token));
      query += fmt::format("list-type=2&max-keys={}", options_.list_page_size);
      if (!options_.key_prefix.empty()) {
        query += fmt::format("&prefix={}", UriEncode(options_.key_prefix));
      }
      Request request{.method = Method::kGet, .query = std::move(query)};
      absl::StatusOr<Response> response = Perform(request);
      if (!response.ok()) return response.status();
      if (response->status != 200) {
        return ErrorStatus(Describe(request), response->status, ParseS3Error(response->body));
      }
      absl::StatusOr<ListPage> page = ParseListPage(response->body);
      if (!page.ok()) {
        return absl::FailedPreconditionError(fmt::format("{}: malformed ListObjectsV2 answer: {}",
                                                         Describe(request),
                                                         std::string(page.status().message())));
      }
      for (const BlobInfo& blob : page->blobs) visit(blob);
      if (!page->truncated) return absl::OkStatus();
      if (page->next_token.empty() || page->next_token == token) {
        return absl::FailedPreconditionError(fmt::format(
            "{}: truncated listing without a new continuation token", Describe(request)));
      }
      token = std::move(page->next_token);
    }
  }

  // Makes the spooled bytes [0, size) of `fd`, whose SHA-256 is `sha256`,
  // the object of that name.
  absl::StatusOr<BlobInfo> Commit(int fd, std::uint64_t size, const std::string& sha256) {
    if (size > kMaxSinglePut) {
      return absl::FailedPreconditionError(fmt::format(
          "blob {} has {} bytes, more than one S3 PUT takes ({})", sha256, size, kMaxSinglePut));
    }
    absl::StatusOr<BlobInfo> existing = Head(sha256);
    if (existing.ok() && existing->size == size) {
      absl::Status refreshed = CopyOntoItself(sha256);
      if (refreshed.ok()) return Committed(sha256, size);
      // Deleted between the HEAD and the copy: upload it after all.
      if (!absl::IsNotFound(refreshed)) return refreshed;
    } else if (existing.ok()) {
      spdlog::warn("s3 object {} has {} bytes, expected {}: replacing it", KeyOf(sha256),
                   existing->size, size);
    } else if (!absl::IsNotFound(existing.status())) {
      return existing.status();
    }
    Request request{.method = Method::kPut,
                    .key = KeyOf(sha256),
                    .payload_sha256 = sha256,
                    .budget = Budget::kTransfer,
                    .upload_fd = fd,
                    .upload_size = size};
    absl::StatusOr<Response> response = Perform(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return ErrorStatus(Describe(request), response->status, ParseS3Error(response->body));
    }
    return Committed(sha256, size);
  }

 private:
  std::string Describe(const Request& request) const {
    return fmt::format("s3 {} {}/{}", MethodName(request.method), options_.bucket, request.key);
  }

  // The committed blob: last_used as S3 now reports it (so that Stat and
  // ForEach agree with it), size as written. The size is not re-read: some
  // S3-compatible servers (s3rver) are not atomic and show a concurrent
  // writer's partial object.
  absl::StatusOr<BlobInfo> Committed(std::string_view sha256, std::uint64_t size) {
    absl::StatusOr<BlobInfo> info = Head(sha256);
    if (info.ok()) info->size = size;
    return info;
  }

  // Restarts the object's Last-Modified without moving its bytes. S3 refuses
  // a self-copy that changes nothing, hence REPLACE (of metadata it has none).
  absl::Status CopyOntoItself(std::string_view sha256) {
    Request request{
        .method = Method::kPut,
        .key = KeyOf(sha256),
        .headers = {fmt::format("x-amz-copy-source: /{}/{}", options_.bucket, KeyOf(sha256)),
                    "x-amz-metadata-directive: REPLACE"},
        // S3 copies large objects slowly, sending whitespace meanwhile.
        .budget = Budget::kTransfer};
    absl::StatusOr<Response> response = Perform(request);
    if (!response.ok()) return response.status();
    const S3Error error = ParseS3Error(response->body);
    if (response->status != 200) return ErrorStatus(Describe(request), response->status, error);
    // A copy can fail after S3 has sent 200: the error is then the body.
    if (!error.code.empty()) return ErrorStatus(Describe(request), response->status, error);
    return absl::OkStatus();
  }

  absl::StatusOr<ListPage> ParseListPage(const std::string& body) const {
    tinyxml2::XMLDocument doc;
    if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
      return absl::InvalidArgumentError(doc.ErrorStr());
    }
    const tinyxml2::XMLElement* root = doc.RootElement();
    if (root == nullptr || std::string_view(root->Name()) != "ListBucketResult") {
      return absl::InvalidArgumentError("no ListBucketResult");
    }
    ListPage page;
    page.truncated = TextOf(root, "IsTruncated") == "true";
    page.next_token = TextOf(root, "NextContinuationToken");
    for (const tinyxml2::XMLElement* item = root->FirstChildElement("Contents"); item != nullptr;
         item = item->NextSiblingElement("Contents")) {
      const std::string key = TextOf(item, "Key");
      if (!key.starts_with(options_.key_prefix)) continue;
      const std::string_view name = std::string_view(key).substr(options_.key_prefix.size());
      if (!IsBlobName(name)) continue;  // not ours: another tool's key under the prefix
      BlobInfo blob{.sha256 = std::string(name)};
      if (!absl::SimpleAtoi(TextOf(item, "Size"), &blob.size)) {
        return absl::InvalidArgumentError(fmt::format("bad Size for {}", key));
      }
      absl::StatusOr<base::SystemTime> modified = ParseIso8601(TextOf(item, "LastModified"));
      if (!modified.ok()) {
        return absl::InvalidArgumentError(fmt::format("bad LastModified for {}: {}", key,
                                                      std::string(modified.status().message())));
      }
      blob.last_used = *modified;
      page.blobs.push_back(std::move(blob));
    }
    return page;
  }

  // One signed exchange. Fails only when no HTTP answer arrived (or a local
  // file failed); any answer, 4xx and 5xx included, is a Response.
  absl::StatusOr<Response> Perform(const Request& request) {
    const auto started = std::chrono::steady_clock::now();
    Response response;
    std::unique_ptr<CURL, EasyReturn> easy(pool_.Take(), EasyReturn{&pool_});
    Exchange exchange{.request = &request, .response = &response, .easy = easy.get()};
    std::array<char, CURL_ERROR_SIZE> error{};

    std::string url = fmt::format("{}/{}", base_url_, options_.bucket);
    if (!request.key.empty()) url += "/" + request.key;
    if (!request.query.empty()) url += "?" + request.query;

    // x-amz-content-sha256 is the payload hash SigV4 signs: libcurl 7.88 uses
    // the header's value when present and otherwise hashes only in-memory
    // POST fields, which would be wrong for a streamed PUT.
    std::unique_ptr<curl_slist, SlistFree> headers;
    auto add_header = [&headers](const std::string& line) {
      curl_slist* list = curl_slist_append(headers.get(), line.c_str());
      GENCACHE_CHECK(list != nullptr);
      if (headers == nullptr) headers.reset(list);  // later appends keep the head
    };
    add_header(fmt::format("x-amz-content-sha256: {}", request.payload_sha256));
    if (!options_.session_token.empty()) {
      add_header(fmt::format("x-amz-security-token: {}", options_.session_token));
    }
    for (const std::string& line : request.headers) add_header(line);

    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(e, CURLOPT_USERNAME, options_.access_key.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, options_.secret_key.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error.data());
    curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnWrite);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    switch (request.method) {
      case Method::kGet:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        break;
      case Method::kHead:
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        break;
      case Method::kDelete:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
      case Method::kPut:
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.upload_size));
        curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnRead);
        curl_easy_setopt(e, CURLOPT_READDATA, &exchange);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, &exchange);
        break;
    }
    if (request.budget == Budget::kTransfer) {
      const auto stall = std::chrono::ceil<std::chrono::seconds>(options_.request_timeout);
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.transfer_timeout.count()));
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                       static_cast<long>(std::max<long>(1, stall.count())));
    } else {
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    }

    const CURLcode code = curl_easy_perform(e);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (exchange.local_errno != 0) {
      return absl::InternalError(
          fmt::format("{}: spool file: {}", Describe(request), Errno(exchange.local_errno)));
    }
    if (exchange.body_too_large) {
      return absl::UnavailableError(
          fmt::format("{}: answer larger than {} bytes", Describe(request), kMaxResponseBody));
    }
    if (code != CURLE_OK) {
      const std::string detail = error[0] != '\0' ? error.data() : curl_easy_strerror(code);
      spdlog::debug("{} failed after {} ms: {}", Describe(request), elapsed.count(), detail);
      return absl::UnavailableError(
          fmt::format("{}: {} ({})", Describe(request), detail,
                      code == CURLE_OPERATION_TIMEDOUT ? "timed out" : "unreachable"));
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t length = -1;
    curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    response.content_length = length;
    curl_off_t modified = -1;
    curl_easy_getinfo(e, CURLINFO_FILETIME_T, &modified);
    response.last_modified = modified;
    spdlog::debug("{} -> {} in {} ms", Describe(request), response.status, elapsed.count());
    return response;
  }

  const S3BlobStoreOptions options_;
  const std::string base_url_;
  const std::string sigv4_;
  EasyPool pool_;
};

class S3BlobWriter final : public BlobWriter {
 public:
  S3BlobWriter(std::shared_ptr<S3Client> client, base::UniqueFd spool)
      : client_(std::move(client)), spool_(std::move(spool)) {}

  absl::Status Append(std::string_view bytes) override {
    if (!spool_.valid()) return absl::FailedPreconditionError("blob writer is spent");
    if (!failed_.ok()) return failed_;
    if (!WriteAll(spool_.get(), bytes.data(), bytes.size())) {
      failed_ = absl::InternalError(fmt::format("cannot write spool file in {}: {}",
                                                client_->options().spool_dir, Errno(errno)));
      return failed_;
    }
    hasher_.Update(bytes);
    size_ += bytes.size();
    return absl::OkStatus();
  }

  std::uint64_t size() const override { return size_; }

  absl::StatusOr<BlobInfo> Commit() override {
    if (!spool_.valid()) return absl::FailedPreconditionError("blob writer is spent");
    base::UniqueFd spool = std::move(spool_);
    if (!failed_.ok()) return failed_;
    return client_->Commit(spool.get(), size_, hasher_.FinishHex());
  }

 private:
  std::shared_ptr<S3Client> client_;
  base::UniqueFd spool_;
  base::Sha256Hasher hasher_;
  std::uint64_t size_ = 0;
  absl::Status failed_;
};

class S3BlobStore final : public BlobStore {
 public:
  explicit S3BlobStore(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  std::string_view kind() const override { return "s3"; }

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() override {
    absl::StatusOr<base::UniqueFd> spool = MakeSpoolFile(client_->options().spool_dir);
    if (!spool.ok()) return spool.status();
    return std::make_unique<S3BlobWriter>(client_, std::move(*spool));
  }

  absl::StatusOr<BlobInfo> Stat(std::string_view sha256) override {
    if (!IsBlobName(sha256)) return BadName();
    return client_->Head(sha256);
  }

  absl::StatusOr<OpenBlob> Open(std::string_view sha256) override {
    if (!IsBlobName(sha256)) return BadName();
    return client_->Get(sha256);
  }

  bool OpenIsCheap() const override { return false; }

  absl::Status Delete(std::string_view sha256) override {
    if (!IsBlobName(sha256)) return BadName();
    return client_->Delete(sha256);
  }

  absl::Status ForEach(const std::function<void(const BlobInfo&)>& visit) override {
    return client_->ForEach(visit);
  }

 private:
  static absl::Status BadName() {
    return absl::InvalidArgumentError("blob name is not 64 lowercase hex digits");
  }

  std::shared_ptr<S3Client> client_;
};

// The endpoint without a trailing slash, once it is known to be a bare
// http(s) origin.
absl::StatusOr<std::string> BaseUrl(const std::string& endpoint) {
  // An endpoint with user:password@ is not echoed back.
  const std::string shown =
      endpoint.find('@') == std::string::npos ? endpoint : "(withheld: it holds credentials)";
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("s3 endpoint {}: {}", shown, why));
  };
  std::unique_ptr<CURLU, void (*)(CURLU*)> url(curl_url(), &curl_url_cleanup);
  GENCACHE_CHECK(url != nullptr);
  if (endpoint.empty()) return invalid("empty");
  if (curl_url_set(url.get(), CURLUPART_URL, endpoint.c_str(), 0) != CURLUE_OK) {
    return invalid("not a URL");
  }
  auto part = [&](CURLUPart which) -> std::string {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string out = value;
    curl_free(value);
    return out;
  };
  const std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") return invalid("the scheme must be http or https");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) {
    return invalid("credentials belong in access_key/secret_key, not the URL");
  }
  const std::string path = part(CURLUPART_PATH);
  if ((!path.empty() && path != "/") || !part(CURLUPART_QUERY).empty() ||
      !part(CURLUPART_FRAGMENT).empty()) {
    return invalid("must be scheme://host[:port] only (the bucket goes in bucket)");
  }
  std::string base = endpoint;
  while (base.ends_with('/')) base.pop_back();
  return base;
}

absl::Status Validate(const S3BlobStoreOptions& o) {
  auto invalid = [](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("s3 {}: {}", field, why));
  };
  if (o.bucket.empty() || o.bucket.size() > 255 || !AllOf(o.bucket, ".-_")) {
    return invalid("bucket", "must be letters, digits, '.', '-' or '_'");
  }
  if (o.region.empty() || !AllOf(o.region, "-_")) {
    return invalid("region", "must be letters, digits, '-' or '_' (e.g. us-east-1)");
  }
  if (o.access_key.empty()) return invalid("access key", "empty");
  if (o.secret_key.empty()) return invalid("secret key", "empty");
  if (!AllOf(o.key_prefix, "-_.~/") || o.key_prefix.starts_with('/')) {
    return invalid("key prefix",
                   "must be letters, digits, '-', '_', '.', '~' or '/', not starting "
                   "with '/'");
  }
  if (o.spool_dir.empty()) return invalid("spool dir", "empty");
  using std::chrono::milliseconds;
  if (o.connect_timeout <= milliseconds::zero() || o.request_timeout <= milliseconds::zero() ||
      o.transfer_timeout <= milliseconds::zero()) {
    return invalid("timeouts", "must be positive");
  }
  if (o.list_page_size < 1 || o.list_page_size > 1000) {
    return invalid("list page size", "must be 1..1000");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> MakeS3BlobStore(S3BlobStoreOptions options) {
  InitCurlOnce();
  if (absl::Status valid = Validate(options); !valid.ok()) return valid;
  absl::StatusOr<std::string> base_url = BaseUrl(options.endpoint);
  if (!base_url.ok()) return base_url.status();
  std::error_code error;
  std::filesystem::create_directories(options.spool_dir, error);
  if (error) {
    return absl::InternalError(
        fmt::format("cannot create spool dir {}: {}", options.spool_dir, error.message()));
  }
  // Fail now, not on the first download, when the directory is not writable.
  absl::StatusOr<base::UniqueFd> probe = MakeSpoolFile(options.spool_dir);
  if (!probe.ok()) return probe.status();
  return std::make_unique<S3BlobStore>(
      std::make_shared<S3Client>(std::move(options), std::move(*base_url)));
}

}  // namespace gencache::blob
