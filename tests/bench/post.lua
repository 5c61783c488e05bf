-- wrk script: varied comment submissions, then one machine-readable RESULT line.
-- `-- isso` after the URL posts Isso's way (POST /new?uri=..., its field names) instead.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local isso = false
init = function(args) isso = args[1] == "isso" end
request = function()
  n = n + 1
  local text = string.format(
    "Benchmark comment %d: the station at the lunar south pole is a fine idea.", n)
  if isso then
    local body = string.format(
      '{"title":"Bench article","author":"Bench Reader %d","email":"reader%d@example.com",' ..
      '"text":"%s","website":"https://reader%d.example.net"}', n, n, text, n)
    return wrk.format(nil, string.format("/new?uri=/bench-article-%d", n % 100), nil, body)
  end
  local body = string.format(
    '{"article":"bench-article-%d","name":"Bench Reader %d","email":"reader%d@example.com",' ..
    '"comment":"%s","website":"https://reader%d.example.net"}', n % 100, n, n, text, n)
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
