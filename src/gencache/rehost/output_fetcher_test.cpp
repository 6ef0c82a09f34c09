#include "gencache/rehost/output_fetcher.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <string>

#include "gencache/base/sha256.hpp"
#include "gencache/rehost/rehost_test_util.hpp"

namespace gencache::rehost {
namespace {

using namespace std::chrono_literals;
using testing::HttpHead;
using testing::Pattern;
using testing::RawServer;

class OutputFetcherTest : public testing::RehostFixture {
 protected:
  // Fetches `url` into a new writer; commits on success.
  absl::StatusOr<blob::BlobInfo> FetchAndCommit(const OutputFetcher& fetcher,
                                                const std::string& url,
                                                FetchResult* result = nullptr) {
    auto writer = store_->NewWriter();
    if (!writer.ok()) return writer.status();
    absl::StatusOr<FetchResult> fetched = fetcher.Fetch(url, **writer);
    if (!fetched.ok()) return fetched.status();
    if (result != nullptr) *result = *fetched;
    return (*writer)->Commit();
  }

  // A fresh output URL of the fake (a seeded Skytells prediction).
  std::string OutputUrl(int seed = 1) {
    return OutputsOf(SkytellsPredict(fmt::format(R"({{"prompt":"p","seed":{}}})", seed))).at(0);
  }

  // `url`'s path and query, for /redirect?to= targets.
  static std::string PercentEncode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
    return out;
  }
  std::string RedirectTo(std::string_view target) {
    return fmt::format("{}/redirect?to={}", base_, PercentEncode(target));
  }

  void ExpectNothingStored() {
    EXPECT_TRUE(StoredBlobs().empty());
    EXPECT_EQ(SpoolFiles(), 0) << "a failed download leaves no spool file behind";
  }
};

TEST_F(OutputFetcherTest, DownloadsAnOutputIntoTheStore) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  const std::string url = OutputUrl();
  FetchResult result;
  auto info = FetchAndCommit(fetcher, url, &result);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(result.size, 4096u);
  EXPECT_EQ(result.content_type, "image/png");
  EXPECT_EQ(info->size, 4096u);
  // The same bytes the fake serves for this seeded request.
  http::Response direct = Call("GET", url.substr(base_.size()));
  ASSERT_EQ(direct.status, 200);
  EXPECT_EQ(info->sha256, base::Sha256Hex(direct.Body()));
  EXPECT_EQ(Stats().file_gets, 2);
}

TEST_F(OutputFetcherTest, RefusesAHostThatIsNoProvider) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  // The fake itself, but named by a host that is not configured.
  const std::string url = OutputUrl();
  const std::string renamed =
      "http://localhost" + url.substr(std::string("http://127.0.0.1").size());
  auto info = FetchAndCommit(fetcher, renamed);
  EXPECT_TRUE(absl::IsPermissionDenied(info.status())) << info.status();
  auto elsewhere = FetchAndCommit(fetcher, "http://example.com/x.png");
  EXPECT_TRUE(absl::IsPermissionDenied(elsewhere.status())) << elsewhere.status();
  EXPECT_EQ(Stats().file_gets, 0);
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, RefusesNonHttpSchemes) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  for (const std::string& url :
       {std::string("file:///etc/passwd"), fmt::format("gopher://127.0.0.1:{}/_GET", 70),
        fmt::format("ftp://127.0.0.1:{}/x", 21), std::string("dict://127.0.0.1:11211/stat")}) {
    auto info = FetchAndCommit(fetcher, url);
    EXPECT_TRUE(absl::IsPermissionDenied(info.status())) << url << ": " << info.status();
  }
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, RefusesARedirectToAnotherLoopbackAddress) {
  // Something listens on 127.0.0.2, so only the policy stands in the way.
  RawServer other({{HttpHead("200 OK", "Content-Length: 5\r\n") + "hello"}}, "127.0.0.2");
  UrlPolicy policy = Policy({"127.0.0.1"});
  OutputFetcher fetcher(policy, {});
  auto info = FetchAndCommit(
      fetcher, RedirectTo(fmt::format("http://127.0.0.2:{}/files/x.png", other.port())));
  EXPECT_TRUE(absl::IsPermissionDenied(info.status())) << info.status();
  EXPECT_NE(info.status().message().find("redirect refused"), absl::string_view::npos);
  EXPECT_EQ(Stats().redirects, 1);
  EXPECT_EQ(other.connections(), 0);
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, RefusesRedirectsToOtherSchemes) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  for (const std::string& target : {std::string("file:///etc/passwd"),
                                    fmt::format("gopher://127.0.0.1:{}/_x", server_->port())}) {
    auto info = FetchAndCommit(fetcher, RedirectTo(target));
    EXPECT_TRUE(absl::IsPermissionDenied(info.status())) << target << ": " << info.status();
  }
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, FollowsAllowedRedirectsUpToTheLimit) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {.max_redirects = 3});
  const std::string url = OutputUrl();
  // Three hops, the last one relative: followed.
  const std::string path = url.substr(base_.size());
  std::string three = RedirectTo(RedirectTo("/redirect?to=" + PercentEncode(path)));
  auto info = FetchAndCommit(fetcher, three);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 4096u);
  EXPECT_EQ(Stats().redirects, 3);
  // Four hops: refused.
  auto too_many = FetchAndCommit(fetcher, RedirectTo(three));
  EXPECT_TRUE(absl::IsUnavailable(too_many.status())) << too_many.status();
}

TEST_F(OutputFetcherTest, RefusesAProviderHostResolvingToAnInternalAddress) {
  // "localhost" is a provider host here but not in allowed_hosts: it passes
  // CheckUrl and is refused once resolved, before any connection (what a
  // DNS-rebinding attack would look like).
  auto policy = UrlPolicy::Create(
      {.provider_base_urls = {fmt::format("http://localhost:{}/skytells/v1", server_->port())}});
  ASSERT_TRUE(policy.ok());
  OutputFetcher fetcher(*policy, {});
  const std::string url = OutputUrl();
  const std::string via_name =
      "http://localhost" + url.substr(std::string("http://127.0.0.1").size());
  auto info = FetchAndCommit(fetcher, via_name);
  EXPECT_TRUE(absl::IsPermissionDenied(info.status())) << info.status();
  EXPECT_NE(info.status().message().find("internal address"), absl::string_view::npos)
      << info.status();
  EXPECT_EQ(Stats().file_gets, 0);

  // Allowing the name is the operator's consent.
  auto allowed = UrlPolicy::Create(
      {.provider_base_urls = {fmt::format("http://localhost:{}/skytells/v1", server_->port())},
       .allowed_hosts = {"localhost"}});
  ASSERT_TRUE(allowed.ok());
  OutputFetcher allowed_fetcher(*allowed, {});
  EXPECT_TRUE(FetchAndCommit(allowed_fetcher, via_name).ok());
}

TEST_F(OutputFetcherTest, RefusesTooBigByContentLength) {
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {.max_bytes = 4095});
  auto info = FetchAndCommit(fetcher, OutputUrl());
  EXPECT_TRUE(absl::IsResourceExhausted(info.status())) << info.status();
  OutputFetcher exact(policy, {.max_bytes = 4096});
  EXPECT_TRUE(FetchAndCommit(exact, OutputUrl(2)).ok());
}

TEST_F(OutputFetcherTest, RefusesTooBigWithoutContentLength) {
  RawServer raw({{HttpHead("200 OK", "Content-Type: image/png\r\n") + Pattern(100'000)}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {.max_bytes = 50'000});
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/big.png", raw.port()));
  EXPECT_TRUE(absl::IsResourceExhausted(info.status())) << info.status();
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, AcceptsABodyDelimitedByClose) {
  RawServer raw({{HttpHead("200 OK", "Content-Type: video/mp4\r\n") + Pattern(100'000)}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  FetchResult result;
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/v", raw.port()), &result);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->sha256, base::Sha256Hex(Pattern(100'000)));
  EXPECT_EQ(result.content_type, "video/mp4");
}

TEST_F(OutputFetcherTest, ATruncatedTransferIsDataLossAndStoresNothing) {
  RawServer raw({{HttpHead("200 OK", "Content-Length: 1000000\r\n") + Pattern(300'000)}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/cut.png", raw.port()));
  EXPECT_TRUE(absl::IsDataLoss(info.status())) << info.status();
  EXPECT_NE(info.status().message().find("of 1000000 bytes"), absl::string_view::npos)
      << info.status();
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, ATruncatedChunkedTransferIsDataLoss) {
  RawServer raw(
      {{HttpHead("200 OK", "Transfer-Encoding: chunked\r\n") + "1000\r\n" + Pattern(100)}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/cut.png", raw.port()));
  EXPECT_TRUE(absl::IsDataLoss(info.status())) << info.status();
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, HttpErrorsMapToDistinctCodes) {
  RawServer raw({{HttpHead("404 Not Found", "Content-Length: 0\r\n")},
                 {HttpHead("410 Gone", "Content-Length: 0\r\n")},
                 {HttpHead("503 Service Unavailable", "Content-Length: 4\r\n") + "busy"},
                 {HttpHead("403 Forbidden", "Content-Length: 0\r\n")},
                 {HttpHead("302 Found", "Content-Length: 0\r\n")}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  const std::string url = fmt::format("http://127.0.0.1:{}/x.png", raw.port());
  EXPECT_TRUE(absl::IsNotFound(FetchAndCommit(fetcher, url).status()));
  EXPECT_TRUE(absl::IsNotFound(FetchAndCommit(fetcher, url).status()));
  EXPECT_TRUE(absl::IsUnavailable(FetchAndCommit(fetcher, url).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(FetchAndCommit(fetcher, url).status()));
  EXPECT_TRUE(absl::IsUnavailable(FetchAndCommit(fetcher, url).status())) << "no Location";
  ExpectNothingStored();
}

TEST_F(OutputFetcherTest, AnExpiredFakeUrlIsNotFound) {
  Configure(R"({"url_ttl_ms":0})");
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  auto info = FetchAndCommit(fetcher, OutputUrl());
  EXPECT_TRUE(absl::IsNotFound(info.status())) << info.status();
}

TEST_F(OutputFetcherTest, ConnectionRefusedIsUnavailable) {
  std::uint16_t closed_port = 0;
  {
    RawServer gone({{""}});
    closed_port = gone.port();
  }
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {});
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/x", closed_port));
  EXPECT_TRUE(absl::IsUnavailable(info.status())) << info.status();
}

TEST_F(OutputFetcherTest, AStalledTransferTimesOut) {
  RawServer raw({{HttpHead("200 OK", "Content-Length: 1000\r\n") + Pattern(10), true}});
  UrlPolicy policy = Policy();
  OutputFetcher fetcher(policy, {.timeout = 300ms});
  const auto start = std::chrono::steady_clock::now();
  auto info = FetchAndCommit(fetcher, fmt::format("http://127.0.0.1:{}/x", raw.port()));
  EXPECT_TRUE(absl::IsDeadlineExceeded(info.status())) << info.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ExpectNothingStored();
}

}  // namespace
}  // namespace gencache::rehost
