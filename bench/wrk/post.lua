-- wrk script for bench/run.sh: POST the body in $BENCH_BODY (JSON unless $BENCH_CTYPE says
-- otherwise; $BENCH_AUTH, if set, is sent as X-OPENTOK-AUTH for runs straight at the mock), then
-- print one machine-readable line. wrk counts HTTP status >= 400 as status errors; no route under
-- test answers 1xx or 3xx, so that is the count of non-2xx answers.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = os.getenv("BENCH_CTYPE") or "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["X-OPENTOK-AUTH"] = auth
  wrk.headers["Accept"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
