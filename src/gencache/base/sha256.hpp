#pragma once

#include <string>
#include <string_view>

namespace gencache::base {

// Lower-case hex SHA-256 of `data` (OpenSSL's implementation).
std::string Sha256Hex(std::string_view data);

}  // namespace gencache::base
