// neardup_bench: measures near-duplicate lookup (normalise + embed + search
// + verify, NearDuplicateFinder::Lookup) over N cached prompts in one
// partition (the worst case: every prompt a candidate), and compares the HNSW
// search with brute-force cosine search over the same vectors in the same
// run (a VectorIndex that never builds a graph: the reference).
//
// For each N it reports: the time to Add N prompts (what a start-up rebuild
// costs), memory per entry (the index's own accounting and the process's RSS
// growth), p50/p99 of the full lookup for near-variant queries (a prompt of
// the index with case, spacing, punctuation, a typo or tag order changed)
// and for new prompts (misses), p50/p99 of embedding and of search alone,
// recall@1 of the graph against brute force and the speed ratio, how many
// variants the finder matched to their source, and Add latency and recall
// after churn (entries removed and new ones added, re-using graph slots).
//
// Prompts come from word lists with a fixed seed: every run sees the same
// prompts. Output: a markdown table per run on stdout.

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gencache/neardup/lexical_embedder.hpp"
#include "gencache/neardup/near_duplicate_finder.hpp"
#include "gencache/neardup/normalize.hpp"
#include "gencache/neardup/vector_index.hpp"
#include "gencache/neardup/verifier.hpp"

namespace {

using gencache::neardup::IndexEntry;
using gencache::neardup::LexicalEmbedder;
using gencache::neardup::NearDuplicateFinder;
using gencache::neardup::NormalizePrompt;
using gencache::neardup::VectorIndex;
using gencache::neardup::VectorIndexOptions;
using Clock = std::chrono::steady_clock;

const gencache::base::SystemTime kNow{std::chrono::seconds{1'700'000'000}};
const gencache::base::SystemTime kExpires = kNow + std::chrono::hours(24 * 7);
constexpr std::string_view kPartition = "bench-partition";

constexpr std::array kSubjects = {
    "lion",      "fox",         "owl",         "dragon",      "robot",      "astronaut",
    "samurai",   "castle",      "lighthouse",  "sailboat",    "cottage",    "waterfall",
    "mountain",  "forest",      "city",        "bridge",      "train",      "motorcycle",
    "violin",    "teapot",      "cathedral",   "knight",      "wizard",     "mermaid",
    "tiger",     "elephant",    "whale",       "hummingbird", "butterfly",  "cactus",
    "sunflower", "mushroom",    "volcano",     "glacier",     "desert",     "canyon",
    "river",     "harbor",      "market",      "library",     "greenhouse", "windmill",
    "spaceship", "submarine",   "airship",     "tram",        "bicycle",    "guitar",
    "piano",     "chess board", "clock tower", "lantern",     "kitten",     "puppy",
    "horse",     "deer",        "penguin",     "octopus",     "jellyfish",  "parrot",
    "wolf",      "bear",        "rabbit",      "dancer",      "fisherman",  "blacksmith",
    "gardener",  "chef",        "pilot",       "detective",   "monk",       "pirate",
    "queen",     "king",        "child",       "grandmother", "scientist",  "farmer",
    "painter",   "musician"};
constexpr std::array kAdjectives = {
    "majestic",   "tiny",      "ancient",   "futuristic", "cozy",       "abandoned", "glowing",
    "mysterious", "cheerful",  "lonely",    "giant",      "elegant",    "rustic",    "ornate",
    "weathered",  "shiny",     "fluffy",    "mechanical", "crystal",    "wooden",    "floating",
    "sleepy",     "fierce",    "gentle",    "colorful",   "minimalist", "whimsical", "gothic",
    "baroque",    "steampunk", "cyberpunk", "vintage",    "modern",     "serene",    "stormy",
    "frozen",     "burning",   "overgrown", "hidden",     "royal"};
constexpr std::array kColours = {"red",    "blue",    "green",   "golden", "silver",
                                 "black",  "white",   "purple",  "orange", "pink",
                                 "teal",   "crimson", "amber",   "ivory",  "emerald",
                                 "copper", "navy",    "scarlet", "violet", "turquoise"};
constexpr std::array kActions = {
    "standing on",    "resting near",   "flying over",    "hiding behind", "walking through",
    "sitting beside", "reflected in",   "emerging from",  "dancing in",    "sleeping under",
    "looking at",     "running across", "floating above", "guarding",      "exploring",
    "painted on",     "surrounded by",  "lit by",         "carved into",   "drifting past",
    "climbing",       "waiting at",     "perched on",     "crossing",      "watching",
    "reading beside", "playing near",   "lost in",        "rising from",   "falling into"};
constexpr std::array kPlaces = {
    "a misty lake",         "an old harbor",      "a neon city street", "a snowy forest",
    "a sunflower field",    "a desert canyon",    "a crowded market",   "a quiet library",
    "a stormy sea",         "a mountain pass",    "a bamboo grove",     "a coral reef",
    "an abandoned station", "a castle courtyard", "a rooftop garden",   "a candlelit hall",
    "a rainy alley",        "a frozen river",     "a lavender field",   "a volcanic island",
    "a moonlit beach",      "a foggy pier",       "a cherry orchard",   "a marble staircase",
    "a train platform",     "a glass greenhouse", "a cave of crystals", "a floating island",
    "a busy kitchen",       "an empty theater",   "a village square",   "a pine valley",
    "a cloud kingdom",      "a sunken temple",    "a jungle ruin",      "a salt flat",
    "a red canyon",         "a tulip meadow",     "a steel factory",    "an ice cave",
    "a night market",       "a windy cliff",      "a hot spring",       "a wheat field",
    "a lighthouse rock",    "an autumn park",     "a silent monastery", "a space station",
    "a paper city",         "a clockwork town"};
constexpr std::array kStyles = {"oil painting",      "watercolor",
                                "digital art",       "studio photograph",
                                "pencil sketch",     "3d render",
                                "anime style",       "pixel art",
                                "ukiyo-e woodblock", "art nouveau poster",
                                "charcoal drawing",  "low poly",
                                "claymation",        "stained glass",
                                "impressionist",     "surrealist",
                                "film photograph",   "isometric",
                                "comic book",        "concept art",
                                "matte painting",    "ink wash",
                                "pastel drawing",    "vector illustration",
                                "cinematic still",   "polaroid",
                                "tilt-shift photo",  "mosaic",
                                "linocut print",     "children's book illustration"};
constexpr std::array kLighting = {
    "golden hour", "soft light",      "dramatic lighting", "backlit",        "neon glow",
    "overcast",    "candlelight",     "moonlight",         "harsh sunlight", "volumetric fog",
    "rim light",   "studio lighting", "blue hour",         "firelight",      "aurora light"};
constexpr std::array kExtras = {"highly detailed",
                                "4k",
                                "8k",
                                "sharp focus",
                                "bokeh",
                                "wide angle",
                                "close-up",
                                "symmetrical",
                                "trending",
                                "award winning",
                                "intricate",
                                "masterpiece",
                                "octane render",
                                "depth of field",
                                "muted colors"};

template <typename Array>
std::string_view Pick(std::mt19937_64& rng, const Array& a) {
  return a[std::uniform_int_distribution<std::size_t>(0, a.size() - 1)(rng)];
}

std::string MakePrompt(std::mt19937_64& rng) {
  std::string prompt = fmt::format("a {} {} {} {} {}", Pick(rng, kAdjectives), Pick(rng, kColours),
                                   Pick(rng, kSubjects), Pick(rng, kActions), Pick(rng, kPlaces));
  prompt += fmt::format(", {}, {}", Pick(rng, kStyles), Pick(rng, kLighting));
  const int extras = std::uniform_int_distribution<int>(0, 2)(rng);
  for (int i = 0; i < extras; ++i) prompt += fmt::format(", {}", Pick(rng, kExtras));
  return prompt;
}

// N distinct prompts.
std::vector<std::string> MakePrompts(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<std::string> seen;
  std::vector<std::string> prompts;
  prompts.reserve(n);
  while (prompts.size() < n) {
    std::string p = MakePrompt(rng);
    if (seen.insert(p).second) prompts.push_back(std::move(p));
  }
  return prompts;
}

// A near variant of `prompt`: one or two of case, spacing, punctuation, a
// one-letter typo in a long word, or the order of the trailing tags.
std::string MakeVariant(const std::string& prompt, std::mt19937_64& rng) {
  std::string v = prompt;
  const int edits = std::uniform_int_distribution<int>(1, 2)(rng);
  for (int e = 0; e < edits; ++e) {
    switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
      case 0:  // Capitalised words.
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (i == 0 || v[i - 1] == ' ') v[i] = static_cast<char>(std::toupper(v[i]));
        }
        break;
      case 1: {  // Doubled spaces.
        std::string out;
        for (char c : v) {
          out += c;
          if (c == ' ') out += ' ';
        }
        v = out;
        break;
      }
      case 2:  // Trailing punctuation.
        v += ".";
        break;
      case 3: {  // A letter dropped from a word of 6+ letters.
        std::vector<std::size_t> starts;
        for (std::size_t i = 0; i < v.size(); ++i) {
          if ((i == 0 || v[i - 1] == ' ') && std::isalpha(static_cast<unsigned char>(v[i]))) {
            std::size_t end = i;
            while (end < v.size() && std::isalpha(static_cast<unsigned char>(v[end]))) ++end;
            if (end - i >= 6) starts.push_back(i);
          }
        }
        if (!starts.empty()) {
          const std::size_t s = starts[rng() % starts.size()];
          v.erase(s + 3, 1);
        }
        break;
      }
      case 4: {  // The last two comma-separated tags swapped.
        const std::size_t last = v.rfind(", ");
        if (last == std::string::npos) break;
        const std::size_t before = v.rfind(", ", last - 1);
        if (before == std::string::npos) break;
        const std::string a = v.substr(before + 2, last - before - 2);
        const std::string b = v.substr(last + 2);
        v = v.substr(0, before + 2) + b + ", " + a;
        break;
      }
    }
  }
  return v;
}

std::size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double mean = 0;
};

Percentiles Summarise(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  double sum = 0;
  for (double x : v) sum += x;
  return {at(0.50), at(0.99), sum / static_cast<double>(v.size())};
}

struct Config {
  std::vector<std::size_t> sizes{10'000, 100'000};
  std::size_t queries = 1000;
  std::size_t dimension = gencache::neardup::LexicalEmbedderOptions{}.dimension;
  std::size_t m = VectorIndexOptions{}.hnsw_m;
  std::size_t ef_construction = VectorIndexOptions{}.hnsw_ef_construction;
  std::size_t ef_search = VectorIndexOptions{}.hnsw_ef_search;
  std::size_t hnsw_min_entries = VectorIndexOptions{}.hnsw_min_entries;
  float reuse_relink = VectorIndexOptions{}.hnsw_reuse_relink_probability;
  float threshold = gencache::neardup::kDefaultNearDuplicateThreshold;
  double churn = 0.1;  // share of N removed and re-added after the queries
  bool skip_brute_force = false;
  std::size_t show_misses = 0;
};

void Run(const Config& c, std::size_t n) {
  fmt::print(stderr, "N={}: generating prompts\n", n);
  // Prompts [0, n + churn) are cached (the last `churn` arrive during the
  // churn phase); the next `queries` are the new prompts looked up.
  const std::size_t churn = static_cast<std::size_t>(c.churn * static_cast<double>(n));
  const std::vector<std::string> prompts = MakePrompts(n + churn + c.queries, 42);
  auto key = [](std::size_t id) { return fmt::format("{:064x}", id); };
  std::mt19937_64 rng(7);

  LexicalEmbedder embedder({.dimension = c.dimension});
  const VectorIndexOptions graph_options{.dimension = c.dimension,
                                         .max_entries = n * 2,
                                         .hnsw_min_entries = c.hnsw_min_entries,
                                         .hnsw_m = c.m,
                                         .hnsw_ef_construction = c.ef_construction,
                                         .hnsw_ef_search = c.ef_search,
                                         .hnsw_reuse_relink_probability = c.reuse_relink};

  const std::size_t rss_before = RssBytes();
  NearDuplicateFinder finder(embedder, {.candidates = 4, .index = graph_options});
  fmt::print(stderr, "N={}: adding\n", n);
  const auto build_start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    auto s = finder.Add(kPartition, key(i), prompts[i], kExpires);
    if (!s.ok()) {
      fmt::print(stderr, "Add failed: {}\n", s.ToString());
      std::exit(1);
    }
    if ((i + 1) % 100'000 == 0) {
      fmt::print(stderr, "  {} added, {:.0f} s\n", i + 1,
                 std::chrono::duration<double>(Clock::now() - build_start).count());
    }
  }
  const double build_seconds = std::chrono::duration<double>(Clock::now() - build_start).count();
  const std::size_t rss_after = RssBytes();
  const std::size_t index_bytes = finder.memory_bytes();

  // Queries: near variants of indexed prompts, and prompts not indexed.
  std::vector<std::size_t> sources;
  std::vector<std::string> variants;
  for (std::size_t q = 0; q < c.queries; ++q) {
    sources.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    variants.push_back(MakeVariant(prompts[sources.back()], rng));
  }
  std::vector<std::string> fresh(prompts.begin() + static_cast<std::ptrdiff_t>(n + churn),
                                 prompts.end());

  std::vector<double> lookup_variant, lookup_fresh, embed_us, search_us, normalize_us;
  std::size_t matched_source = 0;
  std::size_t matched_other = 0;
  std::size_t fresh_matches = 0;
  std::size_t shown_misses = 0;
  for (std::size_t q = 0; q < c.queries; ++q) {
    auto t0 = Clock::now();
    auto match = finder.Lookup(kPartition, variants[q], c.threshold, kNow);
    lookup_variant.push_back(Micros(Clock::now() - t0));
    if (match.ok() && match->has_value()) {
      ((*match)->cache_key == key(sources[q]) ? matched_source : matched_other)++;
    } else if (shown_misses < c.show_misses) {
      ++shown_misses;
      const auto verdict = gencache::neardup::VerifySameMeaning(variants[q], prompts[sources[q]]);
      fmt::print(stderr, "unmatched variant (verifier: {}):\n  {}\n  {}\n",
                 verdict.same_meaning ? "same" : verdict.reason, variants[q], prompts[sources[q]]);
    }
    t0 = Clock::now();
    match = finder.Lookup(kPartition, fresh[q], c.threshold, kNow);
    lookup_fresh.push_back(Micros(Clock::now() - t0));
    if (match.ok() && match->has_value()) ++fresh_matches;

    t0 = Clock::now();
    const std::string normalized = NormalizePrompt(variants[q]);
    normalize_us.push_back(Micros(Clock::now() - t0));
    t0 = Clock::now();
    auto vector = embedder.Embed(normalized);
    embed_us.push_back(Micros(Clock::now() - t0));
    t0 = Clock::now();
    auto hits = finder.index().Search(kPartition, *vector, 4, kNow);
    search_us.push_back(Micros(Clock::now() - t0));
  }

  // Churn: the oldest entry goes, a new prompt comes, `churn` times; in a
  // graph partition the new entry re-uses the old one's graph element.
  std::vector<double> churn_add_us;
  for (std::size_t j = 0; j < churn; ++j) {
    finder.Remove(key(j));
    const auto t0 = Clock::now();
    auto s = finder.Add(kPartition, key(n + j), prompts[n + j], kExpires);
    churn_add_us.push_back(Micros(Clock::now() - t0));
    if (!s.ok()) std::exit(1);
  }

  // The reference: the same vectors in a brute-force index.
  double recall_variant = -1, recall_fresh = -1, brute_p50 = 0, brute_p99 = 0;
  double near_recall = -1;
  std::size_t near_count = 0;
  Percentiles graph_search_after;
  if (!c.skip_brute_force) {
    fmt::print(stderr, "N={}: brute-force reference\n", n);
    VectorIndex brute({.dimension = c.dimension,
                       .max_entries = n * 2,
                       .hnsw_min_entries = std::numeric_limits<std::size_t>::max()});
    std::vector<float> v(c.dimension);
    for (std::size_t id = churn; id < n + churn; ++id) {
      embedder.EmbedInto(NormalizePrompt(prompts[id]), v);
      (void)brute.Add(kPartition, IndexEntry{key(id), "", "", kExpires}, v);
    }
    std::vector<double> brute_us, graph_us;
    std::size_t agree_variant = 0, agree_fresh = 0;
    // Queries whose true nearest neighbour is at or over the threshold: the
    // only ones where a miss by the graph can lose a near-duplicate.
    std::size_t near_queries = 0, near_agree = 0;
    auto same_top = [](const auto& a, const auto& b) {
      if (a->empty() || b->empty()) return a->empty() && b->empty();
      return (*a)[0].entry.cache_key == (*b)[0].entry.cache_key ||
             std::abs((*a)[0].similarity - (*b)[0].similarity) < 1e-6f;
    };
    for (std::size_t q = 0; q < c.queries; ++q) {
      for (int kind = 0; kind < 2; ++kind) {
        // Variants of entries live after the churn, and new prompts.
        const std::string text =
            kind == 0 ? MakeVariant(prompts[std::uniform_int_distribution<std::size_t>(
                                        churn, n + churn - 1)(rng)],
                                    rng)
                      : fresh[q];
        const std::vector<float> query = *embedder.Embed(NormalizePrompt(text));
        auto t0 = Clock::now();
        auto b = brute.Search(kPartition, query, 1, kNow);
        brute_us.push_back(Micros(Clock::now() - t0));
        t0 = Clock::now();
        auto g = finder.index().Search(kPartition, query, 1, kNow);
        graph_us.push_back(Micros(Clock::now() - t0));
        (kind == 0 ? agree_variant : agree_fresh) += same_top(g, b) ? 1 : 0;
        if (!b->empty() && (*b)[0].similarity >= c.threshold) {
          ++near_queries;
          near_agree += same_top(g, b) ? 1 : 0;
        }
      }
    }
    near_recall = near_queries == 0
                      ? 1.0
                      : static_cast<double>(near_agree) / static_cast<double>(near_queries);
    near_count = near_queries;
    recall_variant = static_cast<double>(agree_variant) / static_cast<double>(c.queries);
    recall_fresh = static_cast<double>(agree_fresh) / static_cast<double>(c.queries);
    const Percentiles bp = Summarise(brute_us);
    brute_p50 = bp.p50;
    brute_p99 = bp.p99;
    graph_search_after = Summarise(graph_us);
  }

  const Percentiles lv = Summarise(lookup_variant);
  const Percentiles lf = Summarise(lookup_fresh);
  const Percentiles em = Summarise(embed_us);
  const Percentiles se = Summarise(search_us);
  const Percentiles no = Summarise(normalize_us);
  const Percentiles ch = Summarise(churn_add_us);
  fmt::print("\n### N = {} (dimension {}, M {}, ef_construction {}, ef {}, relink {})\n\n", n,
             c.dimension, c.m, c.ef_construction, c.ef_search, c.reuse_relink);
  fmt::print("| measure | value |\n|---|---:|\n");
  fmt::print("| build: {} Adds | {:.1f} s ({:.0f} µs/Add) |\n", n, build_seconds,
             build_seconds * 1e6 / static_cast<double>(n));
  fmt::print("| memory per entry, index accounting | {:.0f} B |\n",
             static_cast<double>(index_bytes) / static_cast<double>(n));
  fmt::print("| memory per entry, RSS growth | {:.0f} B |\n",
             static_cast<double>(rss_after - rss_before) / static_cast<double>(n));
  fmt::print("| lookup, near variant: p50 / p99 | {:.1f} / {:.1f} µs |\n", lv.p50, lv.p99);
  fmt::print("| lookup, new prompt (miss): p50 / p99 | {:.1f} / {:.1f} µs |\n", lf.p50, lf.p99);
  fmt::print("| normalise: p50 / p99 | {:.1f} / {:.1f} µs |\n", no.p50, no.p99);
  fmt::print("| embed: p50 / p99 | {:.1f} / {:.1f} µs |\n", em.p50, em.p99);
  fmt::print("| search k=4 (graph): p50 / p99 | {:.1f} / {:.1f} µs |\n", se.p50, se.p99);
  if (!c.skip_brute_force) {
    fmt::print("| search k=1, graph after churn: p50 / p99 | {:.1f} / {:.1f} µs |\n",
               graph_search_after.p50, graph_search_after.p99);
    fmt::print("| search k=1, brute force: p50 / p99 | {:.1f} / {:.1f} µs |\n", brute_p50,
               brute_p99);
    fmt::print("| speed ratio brute force / graph (p50) | {:.0f}x |\n",
               brute_p50 / std::max(graph_search_after.p50, 0.001));
    fmt::print("| recall@1 vs brute force: variants / new prompts | {:.1f}% / {:.1f}% |\n",
               recall_variant * 100, recall_fresh * 100);
    fmt::print("| recall@1 vs brute force where its top-1 >= threshold | {:.1f}% of {} |\n",
               near_recall * 100, near_count);
  }
  fmt::print("| variants matched to their source / to another entry | {} / {} of {} |\n",
             matched_source, matched_other, c.queries);
  fmt::print("| new prompts matched (false merges) | {} of {} |\n", fresh_matches, c.queries);
  fmt::print("| Add after churn ({} re-used slots): p50 / p99 | {:.0f} / {:.0f} µs |\n",
             churn_add_us.size(), ch.p50, ch.p99);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Near-duplicate lookup benchmark (see the comment at the top of the source)"};
  app.add_option("--sizes", c.sizes, "cached prompts per run")->delimiter(',');
  app.add_option("--queries", c.queries, "queries of each kind");
  app.add_option("--dimension", c.dimension, "lexical embedder dimension");
  app.add_option("--m", c.m, "HNSW M");
  app.add_option("--ef-construction", c.ef_construction, "HNSW ef_construction");
  app.add_option("--ef", c.ef_search, "HNSW ef at search");
  app.add_option("--hnsw-min-entries", c.hnsw_min_entries, "brute force below this many");
  app.add_option("--relink", c.reuse_relink, "hnsw_reuse_relink_probability");
  app.add_option("--threshold", c.threshold, "cosine threshold");
  app.add_option("--churn", c.churn, "share of N removed and re-added");
  app.add_flag("--skip-brute-force", c.skip_brute_force, "no reference (saves memory at 1M)");
  app.add_option("--show-misses", c.show_misses, "print this many unmatched variants");
  CLI11_PARSE(app, argc, argv);
  for (std::size_t n : c.sizes) Run(c, n);
  return 0;
}
