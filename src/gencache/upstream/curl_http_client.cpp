#include "gencache/upstream/curl_http_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <array>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gencache/base/check.hpp"
#include "gencache/base/strings.hpp"

namespace gencache::upstream {
namespace {

// One exchange in flight: owns the easy handle and everything libcurl
// points into until the transfer ends.
struct Transfer {
  UpstreamRequest request;
  UpstreamCallback done;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  UpstreamResponse response;
  bool too_large = false;
  std::array<char, CURL_ERROR_SIZE> error{};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response.body.size() + n > t->request.max_response_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after 100-continue or a redirect)
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
  t->response.headers.emplace_back(std::string(name), std::string(base::TrimWhitespace(value)));
  return n;
}

absl::Status StatusFromCurl(CURLcode code, const Transfer& t, const char* error_buffer) {
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  if (t.too_large) {
    return absl::UnavailableError(
        fmt::format("upstream response larger than {} bytes", t.request.max_response_bytes));
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(fmt::format("upstream timed out: {}", detail));
    default:
      return absl::UnavailableError(fmt::format("upstream unreachable: {}", detail));
  }
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options) : options_(std::move(options)) {
    static const bool global_init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
    GENCACHE_CHECK(global_init);
    multi_ = curl_multi_init();
    GENCACHE_CHECK(multi_ != nullptr);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections_per_host);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options_.max_total_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options_.max_total_connections);
    thread_ = std::thread([this] { Loop(); });
  }

  ~CurlHttpClient() override {
    Shutdown();
    curl_multi_cleanup(multi_);
  }

  void Shutdown() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    std::call_once(joined_, [this] { thread_.join(); });
  }

  void Send(UpstreamRequest request, UpstreamCallback done) override {
    auto t = std::make_unique<Transfer>();
    t->request = std::move(request);
    t->done = std::move(done);
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        incoming_.push_back(std::move(t));
        t = nullptr;
      }
    }
    if (t) {
      t->done(absl::CancelledError("upstream client is shutting down"));
      return;
    }
    curl_multi_wakeup(multi_);
  }

 private:
  void Start(std::unique_ptr<Transfer> t) {
    CURL* easy = curl_easy_init();
    GENCACHE_CHECK(easy != nullptr);
    t->easy = easy;
    const UpstreamRequest& r = t->request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error.data());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    if (r.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    // libcurl adds "Expect: 100-continue" to large bodies; providers do not need the round trip.
    t->header_list = curl_slist_append(t->header_list, "Expect:");
    for (const auto& [name, value] : r.headers) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      t->header_list = curl_slist_append(t->header_list, line.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
    curl_multi_add_handle(multi_, easy);
    active_.emplace(t.get(), std::move(t));
  }

  void Finish(CURL* easy, CURLcode code) {
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
    curl_multi_remove_handle(multi_, easy);
    auto node = active_.extract(raw);
    GENCACHE_CHECK(!node.empty());
    std::unique_ptr<Transfer> t = std::move(node.mapped());
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t->response.status = static_cast<int>(status);
      t->done(std::move(t->response));
    } else {
      t->done(StatusFromCurl(code, *t, t->error.data()));
    }
  }

  void Loop() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool stopping = false;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        stopping = stopping_;
      }
      if (stopping) {
        for (auto& t : incoming) t->done(absl::CancelledError("upstream client is shutting down"));
        for (auto& [raw, t] : active_) {
          curl_multi_remove_handle(multi_, t->easy);
          t->done(absl::CancelledError("upstream client is shutting down"));
        }
        active_.clear();
        return;
      }
      for (auto& t : incoming) Start(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  CurlHttpClientOptions options_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::once_flag joined_;
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Owned by the loop thread only.
  std::unordered_map<Transfer*, std::unique_ptr<Transfer>> active_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeCurlHttpClient(CurlHttpClientOptions options) {
  return std::make_unique<CurlHttpClient>(std::move(options));
}

}  // namespace gencache::upstream
