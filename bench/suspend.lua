-- wrk script for bench/subscriptions.py: suspends a different service with each request, through the
-- real form post (the CSRF cookie and its x-csrftoken header), and counts answers that are not the
-- form's 303 redirect.
-- usage: wrk ... -s bench/suspend.lua <url> -- <ids-file> <cookie> <csrf-token> <threads>
--   ids-file    "service_id version" per line, each an active SIM; the run must not outlast the list
--   threads     wrk's -t: each thread takes its own share of the list, so no service is hit twice
-- done() prints one line: "BENCH p50_ms=... requests=... non2xx=... errors=... unexpected=... wrapped=..."

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

ids = {}
versions = {}
index = 0
unexpected = 0  -- answers other than 303 (read back by done() from each thread)
wrapped = 0  -- requests past the end of the list (they repeat a service, so they fail)
local headers = {}

function init(args)
  local count, n = tonumber(args[4]) or 1, 0
  for line in io.lines(args[1]) do
    local id, version = line:match("^(%d+)%s+(%d+)$")
    if id then
      if n % count == (tid or 0) then
        ids[#ids + 1] = id
        versions[#versions + 1] = version
      end
      n = n + 1
    end
  end
  assert(#ids > 0, "no services in " .. args[1])
  headers["Cookie"] = args[2]
  headers["x-csrftoken"] = args[3]
  headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  index = index + 1
  if index > #ids then
    wrapped = wrapped + 1
    index = 1
  end
  local body = "reason=lost_or_stolen&when=now&version=" .. versions[index]
  return wrk.format("POST", "/services/" .. ids[index] .. "/actions/suspend", headers, body)
end

function response(status, headers, body)
  if status ~= 303 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local odd, past = 0, 0
  for _, thread in ipairs(threads) do
    odd = odd + thread:get("unexpected")
    past = past + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d duration_s=%.3f rps=%.1f non2xx=%d errors=%d "
      .. "unexpected=%d wrapped=%d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout, odd, past))
end
