#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "gencache/base/clock.hpp"
#include "gencache/cache/cached_response.hpp"

namespace gencache::cache {

// Helpers shared by the cache tests. Test-only.

// FakeClock's default start, so tests read as "start + ttl".
inline const base::SystemTime kTestStart = base::FakeClock().Now();

inline CachedResponsePtr MakeResponse(std::string body,
                                      std::chrono::milliseconds ttl = std::chrono::hours(1),
                                      std::string prediction_id = "",
                                      std::string provider = "skytells") {
  auto response = std::make_shared<CachedResponse>();
  response->http_status = 200;
  response->content_type = "application/json";
  response->body = std::make_shared<const std::string>(std::move(body));
  response->provider = std::move(provider);
  response->model = "truefusion";
  response->prediction_id = std::move(prediction_id);
  response->created = kTestStart;
  response->expires = kTestStart + ttl;
  return response;
}

// A fresh directory under /tmp for one test, removed with everything in it.
class TestTempDir {
 public:
  TestTempDir() {
    std::string pattern = "/tmp/gencache-cache-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TestTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace gencache::cache
