-- wrk script for bench/miss_path.sh: every request is a cache miss. Each is
-- the same seeded Replicate create except for input.seed, which is
-- BASE + THREAD * 1e8 + COUNT: BASE comes from BENCH_SEED_BASE (the script
-- gives every run its own range) or, when unset, from a random offset drawn
-- once per run; THREAD numbers wrk's threads; COUNT is a per-thread counter.
--
-- Latency is also measured here, per request, from request() to response()
-- (CLOCK_MONOTONIC through LuaJIT's FFI), matched by the seed the response
-- echoes. wrk's own percentiles are not enough: wrk 4.1 "corrects" its
-- histogram for coordinated omission (stats_correct: every sample longer
-- than twice the mean interval per connection adds synthetic samples), which
-- inflates a heavy-tailed distribution more than a tight one, and its mean
-- then exceeds what a closed loop of C connections can have (C / req/s).
--
-- done() prints one machine-readable line (microseconds): wrk's counts and
-- its corrected p50/p99 (wrk_p50_us, wrk_p99_us), and the measured mean,
-- p50, p99 and max over `matched` answers. `sent` is the number of requests
-- generated; it exceeds `requests` (answers) by those still in flight when
-- the run ended.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } gc_bench_timespec;
int clock_gettime(int clock_id, gc_bench_timespec* tp);
]])
local kClockMonotonic = 1
local timespec = ffi.new("gc_bench_timespec")
local function NowUs()
  ffi.C.clock_gettime(kClockMonotonic, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

local kThreadStride = 1e8

-- setup() and done() run in wrk's main Lua state: setup() once per thread
-- before any request, done() after all threads stopped.
local threads = {}
local run_base = nil

function setup(thread)
  if run_base == nil then
    run_base = tonumber(os.getenv("BENCH_SEED_BASE") or "")
    if run_base == nil then
      math.randomseed(os.time())
      run_base = math.random(1, 2 ^ 30) * 1000
    end
  end
  thread:set("seed_start", run_base + #threads * kThreadStride)
  table.insert(threads, thread)
end

-- Per thread (each has its own Lua state); `seed_start` was set by setup().
sent = 0
latencies = {}
local started = {} -- seed (as text) -> NowUs() when its request was made

local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer bench-client",
}

function request()
  local seed = string.format("%.0f", (seed_start or 0) + sent)
  sent = sent + 1
  started[seed] = NowUs()
  return wrk.format("POST", nil, headers,
    '{"version":"bench","input":{"prompt":"p","seed":' .. seed .. '}}')
end

function response(status, response_headers, body)
  local now = NowUs()
  local seed = body and body:match('"seed":(%d+)')
  local start = seed and started[seed]
  if start then
    latencies[#latencies + 1] = now - start
    started[seed] = nil
  end
end

function done(summary, latency, requests)
  local total_sent = 0
  local all = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    for _, v in ipairs(thread:get("latencies") or {}) do all[#all + 1] = v end
  end
  table.sort(all)
  local sum = 0
  for _, v in ipairs(all) do sum = sum + v end
  local function Percentile(p) -- nearest rank
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * p / 100))]
  end
  local e = summary.errors
  io.write(string.format(
    "BENCHRESULT requests=%d sent=%d matched=%d duration_us=%d mean_us=%.0f p50_us=%.0f " ..
    "p99_us=%.0f max_us=%.0f wrk_p50_us=%d wrk_p99_us=%d connect_errors=%d read_errors=%d " ..
    "write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, total_sent, #all, summary.duration, #all > 0 and sum / #all or 0,
    Percentile(50), Percentile(99), all[#all] or 0, latency:percentile(50),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
