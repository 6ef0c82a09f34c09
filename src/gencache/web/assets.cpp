#include "gencache/web/assets.hpp"

#include <array>

#include "gencache/base/check.hpp"
#include "gencache/web/embedded_files.hpp"

namespace gencache::web {
namespace {

struct Route {
  std::string_view path;
  std::string_view file;
  std::string_view content_type;
};

constexpr std::string_view kPagePath = "/dashboard/";

constexpr std::array kRoutes = {
    Route{kPagePath, "dashboard.html", "text/html; charset=utf-8"},
    Route{"/dashboard/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
    Route{"/dashboard/dashboard.css", "dashboard.css", "text/css; charset=utf-8"},
    Route{"/dashboard/vendor/chart.umd.js", "chart.umd.js", "text/javascript; charset=utf-8"},
};

using AssetTable = std::array<Asset, kRoutes.size()>;

// A route without its embedded file is a build mistake (web/CMakeLists.txt
// and kRoutes disagree): fail on first use rather than serve an empty page.
AssetTable BuildTable() {
  AssetTable table;
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    const EmbeddedFile* found = nullptr;
    for (const EmbeddedFile& file : EmbeddedFiles()) {
      if (file.name == kRoutes[i].file) found = &file;
    }
    GENCACHE_CHECK(found != nullptr && found->size > 0);
    table[i] = Asset{
        .path = kRoutes[i].path,
        .content_type = kRoutes[i].content_type,
        .body = std::string_view(reinterpret_cast<const char*>(found->data), found->size),
    };
  }
  return table;
}

const AssetTable& Table() {
  static const AssetTable table = BuildTable();
  return table;
}

}  // namespace

const Asset* FindAsset(std::string_view path) {
  if (path == "/dashboard") path = kPagePath;
  for (const Asset& asset : Table()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

std::span<const Asset> Assets() { return Table(); }

}  // namespace gencache::web
