#pragma once

#include "absl/status/status.h"

namespace gencache::http {

// The one place a failure becomes an HTTP status code:
//   InvalidArgument -> 400, Unauthenticated -> 401, PermissionDenied -> 403,
//   NotFound -> 404, DeadlineExceeded -> 504 (upstream) ... see the table in
//   error_mapping.cpp. Errors that arise while reading the client's request
//   use RequestErrorStatus instead (a timed-out request is 408, not 504).
int HttpStatusFor(const absl::Status& status);

// For refusals of the client's own request (framing, size, slowness).
int RequestErrorStatus(const absl::Status& status);

// Stable machine-readable code for a status, e.g. "invalid_request".
const char* ErrorCodeFor(int http_status);

}  // namespace gencache::http
