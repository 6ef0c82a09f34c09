#include "gencache/rehost/output_urls.hpp"

#include <gtest/gtest.h>

#include "gencache/rehost/rehoster.hpp"

namespace gencache::rehost {
namespace {

using providers::ProviderKind;
using Urls = std::vector<std::string>;

Urls Find(ProviderKind kind, std::string_view body) {
  auto urls = FindOutputUrls(kind, body);
  EXPECT_TRUE(urls.ok()) << urls.status();
  return urls.ok() ? *urls : Urls{};
}

TEST(OutputUrlsTest, Skytells) {
  EXPECT_EQ(Find(ProviderKind::kSkytells,
                 R"({"id":"p","status":"succeeded","output":["https://a/1.png","https://a/2.png",
                    "https://a/1.png"],"urls":{"get":"https://api.skytells.ai/v1/predictions/p"}})"),
            (Urls{"https://a/1.png", "https://a/2.png"}));
  EXPECT_EQ(Find(ProviderKind::kSkytells, R"({"output":"https://a/video.mp4"})"),
            (Urls{"https://a/video.mp4"}));
  EXPECT_EQ(Find(ProviderKind::kSkytells, R"({"output":null,"status":"failed"})"), Urls{});
  EXPECT_EQ(Find(ProviderKind::kSkytells, R"({"output":["file:///etc/passwd","plain text",7]})"),
            (Urls{"file:///etc/passwd"}));
}

TEST(OutputUrlsTest, ReplicateFindsUrlsAnywhereInOutput) {
  EXPECT_EQ(Find(ProviderKind::kReplicate,
                 R"({"input":{"image":"https://in/put.png"},"output":{"images":["https://r/a.png",
              {"nested":[["https://r/b.webp"]]}],"audio":"https://r/c.mp3","text":"hello",
              "data":"data:image/png;base64,AAAA","n":3},"urls":{"get":"https://api/x"}})"),
            (Urls{"https://r/a.png", "https://r/b.webp", "https://r/c.mp3"}));
  EXPECT_EQ(Find(ProviderKind::kReplicate, R"({"output":["a"," cat ","http://r/x.png"]})"),
            (Urls{"http://r/x.png"}));
}

TEST(OutputUrlsTest, OpenAiImages) {
  EXPECT_EQ(Find(ProviderKind::kOpenAI,
                 R"({"created":1,"data":[{"url":"https://o/1.png","revised_prompt":"p"},
                    {"b64_json":"AAAA"},{"url":"https://o/2.png"},"junk"]})"),
            (Urls{"https://o/1.png", "https://o/2.png"}));
  EXPECT_EQ(Find(ProviderKind::kOpenAI, R"({"data":[{"b64_json":"AAAA"}]})"), Urls{});
}

TEST(OutputUrlsTest, RejectsNonObjects) {
  EXPECT_TRUE(absl::IsInvalidArgument(FindOutputUrls(ProviderKind::kSkytells, "[1]").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FindOutputUrls(ProviderKind::kSkytells, "{").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FindOutputUrls(ProviderKind::kOpenAI, "").status()));
}

TEST(OutputUrlsTest, ReplaceKeepsEveryOtherByte) {
  const std::string body =
      "{ \"output\" : [\"https://a/1.png?x=1&y=2\", \"https:\\/\\/a\\/2.png\"],\n"
      "  \"metrics\": {\"predict_time\": 1.50, \"credits\": 2e-2},\"q\":\"say \\\"hi\\\"\","
      " \"same\": \"https://a/1.png?x=1\\u0026y=2\" }";
  auto out = ReplaceJsonStrings(body, {{"https://a/1.png?x=1&y=2", "http://gw/files/aa.png"},
                                       {"https://a/2.png", "http://gw/files/bb"}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            "{ \"output\" : [\"http://gw/files/aa.png\", \"http://gw/files/bb\"],\n"
            "  \"metrics\": {\"predict_time\": 1.50, \"credits\": 2e-2},\"q\":\"say \\\"hi\\\"\","
            " \"same\": \"http://gw/files/aa.png\" }");
  EXPECT_EQ(*ReplaceJsonStrings("[\"x\"]", {}), "[\"x\"]");
  EXPECT_TRUE(absl::IsInvalidArgument(ReplaceJsonStrings("{\"a\":\"b}", {}).status()));
}

TEST(OutputUrlsTest, Extensions) {
  EXPECT_EQ(OutputExtension("/pbxt/abc/out-0.PNG", "application/octet-stream"), "png");
  EXPECT_EQ(OutputExtension("/a/b.jpeg", ""), "jpeg");
  EXPECT_EQ(OutputExtension("/a/b.mov", "video/quicktime"), "mov");
  EXPECT_EQ(OutputExtension("/a/b.php", "image/webp"), "webp") << "unknown path extension";
  EXPECT_EQ(OutputExtension("/a/b", "image/jpeg; charset=binary"), "jpg");
  EXPECT_EQ(OutputExtension("/a/b", " Audio/MPEG "), "mp3");
  EXPECT_EQ(OutputExtension("/a/b", "text/html"), "");
  EXPECT_EQ(OutputExtension("/a.png/b", ""), "");
  EXPECT_EQ(OutputExtension("", ""), "");
}

}  // namespace
}  // namespace gencache::rehost
