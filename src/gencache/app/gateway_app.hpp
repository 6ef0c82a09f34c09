#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "gencache/base/clock.hpp"
#include "gencache/config/options.hpp"
#include "gencache/pipeline/gateway.hpp"

namespace gencache::app {

// The composition root: builds every part from the options, wires them into
// the pipeline and the server, and owns their shutdown. The only place that
// names concrete backends.
class GatewayApp {
 public:
  // Opens the data dir (creating it), the stores, and starts serving.
  // `clock` decides expiry, budget windows and event times (tests pass a
  // FakeClock); it must outlive the app.
  static absl::StatusOr<std::unique_ptr<GatewayApp>> Start(
      config::Options options, const base::Clock& clock = base::SystemClock::Instance());
  ~GatewayApp();

  std::uint16_t port() const;
  const pipeline::GatewayCounters& counters() const;

  // Stops accepting, lets in-flight work finish (bounded by `grace`), then
  // stops every part and flushes queued writes. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  struct Parts;

 private:
  explicit GatewayApp(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace gencache::app
