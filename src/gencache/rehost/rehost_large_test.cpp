// Re-hosts a 200 MB output served by the fake_provider binary (a separate
// process, so only the download side counts against this process's memory)
// and checks that the test process's peak RSS grows by far less than the
// output: the body streams through libcurl's buffer into the blob store's
// spool file.

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gencache/base/sha256.hpp"
#include "gencache/blob/local_blob_store.hpp"
#include "gencache/rehost/rehoster.hpp"

extern char** environ;

namespace gencache::rehost {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kOutputBytes = 200ull << 20;
constexpr std::int64_t kMaxRssGrowthKb = 32 * 1024;

// The fake_provider binary, started on a free port and stopped (by its pid)
// when this goes away.
class FakeProviderProcess {
 public:
  FakeProviderProcess() {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    const char* argv[] = {FAKE_PROVIDER_BIN, "--listen", "127.0.0.1:0", nullptr};
    const int rc = posix_spawn(&pid_, FAKE_PROVIDER_BIN, &actions, nullptr,
                               const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    EXPECT_EQ(rc, 0) << "cannot start " << FAKE_PROVIDER_BIN;
    if (rc != 0) pid_ = -1;
    // Wait (at most 10 s) for "fake-provider listening on HOST:PORT".
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    const std::size_t colon = line.rfind(':');
    EXPECT_NE(line.find("fake-provider listening on 127.0.0.1:"), std::string::npos) << line;
    if (colon != std::string::npos) port_ = std::stoi(line.substr(colon + 1));
  }

  ~FakeProviderProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    ADD_FAILURE() << "fake_provider did not stop on SIGTERM";
  }

  std::string base() const { return fmt::format("http://127.0.0.1:{}", port_); }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

size_t AppendTo(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// POSTs a JSON body and returns the response body; expects a 200.
std::string Post(const std::string& url, const std::string& body, const char* header) {
  CURL* curl = curl_easy_init();
  std::string out;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (header != nullptr) headers = curl_slist_append(headers, header);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30'000L);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK) << url;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  EXPECT_EQ(status, 200) << url << ": " << out;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

// A field of /proc/self/status, in kB.
std::int64_t ProcStatusKb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(std::string(field) + ":", 0) == 0) {
      return std::stoll(line.substr(field.size() + 1));
    }
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0;
}

// SHA-256 of a stored blob, read back in 1 MiB pieces.
std::string HashStoredBlob(blob::BlobStore& store, const std::string& sha) {
  auto open = store.Open(sha);
  EXPECT_TRUE(open.ok()) << open.status();
  if (!open.ok()) return "";
  base::Sha256Hasher hasher;
  std::string buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(open->fd.get(), buf.data(), buf.size());
    if (n <= 0) break;
    hasher.Update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return hasher.FinishHex();
}

TEST(RehostLargeTest, A200MbOutputIsRehostedWithBoundedMemory) {
  FakeProviderProcess fake;
  char dir_template[] = "/tmp/rehost_large_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  {
    auto store = blob::LocalBlobStore::Create(dir / "blobs");
    ASSERT_TRUE(store.ok()) << store.status();
    auto policy = UrlPolicy::Create(
        {.provider_base_urls = {fake.base() + "/skytells/v1"}, .allowed_hosts = {"127.0.0.1"}});
    ASSERT_TRUE(policy.ok()) << policy.status();
    OutputFetcher fetcher(*policy, {.max_bytes = 256ull << 20});
    Rehoster rehoster(**store, fetcher);

    Post(fake.base() + "/_fake/config", fmt::format(R"({{"output_bytes":{}}})", kOutputBytes),
         nullptr);
    const std::string predict =
        R"({"model":"truefusion-video-pro","input":{"prompt":"a long take","seed":11}})";
    const std::string body = Post(fake.base() + "/skytells/v1/predict", predict, "x-api-key: k");

    // Start the peak from here: writing 5 to clear_refs resets VmHWM.
    {
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5";
    }
    const std::int64_t rss_before = ProcStatusKb("VmRSS");
    const auto start = std::chrono::steady_clock::now();
    RehostResult result =
        rehoster.Rehost(providers::ProviderKind::kSkytells, body, "http://gw/files");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::int64_t growth_kb = ProcStatusKb("VmHWM") - rss_before;

    ASSERT_TRUE(result.ok()) << result.status;
    ASSERT_EQ(result.blobs.size(), 1u);
    EXPECT_EQ(result.bytes, kOutputBytes);
    const double mb_per_s = static_cast<double>(kOutputBytes) / (1 << 20) / seconds;
    std::printf(
        "rehost 200 MiB: %.2f s (%.0f MiB/s incl. the fake generating the bytes), "
        "peak RSS growth %lld KiB\n",
        seconds, mb_per_s, static_cast<long long>(growth_kb));
    ::testing::Test::RecordProperty("rss_growth_kib", std::to_string(growth_kb));
    ::testing::Test::RecordProperty("seconds", std::to_string(seconds));
    EXPECT_LT(growth_kb, kMaxRssGrowthKb) << "the download must stream, not buffer";

    // The stored bytes are whole and named by their hash.
    const std::string sha = result.blobs[0];
    EXPECT_EQ(HashStoredBlob(**store, sha), sha);
    auto stat = (*store)->Stat(sha);
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(stat->size, kOutputBytes);
    EXPECT_EQ(json::parse(result.body).at("output").at(0).as_string(),
              fmt::format("http://gw/files/{}.png", sha));

    // The same seeded request again: a new URL, identical bytes, stored once.
    const std::string again = Post(fake.base() + "/skytells/v1/predict", predict, "x-api-key: k");
    const auto second_start = std::chrono::steady_clock::now();
    RehostResult second =
        rehoster.Rehost(providers::ProviderKind::kSkytells, again, "http://gw/files");
    const double second_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - second_start).count();
    ASSERT_TRUE(second.ok()) << second.status;
    std::printf("rehost 200 MiB again (the fake serves its kept body): %.2f s (%.0f MiB/s)\n",
                second_seconds, static_cast<double>(kOutputBytes) / (1 << 20) / second_seconds);
    EXPECT_EQ(second.blobs, result.blobs);
    int blobs = 0;
    EXPECT_TRUE((*store)->ForEach([&](const blob::BlobInfo&) { ++blobs; }).ok());
    EXPECT_EQ(blobs, 1);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace gencache::rehost
