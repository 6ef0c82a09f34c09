#include "gencache/http/message.hpp"

#include "gencache/base/strings.hpp"

namespace gencache::http {

std::optional<std::string_view> FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (base::EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace gencache::http
