-- wrk script for bench/store_rss.sh: POST the body in $BENCH_BODY until $BENCH_COUNT responses
-- have come back (run with -t1, so one Lua state counts them all; up to one response per
-- connection more may arrive while wrk stops), then print one machine-readable line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local limit = tonumber(os.getenv("BENCH_COUNT") or "1000")
local seen, created = 0, 0

function response(status, headers, body)
  seen = seen + 1
  if status == 201 then
    created = created + 1
  end
  if seen >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
end
