#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace gencache::base {

enum class LogFormat {
  kJson,  // one JSON object per line: {"ts","level","msg"[,"request_id"]}
  kText,  // the same fields as plain text, for a terminal
};

// Installs the process-wide logger on stderr at `level` (trace, debug, info,
// warn, error, off). Log lines never carry header values, credentials or,
// unless the operator enables it, prompts: callers log identifiers only.
// `out` replaces stderr (tests capture the log this way); it must outlive
// the logger.
void InitLogging(std::string_view level, LogFormat format, std::ostream* out = nullptr);

// Tags every log line written by this thread while it lives with a request
// id (the `request_id` field). Cheap: a thread-local pointer swap.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string_view request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

  // The id in effect on this thread, empty when none.
  static std::string_view Current();

 private:
  std::string_view previous_;
};

// `s` as a JSON string literal body (no quotes), escaped.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace gencache::base
