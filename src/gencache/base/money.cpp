#include "gencache/base/money.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace gencache::base {

std::string FormatUsdCents(Money m) {
  std::int64_t cents = (std::llabs(m.micros) + 5'000) / 10'000;
  return fmt::format("{}${}.{:02}", m.micros < 0 ? "-" : "", cents / 100, cents % 100);
}

std::string FormatUsdMicros(Money m) {
  std::int64_t abs = std::llabs(m.micros);
  return fmt::format("{}{}.{:06}", m.micros < 0 ? "-" : "", abs / 1'000'000, abs % 1'000'000);
}

}  // namespace gencache::base
