// Measures budget ledger throughput: reservations per second, each a Reserve
// over the four scopes a request checks (global day, user day, model day,
// month) followed by its Settle, on SqliteLedger (WAL, synchronous=FULL, a
// file in /tmp) against MemoryLedger as the reference in the same run. Also
// the cost of a denial (nothing written) on each.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gencache/budget/memory_ledger.hpp"
#include "gencache/budget/sqlite_ledger.hpp"

namespace gencache::budget {
namespace {

enum class Backend { kMemory, kSqlite };

const base::SystemTime kNow = base::SystemTime{std::chrono::seconds{1'795'000'000}};

std::vector<ScopeLimit> Scopes(base::Money limit) {
  return {ScopeLimit{.kind = ScopeKind::kGlobalDay, .subject = "", .limit = limit},
          ScopeLimit{.kind = ScopeKind::kUserDay, .subject = "alice", .limit = limit},
          ScopeLimit{.kind = ScopeKind::kModelDay, .subject = "truefusion-pro", .limit = limit},
          ScopeLimit{.kind = ScopeKind::kGlobalMonth, .subject = "", .limit = limit}};
}

// A ledger in a fresh file, removed (with its WAL) when the benchmark ends.
class BenchLedger {
 public:
  explicit BenchLedger(Backend backend) {
    if (backend == Backend::kMemory) {
      ledger_ = std::make_unique<MemoryLedger>();
      return;
    }
    path_ = fmt::format("/tmp/gencache-ledger-bench-{}.db", ::getpid());
    Remove();
    absl::StatusOr<std::unique_ptr<SqliteLedger>> opened = SqliteLedger::Open(path_);
    if (!opened.ok()) {
      error_ = opened.status().ToString();
      return;
    }
    ledger_ = *std::move(opened);
  }
  ~BenchLedger() {
    ledger_.reset();
    if (!path_.empty()) Remove();
  }
  BudgetLedger* get() const { return ledger_.get(); }
  const std::string& error() const { return error_; }

 private:
  void Remove() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix, ignored);
  }

  std::unique_ptr<BudgetLedger> ledger_;
  std::string path_;
  std::string error_;
};

void BM_ReserveSettle(benchmark::State& state, Backend backend) {
  BenchLedger ledger(backend);
  if (ledger.get() == nullptr) {
    state.SkipWithError(ledger.error().c_str());
    return;
  }
  const std::vector<ScopeLimit> scopes = Scopes(base::Money{INT64_MAX / 4});
  const base::Money amount{40'000};
  for (auto _ : state) {
    absl::StatusOr<std::variant<ReservationId, Denial>> result =
        ledger.get()->Reserve(scopes, amount, kNow);
    if (!result.ok() || !std::holds_alternative<ReservationId>(*result)) {
      state.SkipWithError("reserve failed");
      break;
    }
    if (!ledger.get()->Settle(std::get<ReservationId>(*result), amount).ok()) {
      state.SkipWithError("settle failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Deny(benchmark::State& state, Backend backend) {
  BenchLedger ledger(backend);
  if (ledger.get() == nullptr) {
    state.SkipWithError(ledger.error().c_str());
    return;
  }
  const std::vector<ScopeLimit> scopes = Scopes(base::Money{1'000'000});
  const base::Money amount{40'000};
  for (int i = 0; i < 25; ++i) {
    auto result = ledger.get()->Reserve(scopes, amount, kNow);
    if (!result.ok()) {
      state.SkipWithError("reserve failed");
      return;
    }
  }
  for (auto _ : state) {
    absl::StatusOr<std::variant<ReservationId, Denial>> result =
        ledger.get()->Reserve(scopes, amount, kNow);
    if (!result.ok() || !std::holds_alternative<Denial>(*result)) {
      state.SkipWithError("expected a denial");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_ReserveSettle, memory, Backend::kMemory);
BENCHMARK_CAPTURE(BM_ReserveSettle, sqlite, Backend::kSqlite)->UseRealTime();
BENCHMARK_CAPTURE(BM_Deny, memory, Backend::kMemory);
BENCHMARK_CAPTURE(BM_Deny, sqlite, Backend::kSqlite)->UseRealTime();

}  // namespace
}  // namespace gencache::budget

BENCHMARK_MAIN();
