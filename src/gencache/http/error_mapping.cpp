#include "gencache/http/error_mapping.hpp"

namespace gencache::http {

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kOutOfRange:
      return 413;  // a body or output over its size limit
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 502;  // upstream unreachable or broken
    case absl::StatusCode::kDeadlineExceeded:
      return 504;  // upstream too slow
    default:
      return 500;
  }
}

int RequestErrorStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kDeadlineExceeded:
      return 408;
    default:
      return HttpStatusFor(status);
  }
}

const char* ErrorCodeFor(int http_status) {
  switch (http_status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 416:
      return "range_not_satisfiable";
    case 429:
      return "rate_limited";
    case 501:
      return "not_implemented";
    case 502:
      return "upstream_unreachable";
    case 503:
      return "unavailable";
    case 504:
      return "upstream_timeout";
    default:
      return "internal_error";
  }
}

}  // namespace gencache::http
