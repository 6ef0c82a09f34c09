#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace gencache::base {

// Money as a signed count of micro-dollars. Never a double: rounding happens
// once, when a price is read from configuration (see budget/pricing.hpp).
struct Money {
  std::int64_t micros = 0;

  static constexpr Money FromMicros(std::int64_t m) { return Money{m}; }
  // For display and JSON only; never feed this back into arithmetic.
  double Usd() const { return static_cast<double>(micros) / 1'000'000.0; }

  friend constexpr Money operator+(Money a, Money b) { return {a.micros + b.micros}; }
  friend constexpr Money operator-(Money a, Money b) { return {a.micros - b.micros}; }
  constexpr Money& operator+=(Money o) {
    micros += o.micros;
    return *this;
  }
  constexpr Money& operator-=(Money o) {
    micros -= o.micros;
    return *this;
  }
  friend constexpr auto operator<=>(Money, Money) = default;
};

// "$1.50" style, two decimals (rounded half away from zero) for messages;
// "1.500000" style, six decimals, for JSON.
std::string FormatUsdCents(Money m);
std::string FormatUsdMicros(Money m);

}  // namespace gencache::base
