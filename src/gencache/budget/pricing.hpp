#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gencache/base/money.hpp"
#include "gencache/providers/provider_adapter.hpp"

namespace gencache::budget {

// How a model's price scales with the request.
enum class PriceUnit {
  kPrediction,  // flat per request
  kOutput,      // per output requested (num_outputs, n, ...)
  kSecond,      // per second of the requested duration (video, audio)
};

struct ModelPrice {
  base::Money usd;  // per unit
  PriceUnit per = PriceUnit::kPrediction;
  // kSecond: the length assumed when the request names none.
  double default_seconds = 10;
};

struct PricingOptions {
  std::map<std::string, ModelPrice, std::less<>> models;
  base::Money default_usd = base::Money::FromMicros(40'000);
  bool reject_unknown_models = false;  // `unknown_model: reject`
  // USD per provider credit, for providers that report what they charged
  // in credits (Skytells `metadata.billing.credits_used`); 0 = ignore reports.
  base::Money credit_usd = base::Money::FromMicros(0);
};

// PRODUCT.md's defaults: the truefusion family per prediction.
std::map<std::string, ModelPrice, std::less<>> DefaultModelPrices();

// "0.04" -> 40000 micro-dollars: decimal text converted exactly, rounded
// half up at the sixth decimal. The one place prices are rounded.
absl::StatusOr<base::Money> ParseUsd(std::string_view text);

// Prices requests before they are made and settles them after. Immutable
// and thread-safe.
class PriceTable {
 public:
  explicit PriceTable(PricingOptions options);

  // The cost a request is expected to have: the price of its model times
  // its outputs or seconds as the model's entry says. InvalidArgument for an
  // unknown model under `unknown_model: reject`.
  absl::StatusOr<base::Money> Estimate(const providers::GenerationRequest& request) const;

  // The cost to book once the provider answered: its own report where it
  // gave one and credits are priced, else the estimate.
  base::Money Settle(base::Money estimate, const providers::UpstreamState& state) const;

 private:
  PricingOptions options_;
};

}  // namespace gencache::budget
