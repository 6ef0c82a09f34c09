#include "gencache/budget/ledger_conformance.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gencache/budget/memory_ledger.hpp"
#include "gencache/budget/sqlite_ledger.hpp"

namespace gencache::budget {
namespace {

std::unique_ptr<BudgetLedger> MakeMemory(const std::string& /*dir*/) {
  return std::make_unique<MemoryLedger>();
}

std::unique_ptr<BudgetLedger> MakeSqlite(const std::string& dir) {
  auto ledger = SqliteLedger::Open(dir + "/budget.db");
  EXPECT_TRUE(ledger.ok()) << ledger.status();
  return ledger.ok() ? *std::move(ledger) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Backends, BudgetLedgerConformance,
                         testing::Values(LedgerFactory{"Memory", MakeMemory},
                                         LedgerFactory{"Sqlite", MakeSqlite}),
                         LedgerFactory::Name);

}  // namespace
}  // namespace gencache::budget
