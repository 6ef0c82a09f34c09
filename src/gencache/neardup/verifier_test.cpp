#include "gencache/neardup/verifier.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gencache/neardup/lexicon.hpp"

namespace gencache::neardup {
namespace {

void ExpectSame(std::string_view a, std::string_view b) {
  const Verdict verdict = VerifySameMeaning(a, b);
  EXPECT_TRUE(verdict.same_meaning) << "'" << a << "' vs '" << b << "': " << verdict.reason;
  EXPECT_EQ(verdict.reason, "");
  EXPECT_TRUE(VerifySameMeaning(b, a).same_meaning) << "not symmetric: '" << a << "'";
}

void ExpectDifferent(std::string_view a, std::string_view b, std::string_view reason) {
  const Verdict verdict = VerifySameMeaning(a, b);
  EXPECT_FALSE(verdict.same_meaning) << "'" << a << "' vs '" << b << "'";
  EXPECT_EQ(verdict.reason, reason) << "'" << a << "' vs '" << b << "'";
  const Verdict reverse = VerifySameMeaning(b, a);
  EXPECT_FALSE(reverse.same_meaning) << "not symmetric: '" << a << "'";
  EXPECT_EQ(reverse.reason, verdict.reason) << "not symmetric: '" << a << "'";
}

TEST(VerifySameMeaningTest, AcceptsTheIssueExamples) {
  ExpectSame("A red fox in the snow", "a red fox in the snow.");
  ExpectSame("A red fox in the snow", "red fox in snow");
  ExpectSame("A red fox in the snow", "a red fox in the snwo");
  ExpectSame("red fox in snow", "a red fox in the snwo");
  ExpectSame("4k, trending, detailed", "detailed, 4k, trending");
}

TEST(VerifySameMeaningTest, ToleratesArticles) {
  ExpectSame("a cat on the sofa", "cat on sofa");
  ExpectSame("a cat on the sofa", "the cat on a sofa");
  ExpectSame("an owl at night", "the owl at night");
}

TEST(VerifySameMeaningTest, ToleratesTyposInLongerWords) {
  ExpectSame("a beautiful mountain lake", "a beautful mountian lake");
  ExpectSame("gothic architecture at dusk", "gothic achitecure at dusk");  // two edits, 12 letters
  ExpectSame("a yellow submarine", "a yelow submarine");
  ExpectSame("a portrait, highly detailed, 4k", "a portrait, highly detialed, 4k");
  ExpectSame("a dog that doesn't bark", "a dog that doesnt bark");
}

TEST(VerifySameMeaningTest, TypoToleranceHasLimits) {
  // Two edits in a word of fewer than eight letters.
  ExpectDifferent("a purple flower", "a pruplw flower", "colour");
  ExpectDifferent("a wooden table", "a wodnen table", "word");
  // Short words are never typos.
  ExpectDifferent("a cat on a roof", "a car on a roof", "word");
  ExpectDifferent("a red door", "a rod door", "colour");
  // Two real words are two words, however close.
  ExpectDifferent("a horse in a field", "a house in a field", "word");
  ExpectDifferent("a goat on a hill", "a boat on a hill", "word");
  ExpectDifferent("a mouse in the kitchen", "a moose in the kitchen", "word");
  ExpectDifferent("a bright star", "a bright scar", "word");
}

TEST(VerifySameMeaningTest, ToleratesUnicodeAndSpellingVariants) {
  ExpectSame("caf\u00e9 terrace at night", "cafe\u0301 terrace at night");
  ExpectSame("a grey cat", "a gray cat");
  ExpectSame("the colour of autumn", "the color of autumn");
  ExpectSame("two cats", "2 cats");
  ExpectSame("the first snow", "the 1st snow");
  ExpectSame("1,000 lanterns", "1000 lanterns");
  ExpectSame("a dozen eggs", "12 eggs");
}

TEST(VerifySameMeaningTest, RejectsNumberChanges) {
  ExpectDifferent("two cats on a sofa", "three cats on a sofa", "number");
  ExpectDifferent("2 cats on a sofa", "3 cats on a sofa", "number");
  ExpectDifferent("a cat on a sofa", "cats on a sofa", "number");
  ExpectDifferent("a cat on a sofa", "two cats on a sofa", "number");
  ExpectDifferent("a wolf in the snow", "wolves in the snow", "number");
  ExpectDifferent("a man on a bench", "men on a bench", "number");
  ExpectDifferent("a 3.5 meter robot", "a 35 meter robot", "number");
  ExpectDifferent("a 3.5 meter robot", "a 3 5 meter robot", "number");
  ExpectDifferent("a city at night, 4k", "a city at night, 8k", "number");
  ExpectDifferent("a single candle", "a candle", "number");
  ExpectDifferent("a pair of shoes", "shoes", "number");
  ExpectDifferent("a few birds", "several birds", "number");
}

TEST(VerifySameMeaningTest, RejectsColourChanges) {
  ExpectDifferent("a red car", "a blue car", "colour");
  ExpectDifferent("a light blue dress", "a dark blue dress", "colour");
  ExpectDifferent("a car", "a red car", "colour");
  ExpectDifferent("a teal door", "a turquoise door", "colour");
}

TEST(VerifySameMeaningTest, RejectsNegationChanges) {
  ExpectDifferent("a street with cars", "a street without cars", "negation");
  ExpectDifferent("a beach, no people", "a beach, people", "negation");
  ExpectDifferent("a man not smiling", "a man smiling", "negation");
  ExpectDifferent("non-toxic paint", "toxic paint", "negation");
  ExpectDifferent("a sign that says don't walk", "a sign that says walk", "negation");
  ExpectDifferent("a room with no windows", "a room with windows", "negation");
  ExpectDifferent("a never ending road", "an ending road", "negation");
}

TEST(VerifySameMeaningTest, RejectsSizeChanges) {
  ExpectDifferent("a small dog", "a large dog", "size");
  ExpectDifferent("a tiny house", "a house", "size");
  ExpectDifferent("a tall tower", "a short tower", "size");
}

TEST(VerifySameMeaningTest, RejectsDirectionChanges) {
  ExpectDifferent("a horse facing left", "a horse facing right", "direction");
  ExpectDifferent("a lamp above the table", "a lamp below the table", "direction");
  ExpectDifferent("a road going north", "a road going south", "direction");
  ExpectDifferent("a cat on the box", "a cat in the box", "direction");
  ExpectDifferent("an arrow pointing up", "an arrow pointing down", "direction");
}

TEST(VerifySameMeaningTest, RejectsEntityChanges) {
  ExpectDifferent("a portrait in the style of Monet", "a portrait in the style of Manet", "entity");
  ExpectDifferent("a street in Paris", "a street in London", "entity");
  // Names in lower case are known from the word list and never typo-matched.
  ExpectDifferent("a map of iran", "a map of iraq", "entity");
  // A capitalised word inside a sentence is a name: no typo tolerance.
  ExpectDifferent("art by Greg Rutkowski", "art by Greg Rutkowsky", "entity");
  // An article written as a name stays.
  ExpectDifferent("foods with vitamin A", "foods with vitamin", "entity");
}

TEST(VerifySameMeaningTest, RejectsDifferentWords) {
  ExpectDifferent("a cat on a sofa", "a dog on a sofa", "word");
  ExpectDifferent("a watercolor painting of a lake", "an oil painting of a lake", "word");
  ExpectDifferent("a photo of a bridge", "a sketch of a bridge", "word");
  ExpectDifferent("a cat on a sofa", "a cat sleeping on a sofa", "word");
  ExpectDifferent("black & white photo", "black and white photo", "word");
}

TEST(VerifySameMeaningTest, RejectsRoleSwaps) {
  ExpectDifferent("a dog chasing a cat", "a cat chasing a dog", "order");
  ExpectDifferent("a man riding a horse", "a horse riding a man", "order");
  ExpectDifferent("a cup on a book", "a book on a cup", "order");
  ExpectDifferent("dog, chasing, cat", "cat, chasing, dog", "order");
  // Even with a typo on one side.
  ExpectDifferent("a giraffe chasing a mouse", "a mouse chasing a girafe", "order");
}

TEST(VerifySameMeaningTest, ToleratesTagOrderWithOtherVariants) {
  ExpectSame("A castle on a hill, matte painting, 4k, trending on artstation",
             "a castle on a hill, trending on artstation, 4K, matte paintng");
  ExpectSame("a castle on a hill, 4k, detailed", "a castle on a hill 4k detailed");
}

TEST(VerifySameMeaningTest, HandlesEdgeCases) {
  ExpectSame("", "");
  ExpectSame("...", "!!!");
  ExpectDifferent("", "a cat", "word");
  const std::string invalid = "a \xc3\x28 fox";
  EXPECT_TRUE(VerifySameMeaning(invalid, invalid).same_meaning);
  ExpectDifferent(invalid, "a ( fox", "encoding");
}

TEST(LexiconTest, KnowsWordsAndNames) {
  EXPECT_TRUE(IsDictionaryWord("horse"));
  EXPECT_TRUE(IsDictionaryWord("house"));
  EXPECT_FALSE(IsDictionaryWord("snwo"));
  EXPECT_TRUE(IsProperNoun("paris"));
  EXPECT_FALSE(IsProperNoun("rose"));  // a name and a word
  EXPECT_TRUE(IsPluralPair("city", "cities"));
  EXPECT_TRUE(IsPluralPair("knives", "knife"));
  EXPECT_TRUE(IsPluralPair("box", "boxes"));
  EXPECT_FALSE(IsPluralPair("cat", "cart"));
  EXPECT_EQ(ClassifyWord("teal"), WordClass::kColour);
  EXPECT_EQ(ClassifyWord("isn't"), WordClass::kNegation);
  EXPECT_EQ(ClassifyWord("12"), WordClass::kNumber);
  EXPECT_EQ(CanonicalWord("seven"), "7");
}

}  // namespace
}  // namespace gencache::neardup
