#pragma once

#include <span>
#include <string_view>

namespace gencache::web {

// One file of the spend dashboard. The files are compiled into the binary
// from web/ (web/CMakeLists.txt), so the page needs no network and nothing
// installed beside the binary. Every view points into static storage and
// stays valid for the life of the program.
struct Asset {
  std::string_view path;          // canonical request path, e.g. "/dashboard/dashboard.js"
  std::string_view content_type;  // a complete Content-Type value, charset included
  std::string_view body;
};

// The asset served at `path` (a request path without the query string, not
// percent-decoded), or nullptr. "/dashboard" and "/dashboard/" are both the
// page (its canonical path is "/dashboard/"); the page links its scripts and
// styles by absolute path, so either works. Thread-safe.
const Asset* FindAsset(std::string_view path);

// Every asset once, the page first.
std::span<const Asset> Assets();

// The page loads only its own scripts and styles and talks only to the
// gateway that served it; send this as Content-Security-Policy with every
// asset.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace gencache::web
