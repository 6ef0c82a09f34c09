#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <string_view>
#include <system_error>

namespace gencache::keying {

inline constexpr std::size_t kDefaultMaxJsonDepth = 64;

// Parses one JSON document like boost::json::parse (strict JSON, UTF-8
// validated, trailing data rejected; a duplicate key keeps its last value),
// except that every non-integer number becomes the correctly rounded double
// of its text. Boost.JSON 1.81's own conversion can be one unit in the last
// place off, which would give one number two keys depending on its spelling
// and break CanonicalJson's round trip. Never throws: any failure, allocation
// included, is reported in `ec` and the result is then null.
boost::json::value ParseJson(std::string_view text, std::error_code& ec,
                             std::size_t max_depth = kDefaultMaxJsonDepth);

}  // namespace gencache::keying
