#pragma once

#include <string_view>

namespace gencache::http {

// Reason phrase for an HTTP status code ("OK", "Not Found", ...).
std::string_view StatusText(int status);

}  // namespace gencache::http
