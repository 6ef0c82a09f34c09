#include "fake_provider/delay_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

namespace gencache::fake_provider {
namespace {

using namespace std::chrono_literals;

TEST(DelayQueueTest, RunsTasksInDueOrderNotInsertionOrder) {
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> all_done;
  {
    DelayQueue queue;
    auto record = [&](int n) {
      return [&, n] {
        std::lock_guard lock(mu);
        order.push_back(n);
        if (order.size() == 3) all_done.set_value();
      };
    };
    queue.RunAfter(120ms, record(3));
    queue.RunAfter(60ms, record(2));
    queue.RunAfter(0ms, record(1));
    ASSERT_EQ(all_done.get_future().wait_for(5s), std::future_status::ready);
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(DelayQueueTest, DoesNotRunATaskBeforeItsTime) {
  DelayQueue queue;
  const auto start = std::chrono::steady_clock::now();
  std::promise<std::chrono::steady_clock::time_point> ran;
  queue.RunAfter(100ms, [&] { ran.set_value(std::chrono::steady_clock::now()); });
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_GE(future.get() - start, 100ms);
}

TEST(DelayQueueTest, AnEarlierTaskQueuedLaterWakesTheTimer) {
  DelayQueue queue;
  std::atomic<bool> late_ran{false};
  queue.RunAfter(10s, [&] { late_ran = true; });
  std::promise<void> early;
  const auto start = std::chrono::steady_clock::now();
  queue.RunAfter(20ms, [&] { early.set_value(); });
  ASSERT_EQ(early.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(late_ran);
  EXPECT_EQ(queue.pending(), 1u);
}

TEST(DelayQueueTest, DestructorRunsEveryPendingTask) {
  std::atomic<int> ran{0};
  {
    DelayQueue queue;
    for (int i = 0; i < 50; ++i) queue.RunAfter(1h, [&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(DelayQueueTest, StopRunsPendingTasksAndLaterTasksRunInline) {
  DelayQueue queue;
  std::atomic<int> ran{0};
  queue.RunAfter(1h, [&] { ++ran; });
  queue.Stop();
  EXPECT_EQ(ran.load(), 1);
  queue.RunAfter(1h, [&] { ++ran; });
  EXPECT_EQ(ran.load(), 2);
  queue.Stop();
}

}  // namespace
}  // namespace gencache::fake_provider
