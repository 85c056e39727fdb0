-- Shared by every scenario: after the run, print one machine-readable line
-- that bench/run parses, instead of scraping wrk's human summary.
-- Latencies are in microseconds, as wrk records them.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%.0f p99_us=%.0f mean_us=%.0f max_us=%.0f " ..
    "errors=%d status_errors=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    e.connect + e.read + e.write + e.status + e.timeout, e.status))
end
