#include "gencache/base/timer_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

namespace gencache::base {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, RunsInDeadlineOrder) {
  TimerQueue timers;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  auto record = [&](int v) {
    std::lock_guard lock(mu);
    order.push_back(v);
    if (order.size() == 3) done.set_value();
  };
  timers.RunAfter(60ms, [&] { record(3); });
  timers.RunAfter(20ms, [&] { record(1); });
  timers.RunAfter(40ms, [&] { record(2); });
  ASSERT_EQ(done.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueue, EarlierTimerAddedLaterIsNotDelayed) {
  TimerQueue timers;
  std::atomic<bool> late_ran{false};
  timers.RunAfter(10s, [&] { late_ran = true; });
  std::promise<std::chrono::steady_clock::time_point> fired;
  auto start = std::chrono::steady_clock::now();
  timers.RunAfter(10ms, [&] { fired.set_value(std::chrono::steady_clock::now()); });
  auto when = fired.get_future().get();
  EXPECT_LT(when - start, 1s);  // generous bound: the point is "not after the 10 s one"
  EXPECT_FALSE(late_ran.load());
}

TEST(TimerQueue, CancelPreventsRun) {
  TimerQueue timers;
  std::atomic<int> ran{0};
  auto id = timers.RunAfter(50ms, [&] { ++ran; });
  EXPECT_TRUE(timers.Cancel(id));
  EXPECT_FALSE(timers.Cancel(id));
  std::promise<void> marker;
  timers.RunAfter(100ms, [&] { marker.set_value(); });
  marker.get_future().wait();
  EXPECT_EQ(ran.load(), 0);
}

TEST(TimerQueue, DestructionDropsPending) {
  std::atomic<int> ran{0};
  {
    TimerQueue timers;
    timers.RunAfter(1h, [&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace gencache::base
