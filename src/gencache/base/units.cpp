#include "gencache/base/units.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string>

namespace gencache::base {
namespace {

// Splits "10MiB" into 10 and "MiB". Fails on no digits or overflow.
absl::StatusOr<std::pair<std::uint64_t, std::string_view>> SplitNumber(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) {
    return absl::InvalidArgumentError(fmt::format("expected a number in '{}'", text));
  }
  return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto split = SplitNumber(text);
  if (!split.ok()) return split.status();
  auto [n, unit] = *split;
  std::uint64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s")
    ms_per_unit = 1000;
  else if (unit == "ms")
    ms_per_unit = 1;
  else if (unit == "m")
    ms_per_unit = 60'000;
  else if (unit == "h")
    ms_per_unit = 3'600'000;
  else if (unit == "d")
    ms_per_unit = 86'400'000;
  else {
    return absl::InvalidArgumentError(
        fmt::format("unknown duration unit in '{}' (use ms, s, m, h or d)", text));
  }
  if (n > (std::uint64_t{1} << 52) / ms_per_unit) {
    return absl::InvalidArgumentError(fmt::format("duration '{}' is too large", text));
  }
  return std::chrono::milliseconds{static_cast<std::int64_t>(n * ms_per_unit)};
}

absl::StatusOr<std::uint64_t> ParseBytes(std::string_view text) {
  auto split = SplitNumber(text);
  if (!split.ok()) return split.status();
  auto [n, unit] = *split;
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB")
    mult = 1ull << 10;
  else if (unit == "MiB")
    mult = 1ull << 20;
  else if (unit == "GiB")
    mult = 1ull << 30;
  else if (unit == "KB")
    mult = 1000;
  else if (unit == "MB")
    mult = 1000'000;
  else if (unit == "GB")
    mult = 1000'000'000;
  else {
    return absl::InvalidArgumentError(
        fmt::format("unknown size unit in '{}' (use B, KiB, MiB or GiB)", text));
  }
  if (n > (std::uint64_t{1} << 50) / mult) {
    return absl::InvalidArgumentError(fmt::format("size '{}' is too large", text));
  }
  return n * mult;
}

}  // namespace gencache::base
