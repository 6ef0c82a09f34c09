#pragma once

#include <cstddef>
#include <span>
#include <string_view>

// The bytes web/CMakeLists.txt embeds, by file name. Internal to the
// gencache_web_assets library: use assets.hpp.
namespace gencache::web {

struct EmbeddedFile {
  std::string_view name;  // file name in web/, e.g. "dashboard.js"
  const unsigned char* data;
  std::size_t size;
};

// Defined in the generated embedded_files.cpp.
std::span<const EmbeddedFile> EmbeddedFiles();

}  // namespace gencache::web
