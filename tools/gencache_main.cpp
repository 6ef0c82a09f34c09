#include "absl/synchronization/mutex.h"
#include "gencache/cli/commands.hpp"

int main(int argc, char** argv) {
#ifdef NDEBUG
  // Debian builds Abseil with mutex deadlock detection on, which sends every
  // lock through one global lock: ~30 ns on each cache hit. Debug builds
  // keep it as a check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  return gencache::cli::Main(argc, argv);
}
