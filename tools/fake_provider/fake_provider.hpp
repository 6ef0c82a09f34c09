#pragma once

#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "fake_provider/delay_queue.hpp"
#include "gencache/base/clock.hpp"
#include "gencache/http/message.hpp"

namespace gencache::fake_provider {

enum class Provider { kSkytells, kReplicate, kOpenAi };

// What an injected failure looks like to the caller of a create.
enum class FailMode {
  kStatus,      // an HTTP error (fail_status) with the provider's error body
  kPrediction,  // a well-formed prediction that ends `failed` (OpenAI: as kStatus)
  kHang,        // no answer until /_fake/reset or shutdown (then 503)
};

struct FakeProviderOptions {
  // Time from create to a terminal prediction.
  std::chrono::milliseconds latency{0};
  // false: a create answers the terminal prediction after `latency`.
  // true: a create answers `starting` (Replicate) / `pending` (Skytells) at
  // once and polls see it progress; Prefer: wait / await hold the answer.
  bool async = false;
  // Async mode splits `latency` into this many equal phases: the first is
  // starting/pending, the others processing.
  int async_steps = 2;
  // Output URLs answer 404 once this has passed since the prediction finished.
  std::chrono::milliseconds url_ttl = std::chrono::hours(1);
  // Host and port written into output and prediction URLs.
  std::string public_host = "127.0.0.1";
  std::uint16_t public_port = 0;
  // Upper bound for Prefer: wait / await holds.
  std::chrono::seconds max_wait{60};
  // Size of each output file, for outputs issued afterwards.
  std::uint64_t output_bytes = 4096;
};

// Counters served by GET /_fake/stats, zeroed by POST /_fake/reset.
struct FakeStats {
  std::int64_t creates[3] = {0, 0, 0};  // indexed by Provider
  std::int64_t polls[3] = {0, 0, 0};    // GETs of a prediction
  std::int64_t cancels = 0;
  std::int64_t deletes = 0;
  std::int64_t file_gets = 0;    // output downloads answered 200
  std::int64_t file_misses = 0;  // unknown or expired output URLs
  std::int64_t redirects = 0;    // GET /redirect answers
  std::int64_t failures_injected = 0;

  std::int64_t total_creates() const { return creates[0] + creates[1] + creates[2]; }
  std::int64_t total_polls() const { return polls[0] + polls[1] + polls[2]; }
};

// An http::Handler that speaks the Skytells, Replicate and OpenAI image wire
// protocols on one port, for tests and the demo:
//   /skytells/v1/...  /replicate/v1/...  /openai/v1/...  provider APIs
//   /files/<token>.png?expires=...                         output bytes
//   /redirect?to=<url>                                     a 302 to `to`
//   /_fake/stats  /_fake/reset  /_fake/config              control API
// See docs/fake-provider.md for every route.
//
// Output bytes depend only on (model, prompt, seed) for a seeded request and
// are random per prediction otherwise; every prediction still gets its own
// URL. Predictions, issued URLs and counters live in memory for the life of
// the object.
//
// Thread-safe; Handle never blocks on I/O: delayed answers go through one
// timer thread. (Serving a large output generates its bytes on the calling
// thread, about 1 s per 200 MB; the last large body is kept for repeats.) Wall-clock times (status
// progression, URL expiry, timestamps) come from `clock`; the delay of held answers is real time.
class FakeProvider final : public http::Handler {
 public:
  FakeProvider(FakeProviderOptions options, const base::Clock& clock);
  ~FakeProvider() override;

  // The port written into URLs; call once the server has bound.
  void SetPublicPort(std::uint16_t port);

  // Answers every held request now (hung ones with 503) and every later
  // request at once with 503. Call before stopping the server, so that no
  // answer is given after the server has gone.
  void Drain();

  void Handle(http::Request request, http::Respond respond) override;
  http::Response Reject(std::string_view target, const absl::Status& error) override;

  FakeStats stats() const;

 private:
  struct Prediction {
    Provider provider;
    std::string id;
    std::string model;
    std::string version;
    std::string input_json;  // the request's `input`, serialized
    std::vector<std::string> outputs;
    base::SystemTime created;
    std::chrono::milliseconds latency{0};
    bool async = false;
    int steps = 1;
    bool fail = false;
    bool canceled = false;
    base::SystemTime canceled_at;
    // Set when a held answer declared the prediction done, so a poll right
    // after can never see an older state than the client was given.
    bool done = false;
  };
  struct OutputFile {
    std::string content_key;  // seeds the bytes
    std::uint64_t size = 0;
    base::SystemTime expires;
  };
  struct Config {
    std::chrono::milliseconds latency;
    bool async;
    int async_steps;
    std::chrono::milliseconds url_ttl;
    std::int64_t fail_next = 0;
    int fail_status = 500;
    FailMode fail_mode = FailMode::kStatus;
    std::uint64_t output_bytes = 4096;
    // When set, predictions return these as their outputs (SSRF tests).
    std::vector<std::string> output_urls;
  };
  enum class Phase { kStarting, kProcessing, kSucceeded, kFailed, kCanceled };

  // kCreated renders the first answer of an async create (starting/pending
  // whatever the clock says); kEventStream is Replicate's SSE stream.
  enum class Render { kCreated, kPrediction, kEventStream };

  void HandleSkytells(std::string_view rest, http::Request& request, http::Respond& respond);
  void HandleReplicate(std::string_view rest, http::Request& request, http::Respond& respond);
  void HandleOpenAi(std::string_view rest, http::Request& request, http::Respond& respond);
  void HandleFile(std::string_view rest, const http::Request& request, http::Respond& respond);
  void HandleControl(std::string_view rest, const http::Request& request, http::Respond& respond);
  void HandleRedirect(const http::Request& request, http::Respond& respond);

  // A parsed create, the same for both prediction providers.
  struct CreateArgs {
    Provider provider;
    std::string model;
    std::string version;
    std::string input_json;
    std::string prompt;
    std::optional<std::uint64_t> seed;
    int num_outputs = 1;
    // Answer once terminal (Skytells `await`, Replicate `Prefer: wait`),
    // waiting at most max_hold. Sync mode always holds.
    bool hold = false;
    std::chrono::seconds max_hold{60};
    int created_status = 200;
  };
  // Counts the create, applies failure injection, stores the prediction and
  // answers now or later.
  void CreatePrediction(CreateArgs args, http::Respond respond);
  // Answers when the prediction is terminal or after max_hold, whichever is
  // first; an answer given at completion marks the prediction done.
  void AnswerWhenDone(const std::string& id, Provider provider, Render render,
                      std::chrono::seconds max_hold, int status, http::Respond respond);
  void Poll(Provider provider, const std::string& id, http::Respond& respond);
  void Cancel(Provider provider, const std::string& id, http::Respond& respond);

  Phase PhaseOf(const Prediction& p, base::SystemTime now) const;
  http::Response MakeResponse(const std::string& id, Provider provider, Render render, int status,
                              bool mark_done);
  boost::json::value RenderPrediction(const Prediction& p, Phase phase) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  http::Response EventStream(const Prediction& p, Phase phase) const;
  boost::json::object ConfigJson() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // A fresh URL for the bytes seeded by `content_key` (output_bytes of them),
  // valid for url_ttl from `from`.
  std::string IssueOutputUrl(const std::string& content_key, base::SystemTime from)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The outputs of a new prediction: config output_urls when set, else
  // `count` fresh URLs for the content keys `key(i)`.
  std::vector<std::string> IssueOutputs(int count, const std::function<std::string(int)>& key,
                                        base::SystemTime from) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewToken() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewPredictionId(Provider provider) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string BaseUrl() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Consumes one injected failure if any is pending.
  std::optional<FailMode> TakeFailure(Provider provider) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  http::Response InjectedError(Provider provider) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Answers every hung request with 503.
  void ReleaseHung() ABSL_LOCKS_EXCLUDED(mu_);

  const base::Clock& clock_;
  const std::chrono::seconds max_wait_;

  mutable absl::Mutex mu_;
  Config config_ ABSL_GUARDED_BY(mu_);
  std::string public_host_ ABSL_GUARDED_BY(mu_);
  std::uint16_t public_port_ ABSL_GUARDED_BY(mu_);
  FakeStats stats_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, Prediction> predictions_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, OutputFile> files_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<Provider, http::Respond>> hung_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // The last large output body served, so repeated downloads of a big output
  // do not regenerate it.
  std::string big_body_key_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> big_body_ ABSL_GUARDED_BY(mu_);

  // Last member: destroyed first, so the answers it still holds run while
  // everything they touch is alive.
  DelayQueue delays_;
};

// The bytes served for an output: a PNG signature followed by SHA-256
// counter-mode bytes of `content_key` (block i is SHA-256 of
// "<content_key>\n<i>"), `size` bytes in all. The same key gives the same
// bytes, and a shorter output is a prefix of a longer one.
std::string OutputBytes(std::string_view content_key, std::uint64_t size = 4096);

}  // namespace gencache::fake_provider
