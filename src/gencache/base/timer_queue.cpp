#include "gencache/base/timer_queue.hpp"

#include "absl/time/time.h"

namespace gencache::base {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() { Shutdown(); }

void TimerQueue::Shutdown() {
  // Destroyed outside the lock: captured state may run arbitrary destructors.
  std::multimap<TimePoint, std::pair<Id, std::function<void()>>> dropped;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(due_);
    index_.clear();
    wake_.Signal();
  }
  std::call_once(joined_, [this] { thread_.join(); });
}

TimerQueue::Id TimerQueue::RunAt(TimePoint when, std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  Id id = next_id_++;
  if (stopping_) return id;
  bool earliest = due_.empty() || when < due_.begin()->first;
  due_.emplace(when, std::pair{id, std::move(callback)});
  index_.emplace(id, when);
  if (earliest) wake_.Signal();
  return id;
}

bool TimerQueue::Cancel(Id id) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  auto [first, last] = due_.equal_range(it->second);
  for (auto d = first; d != last; ++d) {
    if (d->second.first == id) {
      due_.erase(d);
      break;
    }
  }
  index_.erase(it);
  return true;
}

void TimerQueue::Loop() {
  for (;;) {
    std::function<void()> callback;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        if (!due_.empty() && due_.begin()->first <= std::chrono::steady_clock::now()) break;
        if (due_.empty()) {
          wake_.Wait(&mu_);
        } else {
          auto left = due_.begin()->first - std::chrono::steady_clock::now();
          wake_.WaitWithTimeout(&mu_, absl::FromChrono(left));
        }
      }
      auto it = due_.begin();
      callback = std::move(it->second.second);
      index_.erase(it->second.first);
      due_.erase(it);
    }
    callback();
  }
}

}  // namespace gencache::base
