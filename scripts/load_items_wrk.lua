-- Closed-loop load test of several URLs with wrk (Debian: apt-get install -y wrk).
--
-- Each request takes the next URL of a file (one a line, full URLs or paths; blank lines
-- and lines starting with # are skipped), in turn, like `scripts/load_items.py --closed`.
-- wrk is C on an event loop: on the same 2 cores it leaves the server more CPU than the
-- Python client does, so its req/s is closer to what the server alone sustains.
--
--   python scripts/bench_items.py --store sqlite:////tmp/items300k/mapsvc.sqlite \
--       --urls http://127.0.0.1:8731 > /tmp/items300k/urls.txt
--   wrk -t1 -c8 -d30s --latency -s scripts/load_items_wrk.lua http://127.0.0.1:8731 \
--       -- /tmp/items300k/urls.txt
--
-- The URL on the command line only names the server; the paths come from the file.
-- Prints wrk's report, then as its LAST line JSON with requests, errors (connect, read,
-- write, timeout and non-2xx/3xx statuses), rps, p50_ms, p90_ms, p99_ms, max_ms and
-- mean_bytes.

local paths = {}
local next_path = 1

function init(args)
  local file = args[1]
  if file == nil then
    error("give the URL file after --: wrk ... -s load_items_wrk.lua URL -- urls.txt")
  end
  for line in io.lines(file) do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      -- a full URL keeps its path and query only (the host is wrk's)
      local path = line:gsub("^%a[%w+.-]*://[^/]+", "")
      if path == "" then
        path = "/"
      end
      paths[#paths + 1] = path
    end
  end
  if #paths == 0 then
    error("no URL in " .. file)
  end
  -- every thread starts at another place in the list (as load_items.py's connections)
  next_path = (id or 0) * 7 % #paths + 1
end

function setup(thread)
  thread:set("id", setup_count or 0)
  setup_count = (setup_count or 0) + 1
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  return wrk.format("GET", path, { ["Accept"] = "application/geo+json" })
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local seconds = summary.duration / 1e6
  local function ms(q)
    return string.format("%.1f", latency:percentile(q) / 1000.0)
  end
  io.write(string.format(
    '{"requests": %d, "errors": %d, "rps": %.1f, "p50_ms": %s, "p90_ms": %s, '
      .. '"p99_ms": %s, "max_ms": %.1f, "mean_bytes": %d}\n',
    summary.requests,
    errors,
    summary.requests / seconds,
    ms(50),
    ms(90),
    ms(99),
    latency.max / 1000.0,
    summary.requests > 0 and math.floor(summary.bytes / summary.requests) or 0
  ))
end
