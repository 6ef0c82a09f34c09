#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace gencache::base {

// "250ms", "10s", "5m", "2h", "7d" or a bare number of seconds.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "512", "64KiB", "10MiB", "1GiB" (also KB/MB/GB as powers of 1000).
absl::StatusOr<std::uint64_t> ParseBytes(std::string_view text);

}  // namespace gencache::base
