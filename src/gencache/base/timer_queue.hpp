#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace gencache::base {

// Runs callbacks at steady-clock deadlines on one background thread. Used
// for poll back-off and waiter deadlines, where a thread per wait would not
// scale. Callbacks run on the timer thread and must be short and never block.
// Thread-safe. Destruction cancels everything still pending, without running
// it, and joins the thread.
class TimerQueue {
 public:
  using Id = std::uint64_t;
  using TimePoint = std::chrono::steady_clock::time_point;

  TimerQueue();
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  Id RunAt(TimePoint when, std::function<void()> callback);
  Id RunAfter(std::chrono::steady_clock::duration delay, std::function<void()> callback) {
    return RunAt(std::chrono::steady_clock::now() + delay, std::move(callback));
  }
  // True if the callback was removed before it ran.
  bool Cancel(Id id);
  // Drops every pending callback without running it and stops the thread;
  // later RunAt calls are accepted and never run. Idempotent.
  void Shutdown();

 private:
  void Loop();

  absl::Mutex mu_;
  absl::CondVar wake_;
  std::multimap<TimePoint, std::pair<Id, std::function<void()>>> due_ ABSL_GUARDED_BY(mu_);
  std::map<Id, TimePoint> index_ ABSL_GUARDED_BY(mu_);
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::once_flag joined_;
};

}  // namespace gencache::base
