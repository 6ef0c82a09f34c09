#include "gencache/budget/pricing.hpp"

#include <fmt/format.h>

#include <cmath>

namespace gencache::budget {

std::map<std::string, ModelPrice, std::less<>> DefaultModelPrices() {
  auto usd = [](std::int64_t micros) { return ModelPrice{.usd = base::Money::FromMicros(micros)}; };
  return {
      {"truefusion-edge", usd(10'000)},         {"truefusion", usd(20'000)},
      {"truefusion-pro", usd(40'000)},          {"truefusion-2.0", usd(60'000)},
      {"truefusion-ultra", usd(80'000)},        {"beatfusion-2.0", usd(750'000)},
      {"truefusion-video-pro", usd(1'500'000)},
  };
}

absl::StatusOr<base::Money> ParseUsd(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && t.front() == '$') t.remove_prefix(1);
  if (t.empty()) return absl::InvalidArgumentError("empty amount");
  std::int64_t whole = 0;
  std::int64_t micros = 0;
  int decimals = 0;
  bool round_up = false;
  bool seen_point = false;
  bool seen_digit = false;
  for (char c : t) {
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          fmt::format("'{}' is not a non-negative decimal amount of USD", text));
    }
    seen_digit = true;
    int digit = c - '0';
    if (!seen_point) {
      if (whole > 1'000'000'000) {
        return absl::InvalidArgumentError(fmt::format("amount '{}' is too large", text));
      }
      whole = whole * 10 + digit;
    } else if (decimals < 6) {
      micros = micros * 10 + digit;
      ++decimals;
    } else if (decimals == 6) {
      round_up = digit >= 5;
      ++decimals;
    }
  }
  if (!seen_digit) return absl::InvalidArgumentError(fmt::format("'{}' has no digits", text));
  for (int d = std::min(decimals, 6); d < 6; ++d) micros *= 10;
  return base::Money::FromMicros(whole * 1'000'000 + micros + (round_up ? 1 : 0));
}

PriceTable::PriceTable(PricingOptions options) : options_(std::move(options)) {}

absl::StatusOr<base::Money> PriceTable::Estimate(
    const providers::GenerationRequest& request) const {
  ModelPrice price{.usd = options_.default_usd};
  if (auto it = options_.models.find(request.model); it != options_.models.end()) {
    price = it->second;
  } else if (options_.reject_unknown_models) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' has no price in this gateway's price table (pricing.unknown_model: reject)",
        request.model));
  }
  switch (price.per) {
    case PriceUnit::kPrediction:
      return price.usd;
    case PriceUnit::kOutput:
      return base::Money::FromMicros(price.usd.micros * request.output_count);
    case PriceUnit::kSecond: {
      double seconds = request.duration_seconds.value_or(price.default_seconds);
      return base::Money::FromMicros(
          static_cast<std::int64_t>(std::ceil(static_cast<double>(price.usd.micros) * seconds)));
    }
  }
  return price.usd;
}

base::Money PriceTable::Settle(base::Money estimate, const providers::UpstreamState& state) const {
  if (state.credits_used && options_.credit_usd.micros > 0) {
    return base::Money::FromMicros(static_cast<std::int64_t>(
        std::llround(*state.credits_used * static_cast<double>(options_.credit_usd.micros))));
  }
  return estimate;
}

}  // namespace gencache::budget
