-- wrk script for bench/store_rss.sh: POST the body in $BENCH_BODY until $BENCH_COUNT responses
-- have come back (run with -t1, so one Lua state counts them all), print one machine-readable
-- line and exit at once: wrk's own end (thread:stop) would still wait out the whole -d.
-- Socket errors are not seen here; the caller bounds the run with -d and `timeout`.
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
    io.write(string.format("COUNT responses=%d created=%d\n", seen, created))
    io.flush()
    os.exit(0)
  end
end
