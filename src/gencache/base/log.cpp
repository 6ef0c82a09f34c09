#include "gencache/base/log.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace gencache::base {
namespace {

thread_local std::string_view current_request_id;

// Formats spdlog records as JSON lines, escaping the message.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(128 + msg.payload.size());
    auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(msg.time);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time - seconds).count();
    std::time_t t = std::chrono::system_clock::to_time_t(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    line += R"({"ts":")";
    line.append(ts, n);
    line += fmt::format(".{:03}Z\",\"level\":\"", millis);
    auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += R"(","msg":")";
    AppendJsonEscaped(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += '"';
    if (!current_request_id.empty()) {
      line += R"(,"request_id":")";
      AppendJsonEscaped(line, current_request_id);
      line += '"';
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
}

void InitLogging(std::string_view level, LogFormat format, std::ostream* out) {
  spdlog::drop("gencache");
  std::shared_ptr<spdlog::logger> logger;
  if (out != nullptr) {
    logger = std::make_shared<spdlog::logger>(
        "gencache", std::make_shared<spdlog::sinks::ostream_sink_mt>(*out, /*force_flush=*/true));
    spdlog::register_logger(logger);
  } else {
    logger = spdlog::stderr_color_mt("gencache");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

ScopedRequestId::ScopedRequestId(std::string_view request_id) : previous_(current_request_id) {
  current_request_id = request_id;
}

ScopedRequestId::~ScopedRequestId() { current_request_id = previous_; }

std::string_view ScopedRequestId::Current() { return current_request_id; }

}  // namespace gencache::base
