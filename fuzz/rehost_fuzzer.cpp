// Feeds arbitrary bytes to the re-hosting parsers of untrusted input: as an
// output URL (UrlPolicy::CheckUrl, UrlExpiry) and as a provider response
// (FindOutputUrls for every provider, then ReplaceJsonStrings), and checks
// what re-hosting relies on: nothing crashes, an accepted URL is http(s)
// with a permitted host, a rewritten body is still JSON with the output
// URLs gone, and an empty rewrite changes nothing.
// Also built into rehost_fuzz_corpus_replay_test, which replays the seed
// corpus.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "gencache/rehost/output_urls.hpp"
#include "gencache/rehost/url_expiry.hpp"
#include "gencache/rehost/url_policy.hpp"

namespace {

using gencache::providers::ProviderKind;
using gencache::rehost::UrlPolicy;

void Require(bool condition) {
  if (!condition) std::abort();
}

const UrlPolicy& Policy() {
  static const UrlPolicy policy = [] {
    auto p = UrlPolicy::Create(
        {.provider_base_urls = {"https://api.skytells.ai/v1", "http://127.0.0.1:8080/replicate/v1",
                                "http://[::1]:9/openai/v1"},
         .allowed_hosts = {"replicate.delivery", "*.cdn.example.com", "10.0.0.1"}});
    Require(p.ok());
    return *std::move(p);
  }();
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto checked = Policy().CheckUrl(input);
  if (checked.ok()) {
    Require(checked->scheme == "http" || checked->scheme == "https");
    Require(!checked->host.empty());
    auto again = Policy().CheckUrl(input);
    Require(again.ok() && again->host == checked->host);
  } else {
    Require(absl::IsInvalidArgument(checked.status()) ||
            absl::IsPermissionDenied(checked.status()));
  }
  (void)gencache::rehost::UrlExpiry(input);

  for (ProviderKind kind :
       {ProviderKind::kSkytells, ProviderKind::kReplicate, ProviderKind::kOpenAI}) {
    auto urls = gencache::rehost::FindOutputUrls(kind, input);
    if (!urls.ok()) continue;
    auto unchanged = gencache::rehost::ReplaceJsonStrings(input, {});
    Require(unchanged.ok() && *unchanged == input);
    std::map<std::string, std::string, std::less<>> replacements;
    for (std::size_t i = 0; i < urls->size(); ++i) {
      (void)gencache::rehost::UrlExpiry((*urls)[i]);
      replacements.emplace((*urls)[i], "gencache-test:" + std::to_string(i));
    }
    auto rewritten = gencache::rehost::ReplaceJsonStrings(input, replacements);
    Require(rewritten.ok());
    boost::system::error_code ec;
    boost::json::parse(*rewritten, ec);
    Require(!ec);
    auto after = gencache::rehost::FindOutputUrls(kind, *rewritten);
    Require(after.ok());
    for (const std::string& url : *after) Require(replacements.count(url) == 0);
  }
  return 0;
}
