#pragma once

#include <atomic>
#include <chrono>

namespace gencache::base {

using SystemTime = std::chrono::system_clock::time_point;

// Wall-clock source. Injected wherever time decides behaviour (TTL expiry,
// Age, budget windows) so tests can move time without sleeping.
// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for production wiring.
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start = SystemTime{std::chrono::seconds{1'700'000'000}})
      : now_(start.time_since_epoch().count()) {}
  SystemTime Now() const override {
    return SystemTime{SystemTime::duration{now_.load(std::memory_order_relaxed)}};
  }
  void Advance(std::chrono::nanoseconds d) {
    now_.fetch_add(std::chrono::duration_cast<SystemTime::duration>(d).count(),
                   std::memory_order_relaxed);
  }
  void Set(SystemTime t) { now_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }

 private:
  std::atomic<SystemTime::rep> now_;
};

}  // namespace gencache::base
