#include "gencache/coalesce/local_inflight_registry.hpp"

#include <atomic>
#include <utility>
#include <vector>

#include "gencache/base/check.hpp"

namespace gencache::coalesce {

class LocalInflightRegistry::LocalFlight final : public Flight {
 public:
  void OnComplete(FlightCallback callback) override {
    FlightResult result;
    {
      absl::MutexLock lock(&mu_);
      if (!done_) {
        waiting_.fetch_add(1, std::memory_order_relaxed);
        callbacks_.push_back(std::move(callback));
        return;
      }
      result = result_;
    }
    callback(result);
  }

  std::shared_ptr<const std::string> LatestPending() const override {
    absl::MutexLock lock(&mu_);
    return latest_pending_;
  }

  void SetLatestPending(std::shared_ptr<const std::string> body) override {
    absl::MutexLock lock(&mu_);
    latest_pending_ = std::move(body);
  }

  std::size_t waiter_count() const override { return waiting_.load(std::memory_order_relaxed); }

  // Publishes the result, then runs the callbacks registered so far outside
  // the lock; later ones see done_ and run at once in OnComplete.
  void Finish(const FlightResult& result) {
    std::vector<FlightCallback> callbacks;
    {
      absl::MutexLock lock(&mu_);
      GENCACHE_CHECK(!done_);  // a flight completes once
      done_ = true;
      result_ = result;
      callbacks.swap(callbacks_);
    }
    for (FlightCallback& callback : callbacks) {
      callback(result);
      waiting_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

 private:
  mutable absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  FlightResult result_ ABSL_GUARDED_BY(mu_);
  std::vector<FlightCallback> callbacks_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> latest_pending_ ABSL_GUARDED_BY(mu_);
  // Registered callbacks that have not run yet.
  std::atomic<std::size_t> waiting_{0};
};

LocalInflightRegistry::~LocalInflightRegistry() = default;

InflightRegistry::Ticket LocalInflightRegistry::JoinOrLead(const keying::CacheKey& key) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = flights_.try_emplace(key.hex);
  if (inserted) it->second = std::make_shared<LocalFlight>();
  return Ticket{.flight = it->second, .leader = inserted};
}

void LocalInflightRegistry::Complete(const keying::CacheKey& key,
                                     const std::shared_ptr<Flight>& flight, FlightResult result) {
  auto* local = dynamic_cast<LocalFlight*>(flight.get());
  GENCACHE_CHECK(local != nullptr);
  {
    absl::MutexLock lock(&mu_);
    auto it = flights_.find(key.hex);
    if (it != flights_.end() && it->second.get() == local) flights_.erase(it);
  }
  local->Finish(result);
}

std::size_t LocalInflightRegistry::InflightCount() const {
  absl::MutexLock lock(&mu_);
  return flights_.size();
}

}  // namespace gencache::coalesce
