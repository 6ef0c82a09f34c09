#include "gencache/budget/reservation.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <variant>
#include <vector>

#include "gencache/budget/ledger_test_util.hpp"
#include "gencache/budget/memory_ledger.hpp"

namespace gencache::budget {
namespace {

const base::SystemTime kNoon = At(2026, 11, 26, 12);

class ReservationTest : public testing::Test {
 protected:
  Reservation MustMake(base::Money amount) {
    absl::StatusOr<std::variant<Reservation, Denial>> made =
        Reservation::Make(ledger_, scopes_, amount, kNoon);
    if (!made.ok() || !std::holds_alternative<Reservation>(*made)) {
      ADD_FAILURE() << "not granted: " << made.status();
      return {};
    }
    return std::get<Reservation>(*std::move(made));
  }

  ScopeBalance Balance() {
    absl::StatusOr<std::vector<ScopeBalance>> balances = ledger_.Balances(scopes_, kNoon);
    if (!balances.ok()) {
      ADD_FAILURE() << balances.status();
      return {};
    }
    return balances->front();
  }

  MemoryLedger ledger_;
  std::vector<ScopeLimit> scopes_ = {Global(Cents(100))};
};

TEST_F(ReservationTest, DestroyingAnOpenReservationReleasesIt) {
  {
    Reservation reservation = MustMake(Cents(30));
    EXPECT_TRUE(reservation.is_open());
    EXPECT_EQ(reservation.amount(), Cents(30));
    EXPECT_EQ(Balance().reserved, Cents(30));
  }
  EXPECT_EQ(Balance().reserved, Cents(0));
  EXPECT_EQ(Balance().spent, Cents(0));
}

TEST_F(ReservationTest, SettleBooksAndClosesIt) {
  {
    Reservation reservation = MustMake(Cents(30));
    const ReservationId id = reservation.id();
    ASSERT_TRUE(reservation.Settle(Cents(25)).ok());
    EXPECT_FALSE(reservation.is_open());
    EXPECT_TRUE(absl::IsFailedPrecondition(reservation.Settle(Cents(25))));
    EXPECT_TRUE(absl::IsFailedPrecondition(reservation.Release()));
    EXPECT_TRUE(absl::IsNotFound(ledger_.Release(id)));
  }
  EXPECT_EQ(Balance().spent, Cents(25));
  EXPECT_EQ(Balance().reserved, Cents(0));
}

TEST_F(ReservationTest, ReleaseDropsTheHold) {
  Reservation reservation = MustMake(Cents(30));
  ASSERT_TRUE(reservation.Release().ok());
  EXPECT_FALSE(reservation.is_open());
  EXPECT_EQ(Balance().reserved, Cents(0));
}

TEST_F(ReservationTest, AMovedFromReservationDoesNothing) {
  Reservation outer;
  {
    Reservation inner = MustMake(Cents(30));
    outer = std::move(inner);
    EXPECT_FALSE(inner.is_open());  // NOLINT(bugprone-use-after-move): the contract under test
    EXPECT_TRUE(absl::IsFailedPrecondition(inner.Settle(Cents(1))));
  }
  EXPECT_EQ(Balance().reserved, Cents(30));

  Reservation moved(std::move(outer));
  EXPECT_FALSE(outer.is_open());  // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(moved.Settle(Cents(30)).ok());
  EXPECT_EQ(Balance().spent, Cents(30));
  EXPECT_EQ(Balance().reserved, Cents(0));
}

TEST_F(ReservationTest, AssigningOverAnOpenReservationReleasesIt) {
  Reservation first = MustMake(Cents(30));
  first = MustMake(Cents(20));
  EXPECT_EQ(Balance().reserved, Cents(20));
  first = Reservation();
  EXPECT_EQ(Balance().reserved, Cents(0));
}

TEST_F(ReservationTest, MakeReturnsTheDenial) {
  Reservation held = MustMake(Cents(100));
  absl::StatusOr<std::variant<Reservation, Denial>> made =
      Reservation::Make(ledger_, scopes_, Cents(1), kNoon);
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_TRUE(std::holds_alternative<Denial>(*made));
  EXPECT_EQ(std::get<Denial>(*made).scope.reserved, Cents(100));
  EXPECT_TRUE(
      absl::IsInvalidArgument(Reservation::Make(ledger_, scopes_, Cents(-1), kNoon).status()));
}

// A ledger whose Release fails: the hold must stay, and nothing crashes.
class FailingReleaseLedger final : public BudgetLedger {
 public:
  absl::StatusOr<std::variant<ReservationId, Denial>> Reserve(std::span<const ScopeLimit> scopes,
                                                              base::Money amount,
                                                              base::SystemTime now) override {
    return inner.Reserve(scopes, amount, now);
  }
  absl::Status Settle(ReservationId id, base::Money actual) override {
    return inner.Settle(id, actual);
  }
  absl::Status Release(ReservationId /*id*/) override {
    ++release_calls;
    return absl::UnavailableError("disk gone");
  }
  absl::StatusOr<std::vector<ScopeBalance>> Balances(std::span<const ScopeLimit> scopes,
                                                     base::SystemTime now) override {
    return inner.Balances(scopes, now);
  }
  absl::StatusOr<std::int64_t> SettleOrphans() override { return inner.SettleOrphans(); }

  MemoryLedger inner;
  int release_calls = 0;
};

TEST(ReservationFailure, AFailedReleaseKeepsTheHold) {
  FailingReleaseLedger ledger;
  const std::vector<ScopeLimit> scopes = {Global(Cents(100))};
  {
    absl::StatusOr<std::variant<Reservation, Denial>> made =
        Reservation::Make(ledger, scopes, Cents(40), kNoon);
    ASSERT_TRUE(made.ok());
    ASSERT_TRUE(std::holds_alternative<Reservation>(*made));
  }
  EXPECT_EQ(ledger.release_calls, 1);
  absl::StatusOr<std::vector<ScopeBalance>> balances = ledger.Balances(scopes, kNoon);
  ASSERT_TRUE(balances.ok());
  EXPECT_EQ(balances->front().reserved, Cents(40));
  absl::StatusOr<std::int64_t> orphans = ledger.SettleOrphans();
  ASSERT_TRUE(orphans.ok());
  EXPECT_EQ(*orphans, 1);
}

}  // namespace
}  // namespace gencache::budget
