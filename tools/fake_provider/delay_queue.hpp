#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gencache::fake_provider {

// Runs tasks at a later time on one timer thread. This is how the fake
// provider delays hundreds of answers at once without a thread (or a sleeping
// event loop) per request.
//
// Tasks run one after another on the timer thread and must be short (build a
// response and hand it to `respond`). Thread-safe. Stop (also called by the
// destructor) runs every task still queued, immediately and in due order, so
// each held request still gets its one answer, and joins the thread; a task
// queued after Stop runs at once on the caller's thread.
class DelayQueue {
 public:
  using Task = std::function<void()>;
  using SteadyTime = std::chrono::steady_clock::time_point;

  DelayQueue();
  ~DelayQueue();
  DelayQueue(const DelayQueue&) = delete;
  DelayQueue& operator=(const DelayQueue&) = delete;

  void RunAt(SteadyTime due, Task task);
  void RunAfter(std::chrono::nanoseconds delay, Task task) {
    RunAt(std::chrono::steady_clock::now() + delay, std::move(task));
  }

  // Idempotent; blocks until every queued task has run.
  void Stop();

  // Tasks queued and not yet run.
  std::size_t pending() const;

 private:
  struct Entry {
    SteadyTime due;
    std::uint64_t sequence;  // FIFO among tasks due at the same time
    Task task;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.due != b.due ? a.due > b.due : a.sequence > b.sequence;
    }
  };

  void Loop();

  mutable absl::Mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, Later> queue_ ABSL_GUARDED_BY(mu_);
  std::uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;  // serialises concurrent Stop calls
  std::thread thread_;
};

}  // namespace gencache::fake_provider
