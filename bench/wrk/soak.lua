-- Mixed traffic for bench/soak.sh: mostly token requests in every body form, some session
-- creations and health checks. Counts answers per kind; wrk itself counts non-2xx and socket errors.
-- Usage: wrk ... -s bench/wrk/soak.lua URL -- SESSION_ID

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  session = args[1]
  n = 0
  creates, accesses, health, bad = 0, 0, 0, 0
  local access = "/session/" .. session .. "/access"
  json = { ["Content-Type"] = "application/json" }
  form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  plan = {
    { "POST", access, json, '{"role":"subscriber","data":"name=soak"}', "access" },
    { "POST", access, form, "role=moderator&data=a%26b&initialLayoutClassList=focus+big", "access" },
    { "POST", access, {}, nil, "access" },
    { "POST", access, json, '{"initialLayoutClassList":["focus"],"role":"publisheronly"}', "access" },
  }
end

function request()
  n = n + 1
  if n % 50 == 0 then
    kind = "create"
    return wrk.format("POST", "/session", json, '{"mediaMode":"routed"}')
  elseif n % 50 == 25 then
    kind = "health"
    return wrk.format("GET", "/healthz")
  end
  local p = plan[(n % #plan) + 1]
  kind = p[5]
  return wrk.format(p[1], p[2], p[3], p[4])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  elseif kind == "create" then
    creates = creates + 1
  elseif kind == "health" then
    health = health + 1
  else
    accesses = accesses + 1
  end
end

function done(summary, latency, requests)
  local c, a, h, b = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("creates")
    a = a + t:get("accesses")
    h = h + t:get("health")
    b = b + t:get("bad")
  end
  io.write(string.format("SOAK requests=%d creates=%d accesses=%d health=%d non2xx=%d " ..
    "socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, c, a, h, b,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
