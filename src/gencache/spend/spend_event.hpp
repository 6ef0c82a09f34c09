#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/base/money.hpp"

namespace gencache::spend {

// One request, as the spend report sees it.
struct SpendEvent {
  base::SystemTime ts{};
  std::string request_id;
  std::string provider;  // mount name
  std::string model;
  std::string user;
  base::Money cost;          // what the provider charged for this request (0 for hits)
  base::Money saving;        // what a hit, near-hit or coalesced request would have cost
  std::string cache_status;  // hit, near-hit, coalesced, miss, bypass, denied, error
  std::string prediction_id;
  std::chrono::microseconds upstream_latency{0};
  std::chrono::microseconds total_latency{0};
  // The outputs of this request's answer were re-hosted into the blob store
  // (permanent URLs), and how many bytes they took.
  bool rehosted = false;
  std::uint64_t rehosted_bytes = 0;
};

// Where events go. Record never blocks the caller: events are queued and
// written in batches by the sink's own thread. The queue is bounded; an event
// that does not fit is counted as lost and logged, never silently dropped.
// Flush waits until everything queued so far is durable. Thread-safe.
class SpendSink {
 public:
  virtual ~SpendSink() = default;
  virtual void Record(SpendEvent event) = 0;
  virtual absl::Status Flush() = 0;
  virtual std::uint64_t lost() const = 0;
};

enum class GroupBy { kModel, kUser, kDay };

struct SummaryRow {
  std::string key;  // model, user or "YYYY-MM-DD"
  std::int64_t requests = 0;
  std::int64_t upstream_calls = 0;  // miss, bypass and error requests that reached the provider
  std::int64_t hits = 0;            // hit and near-hit
  base::Money cost;
  base::Money saved;
};

struct Summary {
  GroupBy group_by = GroupBy::kModel;
  base::SystemTime from{};
  base::SystemTime to{};
  std::vector<SummaryRow> rows;  // by cost, highest first
  SummaryRow total;              // key "total"
};

// Events with from <= ts < to; by default, all of them.
// Requests, cost and saving per time bucket, model and cache status: the
// breakdown behind "spend per day by model" and "status mix over time".
enum class Bucket { kHour, kDay };

struct SeriesRow {
  std::string t;  // "2026-11-26" (day) or "2026-11-26T13:00:00Z" (hour), UTC
  std::string model;
  std::string cache_status;
  std::int64_t requests = 0;
  base::Money cost;
  base::Money saved;
};

struct EventFilter {
  base::SystemTime from{};
  base::SystemTime to = base::SystemTime::max();
  std::optional<std::string> model;
  std::optional<std::string> user;
  std::optional<std::string> cache_status;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

// Reads what sinks wrote. Thread-safe; blocking.
class SpendStore {
 public:
  virtual ~SpendStore() = default;
  // Events with from <= ts < to.
  virtual absl::StatusOr<Summary> Summarize(GroupBy group_by, base::SystemTime from,
                                            base::SystemTime to) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<SpendEvent>> Events(const EventFilter& filter) = 0;
  // Events with from <= ts < to, grouped by bucket, model and status;
  // ordered by bucket, then model, then status.
  virtual absl::StatusOr<std::vector<SeriesRow>> Timeseries(Bucket bucket, base::SystemTime from,
                                                            base::SystemTime to) = 0;
};

}  // namespace gencache::spend
