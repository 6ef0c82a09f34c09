#include "gencache/neardup/normalize.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace gencache::neardup {
namespace {

void ExpectSameForm(std::string_view a, std::string_view b) {
  EXPECT_EQ(NormalizePrompt(a), NormalizePrompt(b)) << "'" << a << "' vs '" << b << "'";
}

void ExpectDifferentForm(std::string_view a, std::string_view b) {
  EXPECT_NE(NormalizePrompt(a), NormalizePrompt(b)) << "'" << a << "' vs '" << b << "'";
}

TEST(NormalizePromptTest, FoldsCase) {
  EXPECT_EQ(NormalizePrompt("A Red FOX in the Snow"), "a red fox in the snow");
  ExpectSameForm("Straße", "STRASSE");
  ExpectSameForm("ΟΔΥΣΣΕΥΣ", "οδυσσευς");
}

TEST(NormalizePromptTest, CollapsesWhitespace) {
  EXPECT_EQ(NormalizePrompt("  a\tred   fox \r\n in the snow  "), "a red fox in the snow");
  EXPECT_EQ(NormalizePrompt("a\u00a0red\u3000fox\u2003in"), "a red fox in");
  EXPECT_EQ(NormalizePrompt(""), "");
  EXPECT_EQ(NormalizePrompt(" \t\n "), "");
}

TEST(NormalizePromptTest, PunctuationSeparatesWords) {
  EXPECT_EQ(NormalizePrompt("a red fox in the snow."), "a red fox in the snow");
  EXPECT_EQ(NormalizePrompt("\"A red fox\" (in the snow)!!!"), "a red fox in the snow");
  EXPECT_EQ(NormalizePrompt("black-and-white photo"), "black and white photo");
  EXPECT_EQ(NormalizePrompt("a cat, sitting on a mat..."), "a cat sitting on a mat");
  EXPECT_EQ(NormalizePrompt("snow_covered__hills"), "snow covered hills");
  EXPECT_EQ(NormalizePrompt("don\u2019t panic"), "don't panic");
  EXPECT_EQ(NormalizePrompt("the dogs' toys"), "the dogs toys");
}

TEST(NormalizePromptTest, KeepsPunctuationInsideNumbers) {
  EXPECT_EQ(NormalizePrompt("a 3.5 meter robot."), "a 3.5 meter robot");
  ExpectDifferentForm("a 3.5 meter robot", "a 3 5 meter robot");
  ExpectDifferentForm("a 3.5 meter robot", "a 35 meter robot");
  EXPECT_EQ(NormalizePrompt("1,000 lanterns"), "1,000 lanterns");
  ExpectDifferentForm("1,000 lanterns", "1 000 lanterns");
  EXPECT_EQ(NormalizePrompt("aspect 16:9 with 5-10 birds"), "aspect 16:9 with 5-10 birds");
  EXPECT_EQ(NormalizePrompt("-5 degrees for .5 seconds"), "-5 degrees for .5 seconds");
  ExpectDifferentForm("-5 degrees", "5 degrees");
  EXPECT_EQ(NormalizePrompt("1/2 moon"), "1/2 moon");
  EXPECT_EQ(NormalizePrompt("\u00bd moon"), "1/2 moon");  // NFKC: 1 FRACTION SLASH 2
  EXPECT_EQ(NormalizePrompt("4K UHD"), "4k uhd");
  EXPECT_EQ(NormalizePrompt("the end.5 more"), "the end 5 more");
}

TEST(NormalizePromptTest, KeepsMeaningfulSymbols) {
  EXPECT_EQ(NormalizePrompt("50% opacity"), "50 % opacity");
  ExpectDifferentForm("50% opacity", "50 opacity");
  EXPECT_EQ(NormalizePrompt("black & white"), "black & white");
  EXPECT_EQ(NormalizePrompt("$5 bill"), "$ 5 bill");
  ExpectDifferentForm("a \U0001F431 on a sofa", "a \U0001F436 on a sofa");
  ExpectDifferentForm("\U0001F44D\U0001F3FB", "\U0001F44D\U0001F3FF");  // skin tones
}

TEST(NormalizePromptTest, UnicodeCompatibilityForms) {
  ExpectSameForm("\uff21 red fox", "a red fox");  // fullwidth A
  ExpectSameForm("\ufb01re truck in a \ufb02ower \ufb01eld", "fire truck in a flower field");
  ExpectSameForm("caf\u00e9 au lait", "cafe\u0301 au lait");  // composed / decomposed
  ExpectSameForm("\u2460 apple", "1 apple");                  // circled digit
  ExpectSameForm("a red\u200b fox", "a red fox");             // zero-width space
  ExpectSameForm("snow\u00adfall", "snowfall");               // soft hyphen
  ExpectSameForm("wait\u2026", "wait...");
  ExpectSameForm("\u201cquoted\u201d", "\"quoted\"");
  ExpectSameForm("\uff14\uff4b", "4k");
}

TEST(NormalizePromptTest, KeepsAccents) {
  // An accent can carry meaning (año / ano, résumé / resume): not stripped.
  ExpectDifferentForm("a\u00f1o nuevo", "ano nuevo");
  ExpectDifferentForm("r\u00e9sum\u00e9", "resume");
}

TEST(NormalizePromptTest, SortsCommaSeparatedTags) {
  EXPECT_EQ(NormalizePrompt("4k, trending, detailed"), "4k, detailed, trending");
  ExpectSameForm("4k, trending, detailed", "detailed, 4k, trending");
  ExpectSameForm("4K,trending ,DETAILED", "detailed; 4k | trending");
  ExpectSameForm("cyberpunk city, neon lights, rain, night",
                 "night, rain, cyberpunk city, neon lights");
  ExpectSameForm("highly detailed, trending on artstation, sharp focus",
                 "sharp focus, highly detailed, trending on artstation");
  ExpectSameForm("4k\ndetailed\ntrending", "trending, 4k, detailed");
}

TEST(NormalizePromptTest, SortsOnlyTheTagTailAfterASentence) {
  EXPECT_EQ(NormalizePrompt("A red fox in the snow, watercolor, 4k, detailed"),
            "a red fox in the snow, 4k, detailed, watercolor");
  ExpectSameForm("a red fox in the snow, 4k, detailed", "a red fox in the snow, detailed, 4k");
  EXPECT_EQ(NormalizePrompt("A fox. 4k, hd"), "a fox. 4k, hd");
  ExpectSameForm("A fox. HD, 4K", "a fox. 4k, hd");
  // A single tag after the sentence: nothing to sort, commas collapse.
  EXPECT_EQ(NormalizePrompt("a red fox in the snow, watercolor"),
            "a red fox in the snow watercolor");
}

TEST(NormalizePromptTest, NeverReordersASentence) {
  ExpectDifferentForm("a cat, sitting on a mat", "sitting on a mat, a cat");
  ExpectDifferentForm("a dog chasing a cat", "a cat chasing a dog");
  ExpectDifferentForm("a man, a dog, chasing, a cat", "a man, a cat, chasing, a dog");
  // A verb relating two things keeps the list in order.
  ExpectDifferentForm("dog, chasing, cat", "cat, chasing, dog");
  ExpectDifferentForm("dog, bites, man", "man, bites, dog");
  ExpectDifferentForm("dog, stalking, cat", "cat, stalking, dog");
  // So does a connector standing alone.
  ExpectDifferentForm("dog, on, cat, 4k", "cat, on, dog, 4k");
  ExpectDifferentForm("fox, and, hound", "hound, and, fox");
  // Periods are sentence ends, not list separators.
  ExpectDifferentForm("Mr. Smith, Dr. Jones", "Dr. Smith, Mr. Jones");
  // Lone colours or numbers may be a sequence: stripes, red, white, blue.
  ExpectDifferentForm("a flag with three stripes, red, white, blue",
                      "a flag with three stripes, blue, white, red");
  ExpectDifferentForm("steps, 1, 2, 3", "steps, 3, 2, 1");
  ExpectSameForm("a flag, red stripes, blue stars, 4k", "a flag, blue stars, red stripes, 4k");
  ExpectSameForm("a castle, 8k, 4k, 1080p, hdr", "a castle, hdr, 4k, 1080p, 8k");
  // A preposition stays with its object inside a tag.
  ExpectDifferentForm("cat, on dog, 4k, hd", "dog, on cat, 4k, hd");
}

TEST(NormalizePromptTest, IsIdempotent) {
  for (std::string_view prompt :
       {"A red fox in the snow, watercolor, 4k, detailed", "A fox. HD, 4K", "Mr. Smith, Dr. Jones",
        "red, glowing, 4k, hd", "a cat, sitting on a mat, 4k, hd", "dog, on, cat",
        "\u0149 \u00b4 \u1e9e test", "-5, .5, 3.5.", "\U0001F44D\U0001F3FB, x, y",
        "A b. c, d; e | f\ng", "fox, 4k, hd, , ,", "caf\u00e9, cafe\u0301"}) {
    const std::string once = NormalizePrompt(prompt);
    EXPECT_EQ(NormalizePrompt(once), once) << prompt;
  }
}

TEST(NormalizePromptTest, KeepsInvalidUtf8ByteForByte) {
  const std::string invalid = "a \xc3\x28 fox";
  EXPECT_EQ(NormalizePrompt(invalid), invalid);
  EXPECT_NE(NormalizePrompt(invalid), NormalizePrompt("a ( fox"));
  const std::string nul("a\0b", 3);
  EXPECT_EQ(NormalizePrompt(nul), "a b");
}

}  // namespace
}  // namespace gencache::neardup
