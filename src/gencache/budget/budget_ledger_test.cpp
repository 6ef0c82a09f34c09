#include "gencache/budget/budget_ledger.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "gencache/budget/ledger_test_util.hpp"

namespace gencache::budget {
namespace {

TEST(WindowOf, NamesTheUtcDayAndMonth) {
  const base::SystemTime t = At(2026, 11, 26, 13, 45, 7);
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalDay, t), "2026-11-26");
  EXPECT_EQ(WindowOf(ScopeKind::kUserDay, t), "2026-11-26");
  EXPECT_EQ(WindowOf(ScopeKind::kModelDay, t), "2026-11-26");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalMonth, t), "2026-11");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalDay, At(2027, 1, 5)), "2027-01-05");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalMonth, At(2027, 1, 5)), "2027-01");
}

TEST(WindowOf, ChangesExactlyAtMidnight) {
  const base::SystemTime midnight = At(2026, 11, 27);
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalDay, midnight - std::chrono::nanoseconds{1}), "2026-11-26");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalDay, midnight), "2026-11-27");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalMonth, At(2026, 12, 1) - std::chrono::nanoseconds{1}),
            "2026-11");
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalMonth, At(2026, 12, 1)), "2026-12");
  // Before the epoch the day still floors towards the past.
  EXPECT_EQ(WindowOf(ScopeKind::kGlobalDay, At(1970, 1, 1) - std::chrono::seconds{1}),
            "1969-12-31");
}

TEST(WindowEnd, IsTheNextUtcMidnightOrFirstOfMonth) {
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalDay, At(2026, 11, 26, 13, 45)), At(2026, 11, 27));
  EXPECT_EQ(WindowEnd(ScopeKind::kUserDay, At(2026, 11, 30, 23, 59, 59)), At(2026, 12, 1));
  EXPECT_EQ(WindowEnd(ScopeKind::kModelDay, At(2026, 12, 31, 23)), At(2027, 1, 1));
  // The first instant of a window belongs to it.
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalDay, At(2026, 11, 27)), At(2026, 11, 28));
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalMonth, At(2026, 11, 1)), At(2026, 12, 1));
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalMonth, At(2026, 12, 15)), At(2027, 1, 1));
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalMonth, At(2028, 1, 31, 12)), At(2028, 2, 1));
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalDay, At(2028, 2, 28, 12)), At(2028, 2, 29));
  EXPECT_EQ(WindowEnd(ScopeKind::kGlobalMonth, At(2028, 2, 29, 12)), At(2028, 3, 1));
}

TEST(ScopeKindToString, NamesMatchTheConfigKeys) {
  EXPECT_EQ(ToString(ScopeKind::kGlobalDay), "daily");
  EXPECT_EQ(ToString(ScopeKind::kUserDay), "user_daily");
  EXPECT_EQ(ToString(ScopeKind::kModelDay), "model_daily");
  EXPECT_EQ(ToString(ScopeKind::kGlobalMonth), "monthly");
}

}  // namespace
}  // namespace gencache::budget
