#include "gencache/files/file_request.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace gencache::files {
namespace {

using Kind = RangeDecision::Kind;

const std::string kSha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

TEST(ParseFileNameTest, BareHashIsOctetStream) {
  auto name = ParseFileName(kSha);
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(name->sha256, kSha);
  EXPECT_EQ(name->content_type, "application/octet-stream");
}

TEST(ParseFileNameTest, ExtensionsMapToTypes) {
  const std::pair<std::string, std::string> cases[] = {
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"gif", "image/gif"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"mov", "video/quicktime"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"ogg", "audio/ogg"},
      {"flac", "audio/flac"},
      {"m4a", "audio/mp4"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"bin", "application/octet-stream"},
  };
  for (const auto& [ext, type] : cases) {
    SCOPED_TRACE(ext);
    const std::string full = kSha + "." + ext;
    auto name = ParseFileName(full);
    ASSERT_TRUE(name.has_value());
    EXPECT_EQ(name->sha256, kSha);
    EXPECT_EQ(name->content_type, type);
  }
}

TEST(ParseFileNameTest, RejectsEverythingElse) {
  std::string upper = kSha;
  upper[5] = 'F';
  const std::string rejected[] = {
      "",
      kSha.substr(0, 63),
      kSha + "0",
      upper,
      upper + ".png",
      kSha + ".",
      kSha + ".PNG",
      kSha + ".svg",
      kSha + ".html",
      kSha + ".png.exe",
      kSha + ".png/",
      kSha + "/",
      kSha + "/../x",
      "../" + kSha,
      "..%2F" + kSha,
      kSha.substr(0, 62) + "%2e",
      kSha + "%2Epng",
      kSha + "..png",
      kSha + ".png?x=1",
      kSha + ".png ",
      " " + kSha,
      kSha + std::string(1, '\0') + ".png",
      std::string(64, 'g'),
      std::string(64, '.'),
  };
  for (const std::string& name : rejected) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(ParseFileName(name).has_value());
  }
}

TEST(ExtensionForContentTypeTest, MapsBack) {
  EXPECT_EQ(ExtensionForContentType("image/png"), "png");
  EXPECT_EQ(ExtensionForContentType("IMAGE/JPEG"), "jpg");
  EXPECT_EQ(ExtensionForContentType("text/plain; charset=utf-8"), "txt");
  EXPECT_EQ(ExtensionForContentType("text/plain"), "txt");
  EXPECT_EQ(ExtensionForContentType("application/json;charset=UTF-8"), "json");
  EXPECT_EQ(ExtensionForContentType(" video/mp4 "), "mp4");
  EXPECT_FALSE(ExtensionForContentType("image/svg+xml").has_value());
  EXPECT_FALSE(ExtensionForContentType("text/html").has_value());
  EXPECT_FALSE(ExtensionForContentType("").has_value());
  // Every extension maps back to a name ParseFileName accepts with that type.
  for (const char* type : {"image/png", "image/webp", "audio/mp4", "video/quicktime"}) {
    auto ext = ExtensionForContentType(type);
    ASSERT_TRUE(ext.has_value()) << type;
    const std::string full = kSha + "." + std::string(*ext);
    auto name = ParseFileName(full);
    ASSERT_TRUE(name.has_value()) << type;
    EXPECT_EQ(name->content_type, type);
  }
}

void ExpectRange(std::string_view header, std::uint64_t size, Kind kind, std::uint64_t offset = 0,
                 std::uint64_t length = 0) {
  SCOPED_TRACE(std::string(header) + " on " + std::to_string(size));
  const RangeDecision d = DecideRange(header, size);
  EXPECT_EQ(d.kind, kind);
  if (kind == Kind::kPartial) {
    EXPECT_EQ(d.offset, offset);
    EXPECT_EQ(d.length, length);
  }
}

TEST(DecideRangeTest, SingleRanges) {
  ExpectRange("bytes=0-0", 100, Kind::kPartial, 0, 1);
  ExpectRange("bytes=0-99", 100, Kind::kPartial, 0, 100);
  ExpectRange("bytes=10-19", 100, Kind::kPartial, 10, 10);
  ExpectRange("bytes=10-", 100, Kind::kPartial, 10, 90);
  ExpectRange("bytes=99-", 100, Kind::kPartial, 99, 1);
  ExpectRange("bytes=-1", 100, Kind::kPartial, 99, 1);
  ExpectRange("bytes=-30", 100, Kind::kPartial, 70, 30);
  ExpectRange("Bytes=5-6", 100, Kind::kPartial, 5, 2);
  ExpectRange(" bytes=5-6 ", 100, Kind::kPartial, 5, 2);
}

TEST(DecideRangeTest, ClampsToTheBody) {
  ExpectRange("bytes=50-1000", 100, Kind::kPartial, 50, 50);
  ExpectRange("bytes=0-99999999999999999999999999", 100, Kind::kPartial, 0, 100);
  ExpectRange("bytes=-1000", 100, Kind::kPartial, 0, 100);
  ExpectRange("bytes=-99999999999999999999999999", 100, Kind::kPartial, 0, 100);
}

TEST(DecideRangeTest, Unsatisfiable) {
  ExpectRange("bytes=100-", 100, Kind::kUnsatisfiable);
  ExpectRange("bytes=100-200", 100, Kind::kUnsatisfiable);
  ExpectRange("bytes=99999999999999999999999999-", 100, Kind::kUnsatisfiable);
  ExpectRange("bytes=-0", 100, Kind::kUnsatisfiable);
  ExpectRange("bytes=0-", 0, Kind::kUnsatisfiable);
  ExpectRange("bytes=0-0", 0, Kind::kUnsatisfiable);
}

TEST(DecideRangeTest, IgnoredMeansWhole) {
  for (std::string_view header :
       {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=5-4", "bytes=0-1,2-3",
        "bytes=0-1, 5-6", "bytes=0-1,", "items=0-1", "bytes =0-1", "bytes= 0-1", "bytes=0 -1",
        "bytes=+1-2", "bytes=1--2", "bytes=0x10-", "bytes=1-2-3"}) {
    ExpectRange(header, 100, Kind::kWhole);
  }
  ExpectRange("bytes=-5", 0, Kind::kWhole);  // the suffix of an empty body is all of it
}

TEST(IfNoneMatchTest, Matches) {
  const std::string etag = "\"" + kSha + "\"";
  EXPECT_TRUE(IfNoneMatchMatches(etag, etag));
  EXPECT_TRUE(IfNoneMatchMatches("*", etag));
  EXPECT_TRUE(IfNoneMatchMatches(" * ", etag));
  EXPECT_TRUE(IfNoneMatchMatches("W/" + etag, etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"a\", " + etag, etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"a\",W/\"b\" ,  " + etag + " , \"c\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"a,b\", " + etag, etag)) << "commas inside a tag";
}

TEST(IfNoneMatchTest, DoesNotMatch) {
  const std::string etag = "\"" + kSha + "\"";
  EXPECT_FALSE(IfNoneMatchMatches("", etag));
  EXPECT_FALSE(IfNoneMatchMatches(kSha, etag)) << "unquoted";
  EXPECT_FALSE(IfNoneMatchMatches("\"" + kSha, etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"other\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("w/" + etag, etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"a\" junk, " + etag, etag)) << "stops at a bad element";
  EXPECT_FALSE(IfNoneMatchMatches("*, " + etag.substr(1), etag));
}

}  // namespace
}  // namespace gencache::files
