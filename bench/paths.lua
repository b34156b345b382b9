-- wrk script for bench/run.py: GETs the paths listed in a file, in turn, with optional headers.
-- usage: wrk ... -s bench/paths.lua <url> -- <paths-file> [cookie|-] [hx]
--   paths-file  one request path per line (already URL-encoded); threads start at different offsets
--   cookie      the Cookie header value to send ("-" for none)
--   hx          send `hx-request: true` (an HTMX fragment request)
-- done() prints one line: "BENCH p50_ms=... p95_ms=... p99_ms=... requests=... rps=... non2xx=... errors=..."

local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local paths = {}
local headers = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if line ~= "" then paths[#paths + 1] = line end
  end
  file:close()
  assert(#paths > 0, "no paths in " .. args[1])
  if args[2] and args[2] ~= "-" then headers["Cookie"] = args[2] end
  if args[3] == "hx" then headers["HX-Request"] = "true" end
  -- Threads walk the same list from different starting points.
  index = math.floor((tid or 0) * #paths / 8)
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d duration_s=%.3f rps=%.1f non2xx=%d errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout))
end
