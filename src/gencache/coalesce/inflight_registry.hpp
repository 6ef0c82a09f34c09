#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gencache/base/money.hpp"
#include "gencache/cache/cached_response.hpp"
#include "gencache/keying/cache_key.hpp"

namespace gencache::coalesce {

// How a flight ended, as every participant sees it.
struct FlightResult {
  enum class Outcome {
    kSucceeded,  // `response` is the terminal answer (also stored in the cache)
    kFailed,     // `response` is the error to relay (never cached)
  };
  Outcome outcome = Outcome::kFailed;
  cache::CachedResponsePtr response;
  // The answer came from the persistent cache tier, not from the upstream.
  bool from_cache = false;
  // The budget refused the call (the response is the 429), and the seconds
  // until the refusing scope resets.
  bool denied = false;
  std::int64_t retry_after_seconds = 0;
  // What the upstream call cost, booked to the request that led the flight.
  base::Money cost;
  std::chrono::microseconds upstream_latency{0};
  // Bytes of outputs this flight downloaded into the blob store.
  std::uint64_t rehosted_bytes = 0;
  // The answer is another request's entry that the near-duplicate index
  // matched (from_cache is set too): its key and the prompts' similarity.
  std::string near_match_key;
  double near_similarity = 0;
};

using FlightCallback = std::function<void(const FlightResult&)>;

// One upstream call that any number of identical requests share. The flight,
// not the request that started it, owns the call: a leader whose client
// disconnects still completes the flight for its followers.
class Flight {
 public:
  virtual ~Flight() = default;
  // Runs `callback` once with the result: at completion, or at once (on the
  // calling thread) if the flight has already completed. Thread-safe.
  virtual void OnComplete(FlightCallback callback) = 0;
  // Latest non-terminal upstream body the leader saw, for followers whose
  // wait runs out before the end (empty when none yet). Thread-safe.
  virtual std::shared_ptr<const std::string> LatestPending() const = 0;
  virtual void SetLatestPending(std::shared_ptr<const std::string> body) = 0;
  virtual std::size_t waiter_count() const = 0;
};

// Key -> in-flight call. Thread-safe.
class InflightRegistry {
 public:
  struct Ticket {
    std::shared_ptr<Flight> flight;
    bool leader = false;  // the caller must make the call and Complete it
  };

  virtual ~InflightRegistry() = default;

  // Joins the flight for `key`, or starts one and makes the caller its
  // leader.
  virtual Ticket JoinOrLead(const keying::CacheKey& key) = 0;

  // Ends the flight: removes it from the registry first (so a request that
  // arrives after this starts a new flight and finds the cache), then runs
  // every callback. REQUIRES: called once, by the leader.
  virtual void Complete(const keying::CacheKey& key, const std::shared_ptr<Flight>& flight,
                        FlightResult result) = 0;

  virtual std::size_t InflightCount() const = 0;
};

}  // namespace gencache::coalesce
