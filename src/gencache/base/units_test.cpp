#include "gencache/base/units.hpp"

#include <gtest/gtest.h>

namespace gencache::base {
namespace {

TEST(ParseDuration, Units) {
  EXPECT_EQ(*ParseDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*ParseDuration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(*ParseDuration("10"), std::chrono::seconds(10));
  EXPECT_EQ(*ParseDuration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*ParseDuration("2h"), std::chrono::hours(2));
  EXPECT_EQ(*ParseDuration("7d"), std::chrono::hours(24 * 7));
}

TEST(ParseDuration, Rejects) {
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("10w").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
}

TEST(ParseBytes, Units) {
  EXPECT_EQ(*ParseBytes("512"), 512u);
  EXPECT_EQ(*ParseBytes("10MiB"), 10u << 20);
  EXPECT_EQ(*ParseBytes("1GiB"), 1u << 30);
  EXPECT_EQ(*ParseBytes("2KB"), 2000u);
  EXPECT_FALSE(ParseBytes("1TiB").ok());
  EXPECT_FALSE(ParseBytes("x").ok());
}

}  // namespace
}  // namespace gencache::base
