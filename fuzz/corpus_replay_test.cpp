// Replays the committed seed corpus of fuzz_generation_request as a normal
// test, so every build (GCC included) runs the fuzzer's checks on the seeds.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(FuzzCorpusReplayTest, RunsEverySeed) {
  std::vector<std::filesystem::path> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(GENCACHE_FUZZ_CORPUS_DIR)) {
    if (entry.is_regular_file()) seeds.push_back(entry.path());
  }
  std::sort(seeds.begin(), seeds.end());
  ASSERT_GE(seeds.size(), 10u) << GENCACHE_FUZZ_CORPUS_DIR;
  for (const auto& seed : seeds) {
    SCOPED_TRACE(seed.string());
    std::ifstream in(seed, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << seed;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        0);
  }
}

}  // namespace
