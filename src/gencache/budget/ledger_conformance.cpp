#include "gencache/budget/ledger_conformance.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <variant>

namespace gencache::budget {

ReservationId BudgetLedgerConformance::MustReserve(const std::vector<ScopeLimit>& scopes,
                                                   base::Money amount, base::SystemTime now) {
  absl::StatusOr<std::variant<ReservationId, Denial>> result =
      ledger_->Reserve(scopes, amount, now);
  if (!result.ok()) {
    ADD_FAILURE() << result.status();
    return 0;
  }
  if (const Denial* denial = std::get_if<Denial>(&*result)) {
    ADD_FAILURE() << "denied by " << ToString(denial->scope.kind) << " '" << denial->scope.subject
                  << "'";
    return 0;
  }
  return std::get<ReservationId>(*result);
}

Denial BudgetLedgerConformance::MustDeny(const std::vector<ScopeLimit>& scopes, base::Money amount,
                                         base::SystemTime now) {
  absl::StatusOr<std::variant<ReservationId, Denial>> result =
      ledger_->Reserve(scopes, amount, now);
  if (!result.ok()) {
    ADD_FAILURE() << result.status();
    return {};
  }
  if (const auto* id = std::get_if<ReservationId>(&*result)) {
    ADD_FAILURE() << "granted reservation " << *id;
    return {};
  }
  return std::get<Denial>(*result);
}

ScopeBalance BudgetLedgerConformance::BalanceOf(const ScopeLimit& scope, base::SystemTime now) {
  absl::StatusOr<std::vector<ScopeBalance>> balances =
      ledger_->Balances(std::span<const ScopeLimit>(&scope, 1), now);
  if (!balances.ok() || balances->size() != 1) {
    ADD_FAILURE() << balances.status();
    return {};
  }
  return balances->front();
}

namespace {

const base::SystemTime kNoon = At(2026, 11, 26, 12);

TEST_P(BudgetLedgerConformance, ReservesWithinTheLimit) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(50))};
  const ReservationId id = MustReserve(scopes, Cents(30), kNoon);
  EXPECT_NE(id, 0);

  ScopeBalance global = BalanceOf(scopes[0], kNoon);
  EXPECT_EQ(global.spent, Cents(0));
  EXPECT_EQ(global.reserved, Cents(30));
  ScopeBalance alice = BalanceOf(scopes[1], kNoon);
  EXPECT_EQ(alice.reserved, Cents(30));
  EXPECT_EQ(BalanceOf(User("bob", Cents(50)), kNoon).reserved, Cents(0));

  const ReservationId second = MustReserve(scopes, Cents(20), kNoon);
  EXPECT_NE(second, id);
  EXPECT_EQ(BalanceOf(scopes[1], kNoon).reserved, Cents(50));
}

TEST_P(BudgetLedgerConformance, ReservesWithNoScopes) {
  const ReservationId id = MustReserve({}, Cents(10), kNoon);
  EXPECT_TRUE(ledger_->Settle(id, Cents(10)).ok());
}

TEST_P(BudgetLedgerConformance, DeniesExactlyPastTheLimit) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};
  for (int i = 0; i < 25; ++i) MustReserve(scopes, Cents(4), kNoon);
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(100));

  const Denial denial = MustDeny(scopes, Cents(4), kNoon);
  EXPECT_EQ(denial.requested, Cents(4));
  EXPECT_EQ(denial.scope.kind, ScopeKind::kGlobalDay);
  EXPECT_EQ(denial.scope.window, "2026-11-26");
  EXPECT_EQ(denial.scope.spent, Cents(0));
  EXPECT_EQ(denial.scope.reserved, Cents(100));
  EXPECT_EQ(denial.scope.limit, Cents(100));
  EXPECT_EQ(denial.scope.resets_at, At(2026, 11, 27));

  // One micro-dollar over is too much; nothing at all still fits.
  EXPECT_EQ(MustDeny(scopes, base::Money{1}, kNoon).requested, base::Money{1});
  MustReserve(scopes, Cents(0), kNoon);
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(100));
}

TEST_P(BudgetLedgerConformance, MultiScopeDenialChangesNothing) {
  const base::Money global_limit = Cents(1000);
  const std::vector<ScopeLimit> alice = {Global(global_limit), User("alice", Cents(10)),
                                         Model("flux", Cents(500)), Month(Cents(10'000))};
  MustReserve(alice, Cents(8), kNoon);

  const Denial denial = MustDeny(alice, Cents(4), kNoon);
  EXPECT_EQ(denial.scope.kind, ScopeKind::kUserDay);
  EXPECT_EQ(denial.scope.subject, "alice");
  EXPECT_EQ(denial.scope.reserved, Cents(8));
  EXPECT_EQ(denial.scope.limit, Cents(10));
  for (const ScopeLimit& scope : alice) {
    EXPECT_EQ(BalanceOf(scope, kNoon).reserved, Cents(8)) << ToString(scope.kind);
    EXPECT_EQ(BalanceOf(scope, kNoon).spent, Cents(0)) << ToString(scope.kind);
  }

  // The global scope still has room for another user.
  const std::vector<ScopeLimit> bob = {Global(global_limit), User("bob", Cents(10)),
                                       Model("flux", Cents(500)), Month(Cents(10'000))};
  MustReserve(bob, Cents(4), kNoon);
  EXPECT_EQ(BalanceOf(alice[0], kNoon).reserved, Cents(12));
  EXPECT_EQ(BalanceOf(alice[1], kNoon).reserved, Cents(8));
}

TEST_P(BudgetLedgerConformance, DenialNamesTheFirstRefusingScopeInOrder) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), Model("flux", Cents(5)),
                                          User("alice", Cents(5))};
  const Denial denial = MustDeny(scopes, Cents(6), kNoon);
  EXPECT_EQ(denial.scope.kind, ScopeKind::kModelDay);
  EXPECT_EQ(denial.scope.subject, "flux");
}

TEST_P(BudgetLedgerConformance, SettlesAtTheActualCost) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), Month(Cents(1000))};
  const ReservationId cheaper = MustReserve(scopes, Cents(10), kNoon);
  ASSERT_TRUE(ledger_->Settle(cheaper, Cents(7)).ok());
  for (const ScopeLimit& scope : scopes) {
    EXPECT_EQ(BalanceOf(scope, kNoon).spent, Cents(7));
    EXPECT_EQ(BalanceOf(scope, kNoon).reserved, Cents(0));
  }

  // A provider may charge more than the estimate: the books follow it, and
  // later reservations see the overrun.
  const ReservationId dearer = MustReserve(scopes, Cents(90), kNoon);
  ASSERT_TRUE(ledger_->Settle(dearer, Cents(95)).ok());
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).spent, Cents(102));
  const Denial denial = MustDeny(scopes, Cents(0), kNoon);
  EXPECT_EQ(denial.scope.spent, Cents(102));
}

TEST_P(BudgetLedgerConformance, ReleaseFreesTheHold) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(100))};
  const ReservationId id = MustReserve(scopes, Cents(100), kNoon);
  MustDeny(scopes, Cents(1), kNoon);
  ASSERT_TRUE(ledger_->Release(id).ok());
  for (const ScopeLimit& scope : scopes) {
    EXPECT_EQ(BalanceOf(scope, kNoon).spent, Cents(0));
    EXPECT_EQ(BalanceOf(scope, kNoon).reserved, Cents(0));
  }
  MustReserve(scopes, Cents(100), kNoon);
}

TEST_P(BudgetLedgerConformance, DayWindowsRollOverAtUtcMidnight) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(100)),
                                          Month(Cents(1000))};
  const base::SystemTime before = At(2026, 11, 26, 23, 59, 59);
  const base::SystemTime midnight = At(2026, 11, 27);
  ASSERT_TRUE(ledger_->Settle(MustReserve(scopes, Cents(100), before), Cents(100)).ok());
  MustDeny(scopes, Cents(1), before + std::chrono::milliseconds{999});

  const ScopeBalance day = BalanceOf(scopes[0], midnight);
  EXPECT_EQ(day.window, "2026-11-27");
  EXPECT_EQ(day.spent, Cents(0));
  EXPECT_EQ(BalanceOf(scopes[2], midnight).spent, Cents(100));
  MustReserve(scopes, Cents(100), midnight);
  EXPECT_EQ(BalanceOf(scopes[0], before).spent, Cents(100));
  EXPECT_EQ(BalanceOf(scopes[0], before).reserved, Cents(0));
  EXPECT_EQ(BalanceOf(scopes[2], midnight).reserved, Cents(100));
}

TEST_P(BudgetLedgerConformance, MonthWindowRollsOverOnTheFirst) {
  const std::vector<ScopeLimit> scopes = {Month(Cents(100))};
  const base::SystemTime before = At(2026, 12, 31, 23, 59, 59);
  const base::SystemTime new_year = At(2027, 1, 1);
  ASSERT_TRUE(ledger_->Settle(MustReserve(scopes, Cents(100), before), Cents(100)).ok());
  const Denial denial = MustDeny(scopes, Cents(1), before);
  EXPECT_EQ(denial.scope.window, "2026-12");
  EXPECT_EQ(denial.scope.resets_at, new_year);

  const ScopeBalance january = BalanceOf(scopes[0], new_year);
  EXPECT_EQ(january.window, "2027-01");
  EXPECT_EQ(january.spent, Cents(0));
  EXPECT_EQ(january.resets_at, At(2027, 2, 1));
  MustReserve(scopes, Cents(100), new_year);
}

TEST_P(BudgetLedgerConformance, SettlingAfterMidnightBooksIntoTheReserveWindow) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(100)),
                                          Month(Cents(1000))};
  const base::SystemTime before = At(2026, 11, 30, 23, 59);
  const base::SystemTime after = At(2026, 12, 1, 0, 1);
  const ReservationId late = MustReserve(scopes, Cents(40), before);
  const ReservationId dropped = MustReserve(scopes, Cents(20), before);
  // The ledger takes no time in Settle: it is the window recorded at
  // reserve time that counts, whenever the call comes.
  ASSERT_TRUE(ledger_->Settle(late, Cents(30)).ok());
  ASSERT_TRUE(ledger_->Release(dropped).ok());
  for (const ScopeLimit& scope : scopes) {
    EXPECT_EQ(BalanceOf(scope, before).spent, Cents(30)) << ToString(scope.kind);
    EXPECT_EQ(BalanceOf(scope, before).reserved, Cents(0)) << ToString(scope.kind);
    EXPECT_EQ(BalanceOf(scope, after).spent, Cents(0)) << ToString(scope.kind);
    EXPECT_EQ(BalanceOf(scope, after).reserved, Cents(0)) << ToString(scope.kind);
  }
}

TEST_P(BudgetLedgerConformance, ClosingTwiceIsNotFound) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};
  const ReservationId settled = MustReserve(scopes, Cents(10), kNoon);
  const ReservationId released = MustReserve(scopes, Cents(10), kNoon);
  ASSERT_TRUE(ledger_->Settle(settled, Cents(10)).ok());
  ASSERT_TRUE(ledger_->Release(released).ok());

  EXPECT_TRUE(absl::IsNotFound(ledger_->Settle(settled, Cents(10))));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Release(settled)));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Release(released)));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Settle(released, Cents(10))));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Settle(987654, Cents(10))));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Release(-1)));
  // The failed calls booked nothing.
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).spent, Cents(10));
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(0));
}

TEST_P(BudgetLedgerConformance, RejectsInvalidArguments) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};
  EXPECT_TRUE(absl::IsInvalidArgument(ledger_->Reserve(scopes, Cents(-1), kNoon).status()));
  const std::vector<ScopeLimit> twice = {User("alice", Cents(100)), User("alice", Cents(50))};
  EXPECT_TRUE(absl::IsInvalidArgument(ledger_->Reserve(twice, Cents(1), kNoon).status()));
  // The same subject in different kinds is not a repeat.
  MustReserve({User("x", Cents(100)), Model("x", Cents(100))}, Cents(1), kNoon);

  const ReservationId id = MustReserve(scopes, Cents(10), kNoon);
  EXPECT_TRUE(absl::IsInvalidArgument(ledger_->Settle(id, Cents(-1))));
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(10));
  EXPECT_TRUE(ledger_->Settle(id, Cents(10)).ok());
}

TEST_P(BudgetLedgerConformance, BalancesReportEveryScope) {
  const base::SystemTime now = At(2028, 2, 28, 18, 30);  // a leap year
  const std::vector<ScopeLimit> scopes = {Global(Cents(5000)), User("alice", Cents(500)),
                                          Model("flux", Cents(2000)), Month(Cents(100'000))};
  ASSERT_TRUE(ledger_->Settle(MustReserve(scopes, Cents(25), now), Cents(20)).ok());
  MustReserve(scopes, Cents(4), now);

  absl::StatusOr<std::vector<ScopeBalance>> balances = ledger_->Balances(scopes, now);
  ASSERT_TRUE(balances.ok()) << balances.status();
  ASSERT_EQ(balances->size(), 4u);
  for (std::size_t i = 0; i < scopes.size(); ++i) {
    const ScopeBalance& b = (*balances)[i];
    EXPECT_EQ(b.kind, scopes[i].kind);
    EXPECT_EQ(b.subject, scopes[i].subject);
    EXPECT_EQ(b.limit, scopes[i].limit);
    EXPECT_EQ(b.spent, Cents(20));
    EXPECT_EQ(b.reserved, Cents(4));
  }
  EXPECT_EQ((*balances)[0].window, "2028-02-28");
  EXPECT_EQ((*balances)[0].resets_at, At(2028, 2, 29));
  EXPECT_EQ((*balances)[3].window, "2028-02");
  EXPECT_EQ((*balances)[3].resets_at, At(2028, 3, 1));

  absl::StatusOr<std::vector<ScopeBalance>> none = ledger_->Balances({}, now);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(BudgetLedgerConformance, SettleOrphansBooksOpenReservationsAtTheirAmount) {
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), User("alice", Cents(100))};
  const ReservationId a = MustReserve(scopes, Cents(10), kNoon);
  const ReservationId b = MustReserve(scopes, Cents(15), kNoon);
  const ReservationId c = MustReserve(scopes, Cents(20), kNoon);
  ASSERT_TRUE(ledger_->Settle(b, Cents(1)).ok());

  absl::StatusOr<std::int64_t> settled = ledger_->SettleOrphans();
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(*settled, 2);
  for (const ScopeLimit& scope : scopes) {
    EXPECT_EQ(BalanceOf(scope, kNoon).spent, Cents(31));
    EXPECT_EQ(BalanceOf(scope, kNoon).reserved, Cents(0));
  }
  EXPECT_TRUE(absl::IsNotFound(ledger_->Release(a)));
  EXPECT_TRUE(absl::IsNotFound(ledger_->Settle(c, Cents(0))));

  settled = ledger_->SettleOrphans();
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, 0);
}

// 1,000 concurrent requests at $0.04 against $1.00: exactly 25 get through,
// whatever the interleaving.
TEST_P(BudgetLedgerConformance, ConcurrentReservationsNeverOverspend) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  const std::vector<ScopeLimit> scopes = {Global(Cents(100)), Month(Cents(1000))};
  std::atomic<int> granted{0};
  std::atomic<int> denied{0};
  std::atomic<int> failed{0};
  std::mutex ids_mu;
  std::vector<ReservationId> ids;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          absl::StatusOr<std::variant<ReservationId, Denial>> result =
              ledger_->Reserve(scopes, Cents(4), kNoon);
          if (!result.ok()) {
            failed.fetch_add(1);
          } else if (const auto* id = std::get_if<ReservationId>(&*result)) {
            granted.fetch_add(1);
            std::lock_guard<std::mutex> lock(ids_mu);
            ids.push_back(*id);
          } else {
            denied.fetch_add(1);
          }
        }
      });
    }
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(granted.load(), 25);
  EXPECT_EQ(denied.load(), kThreads * kPerThread - 25);
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(100));
  for (ReservationId id : ids) ASSERT_TRUE(ledger_->Settle(id, Cents(4)).ok());
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).spent, Cents(100));
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(0));
  EXPECT_EQ(BalanceOf(scopes[1], kNoon).spent, Cents(100));
}

// Settles and releases racing with reservations keep the totals exact.
TEST_P(BudgetLedgerConformance, ConcurrentCloseKeepsTotalsExact) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  const std::vector<ScopeLimit> scopes = {Global(Cents(1'000'000))};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          absl::StatusOr<std::variant<ReservationId, Denial>> result =
              ledger_->Reserve(scopes, Cents(3), kNoon);
          ASSERT_TRUE(result.ok()) << result.status();
          const ReservationId id = std::get<ReservationId>(*result);
          if ((i + t) % 2 == 0) {
            ASSERT_TRUE(ledger_->Settle(id, Cents(2)).ok());
          } else {
            ASSERT_TRUE(ledger_->Release(id).ok());
          }
        }
      });
    }
  }
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).spent, Cents(2 * kThreads * kPerThread / 2));
  EXPECT_EQ(BalanceOf(scopes[0], kNoon).reserved, Cents(0));
}

}  // namespace
}  // namespace gencache::budget
