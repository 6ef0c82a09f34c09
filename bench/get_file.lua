-- wrk script for bench/files.sh: plain GETs of one URL. done() prints one
-- machine-readable line (latencies in microseconds, bytes as wrk counted
-- them, heads included) that the shell script parses instead of wrk's
-- human-oriented report.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHRESULT requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d max_us=%d " ..
    "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
