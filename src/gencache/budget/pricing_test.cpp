#include "gencache/budget/pricing.hpp"

#include <gtest/gtest.h>

namespace gencache::budget {
namespace {

using base::Money;

TEST(ParseUsd, ExactDecimalsRoundedOnce) {
  EXPECT_EQ(ParseUsd("0.04")->micros, 40'000);
  EXPECT_EQ(ParseUsd("1.5")->micros, 1'500'000);
  EXPECT_EQ(ParseUsd("$50")->micros, 50'000'000);
  EXPECT_EQ(ParseUsd("0.1")->micros, 100'000);  // no binary floating point on the way
  EXPECT_EQ(ParseUsd("0.0000015")->micros, 2);  // half up at the sixth decimal
  EXPECT_EQ(ParseUsd("0.0000014")->micros, 1);
  EXPECT_FALSE(ParseUsd("").ok());
  EXPECT_FALSE(ParseUsd("-1").ok());
  EXPECT_FALSE(ParseUsd("1e3").ok());
  EXPECT_FALSE(ParseUsd("1.2.3").ok());
  EXPECT_FALSE(ParseUsd("99999999999999").ok());
}

providers::GenerationRequest Request(std::string model) {
  providers::GenerationRequest r;
  r.model = std::move(model);
  return r;
}

TEST(PriceTable, DefaultsFollowTheProductTable) {
  PriceTable table({.models = DefaultModelPrices()});
  EXPECT_EQ(table.Estimate(Request("truefusion-pro"))->micros, 40'000);
  EXPECT_EQ(table.Estimate(Request("truefusion-video-pro"))->micros, 1'500'000);
  EXPECT_EQ(table.Estimate(Request("someone/else"))->micros, 40'000);
}

TEST(PriceTable, UnknownModelsCanBeRefused) {
  PriceTable table({.models = DefaultModelPrices(), .reject_unknown_models = true});
  EXPECT_TRUE(table.Estimate(Request("truefusion")).ok());
  auto unknown = table.Estimate(Request("mystery"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(unknown.status().message()).find("mystery"), std::string::npos);
}

TEST(PriceTable, PerOutputAndPerSecond) {
  PricingOptions options;
  options.models["multi"] = {.usd = Money::FromMicros(3'000), .per = PriceUnit::kOutput};
  options.models["clip"] = {
      .usd = Money::FromMicros(100'000), .per = PriceUnit::kSecond, .default_seconds = 5};
  PriceTable table(options);
  auto multi = Request("multi");
  multi.output_count = 4;
  EXPECT_EQ(table.Estimate(multi)->micros, 12'000);
  auto clip = Request("clip");
  EXPECT_EQ(table.Estimate(clip)->micros, 500'000);  // the default length
  clip.duration_seconds = 2.5;
  EXPECT_EQ(table.Estimate(clip)->micros, 250'000);
  // A flat price ignores the count.
  auto flat = Request("truefusion");
  flat.output_count = 4;
  EXPECT_EQ(PriceTable({.models = DefaultModelPrices()}).Estimate(flat)->micros, 20'000);
}

TEST(PriceTable, SettlesFromTheProvidersReportWhenPriced) {
  providers::UpstreamState reported;
  reported.credits_used = 3;
  EXPECT_EQ(PriceTable({}).Settle(Money::FromMicros(40'000), reported).micros, 40'000);
  PriceTable priced({.credit_usd = Money::FromMicros(10'000)});
  EXPECT_EQ(priced.Settle(Money::FromMicros(40'000), reported).micros, 30'000);
  EXPECT_EQ(priced.Settle(Money::FromMicros(40'000), providers::UpstreamState{}).micros, 40'000);
}

TEST(Money, Formatting) {
  EXPECT_EQ(base::FormatUsdCents(Money::FromMicros(1'000'000)), "$1.00");
  EXPECT_EQ(base::FormatUsdCents(Money::FromMicros(49'995'000)), "$50.00");
  EXPECT_EQ(base::FormatUsdMicros(Money::FromMicros(40'000)), "0.040000");
  EXPECT_EQ(base::FormatUsdMicros(Money::FromMicros(-1)), "-0.000001");
}

}  // namespace
}  // namespace gencache::budget
