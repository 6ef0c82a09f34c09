#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::rehost {

// The output URLs of a provider's success response, distinct, in order of
// first appearance:
//   Skytells   `output`: an array of URL strings, or one string
//   Replicate  `output`: every URL string anywhere inside it (nested arrays
//              and objects)
//   OpenAI     `data[].url` (b64_json items carry no URL)
// A string counts as a URL when it starts with "scheme://", whatever the
// scheme, so a file:// or gopher:// output is found and then refused by the
// policy rather than silently cached. Other strings (text outputs, data:
// URIs) are left alone.
// InvalidArgument when `body` is not a JSON object. Pure, thread-safe, never
// crashes on hostile input.
absl::StatusOr<std::vector<std::string>> FindOutputUrls(providers::ProviderKind kind,
                                                        std::string_view body);

// `body` with every JSON string whose decoded value is a key of
// `replacements` replaced by its value (as a JSON string); every other byte
// stays as it was, so numbers, spacing and key order are preserved.
// InvalidArgument when `body` is not valid JSON. Pure, thread-safe.
absl::StatusOr<std::string> ReplaceJsonStrings(
    std::string_view body, const std::map<std::string, std::string, std::less<>>& replacements);

}  // namespace gencache::rehost
