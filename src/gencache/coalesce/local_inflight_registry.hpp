#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gencache/coalesce/inflight_registry.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::coalesce {

// The single-process registry: a map of key -> flight under one mutex.
//
// Callbacks never run under a lock of this registry or of a flight, so a
// callback may call back into both (join a new flight, register another
// callback). Callbacks run on the thread that calls Complete, or on the
// thread that registers them after completion.
//
// A flight stays registered until its leader Completes it: the leader must
// Complete on every path (followers bound their own waits with deadlines).
class LocalInflightRegistry final : public InflightRegistry {
 public:
  LocalInflightRegistry() = default;
  ~LocalInflightRegistry() override;
  LocalInflightRegistry(const LocalInflightRegistry&) = delete;
  LocalInflightRegistry& operator=(const LocalInflightRegistry&) = delete;

  Ticket JoinOrLead(const keying::CacheKey& key) override;
  // REQUIRES: `flight` came from this registry's JoinOrLead for `key`.
  void Complete(const keying::CacheKey& key, const std::shared_ptr<Flight>& flight,
                FlightResult result) override;
  std::size_t InflightCount() const override;

 private:
  class LocalFlight;

  mutable absl::Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<LocalFlight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gencache::coalesce
