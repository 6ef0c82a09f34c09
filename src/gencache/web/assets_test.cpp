#include "gencache/web/assets.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace gencache::web {
namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(GENCACHE_WEB_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(WebAssetsTest, EveryPathIsPresentAndNonEmpty) {
  for (std::string_view path : {"/dashboard", "/dashboard/", "/dashboard/dashboard.js",
                                "/dashboard/dashboard.css", "/dashboard/vendor/chart.umd.js"}) {
    const Asset* asset = FindAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_FALSE(asset->body.empty()) << path;
    EXPECT_NE(asset->content_type.find("charset=utf-8"), std::string_view::npos) << path;
  }
}

TEST(WebAssetsTest, BothPagePathsAreThePage) {
  const Asset* bare = FindAsset("/dashboard");
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare, FindAsset("/dashboard/"));
  EXPECT_EQ(bare->path, "/dashboard/");
  EXPECT_EQ(bare->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Assets().front().path, "/dashboard/");
}

TEST(WebAssetsTest, ContentTypesFollowTheFileKind) {
  EXPECT_EQ(FindAsset("/dashboard/dashboard.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(FindAsset("/dashboard/vendor/chart.umd.js")->content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(FindAsset("/dashboard/dashboard.css")->content_type, "text/css; charset=utf-8");
}

TEST(WebAssetsTest, BodiesAreTheSourceFilesByteForByte) {
  EXPECT_EQ(FindAsset("/dashboard/")->body, ReadSource("dashboard.html"));
  EXPECT_EQ(FindAsset("/dashboard/dashboard.js")->body, ReadSource("dashboard.js"));
  EXPECT_EQ(FindAsset("/dashboard/dashboard.css")->body, ReadSource("dashboard.css"));
  EXPECT_EQ(FindAsset("/dashboard/vendor/chart.umd.js")->body,
            ReadSource("node_modules/chart.js/dist/chart.umd.js"));
}

TEST(WebAssetsTest, TheVendorFileIsChartJs) {
  EXPECT_TRUE(FindAsset("/dashboard/vendor/chart.umd.js")->body.starts_with("/*!\n * Chart.js v"));
}

// Every script and stylesheet the page links (data: URLs aside) is one the
// gateway serves, so the page and the route table cannot drift apart.
TEST(WebAssetsTest, ThePageLinksOnlyServedAssets) {
  const std::string page(FindAsset("/dashboard/")->body);
  const std::regex link(R"re((?:src|href)="([^"]*)")re");
  std::set<std::string> linked;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), link); it != std::sregex_iterator();
       ++it) {
    if (!(*it)[1].str().starts_with("data:")) linked.insert((*it)[1].str());
  }
  EXPECT_EQ(linked, (std::set<std::string>{"/dashboard/dashboard.css", "/dashboard/dashboard.js",
                                           "/dashboard/vendor/chart.umd.js"}));
  for (const std::string& path : linked) EXPECT_NE(FindAsset(path), nullptr) << path;
}

TEST(WebAssetsTest, OtherPathsAreNotFound) {
  for (std::string_view path :
       {"", "/", "/dashboardx", "/dashboard//", "/dashboard/index.html", "/dashboard/../README.md",
        "/dashboard/dashboard.js?v=1", "/dashboard/vendor/", "/dashboard/vendor/chart.umd.js.map",
        "/DASHBOARD", "/v1/dashboard"}) {
    EXPECT_EQ(FindAsset(path), nullptr) << path;
  }
}

TEST(WebAssetsTest, ThePolicyAllowsOnlyTheGatewayItself) {
  EXPECT_NE(kContentSecurityPolicy.find("default-src 'none'"), std::string_view::npos);
  EXPECT_EQ(kContentSecurityPolicy.find("unsafe"), std::string_view::npos);
  EXPECT_EQ(kContentSecurityPolicy.find("http"), std::string_view::npos);
}

}  // namespace
}  // namespace gencache::web
