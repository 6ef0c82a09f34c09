#pragma once

#include <memory>

#include "gencache/upstream/http_client.hpp"

namespace gencache::upstream {

struct CurlHttpClientOptions {
  long max_connections_per_host = 64;
  long max_total_connections = 256;
  // CA bundle; empty uses libcurl's default (the system store).
  std::string ca_file;
};

// HttpClient on one libcurl multi handle driven by a dedicated thread: the
// event loops only hand requests over and never wait for the network.
std::unique_ptr<HttpClient> MakeCurlHttpClient(CurlHttpClientOptions options = {});

}  // namespace gencache::upstream
