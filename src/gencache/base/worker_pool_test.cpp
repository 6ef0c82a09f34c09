#include "gencache/base/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace gencache::base {
namespace {

TEST(WorkerPool, RunsEveryTaskBeforeDestructionReturns) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 1000; ++i) pool.Post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(WorkerPool, SingleThreadKeepsOrder) {
  std::vector<int> order;
  {
    WorkerPool pool(1);
    for (int i = 0; i < 100; ++i) pool.Post([&, i] { order.push_back(i); });
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace gencache::base
