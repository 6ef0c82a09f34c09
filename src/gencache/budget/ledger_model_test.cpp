// Model-based test: random sequences of reserve, settle, release, clock
// moves and orphan settling, applied to SqliteLedger and to MemoryLedger
// (the reference); after every step every balance must agree.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "gencache/budget/ledger_test_util.hpp"
#include "gencache/budget/memory_ledger.hpp"
#include "gencache/budget/sqlite_ledger.hpp"

namespace gencache::budget {
namespace {

using Outcome = absl::StatusOr<std::variant<ReservationId, Denial>>;

const std::vector<std::string> kUsers = {"alice", "bob", "carol"};
const std::vector<std::string> kModels = {"flux", "video", "sdxl"};
// Small enough that every scope, the month included, runs out within a run.
const base::Money kGlobalLimit = Cents(300);
const base::Money kUserLimit = Cents(100);
const base::Money kModelLimit = Cents(150);
const base::Money kMonthLimit = Cents(4000);

struct Held {
  ReservationId reference;
  ReservationId sqlite;
};

class LedgerModel {
 public:
  LedgerModel(std::uint64_t seed, std::unique_ptr<SqliteLedger> sqlite)
      : rng_(seed), sqlite_(std::move(sqlite)) {}

  void Run(int steps) {
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE(testing::Message() << "step " << step);
      const int op = Uniform(0, 99);
      if (op < 45) {
        Reserve();
      } else if (op < 65) {
        Settle();
      } else if (op < 80) {
        Release();
      } else if (op < 85) {
        CloseAgain();
      } else if (op < 99) {
        AdvanceClock();
      } else {
        SettleOrphans();
      }
      CheckBalances(now_);
      if (testing::Test::HasFatalFailure()) return;
      days_seen_[WindowOf(ScopeKind::kGlobalDay, now_)] = now_;
      if (step % 250 == 0) CheckEveryWindowSeen();
    }
    CheckEveryWindowSeen();
  }

  int granted() const { return granted_; }
  int denied() const { return denied_; }
  int days() const { return static_cast<int>(days_seen_.size()); }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::vector<ScopeLimit> AllScopes() const {
    std::vector<ScopeLimit> scopes = {Global(kGlobalLimit), Month(kMonthLimit)};
    for (const std::string& user : kUsers) scopes.push_back(User(user, kUserLimit));
    for (const std::string& model : kModels) scopes.push_back(Model(model, kModelLimit));
    return scopes;
  }

  void Reserve() {
    std::vector<ScopeLimit> scopes = {Global(kGlobalLimit)};
    if (Uniform(0, 9) < 8) scopes.push_back(User(kUsers[Uniform(0, 2)], kUserLimit));
    if (Uniform(0, 9) < 8) scopes.push_back(Model(kModels[Uniform(0, 2)], kModelLimit));
    if (Uniform(0, 9) < 7) scopes.push_back(Month(kMonthLimit));
    std::shuffle(scopes.begin(), scopes.end(), rng_);
    const base::Money amount{Uniform(0, 300'000)};

    const Outcome reference = reference_.Reserve(scopes, amount, now_);
    const Outcome sqlite = sqlite_->Reserve(scopes, amount, now_);
    ASSERT_TRUE(reference.ok()) << reference.status();
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    ASSERT_EQ(reference->index(), sqlite->index());
    if (const auto* denial = std::get_if<Denial>(&*reference)) {
      const Denial& other = std::get<Denial>(*sqlite);
      EXPECT_TRUE(SameBalance(denial->scope, other.scope));
      EXPECT_EQ(denial->requested, other.requested);
      ++denied_;
      return;
    }
    open_.push_back(Held{std::get<ReservationId>(*reference), std::get<ReservationId>(*sqlite)});
    ++granted_;
  }

  // Moves a random open reservation to closed_; nullopt when none is open.
  std::optional<Held> TakeOpen() {
    if (open_.empty()) return std::nullopt;
    const auto pick = static_cast<std::size_t>(Uniform(0, static_cast<int>(open_.size()) - 1));
    const Held held = open_[pick];
    open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(pick));
    closed_.push_back(held);
    return held;
  }

  void Settle() {
    const std::optional<Held> held = TakeOpen();
    if (!held) return;
    // Sometimes cheaper, sometimes dearer than the estimate.
    const base::Money actual{Uniform(0, 400'000)};
    ASSERT_TRUE(reference_.Settle(held->reference, actual).ok());
    ASSERT_TRUE(sqlite_->Settle(held->sqlite, actual).ok());
  }

  void Release() {
    const std::optional<Held> held = TakeOpen();
    if (!held) return;
    ASSERT_TRUE(reference_.Release(held->reference).ok());
    ASSERT_TRUE(sqlite_->Release(held->sqlite).ok());
  }

  // Closing a closed or unknown reservation fails the same way everywhere.
  void CloseAgain() {
    Held held{-5, -5};
    if (!closed_.empty()) {
      held = closed_[static_cast<std::size_t>(Uniform(0, static_cast<int>(closed_.size()) - 1))];
    }
    if (Uniform(0, 1) == 0) {
      EXPECT_TRUE(absl::IsNotFound(reference_.Settle(held.reference, Cents(1))));
      EXPECT_TRUE(absl::IsNotFound(sqlite_->Settle(held.sqlite, Cents(1))));
    } else {
      EXPECT_TRUE(absl::IsNotFound(reference_.Release(held.reference)));
      EXPECT_TRUE(absl::IsNotFound(sqlite_->Release(held.sqlite)));
    }
  }

  void AdvanceClock() {
    if (Uniform(0, 2) == 0) {
      // To just before midnight, so reservations straddle it.
      const base::SystemTime end = WindowEnd(ScopeKind::kGlobalDay, now_);
      now_ = std::max(now_, end - std::chrono::milliseconds{Uniform(1, 2000)});
    } else {
      now_ += std::chrono::seconds{Uniform(0, 4 * 3600)};
    }
  }

  void SettleOrphans() {
    absl::StatusOr<std::int64_t> reference = reference_.SettleOrphans();
    absl::StatusOr<std::int64_t> sqlite = sqlite_->SettleOrphans();
    ASSERT_TRUE(reference.ok()) << reference.status();
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    EXPECT_EQ(*reference, static_cast<std::int64_t>(open_.size()));
    EXPECT_EQ(*sqlite, *reference);
    closed_.insert(closed_.end(), open_.begin(), open_.end());
    open_.clear();
  }

  void CheckBalances(base::SystemTime at) {
    const std::vector<ScopeLimit> scopes = AllScopes();
    absl::StatusOr<std::vector<ScopeBalance>> reference = reference_.Balances(scopes, at);
    absl::StatusOr<std::vector<ScopeBalance>> sqlite = sqlite_->Balances(scopes, at);
    ASSERT_TRUE(reference.ok()) << reference.status();
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    ASSERT_EQ(reference->size(), sqlite->size());
    for (std::size_t i = 0; i < reference->size(); ++i) {
      ASSERT_TRUE(SameBalance((*reference)[i], (*sqlite)[i]));
    }
  }

  // Balances of past windows keep changing as reservations made in them
  // close; they must agree too.
  void CheckEveryWindowSeen() {
    for (const auto& entry : days_seen_) CheckBalances(entry.second);
  }

  std::mt19937_64 rng_;
  MemoryLedger reference_;
  std::unique_ptr<SqliteLedger> sqlite_;
  base::SystemTime now_ = At(2026, 1, 20, 18);
  std::vector<Held> open_;
  std::vector<Held> closed_;
  std::map<std::string, base::SystemTime> days_seen_;
  int granted_ = 0;
  int denied_ = 0;
};

class LedgerModelTest : public testing::TestWithParam<std::uint64_t> {};

TEST_P(LedgerModelTest, SqliteAgreesWithTheReferenceOnEveryBalance) {
  TestTempDir dir;
  absl::StatusOr<std::unique_ptr<SqliteLedger>> sqlite = SqliteLedger::Open(dir.File("budget.db"));
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  LedgerModel model(GetParam(), *std::move(sqlite));
  model.Run(2500);
  // The run exercised both outcomes and crossed days and a month.
  EXPECT_GT(model.granted(), 100);
  EXPECT_GT(model.denied(), 50);
  EXPECT_GT(model.days(), 12);
}

INSTANTIATE_TEST_SUITE_P(Seeds, LedgerModelTest, testing::Values(1u, 2u, 3u, 20261126u));

}  // namespace
}  // namespace gencache::budget
