#include "gencache/keying/json_parse.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "gencache/keying/canonical.hpp"

namespace gencache::keying {
namespace {

namespace json = boost::json;

json::value MustParse(std::string_view text) {
  std::error_code ec;
  json::value value = ParseJson(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " for " << text;
  return value;
}

std::error_code ErrorOf(std::string_view text, std::size_t max_depth = kDefaultMaxJsonDepth) {
  std::error_code ec;
  json::value value = ParseJson(text, ec, max_depth);
  if (ec) {
    EXPECT_TRUE(value.is_null());
  }
  return ec;
}

TEST(ParseJsonTest, ParsesLikeBoost) {
  for (const char* text :
       {R"( {"a":[1,-2,18446744073709551615,true,false,null],"b":{"c":"d\u00e9\n"}} )", "0",
        "\"s\"", "[]", "-9223372036854775808", "1.5"}) {
    EXPECT_EQ(MustParse(text), json::parse(text)) << text;
  }
  EXPECT_TRUE(MustParse("7").is_int64());
  EXPECT_TRUE(MustParse("18446744073709551615").is_uint64());
  EXPECT_TRUE(MustParse("7.0").is_double());
}

TEST(ParseJsonTest, DuplicateKeysKeepTheLastValue) {
  EXPECT_EQ(MustParse(R"({"a":1,"a":2})"), json::parse(R"({"a":2})"));
}

TEST(ParseJsonTest, NumbersAreCorrectlyRounded) {
  // Boost.JSON 1.81's parse gets both of these one ulp wrong.
  for (const char* text : {"9007199254740993.5", "1.2345678901234567e-200"}) {
    double expected = 0;
    std::from_chars(text, text + std::strlen(text), expected);
    EXPECT_EQ(MustParse(text).get_double(), expected) << text;
  }
  EXPECT_EQ(MustParse("1e400").get_double(), HUGE_VAL);
  EXPECT_EQ(MustParse("-1e400").get_double(), -HUGE_VAL);
  EXPECT_EQ(MustParse("1e-400").get_double(), 0.0);
}

TEST(ParseJsonTest, CanonicalNumbersRoundTrip) {
  std::mt19937_64 random(20240601);
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t bits = random();
    double d = 0;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    std::string text = CanonicalJson(json::value(d));
    json::value parsed = MustParse(text);
    ASSERT_EQ(CanonicalJson(parsed), text);
    if (parsed.is_double()) {
      ASSERT_EQ(parsed.get_double(), d) << text;
    }
  }
}

TEST(ParseJsonTest, RejectsInvalidJson) {
  for (const char* text : {"", " ", "{", "[1,]", "{} x", "{}{}", "/*c*/{}", "{'a':1}", "NaN",
                           "\"\xff\"", "01", "+1", "1."}) {
    EXPECT_TRUE(ErrorOf(text)) << text;
  }
}

TEST(ParseJsonTest, LimitsDepth) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_FALSE(ErrorOf(nested(64)));
  EXPECT_TRUE(ErrorOf(nested(65)));
  EXPECT_FALSE(ErrorOf(nested(200), 200));
}

}  // namespace
}  // namespace gencache::keying
