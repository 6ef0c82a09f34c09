#include "gencache/neardup/lexicon.hpp"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace gencache::neardup {
namespace {

using WordSet = absl::flat_hash_set<std::string_view>;

WordSet MakeSet(std::initializer_list<std::string_view> words) { return WordSet(words); }

// Number words, ordinals and words that state a quantity: changing any of
// them changes how many things are depicted.
const WordSet& NumberWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "zero",      "one",       "two",     "three",      "four",     "five",      "six",
      "seven",     "eight",     "nine",    "ten",        "eleven",   "twelve",    "thirteen",
      "fourteen",  "fifteen",   "sixteen", "seventeen",  "eighteen", "nineteen",  "twenty",
      "thirty",    "forty",     "fifty",   "sixty",      "seventy",  "eighty",    "ninety",
      "hundred",   "thousand",  "million", "billion",    "hundreds", "thousands", "millions",
      "billions",  "dozen",     "dozens",  "first",      "second",   "third",     "fourth",
      "fifth",     "sixth",     "seventh", "eighth",     "ninth",    "tenth",     "eleventh",
      "twelfth",   "last",      "half",    "halves",     "quarter",  "single",    "double",
      "triple",    "quadruple", "twin",    "twins",      "triplets", "pair",      "pairs",
      "couple",    "few",       "fewer",   "several",    "many",     "multiple",  "numerous",
      "countless", "lots",      "both",    "all",        "every",    "each",      "some",
      "various",   "lone",      "solo",    "only",       "alone",    "once",      "twice",
      "thrice",    "more",      "most",    "less",       "least",    "much",      "group",
      "crowd",     "bunch",     "herd",    "flock",      "swarm",    "trio",      "duo",
      "quartet",   "another",   "extra",   "additional", "solitary",
  }));
  return *kWords;
}

const WordSet& NegationWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "no",      "not",    "without", "never",  "none",    "nothing",  "nobody",    "nowhere",
      "neither", "nor",    "non",     "cannot", "cant",    "dont",     "doesnt",    "isnt",
      "arent",   "wasnt",  "werent",  "wont",   "wouldnt", "shouldnt", "couldnt",   "didnt",
      "hasnt",   "havent", "hadnt",   "aint",   "mustnt",  "neednt",   "lacking",   "missing",
      "absent",  "minus",  "free",    "less",   "un",      "anti",     "excluding", "except",
  }));
  return *kWords;
}

// Colour names and the words that pick a shade of one.
const WordSet& ColourWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "red",         "blue",          "green",      "yellow",       "orange",     "purple",
      "violet",      "pink",          "brown",      "black",        "white",      "grey",
      "gray",        "silver",        "gold",       "golden",       "beige",      "tan",
      "teal",        "turquoise",     "cyan",       "magenta",      "maroon",     "navy",
      "indigo",      "lavender",      "lilac",      "crimson",      "scarlet",    "burgundy",
      "ruby",        "emerald",       "olive",      "lime",         "mint",       "coral",
      "salmon",      "peach",         "amber",      "bronze",       "copper",     "ivory",
      "cream",       "khaki",         "charcoal",   "azure",        "cobalt",     "sapphire",
      "jade",        "aqua",          "aquamarine", "fuchsia",      "mauve",      "ochre",
      "ocher",       "sepia",         "rust",       "rusty",        "rose",       "plum",
      "mustard",     "chartreuse",    "vermilion",  "vermillion",   "cerulean",   "periwinkle",
      "blond",       "blonde",        "brunette",   "auburn",       "ginger",     "platinum",
      "redhead",     "reddish",       "bluish",     "greenish",     "yellowish",  "pinkish",
      "brownish",    "blackish",      "whitish",    "greyish",      "grayish",    "purplish",
      "orangey",     "colorful",      "colourful",  "multicolored", "multicolor", "rainbow",
      "monochrome",  "monochromatic", "grayscale",  "greyscale",    "colorless",  "colourless",
      "dark",        "darker",        "light",      "lighter",      "pale",       "paler",
      "bright",      "brighter",      "deep",       "vivid",        "muted",      "neon",
      "pastel",      "pastels",       "saturated",  "desaturated",  "faded",      "transparent",
      "translucent", "opaque",        "tinted",
  }));
  return *kWords;
}

const WordSet& SizeWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "small",       "smaller", "smallest",  "large",       "larger",  "largest",    "big",
      "bigger",      "biggest", "tiny",      "tinier",      "tiniest", "huge",       "huger",
      "giant",       "giants",  "gigantic",  "enormous",    "massive", "little",     "littler",
      "miniature",   "mini",    "micro",     "microscopic", "tall",    "taller",     "tallest",
      "short",       "shorter", "shortest",  "long",        "longer",  "longest",    "wide",
      "wider",       "widest",  "narrow",    "narrower",    "thin",    "thinner",    "thick",
      "thicker",     "fat",     "fatter",    "slim",        "skinny",  "broad",      "colossal",
      "vast",        "petite",  "oversized", "undersized",  "medium",  "compact",    "immense",
      "towering",    "shallow", "deeper",    "high",        "higher",  "highest",    "low",
      "lower",       "lowest",  "mega",      "jumbo",       "titanic", "monumental", "dwarf",
      "pocket",      "toy",     "baby",      "xl",          "xxl",     "xs",         "heavy",
      "lightweight", "chubby",  "plump",     "lanky",       "stout",   "stocky",     "slender",
      "wee",         "teeny",   "mammoth",   "mighty",      "grand",   "full-size",  "life-size",
      "lifesize",    "scale",   "close-up",  "closeup",     "macro",
  }));
  return *kWords;
}

const WordSet& DirectionWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "left",
      "right",
      "up",
      "down",
      "above",
      "below",
      "over",
      "under",
      "beneath",
      "underneath",
      "behind",
      "front",
      "back",
      "backwards",
      "backward",
      "forward",
      "forwards",
      "north",
      "south",
      "east",
      "west",
      "northern",
      "southern",
      "eastern",
      "western",
      "northeast",
      "northwest",
      "southeast",
      "southwest",
      "top",
      "bottom",
      "upward",
      "upwards",
      "downward",
      "downwards",
      "sideways",
      "inside",
      "outside",
      "into",
      "onto",
      "out",
      "toward",
      "towards",
      "away",
      "facing",
      "upside",
      "clockwise",
      "counterclockwise",
      "anticlockwise",
      "vertical",
      "vertically",
      "horizontal",
      "horizontally",
      "diagonal",
      "diagonally",
      "upstream",
      "downstream",
      "uphill",
      "downhill",
      "ascending",
      "descending",
      "near",
      "far",
      "beside",
      "between",
      "in",
      "on",
      "at",
      "off",
      "within",
      "across",
      "along",
      "around",
      "through",
      "upon",
      "atop",
      "leftward",
      "rightward",
      "upright",
      "inverted",
      "mirrored",
      "flipped",
      "rear",
      "side",
      "profile",
      "overhead",
      "aerial",
      "underwater",
      "indoors",
      "outdoors",
      "indoor",
      "outdoor",
      "uptown",
      "downtown",
      "upstairs",
      "downstairs",
      "ahead",
      "before",
      "after",
      "past",
      "beyond",
      "opposite",
      "against",
      "from",
      "to",
      "rising",
      "sinking",
      "climbing",
      "falling",
      "landing",
  }));
  return *kWords;
}

const WordSet& StopWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({"a", "an", "the"}));
  return *kWords;
}

// Verbs whose subject and object swap roles when their arguments swap
// ("a dog chasing a cat"): a comma segment holding one is part of a clause.
const WordSet& RelationVerbs() {
  static const WordSet* const kWords = [] {
    auto* words = new WordSet();
    static const char* const kStems[] = {
        "chase",  "eat",     "hold",     "ride",     "bite",    "feed",   "carry",  "follow",
        "attack", "kill",    "watch",    "push",     "pull",    "catch",  "lick",   "drive",
        "throw",  "grab",    "lift",     "rescue",   "protect", "shoot",  "stab",   "sniff",
        "chew",   "swallow", "devour",   "stalk",    "greet",   "meet",   "marry",  "teach",
        "tickle", "scare",   "frighten", "see",      "stare",   "admire", "kidnap", "capture",
        "defeat", "punch",   "slap",     "strangle", "choke",   "crush",  "squash", "trample",
        "pursue", "stalk",   "ambush",   "cuddle",   "embrace", "hold",   "carry",
    };
    for (const char* stem : kStems) words->insert(stem);
    static const char* const kForms[] = {
        "chases",     "chased",   "chasing",    "eats",      "ate",        "eaten",
        "eating",     "holds",    "held",       "holding",   "rides",      "rode",
        "ridden",     "riding",   "bites",      "bitten",    "biting",     "hugs",
        "hugged",     "hugging",  "kisses",     "kissed",    "kissing",    "feeds",
        "feeding",    "carries",  "carried",    "carrying",  "follows",    "followed",
        "following",  "attacks",  "attacked",   "attacking", "kills",      "killed",
        "killing",    "watches",  "watched",    "watching",  "loves",      "loved",
        "loving",     "hates",    "hated",      "hating",    "pushes",     "pushed",
        "pushing",    "pulls",    "pulled",     "pulling",   "catches",    "caught",
        "catching",   "hunts",    "hunted",     "hunting",   "fights",     "fought",
        "fighting",   "hitting",  "kicks",      "kicked",    "kicking",    "licks",
        "licked",     "licking",  "petted",     "petting",   "drives",     "drove",
        "driven",     "driving",  "reads",      "reading",   "wears",      "wore",
        "worn",       "wearing",  "cutting",    "throws",    "threw",      "thrown",
        "throwing",   "grabs",    "grabbed",    "grabbing",  "lifts",      "lifted",
        "lifting",    "helps",    "helped",     "helping",   "saves",      "saved",
        "saving",     "rescues",  "rescued",    "rescuing",  "protects",   "protected",
        "protecting", "guarded",  "guarding",   "touches",   "touched",    "touching",
        "shoots",     "shooting", "sniffs",     "sniffed",   "sniffing",   "chews",
        "chewed",     "chewing",  "devours",    "devoured",  "devouring",  "stalks",
        "stalked",    "stalking", "greets",     "greeted",   "greeting",   "meets",
        "meeting",    "marries",  "married",    "marrying",  "teaches",    "taught",
        "teaching",   "sees",     "seen",       "seeing",    "looked",     "looking",
        "stares",     "stared",   "staring",    "beaten",    "beating",    "punches",
        "punched",    "punching", "crushes",    "crushed",   "crushing",   "leading",
        "sits",       "sitting",  "stood",      "standing",  "lies",       "lying",
        "leans",      "leaning",  "walked",     "walking",   "played",     "playing",
        "flies",      "flew",     "flown",      "flying",    "drags",      "dragged",
        "dragging",   "tows",     "towing",     "serves",    "serving",    "cooks",
        "cooking",    "washes",   "washing",    "owns",      "owning",     "having",
        "brings",     "brought",  "bringing",   "takes",     "took",       "taking",
        "gives",      "gave",     "giving",     "showing",   "pointing",   "aims",
        "aiming",     "covering", "hides",      "hiding",    "replaces",   "replacing",
        "becomes",    "became",   "becoming",   "turning",   "transforms", "transforming",
        "battles",    "battling", "scares",     "scaring",   "fears",      "admires",
        "admiring",   "cuddles",  "cuddling",   "embraces",  "embracing",  "tickles",
        "tickling",   "kidnaps",  "kidnapping", "captures",  "capturing",  "defeats",
        "defeating",  "slaps",    "slapping",   "tramples",  "trampling",  "pursues",
        "pursuing",
    };
    for (const char* form : kForms) words->insert(form);
    // Determiners, pronouns and copulas: a segment with one is a clause.
    for (std::string_view word :
         {"a",     "an",    "the", "this",  "that",  "these", "those", "my",    "your",
          "his",   "her",   "its", "our",   "their", "he",    "she",   "it",    "they",
          "him",   "them",  "we",  "us",    "i",     "me",    "you",   "who",   "whom",
          "whose", "which", "is",  "are",   "was",   "were",  "been",  "being", "has",
          "had",   "does",  "did", "would", "could", "should"}) {
      words->insert(word);
    }
    return words;
  }();
  return *kWords;
}

// Words ending in -ing that name a style or a state rather than an action on
// something, so they may stand in an order-free tag list.
const WordSet& TagIngWords() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "trending",   "lighting",     "rendering",    "painting",    "paintings",   "drawing",
      "drawings",   "shading",      "clothing",     "building",    "buildings",   "ceiling",
      "morning",    "evening",      "wedding",      "string",      "spring",      "something",
      "nothing",    "anything",     "everything",   "stunning",    "amazing",     "interesting",
      "glowing",    "shining",      "sparkling",    "dazzling",    "striking",    "charming",
      "flowing",    "outstanding",  "breathtaking", "inspiring",   "relaxing",    "calming",
      "soothing",   "haunting",     "captivating",  "intriguing",  "alluring",    "blinding",
      "floating",   "matching",     "contrasting",  "fading",      "dripping",    "melting",
      "burning",    "rolling",      "swirling",     "towering",    "sprawling",   "bustling",
      "winding",    "shimmering",   "glittering",   "gleaming",    "blooming",    "twinkling",
      "sleeping",   "smiling",      "laughing",     "crying",      "dancing",     "swimming",
      "jumping",    "running",      "singing",      "raining",     "snowing",     "storming",
      "thundering", "misting",      "ring",         "king",        "wing",        "thing",
      "swing",      "sling",        "ceilings",     "wings",       "rings",       "kings",
      "things",     "earrings",     "earring",      "pudding",     "dumpling",    "dumplings",
      "sibling",    "siblings",     "stocking",     "stockings",   "icing",       "frosting",
      "topping",    "toppings",     "seasoning",    "dressing",    "stuffing",    "filling",
      "landing",    "housing",      "railing",      "flooring",    "roofing",     "framing",
      "lettering",  "engraving",    "etching",      "carving",     "sculpting",   "printing",
      "inking",     "sketching",    "texturing",    "modeling",    "modelling",   "compositing",
      "retouching", "upscaling",    "sharpening",   "coloring",    "colouring",   "blending",
      "layering",   "photobashing", "raytracing",   "pathtracing", "outstanding", "interesting",
      "exciting",   "appealing",    "pleasing",     "fitting",     "loving",      "uplifting",
      "menacing",   "terrifying",   "horrifying",   "unsettling",  "lightning",   "viking",
      "vikings",    "duckling",     "ducklings",    "darling",     "winning",     "sapling",
      "seedling",   "herring",      "awning",       "offspring",   "bling",       "disturbing",
      "imposing",   "dominating",   "sweeping",     "rising",      "setting",     "falling",
      "flickering", "billowing",    "cascading",    "dazzling",    "gleaming",
  }));
  return *kWords;
}

const WordSet& Connectors() {
  static const WordSet* const kWords = new WordSet(MakeSet({
      "on",      "in",      "at",     "under",   "over",       "above",   "below",   "behind",
      "beside",  "between", "by",     "near",    "with",       "without", "from",    "to",
      "into",    "onto",    "of",     "for",     "against",    "vs",      "versus",  "and",
      "or",      "but",     "than",   "like",    "inside",     "outside", "through", "toward",
      "towards", "across",  "around", "beneath", "among",      "upon",    "via",     "then",
      "while",   "as",      "next",   "atop",    "underneath", "before",  "after",   "beyond",
      "nor",     "plus",    "minus",  "vs.",     "x",          "&",       "+",       "=",
      ">",       "<",       "→",      "←",       "so",         "because", "if",
  }));
  return *kWords;
}

const absl::flat_hash_map<std::string_view, std::string_view>& Canonical() {
  static const auto* const kMap = new absl::flat_hash_map<std::string_view, std::string_view>{
      {"zero", "0"},
      {"one", "1"},
      {"two", "2"},
      {"three", "3"},
      {"four", "4"},
      {"five", "5"},
      {"six", "6"},
      {"seven", "7"},
      {"eight", "8"},
      {"nine", "9"},
      {"ten", "10"},
      {"eleven", "11"},
      {"twelve", "12"},
      {"thirteen", "13"},
      {"fourteen", "14"},
      {"fifteen", "15"},
      {"sixteen", "16"},
      {"seventeen", "17"},
      {"eighteen", "18"},
      {"nineteen", "19"},
      {"twenty", "20"},
      {"thirty", "30"},
      {"forty", "40"},
      {"fifty", "50"},
      {"sixty", "60"},
      {"seventy", "70"},
      {"eighty", "80"},
      {"ninety", "90"},
      {"hundred", "100"},
      {"thousand", "1000"},
      {"dozen", "12"},
      {"first", "1st"},
      {"second", "2nd"},
      {"third", "3rd"},
      {"fourth", "4th"},
      {"fifth", "5th"},
      {"sixth", "6th"},
      {"seventh", "7th"},
      {"eighth", "8th"},
      {"ninth", "9th"},
      {"tenth", "10th"},
      {"eleventh", "11th"},
      {"twelfth", "12th"},
      {"grey", "gray"},
      {"greyish", "grayish"},
      {"greyscale", "grayscale"},
      {"colour", "color"},
      {"colours", "colors"},
      {"coloured", "colored"},
      {"colourful", "colorful"},
      {"colourless", "colorless"},
      {"colouring", "coloring"},
      {"centre", "center"},
      {"theatre", "theater"},
      {"favourite", "favorite"},
      {"armour", "armor"},
      {"harbour", "harbor"},
      {"jewellery", "jewelry"},
      {"aluminium", "aluminum"},
      {"doughnut", "donut"},
      {"doughnuts", "donuts"},
      {"tyre", "tire"},
      {"tyres", "tires"},
      {"modelling", "modeling"},
      {"vermillion", "vermilion"},
      {"ocher", "ochre"},
      {"grey-blue", "gray-blue"},
      {"metre", "meter"},
      {"metres", "meters"},
      {"litre", "liter"},
      {"neighbour", "neighbor"},
      {"neighbourhood", "neighborhood"},
      {"flavour", "flavor"},
      {"honour", "honor"},
      {"labour", "labor"},
      {"mould", "mold"},
      {"moustache", "mustache"},
      {"pyjamas", "pajamas"},
      {"plough", "plow"},
      {"sceptre", "scepter"},
      {"sombre", "somber"},
      {"spectre", "specter"},
      {"vapour", "vapor"},
      {"glamour", "glamor"},
      {"catalogue", "catalog"},
      {"realise", "realize"},
      {"stylised", "stylized"},
      {"stylise", "stylize"},
      {"organised", "organized"},
      {"cosy", "cozy"},
      {"whisky", "whiskey"},
      {"ok", "okay"},
  };
  return *kMap;
}

const absl::flat_hash_map<std::string_view, std::string_view>& IrregularPlurals() {
  static const auto* const kMap = new absl::flat_hash_map<std::string_view, std::string_view>{
      {"man", "men"},
      {"woman", "women"},
      {"child", "children"},
      {"person", "people"},
      {"mouse", "mice"},
      {"goose", "geese"},
      {"foot", "feet"},
      {"tooth", "teeth"},
      {"ox", "oxen"},
      {"cactus", "cacti"},
      {"fungus", "fungi"},
      {"die", "dice"},
      {"louse", "lice"},
      {"fireman", "firemen"},
      {"policeman", "policemen"},
      {"snowman", "snowmen"},
      {"gentleman", "gentlemen"},
      {"knife", "knives"},
      {"wife", "wives"},
      {"life", "lives"},
      {"leaf", "leaves"},
      {"wolf", "wolves"},
      {"elf", "elves"},
      {"shelf", "shelves"},
      {"calf", "calves"},
      {"loaf", "loaves"},
      {"thief", "thieves"},
      {"half", "halves"},
      {"scarf", "scarves"},
      {"dwarf", "dwarves"},
      {"octopus", "octopi"},
      {"nucleus", "nuclei"},
      {"radius", "radii"},
      {"alumnus", "alumni"},
      {"criterion", "criteria"},
      {"phenomenon", "phenomena"},
      {"bacterium", "bacteria"},
      {"datum", "data"},
      {"medium", "media"},
      {"index", "indices"},
      {"matrix", "matrices"},
      {"vertex", "vertices"},
      {"axis", "axes"},
      {"crisis", "crises"},
      {"thesis", "theses"},
  };
  return *kMap;
}

// The word list as two sets, both case-folded: lower-case entries (common
// words) and capitalised ones (names). The sets hold views of `storage`, as
// Debian's Abseil looks up std::string keys by absl::string_view only.
struct Dictionary {
  std::deque<std::string> storage;
  WordSet common;
  WordSet proper;
};

std::string CaseFold(std::string_view word) {
  bool ascii = true;
  for (char c : word) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(word);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                   static_cast<utf8proc_ssize_t>(word.size()), &folded,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                  UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
  if (n < 0) return std::string(word);
  std::string out(reinterpret_cast<const char*>(folded), static_cast<std::size_t>(n));
  std::free(folded);
  return out;
}

const Dictionary& GetDictionary() {
  static const Dictionary* const kDictionary = [] {
    auto* dictionary = new Dictionary();
    dictionary->common.reserve(90000);
    dictionary->proper.reserve(24000);
    for (std::string_view chunk : WordListChunks()) {
      while (!chunk.empty()) {
        std::size_t end = chunk.find('\n');
        if (end == std::string_view::npos) end = chunk.size();
        std::string_view line = chunk.substr(0, end);
        chunk.remove_prefix(end == chunk.size() ? end : end + 1);
        if (line.empty()) continue;
        std::int32_t first = 0;
        utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(line.data()),
                         static_cast<utf8proc_ssize_t>(line.size()), &first);
        const utf8proc_category_t category =
            first > 0 ? utf8proc_category(first) : UTF8PROC_CATEGORY_CN;
        const bool capitalised =
            category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LT;
        dictionary->storage.push_back(CaseFold(line));
        (capitalised ? dictionary->proper : dictionary->common).insert(dictionary->storage.back());
      }
    }
    return dictionary;
  }();
  return *kDictionary;
}

}  // namespace

WordClass ClassifyWord(std::string_view word) {
  if (word.empty()) return WordClass::kOther;
  if (NegationWords().contains(word) || word.ends_with("n't")) return WordClass::kNegation;
  for (char c : word) {
    if (c >= '0' && c <= '9') return WordClass::kNumber;
  }
  if (NumberWords().contains(word)) return WordClass::kNumber;
  if (ColourWords().contains(word)) return WordClass::kColour;
  if (SizeWords().contains(word)) return WordClass::kSize;
  if (DirectionWords().contains(word)) return WordClass::kDirection;
  return WordClass::kOther;
}

bool IsDictionaryWord(std::string_view word) { return GetDictionary().common.contains(word); }

bool IsProperNoun(std::string_view word) {
  const Dictionary& dictionary = GetDictionary();
  return dictionary.proper.contains(word) && !dictionary.common.contains(word);
}

bool IsStopWord(std::string_view word) { return StopWords().contains(word); }

bool IsTagBreaker(std::string_view word) {
  if (RelationVerbs().contains(word)) return true;
  // An unknown -ing word may be a verb taking an object: not a tag.
  return word.size() >= 6 && word.ends_with("ing") && !TagIngWords().contains(word);
}

bool IsConnector(std::string_view word) { return Connectors().contains(word); }

std::string_view CanonicalWord(std::string_view word) {
  const auto& map = Canonical();
  if (auto it = map.find(word); it != map.end()) return it->second;
  return word;
}

bool IsPluralPair(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  if (a.empty() || a == b) return false;
  const auto& irregular = IrregularPlurals();
  if (auto it = irregular.find(a); it != irregular.end() && it->second == b) return true;
  if (auto it = irregular.find(b); it != irregular.end() && it->second == a) return true;
  if (b.starts_with(a)) {
    // "bus" / "buses", but not "meals" / "mealss".
    const std::string_view tail = b.substr(a.size());
    return (tail == "s" && !a.ends_with('s')) || tail == "es";
  }
  // city / cities, wolf / wolves, knife / knives.
  const auto replaces = [&](std::string_view singular_end, std::string_view plural_end) {
    return a.ends_with(singular_end) && b.ends_with(plural_end) &&
           a.substr(0, a.size() - singular_end.size()) == b.substr(0, b.size() - plural_end.size());
  };
  return replaces("y", "ies") || replaces("f", "ves") || replaces("fe", "ves");
}

}  // namespace gencache::neardup
