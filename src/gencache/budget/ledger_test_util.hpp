#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>
#include <system_error>

#include "gencache/base/clock.hpp"
#include "gencache/base/money.hpp"
#include "gencache/budget/budget_ledger.hpp"

// Helpers shared by the budget tests. Test-only.

namespace gencache::base {

// So gtest prints Money as dollars rather than bytes.
inline void PrintTo(Money m, std::ostream* os) { *os << FormatUsdMicros(m) << " USD"; }

}  // namespace gencache::base

namespace gencache::budget {

inline base::Money Cents(std::int64_t cents) { return base::Money{cents * 10'000}; }

// A UTC instant.
inline base::SystemTime At(int year, unsigned month, unsigned day, int hour = 0, int minute = 0,
                           int second = 0) {
  const std::chrono::sys_days date{std::chrono::year{year} / std::chrono::month{month} /
                                   std::chrono::day{day}};
  return base::SystemTime{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

inline ScopeLimit Global(base::Money limit) {
  return {.kind = ScopeKind::kGlobalDay, .subject = "", .limit = limit};
}
inline ScopeLimit User(std::string user, base::Money limit) {
  return {.kind = ScopeKind::kUserDay, .subject = std::move(user), .limit = limit};
}
inline ScopeLimit Model(std::string model, base::Money limit) {
  return {.kind = ScopeKind::kModelDay, .subject = std::move(model), .limit = limit};
}
inline ScopeLimit Month(base::Money limit) {
  return {.kind = ScopeKind::kGlobalMonth, .subject = "", .limit = limit};
}

inline testing::AssertionResult SameBalance(const ScopeBalance& a, const ScopeBalance& b) {
  if (a.kind == b.kind && a.subject == b.subject && a.window == b.window && a.spent == b.spent &&
      a.reserved == b.reserved && a.limit == b.limit && a.resets_at == b.resets_at) {
    return testing::AssertionSuccess();
  }
  const auto describe = [](const ScopeBalance& s) {
    return fmt::format("{{{} '{}' {} spent={} reserved={} limit={} resets_at={}}}",
                       ToString(s.kind), s.subject, s.window, s.spent.micros, s.reserved.micros,
                       s.limit.micros, s.resets_at.time_since_epoch().count());
  };
  return testing::AssertionFailure() << describe(a) << " != " << describe(b);
}

// A fresh directory under /tmp for one test, removed with everything in it.
class TestTempDir {
 public:
  TestTempDir() {
    std::string pattern = "/tmp/gencache-budget-test-XXXXXX";
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

}  // namespace gencache::budget
