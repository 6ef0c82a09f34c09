#include "gencache/coalesce/local_inflight_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gencache/cache/cached_response.hpp"

namespace gencache::coalesce {
namespace {

keying::CacheKey Key(int i) { return keying::CacheKey{std::string(63, 'k') + std::to_string(i)}; }

cache::CachedResponsePtr Response(std::string body, int status = 200) {
  auto response = std::make_shared<cache::CachedResponse>();
  response->http_status = status;
  response->body = std::make_shared<const std::string>(std::move(body));
  return response;
}

TEST(LocalInflightRegistryTest, FirstLeadsLaterJoin) {
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  InflightRegistry::Ticket follower = registry.JoinOrLead(Key(1));
  InflightRegistry::Ticket other = registry.JoinOrLead(Key(2));
  EXPECT_TRUE(leader.leader);
  EXPECT_FALSE(follower.leader);
  EXPECT_TRUE(other.leader);
  EXPECT_EQ(leader.flight, follower.flight);
  EXPECT_NE(leader.flight, other.flight);
  EXPECT_EQ(registry.InflightCount(), 2u);
}

TEST(LocalInflightRegistryTest, ThousandWaitersGetTheResultExactlyOnce) {
  constexpr int kWaiters = 1000;
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  ASSERT_TRUE(leader.leader);

  std::vector<int> calls(kWaiters, 0);
  std::vector<cache::CachedResponsePtr> seen(kWaiters);
  for (int i = 0; i < kWaiters; ++i) {
    InflightRegistry::Ticket ticket = registry.JoinOrLead(Key(1));
    ASSERT_FALSE(ticket.leader);
    ticket.flight->OnComplete([&calls, &seen, i](const FlightResult& result) {
      ++calls[i];
      EXPECT_EQ(result.outcome, FlightResult::Outcome::kSucceeded);
      seen[i] = result.response;
    });
  }
  EXPECT_EQ(leader.flight->waiter_count(), std::size_t{kWaiters});

  cache::CachedResponsePtr response = Response("done");
  registry.Complete(Key(1), leader.flight,
                    {.outcome = FlightResult::Outcome::kSucceeded, .response = response});
  for (int i = 0; i < kWaiters; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(seen[i], response) << i;
  }
  EXPECT_EQ(leader.flight->waiter_count(), 0u);
  EXPECT_EQ(registry.InflightCount(), 0u);
}

TEST(LocalInflightRegistryTest, FailureReachesEveryWaiterAndTheNextCallLeads) {
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  int failures = 0;
  for (int i = 0; i < 10; ++i) {
    registry.JoinOrLead(Key(1)).flight->OnComplete([&failures](const FlightResult& result) {
      EXPECT_EQ(result.outcome, FlightResult::Outcome::kFailed);
      ASSERT_NE(result.response, nullptr);
      EXPECT_EQ(result.response->http_status, 502);
      ++failures;
    });
  }
  registry.Complete(Key(1), leader.flight,
                    {.outcome = FlightResult::Outcome::kFailed, .response = Response("boom", 502)});
  EXPECT_EQ(failures, 10);

  InflightRegistry::Ticket next = registry.JoinOrLead(Key(1));
  EXPECT_TRUE(next.leader);
  EXPECT_NE(next.flight, leader.flight);
}

TEST(LocalInflightRegistryTest, CallbackAfterCompletionRunsAtOnceOnTheCaller) {
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  cache::CachedResponsePtr response = Response("done");
  registry.Complete(Key(1), leader.flight,
                    {.outcome = FlightResult::Outcome::kSucceeded, .response = response});

  std::thread::id ran_on;
  cache::CachedResponsePtr seen;
  leader.flight->OnComplete([&](const FlightResult& result) {
    ran_on = std::this_thread::get_id();
    seen = result.response;
  });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(seen, response);
  EXPECT_EQ(leader.flight->waiter_count(), 0u);
}

TEST(LocalInflightRegistryTest, CallbacksMayReenterWithoutDeadlock) {
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  bool relead = false;
  bool nested = false;
  leader.flight->OnComplete([&](const FlightResult&) {
    relead = registry.JoinOrLead(Key(1)).leader;
    leader.flight->OnComplete([&](const FlightResult&) { nested = true; });
  });
  registry.Complete(Key(1), leader.flight,
                    {.outcome = FlightResult::Outcome::kSucceeded, .response = Response("ok")});
  EXPECT_TRUE(relead) << "the completed flight was removed before callbacks ran";
  EXPECT_TRUE(nested);
}

TEST(LocalInflightRegistryTest, LatestPendingIsShared) {
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  InflightRegistry::Ticket follower = registry.JoinOrLead(Key(1));
  EXPECT_EQ(follower.flight->LatestPending(), nullptr);
  auto body = std::make_shared<const std::string>("{\"status\":\"processing\"}");
  leader.flight->SetLatestPending(body);
  EXPECT_EQ(follower.flight->LatestPending(), body);
}

TEST(LocalInflightRegistryTest, ConcurrentJoinsMakeOneLeaderPerKey) {
  constexpr int kThreads = 8;
  constexpr int kKeys = 64;
  LocalInflightRegistry registry;
  std::vector<std::atomic<int>> leaders(kKeys);
  std::vector<std::atomic<int>> calls(kKeys);
  std::vector<std::vector<std::pair<int, std::shared_ptr<Flight>>>> led(kThreads);
  std::latch start(kThreads);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kKeys; ++k) {
        InflightRegistry::Ticket ticket = registry.JoinOrLead(Key(k));
        ticket.flight->OnComplete([&calls, k](const FlightResult&) { ++calls[k]; });
        if (ticket.leader) {
          ++leaders[k];
          led[t].emplace_back(k, ticket.flight);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(leaders[k].load(), 1) << k;
  EXPECT_EQ(registry.InflightCount(), std::size_t{kKeys});

  // Complete from several threads at once as well.
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const auto& [k, flight] : led[t]) {
        registry.Complete(
            Key(k), flight,
            {.outcome = FlightResult::Outcome::kSucceeded, .response = Response("ok")});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(calls[k].load(), kThreads) << k;
  EXPECT_EQ(registry.InflightCount(), 0u);
}

TEST(LocalInflightRegistryTest, CallbacksRacingCompletionRunExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  LocalInflightRegistry registry;
  InflightRegistry::Ticket leader = registry.JoinOrLead(Key(1));
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::latch start(kThreads + 1);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        leader.flight->OnComplete(
            [&calls, n = t * kPerThread + i](const FlightResult&) { ++calls[n]; });
      }
    });
  }
  start.arrive_and_wait();
  registry.Complete(Key(1), leader.flight,
                    {.outcome = FlightResult::Outcome::kSucceeded, .response = Response("ok")});
  for (std::thread& thread : threads) thread.join();
  for (std::size_t n = 0; n < calls.size(); ++n) EXPECT_EQ(calls[n].load(), 1) << n;
  EXPECT_EQ(leader.flight->waiter_count(), 0u);
}

}  // namespace
}  // namespace gencache::coalesce
