#include "gencache/pipeline/budget_policy.hpp"

#include <gtest/gtest.h>

namespace gencache::pipeline {
namespace {

using base::Money;

TEST(ScopesFor, OnlyConfiguredLimitsInDenialOrder) {
  config::BudgetSection budgets;  // default: $50 a day globally
  auto scopes = ScopesFor(budgets, "alice", "truefusion-pro");
  ASSERT_EQ(scopes.size(), 1u);
  EXPECT_EQ(scopes[0].kind, budget::ScopeKind::kGlobalDay);
  EXPECT_EQ(scopes[0].limit.micros, 50'000'000);

  budgets.per_user_daily = Money::FromMicros(5'000'000);
  budgets.per_model_daily["truefusion-video-pro"] = Money::FromMicros(20'000'000);
  budgets.monthly = Money::FromMicros(1'000'000'000);
  scopes = ScopesFor(budgets, "alice", "truefusion-video-pro");
  ASSERT_EQ(scopes.size(), 4u);
  EXPECT_EQ(scopes[1].kind, budget::ScopeKind::kUserDay);
  EXPECT_EQ(scopes[1].subject, "alice");
  EXPECT_EQ(scopes[2].kind, budget::ScopeKind::kModelDay);
  EXPECT_EQ(scopes[3].kind, budget::ScopeKind::kGlobalMonth);
  EXPECT_EQ(ScopesFor(budgets, "alice", "truefusion").size(), 3u);
}

TEST(DenialError, CarriesTheDocumentedMessageAndFields) {
  budget::Denial denial;
  denial.scope.kind = budget::ScopeKind::kGlobalDay;
  denial.scope.spent = Money::FromMicros(1'000'000);
  denial.scope.limit = Money::FromMicros(1'000'000);
  denial.scope.resets_at =
      base::SystemTime{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}};
  denial.requested = Money::FromMicros(40'000);
  providers::ClientError error = DenialError(denial);
  EXPECT_EQ(error.http_status, 429);
  EXPECT_EQ(error.type, "budget_exceeded");
  EXPECT_EQ(error.message,
            "Daily budget exceeded ($1.00 / $1.00). Service paused until midnight UTC.");
  bool saw_reset = false;
  for (const auto& [name, value] : error.text_fields) {
    if (name == "resets_at") {
      EXPECT_EQ(value, "2026-11-27T00:00:00Z");
      saw_reset = true;
    }
  }
  EXPECT_TRUE(saw_reset);
  EXPECT_EQ(RetryAfterSeconds(denial, denial.scope.resets_at - std::chrono::hours(2)), 7200);
  EXPECT_EQ(RetryAfterSeconds(denial, denial.scope.resets_at), 1);

  denial.scope.kind = budget::ScopeKind::kUserDay;
  denial.scope.subject = "alice";
  EXPECT_EQ(
      DenialError(denial).message,
      "Daily budget of user alice exceeded ($1.00 / $1.00). Service paused until midnight UTC.");
}

}  // namespace
}  // namespace gencache::pipeline
