-- wrk script for bench/hit_path.sh: every request is the same POST with a
-- JSON body, Content-Type and a bearer token, as a provider SDK sends it.
-- The body is read from the file named by BENCH_REQUEST_BODY. done() prints
-- one machine-readable line (latencies in microseconds) that the shell
-- script parses instead of wrk's human-oriented report.

local path = os.getenv("BENCH_REQUEST_BODY")
if path == nil or path == "" then
  error("BENCH_REQUEST_BODY must name the request body file")
end
local file = assert(io.open(path, "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-client"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHRESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
