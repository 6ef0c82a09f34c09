#include "fake_provider/delay_queue.hpp"

#include <utility>

#include "absl/time/time.h"

namespace gencache::fake_provider {

DelayQueue::DelayQueue() : thread_([this] { Loop(); }) {}

DelayQueue::~DelayQueue() { Stop(); }

void DelayQueue::Stop() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void DelayQueue::RunAt(SteadyTime due, Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push(Entry{due, next_sequence_++, std::move(task)});
      return;
    }
  }
  task();
}

std::size_t DelayQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void DelayQueue::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) {
        stopped_ = true;
        return;
      }
      // Woken by RunAt or the destructor through the condition.
      mu_.Await(absl::Condition(
          +[](DelayQueue* self)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->stopping_ || !self->queue_.empty(); },
          this));
      continue;
    }
    const SteadyTime due = queue_.top().due;
    const auto now = std::chrono::steady_clock::now();
    if (due > now && !stopping_) {
      // Wake early when an earlier task is queued or on shutdown.
      const std::uint64_t sequence_before = next_sequence_;
      struct Wake {
        DelayQueue* self;
        std::uint64_t sequence_before;
      } wake{this, sequence_before};
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Wake* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return w->self->stopping_ ||
                                        w->self->next_sequence_ != w->sequence_before;
                               },
                               &wake),
                           absl::FromChrono(due - now));
      continue;
    }
    // priority_queue::top is const; the entry is popped right after the move.
    Task task = std::move(const_cast<Entry&>(queue_.top()).task);
    queue_.pop();
    mu_.Unlock();
    task();
    mu_.Lock();
  }
}

}  // namespace gencache::fake_provider
