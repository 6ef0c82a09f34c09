#include "gencache/rehost/output_fetcher.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include "gencache/base/check.hpp"
#include "gencache/base/strings.hpp"

namespace gencache::rehost {
namespace {

constexpr long kBufferBytes = 64 * 1024;
constexpr std::uint64_t kMaxDiscardedBytes = 64 * 1024;

// The state of one request (one hop of a redirect chain), shared with the
// libcurl callbacks.
struct Hop {
  const UrlPolicy* policy = nullptr;
  std::string host;  // as CheckUrl normalised it
  blob::BlobWriter* writer = nullptr;
  std::uint64_t max_bytes = 0;

  long status = 0;  // of the last status line seen
  std::optional<std::uint64_t> content_length;
  std::uint64_t received = 0;  // body bytes appended to the writer

  std::string refused_address;  // set when the policy refused a resolved address
  bool too_big = false;
  std::uint64_t discarded = 0;  // body bytes of a non-200 answer, not kept
  absl::Status write_error;
};

std::string SockaddrText(const curl_sockaddr* address) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (address->family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &address->addr, sizeof in);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf);
  } else if (address->family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &address->addr, sizeof in6);
    inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof buf);
  } else {
    return fmt::format("(address family {})", address->family);
  }
  return buf;
}

// Runs after DNS, for every address libcurl is about to connect to.
curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* hop = static_cast<Hop*>(user);
  const bool allowed = purpose == CURLSOCKTYPE_IPCXN &&
                       hop->policy->AddressAllowed(hop->host, &address->addr, address->addrlen);
  if (!allowed) {
    hop->refused_address = SockaddrText(address);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::optional<std::uint64_t> ParseDigits(std::string_view s) {
  s = base::TrimWhitespace(s);
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* hop = static_cast<Hop*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response ("HTTP/1.1 200 OK", "HTTP/2 302").
    hop->status = 0;
    hop->content_length.reset();
    const std::size_t space = line.find(' ');
    if (space != std::string_view::npos && line.size() >= space + 4) {
      if (auto code = ParseDigits(line.substr(space + 1, 3))) {
        hop->status = static_cast<long>(*code);
      }
    }
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  if (base::EqualsIgnoreCase(line.substr(0, colon), "content-length")) {
    hop->content_length = ParseDigits(line.substr(colon + 1));
    if (hop->status == 200 && hop->content_length && *hop->content_length > hop->max_bytes) {
      hop->too_big = true;
      return 0;  // aborts the transfer before the body
    }
  }
  return n;
}

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* hop = static_cast<Hop*>(user);
  const size_t n = size * count;
  if (hop->status != 200) {
    // A redirect's body is read to its end (libcurl only works out the
    // Location of a completed transfer), up to a bound; an error's body is
    // of no use at all.
    hop->discarded += n;
    return IsRedirect(hop->status) && hop->discarded <= kMaxDiscardedBytes ? n : 0;
  }
  if (hop->received + n > hop->max_bytes) {
    hop->too_big = true;
    return 0;
  }
  absl::Status appended = hop->writer->Append(std::string_view(data, n));
  if (!appended.ok()) {
    hop->write_error = std::move(appended);
    return 0;
  }
  hop->received += n;
  return n;
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};

void GlobalInit() {
  static const bool ok = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
  GENCACHE_CHECK(ok);
}

}  // namespace

OutputFetcher::OutputFetcher(const UrlPolicy& policy, FetchOptions options)
    : policy_(policy), options_(std::move(options)) {
  GlobalInit();
}

absl::StatusOr<FetchResult> OutputFetcher::Fetch(std::string_view url,
                                                 blob::BlobWriter& writer) const {
  std::string current(url);
  for (int hop_index = 0;; ++hop_index) {
    absl::StatusOr<CheckedUrl> checked = policy_.CheckUrl(current);
    if (!checked.ok()) {
      if (hop_index == 0) return checked.status();
      return absl::PermissionDeniedError(
          fmt::format("redirect refused: {}", std::string(checked.status().message())));
    }
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) return absl::InternalError("curl_easy_init failed");
    Hop hop;
    hop.policy = &policy_;
    hop.host = checked->host;
    hop.writer = &writer;
    hop.max_bytes = options_.max_bytes;
    std::array<char, CURL_ERROR_SIZE> error{};

    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, current.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // ignore http_proxy & co.
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferBytes);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(std::min<std::uint64_t>(
                         options_.max_bytes, static_cast<std::uint64_t>(INT64_MAX))));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "gencache-rehost");
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &hop);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &hop);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &hop);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error.data());

    const CURLcode code = curl_easy_perform(e);
    const std::string detail = error[0] != '\0' ? error.data() : curl_easy_strerror(code);
    const std::string& host = checked->host;

    if (!hop.refused_address.empty() && hop.status == 0) {
      return absl::PermissionDeniedError(
          fmt::format("output host '{}' resolved to {}, an internal address not in "
                      "rehost.allowed_hosts",
                      host, hop.refused_address));
    }
    if (hop.too_big || code == CURLE_FILESIZE_EXCEEDED) {
      return absl::ResourceExhaustedError(fmt::format(
          "output from '{}' is larger than rehost.max_bytes ({} bytes)", host, options_.max_bytes));
    }
    if (!hop.write_error.ok()) return hop.write_error;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(
          fmt::format("download from '{}' timed out after {} of {} bytes: {}", host, hop.received,
                      hop.content_length ? fmt::format("{}", *hop.content_length) : "?", detail));
    }
    if (hop.status == 0) {
      return absl::UnavailableError(fmt::format("cannot download from '{}': {}", host, detail));
    }
    if (IsRedirect(hop.status)) {
      char* location = nullptr;
      curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location);
      if (location == nullptr || *location == '\0') {
        return absl::UnavailableError(
            fmt::format("'{}' answered HTTP {} without a usable Location", host, hop.status));
      }
      if (hop_index >= options_.max_redirects) {
        return absl::UnavailableError(
            fmt::format("more than {} redirects starting at '{}'", options_.max_redirects, host));
      }
      current = location;
      continue;
    }
    if (hop.status != 200) {
      const std::string what = fmt::format("'{}' answered HTTP {}", host, hop.status);
      if (hop.status == 404 || hop.status == 410) return absl::NotFoundError(what);
      if (hop.status >= 400 && hop.status < 500 && hop.status != 408 && hop.status != 429) {
        return absl::FailedPreconditionError(what);
      }
      return absl::UnavailableError(what);
    }
    // A 200: whatever went wrong from here on cut the body short.
    const bool short_body = hop.content_length && hop.received != *hop.content_length;
    if (code != CURLE_OK || short_body) {
      return absl::DataLossError(fmt::format(
          "download from '{}' was cut short after {} of {} bytes: {}", host, hop.received,
          hop.content_length ? fmt::format("{}", *hop.content_length) : "?",
          code != CURLE_OK ? detail : "fewer bytes than Content-Length"));
    }
    FetchResult result;
    char* content_type = nullptr;
    curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type != nullptr) result.content_type = content_type;
    result.size = hop.received;
    return result;
  }
}

}  // namespace gencache::rehost
