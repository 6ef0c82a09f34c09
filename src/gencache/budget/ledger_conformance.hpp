#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "gencache/budget/budget_ledger.hpp"
#include "gencache/budget/ledger_test_util.hpp"

namespace gencache::budget {

// The behaviour every BudgetLedger backend shares. A backend's test binary
// links ledger_conformance.cpp and instantiates the suite:
//   INSTANTIATE_TEST_SUITE_P(Redis, BudgetLedgerConformance,
//                            testing::Values(LedgerFactory{"Redis", MakeRedis}),
//                            LedgerFactory::Name);
struct LedgerFactory {
  std::string name;
  // Builds an empty ledger; `dir` is a fresh directory the ledger may use.
  std::function<std::unique_ptr<BudgetLedger>(const std::string& dir)> make;

  static std::string Name(const testing::TestParamInfo<LedgerFactory>& info) {
    return info.param.name;
  }
  friend void PrintTo(const LedgerFactory& factory, std::ostream* os) { *os << factory.name; }
};

class BudgetLedgerConformance : public testing::TestWithParam<LedgerFactory> {
 protected:
  void SetUp() override {
    ledger_ = GetParam().make(dir_.path());
    ASSERT_NE(ledger_, nullptr);
  }

  // The id of a granted reservation; a test failure (and 0) otherwise.
  ReservationId MustReserve(const std::vector<ScopeLimit>& scopes, base::Money amount,
                            base::SystemTime now);
  // The denial; a test failure (and an empty Denial) otherwise.
  Denial MustDeny(const std::vector<ScopeLimit>& scopes, base::Money amount, base::SystemTime now);
  // The balance of one scope in the window containing `now`.
  ScopeBalance BalanceOf(const ScopeLimit& scope, base::SystemTime now);

  TestTempDir dir_;
  std::unique_ptr<BudgetLedger> ledger_;
};

}  // namespace gencache::budget
