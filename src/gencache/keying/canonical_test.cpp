#include "gencache/keying/canonical.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <set>
#include <string>

#include "gencache/keying/json_parse.hpp"

namespace gencache::keying {
namespace {

namespace json = boost::json;

std::string Canon(std::string_view text) { return CanonicalJson(json::parse(text)); }

struct Material {
  std::string kind = "skytells";
  std::string route = "predictions";
  std::string model = "truefusion-pro";
  std::string cache_namespace = "default";
  std::string params = R"({"input":{"prompt":"a red car","seed":7}})";
};

// Fields assigned one by one: GCC 12 warns about designated initialisers that
// leave members out.
KeyMaterial MaterialOf(const Material& m) {
  KeyMaterial material;
  material.provider_kind = m.kind;
  material.route = m.route;
  material.model = m.model;
  material.cache_namespace = m.cache_namespace;
  return material;
}

CacheKey KeyOf(const Material& m) {
  json::value params = json::parse(m.params);
  KeyMaterial material = MaterialOf(m);
  material.params = &params;
  return ComputeCacheKey(material);
}

TEST(CanonicalJsonTest, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(Canon(R"({ "b" : 2, "a" : [ 3, {"z":1,"y":2} ] })"),
            R"({"a":[3,{"y":2,"z":1}],"b":2})");
}

TEST(CanonicalJsonTest, KeyOrderPermutationsAreOneText) {
  std::set<std::string> texts = {
      Canon(R"({"a":1,"b":2,"c":{"x":true,"y":null}})"),
      Canon(R"({"b":2,"a":1,"c":{"y":null,"x":true}})"),
      Canon(R"({"c":{"x":true,"y":null},"b":2,"a":1})"),
  };
  EXPECT_EQ(texts.size(), 1u);
}

TEST(CanonicalJsonTest, SortsKeysBytewise) {
  // 'B' (0x42) < 'a' (0x61) < 'é' (0xC3 0xA9): bytewise, not locale order.
  EXPECT_EQ(Canon(R"({"é":1,"a":2,"B":3})"), R"({"B":3,"a":2,"é":1})");
}

TEST(CanonicalJsonTest, IntegralNumbersPrintAsIntegers) {
  for (const char* text : {"1", "1.0", "1e0", "10e-1", "0.1e1", "1E0", "100e-2"}) {
    EXPECT_EQ(Canon(text), "1") << text;
  }
  EXPECT_EQ(Canon("-0.0"), "0");
  EXPECT_EQ(Canon("-0"), "0");
  EXPECT_EQ(Canon("-2.0"), "-2");
  EXPECT_EQ(Canon("1e2"), "100");
  EXPECT_EQ(Canon("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Canon("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(Canon("18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(Canon("9.223372036854775808e18"), "9223372036854775808");
}

TEST(CanonicalJsonTest, IntegerKindsAgree) {
  EXPECT_EQ(CanonicalJson(json::value(std::int64_t{5})),
            CanonicalJson(json::value(std::uint64_t{5})));
  EXPECT_EQ(CanonicalJson(json::value(std::int64_t{5})), CanonicalJson(json::value(5.0)));
}

TEST(CanonicalJsonTest, OtherNumbersPrintShortestRoundTrip) {
  EXPECT_EQ(Canon("0.5"), "0.5");
  EXPECT_EQ(Canon("5e-1"), "0.5");
  EXPECT_EQ(Canon("0.30000000000000004"), "0.30000000000000004");
  EXPECT_EQ(Canon("1e300"), "1e+300");
  EXPECT_EQ(Canon("-2.5e-7"), "-2.5e-07");
  // Beyond uint64: not an integer kind, so the shortest double spelling.
  EXPECT_EQ(Canon("1e20"), "1e+20");
  EXPECT_EQ(Canon("123456789012345678901234567890"), "1.2345678901234568e+29");
}

TEST(CanonicalJsonTest, NonFiniteNumbersStayValidJson) {
  EXPECT_EQ(Canon("1e400"), "1e99999");
  EXPECT_EQ(Canon("-1e400"), "-1e99999");
  EXPECT_EQ(CanonicalJson(json::value(std::numeric_limits<double>::quiet_NaN())), "null");
}

TEST(CanonicalJsonTest, StringsAreEscapedOneWay) {
  // \u00e9 and the raw UTF-8 é are one string; so are \/ and /.
  EXPECT_EQ(Canon(R"("\u00e9")"), Canon("\"\xC3\xA9\""));
  EXPECT_EQ(Canon(R"("a\/b")"), R"("a/b")");
  EXPECT_EQ(Canon(R"("\ud83d\ude00")"), "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(Canon(R"("tab\there\u0001 \"q\" \\")"), R"("tab\there\u0001 \"q\" \\")");
  EXPECT_EQ(Canon(R"({"k\u0065y":"v"})"), R"({"key":"v"})");
}

TEST(CanonicalJsonTest, ArraysKeepOrder) {
  EXPECT_EQ(Canon("[3,1,2]"), "[3,1,2]");
  EXPECT_NE(Canon("[1,2]"), Canon("[2,1]"));
}

TEST(CanonicalJsonTest, IsIdempotent) {
  for (const char* text : {R"({"b":[1.5,1e400,-0.0,{"d":"\u0001","c":null}],"a":1e-7})",
                           "123456789012345678901234567890", "0.1", "1.2345678901234567e-200",
                           "[18446744073709551615,-9223372036854775808,9.999999999999999e22]"}) {
    std::error_code ec;
    std::string once = CanonicalJson(ParseJson(text, ec));
    ASSERT_FALSE(ec) << text;
    EXPECT_EQ(CanonicalJson(ParseJson(once, ec)), once) << text;
  }
}

TEST(CanonicalFormTest, HasTheDocumentedLayout) {
  json::value params = json::parse(R"({"input":{"seed":1,"prompt":"x"}})");
  const Material fields{.kind = "replicate",
                        .route = "predictions",
                        .model = "owner/name",
                        .cache_namespace = "team-a"};
  KeyMaterial material = MaterialOf(fields);  // views into `fields`
  material.params = &params;
  EXPECT_EQ(CanonicalForm(material),
            "gencache-key-v1\nreplicate\npredictions\nteam-a\nowner/name\n"
            R"({"input":{"prompt":"x","seed":1}})");
}

TEST(CanonicalFormTest, PreCanonicalParamsGiveTheSameKey) {
  json::value params = json::parse(R"({"input":{"seed":1.0,"prompt":"x"}})");
  const Material fields;
  KeyMaterial from_value = MaterialOf(fields);  // views into `fields`
  from_value.params = &params;
  std::string canonical = CanonicalJson(params);
  KeyMaterial from_text = from_value;
  from_text.params = nullptr;
  from_text.canonical_params = canonical;
  EXPECT_EQ(ComputeCacheKey(from_value), ComputeCacheKey(from_text));
}

TEST(ComputeCacheKeyTest, IsLowerHexSha256) {
  CacheKey key = KeyOf(Material{});
  ASSERT_EQ(key.hex.size(), 64u);
  for (char c : key.hex) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << key.hex;
}

TEST(ComputeCacheKeyTest, IsStableAcrossVersionsOfTheCode) {
  // Pinned: if this changes, stored entries stop matching, so bump
  // kKeySchemaVersion together with the expected value.
  Material m;
  m.params = R"({"input":{"prompt":"a red car","seed":7}})";
  std::string form = "gencache-key-v1\nskytells\npredictions\ndefault\ntruefusion-pro\n" + m.params;
  KeyMaterial material = MaterialOf(m);
  material.canonical_params = m.params;
  EXPECT_EQ(CanonicalForm(material), form);
  EXPECT_EQ(KeyOf(m).hex, "eed2ed3ebfb9cc972c19a1c9ea8ef57ac0ef610845d198c80c0749709b81171c");
}

TEST(ComputeCacheKeyTest, FormattingPermutationsGiveOneKey) {
  std::set<std::string> keys;
  for (
      const char* params : {
          R"({"input":{"prompt":"a red car","seed":7,"size":{"w":1,"h":2}}})",
          R"({"input":{"size":{"h":2,"w":1},"seed":7.0,"prompt":"a red car"}})",
          R"( { "input" : { "seed" : 70e-1 , "size":{"w":1e0,"h":20e-1}, "prompt":"a red car" } } )",
          R"({"input":{"prompt":"a r\u0065d car","seed":0.7e1,"size":{"w":10e-1,"h":2}}})",
      }) {
    Material m;
    m.params = params;
    keys.insert(KeyOf(m).hex);
  }
  EXPECT_EQ(keys.size(), 1u);
}

TEST(ComputeCacheKeyTest, EveryOutputAffectingChangeGivesANewKey) {
  const Material base;
  std::vector<Material> variants(8, base);
  variants[0].params = R"({"input":{"prompt":"a red car","seed":8}})";
  variants[1].params = R"({"input":{"prompt":"a blue car","seed":7}})";
  variants[2].params = R"({"input":{"prompt":"a red car","seed":7,"steps":30}})";
  variants[3].params = R"({"input":{"prompt":"a red car","seed":"7"}})";
  variants[4].model = "truefusion";
  variants[5].cache_namespace = "other";
  variants[6].kind = "replicate";
  variants[7].route = "predict";
  std::set<std::string> keys = {KeyOf(base).hex};
  for (const Material& m : variants) keys.insert(KeyOf(m).hex);
  EXPECT_EQ(keys.size(), variants.size() + 1);
}

TEST(ComputeCacheKeyTest, FieldBoundariesCannotBeShifted) {
  Material a;
  a.cache_namespace = "";
  a.model = "ab";
  Material b;
  b.cache_namespace = "a";
  b.model = "b";
  EXPECT_NE(KeyOf(a), KeyOf(b));
}

}  // namespace
}  // namespace gencache::keying
