#include "gencache/rehost/rehoster.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <map>
#include <set>

#include "gencache/rehost/output_urls.hpp"
#include "gencache/rehost/url_expiry.hpp"

namespace gencache::rehost {
namespace {

constexpr std::string_view kServedExtensions[] = {"png",  "jpg",  "jpeg", "webp", "gif", "mp4",
                                                  "webm", "mov",  "mp3",  "wav",  "ogg", "flac",
                                                  "m4a",  "json", "txt",  "bin"};

struct MediaType {
  std::string_view type;
  std::string_view extension;
};
constexpr MediaType kMediaTypes[] = {
    {"image/png", "png"},
    {"image/jpeg", "jpg"},
    {"image/jpg", "jpg"},
    {"image/pjpeg", "jpg"},
    {"image/webp", "webp"},
    {"image/gif", "gif"},
    {"video/mp4", "mp4"},
    {"video/webm", "webm"},
    {"video/quicktime", "mov"},
    {"audio/mpeg", "mp3"},
    {"audio/mp3", "mp3"},
    {"audio/wav", "wav"},
    {"audio/x-wav", "wav"},
    {"audio/wave", "wav"},
    {"audio/vnd.wave", "wav"},
    {"audio/ogg", "ogg"},
    {"application/ogg", "ogg"},
    {"audio/flac", "flac"},
    {"audio/x-flac", "flac"},
    {"audio/mp4", "m4a"},
    {"audio/x-m4a", "m4a"},
    {"audio/m4a", "m4a"},
    {"application/json", "json"},
    {"text/plain", "txt"},
    {"application/octet-stream", "bin"},
};

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "scheme://host" of a URL, for log lines: the rest of a signed URL is a
// credential and must not reach the log.
std::string HostOf(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "(unparsable URL)";
  return fmt::format("{}://{}", std::string_view(parsed->scheme()),
                     std::string_view(parsed->encoded_host()));
}

std::string PathOf(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  return parsed ? std::string(parsed->path()) : std::string();
}

bool Retryable(const absl::Status& status) {
  return !absl::IsPermissionDenied(status) && !absl::IsResourceExhausted(status) &&
         !absl::IsInvalidArgument(status);
}

}  // namespace

std::string OutputExtension(std::string_view url_path, std::string_view content_type) {
  const std::size_t slash = url_path.rfind('/');
  const std::string_view name =
      slash == std::string_view::npos ? url_path : url_path.substr(slash + 1);
  if (const std::size_t dot = name.rfind('.'); dot != std::string_view::npos) {
    const std::string ext = AsciiLower(name.substr(dot + 1));
    for (std::string_view served : kServedExtensions) {
      if (ext == served) return ext;
    }
  }
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  const std::string lower = AsciiLower(type);
  for (const MediaType& m : kMediaTypes) {
    if (lower == m.type) return std::string(m.extension);
  }
  return "";
}

Rehoster::Rehoster(blob::BlobStore& store, const OutputFetcher& fetcher)
    : store_(store), fetcher_(fetcher) {}

RehostStats Rehoster::stats() const {
  return RehostStats{.responses = responses_.load(),
                     .responses_failed = responses_failed_.load(),
                     .downloads = downloads_.load(),
                     .retries = retries_.load(),
                     .outputs_stored = outputs_stored_.load(),
                     .bytes_stored = bytes_stored_.load(),
                     .refused = refused_.load(),
                     .too_big = too_big_.load(),
                     .other_failures = other_failures_.load()};
}

absl::StatusOr<Rehoster::Stored> Rehoster::StoreOnce(const std::string& url) {
  downloads_.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer = store_.NewWriter();
  if (!writer.ok()) return writer.status();
  absl::StatusOr<FetchResult> fetched = fetcher_.Fetch(url, **writer);
  if (!fetched.ok()) return fetched.status();  // the writer is dropped uncommitted
  absl::StatusOr<blob::BlobInfo> info = (*writer)->Commit();
  if (!info.ok()) return info.status();
  outputs_stored_.fetch_add(1, std::memory_order_relaxed);
  bytes_stored_.fetch_add(info->size, std::memory_order_relaxed);
  return Stored{.sha256 = info->sha256,
                .size = info->size,
                .extension = OutputExtension(PathOf(url), fetched->content_type)};
}

absl::StatusOr<Rehoster::Stored> Rehoster::Store(const std::string& url) {
  absl::StatusOr<Stored> stored = StoreOnce(url);
  if (stored.ok()) return stored;
  CountFailure(stored.status());
  if (!Retryable(stored.status())) return stored;
  spdlog::warn("rehost: download from {} failed, retrying once: {}", HostOf(url),
               stored.status().ToString());
  retries_.fetch_add(1, std::memory_order_relaxed);
  stored = StoreOnce(url);
  if (!stored.ok()) CountFailure(stored.status());
  return stored;
}

void Rehoster::CountFailure(const absl::Status& error) {
  if (absl::IsPermissionDenied(error)) {
    refused_.fetch_add(1, std::memory_order_relaxed);
  } else if (absl::IsResourceExhausted(error)) {
    too_big_.fetch_add(1, std::memory_order_relaxed);
  } else {
    other_failures_.fetch_add(1, std::memory_order_relaxed);
  }
}

RehostResult Rehoster::Rehost(providers::ProviderKind kind, std::string_view body,
                              std::string_view files_base_url) {
  RehostResult result;
  result.body = std::string(body);
  absl::StatusOr<std::vector<std::string>> urls = FindOutputUrls(kind, body);
  if (!urls.ok()) {
    result.status = urls.status();
    return result;
  }
  if (urls->empty()) return result;
  responses_.fetch_add(1, std::memory_order_relaxed);
  result.outputs = static_cast<int>(urls->size());
  for (const std::string& url : *urls) {
    if (auto expiry = UrlExpiry(url)) {
      if (!result.earliest_expiry || *expiry < *result.earliest_expiry) {
        result.earliest_expiry = expiry;
      }
    }
  }

  while (!files_base_url.empty() && files_base_url.back() == '/') files_base_url.remove_suffix(1);
  std::map<std::string, std::string, std::less<>> replacements;
  std::vector<std::string> blobs;
  std::set<std::string, std::less<>> seen_blobs;
  std::uint64_t bytes = 0;
  for (const std::string& url : *urls) {
    absl::StatusOr<Stored> stored = Store(url);
    if (!stored.ok()) {
      responses_failed_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("rehost: output from {} not re-hosted, answering the provider URLs: {}",
                   HostOf(url), stored.status().ToString());
      result.status = stored.status();
      result.failed_outputs = 1;
      return result;
    }
    std::string permanent = fmt::format("{}/{}", files_base_url, stored->sha256);
    if (!stored->extension.empty()) permanent += "." + stored->extension;
    replacements.emplace(url, std::move(permanent));
    if (seen_blobs.insert(stored->sha256).second) {
      blobs.push_back(stored->sha256);
      bytes += stored->size;
    }
  }
  absl::StatusOr<std::string> rewritten = ReplaceJsonStrings(body, replacements);
  if (!rewritten.ok()) {
    responses_failed_.fetch_add(1, std::memory_order_relaxed);
    result.status = rewritten.status();
    return result;
  }
  result.body = std::move(*rewritten);
  result.blobs = std::move(blobs);
  result.bytes = bytes;
  return result;
}

}  // namespace gencache::rehost
