#include "gencache/rehost/url_expiry.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace gencache::rehost {
namespace {

using std::chrono::seconds;

std::int64_t Unix(std::string_view url) {
  auto t = UrlExpiry(url);
  EXPECT_TRUE(t.has_value()) << url;
  return t ? std::chrono::duration_cast<seconds>(t->time_since_epoch()).count() : -1;
}

TEST(UrlExpiryTest, UnixSecondsParameters) {
  EXPECT_EQ(Unix("http://127.0.0.1:1/files/abc.png?expires=1700003600"), 1700003600);
  EXPECT_EQ(Unix("https://d1.cloudfront.net/a.png?Expires=1700000000&Signature=x&Key-Pair-Id=k"),
            1700000000);
  EXPECT_EQ(Unix("https://cdn.example.com/a.png?exp=1800000000&sig=abc"), 1800000000);
  EXPECT_EQ(Unix("https://cdn.example.com/a.png?EXPIRES=42"), 42);
}

TEST(UrlExpiryTest, AwsSigV4) {
  // 2024-05-01T10:30:00Z + 3600 s
  EXPECT_EQ(Unix("https://bucket.s3.amazonaws.com/out.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                 "&X-Amz-Credential=AKIA%2F20240501%2Fus-east-1%2Fs3%2Faws4_request"
                 "&X-Amz-Date=20240501T103000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
                 "&X-Amz-Signature=abcdef"),
            1714559400 + 3600);
  EXPECT_EQ(Unix("https://b.s3.amazonaws.com/o?x-amz-expires=60&x-amz-date=19700101T000000Z"), 60);
  // Half of the pair is not enough.
  EXPECT_FALSE(UrlExpiry("https://b.s3.amazonaws.com/o?X-Amz-Date=20240501T103000Z"));
  EXPECT_FALSE(UrlExpiry("https://b.s3.amazonaws.com/o?X-Amz-Expires=3600"));
}

TEST(UrlExpiryTest, GoogleV4) {
  EXPECT_EQ(Unix("https://storage.googleapis.com/b/o.png?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                 "&X-Goog-Credential=x&X-Goog-Date=20240501T103000Z&X-Goog-Expires=900"
                 "&X-Goog-SignedHeaders=host&X-Goog-Signature=ab"),
            1714559400 + 900);
}

TEST(UrlExpiryTest, AzureSas) {
  const std::string base =
      "https://oaidalleapiprodscus.blob.core.windows.net/private/org/img.png?st=2024-05-01T09%3A30"
      "%3A00Z&sr=b&sp=r&sv=2021-08-06&sig=abc&se=";
  EXPECT_EQ(Unix(base + "2024-05-01T11%3A30%3A00Z"), 1714559400 + 3600);
  EXPECT_EQ(Unix(base + "2024-05-01T11:30:00Z"), 1714559400 + 3600);
  EXPECT_EQ(Unix(base + "2024-05-01T11:30Z"), 1714559400 + 3600);
  EXPECT_EQ(Unix(base + "2024-05-01T11:30:00.1234567Z"), 1714559400 + 3600);
  EXPECT_EQ(Unix(base + "2024-05-01T13:30:00%2B02:00"), 1714559400 + 3600);
  EXPECT_EQ(Unix(base + "2024-05-01"), 1714521600);
  EXPECT_EQ(Unix(base + "2024-05-01T11:30:00"), 1714559400 + 3600) << "no zone means UTC";
  for (const char* bad : {"2024-13-01", "2024-02-30", "2024-05-01T25:00Z", "2024-05-01T11",
                          "2024-05-01T11:30:00+2", "yesterday", "", "2024-05-01T11:30:00.Z"}) {
    EXPECT_FALSE(UrlExpiry(base + bad)) << bad;
  }
}

TEST(UrlExpiryTest, EarliestWinsAndGarbageIsIgnored) {
  EXPECT_EQ(Unix("https://x.example/a?expires=2000000000&exp=1900000000"), 1900000000);
  EXPECT_EQ(Unix("https://x.example/a?expires=abc&exp=1900000000"), 1900000000);
  EXPECT_FALSE(UrlExpiry("https://x.example/a.png"));
  EXPECT_FALSE(UrlExpiry("https://x.example/a.png?expires=-5"));
  EXPECT_FALSE(UrlExpiry("https://x.example/a.png?expires"));
  EXPECT_FALSE(UrlExpiry("https://x.example/a.png?expires="));
  EXPECT_FALSE(UrlExpiry("https://x.example/a.png?expiresat=1700000000"));
  EXPECT_FALSE(UrlExpiry("not a url ?expires=1"));
  EXPECT_FALSE(UrlExpiry(""));
  // An empty query before a fragment crashes Boost.URL 1.81's params().
  EXPECT_FALSE(UrlExpiry("http://h/a.png?#expires=1"));
  EXPECT_FALSE(UrlExpiry("http://h/a.png?&&=&#"));
  EXPECT_EQ(Unix("http://h/a.png?&expires=5&#x"), 5);
  EXPECT_EQ(Unix("http://h/a.png?%65xpires=6"), 6) << "keys are percent-decoded";
}

TEST(UrlExpiryTest, FarFutureIsClampedNotOverflowed) {
  auto t = UrlExpiry("https://x.example/a?expires=999999999999");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(t->time_since_epoch()).count(), 7'258'118'400);
  auto amz = UrlExpiry("https://x/a?X-Amz-Date=21991231T235959Z&X-Amz-Expires=999999999");
  ASSERT_TRUE(amz);
  EXPECT_EQ(std::chrono::duration_cast<seconds>(amz->time_since_epoch()).count(), 7'258'118'400);
  EXPECT_FALSE(UrlExpiry("https://x/a?expires=9999999999999"));  // more digits than a time
}

}  // namespace
}  // namespace gencache::rehost
