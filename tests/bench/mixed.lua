-- wrk script: 20 reads of a 100-comment thread for every post; counts answers by kind.
-- Each wrk thread has its own Lua state: counters are kept per thread and summed in done().
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function() n, reads, posts, bad = 0, 0, 0, 0 end
request = function()
  n = n + 1
  if n % 21 == 0 then
    local body = string.format(
      '{"article":"bench-thread","name":"Reader %d","email":"r%d@example.com",' ..
      '"comment":"Mixed-load comment %d about the lunar station."}', n, n, n)
    return wrk.format("POST", "/api/v1/comments", {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/api/v1/comments?article=bench-thread")
end
response = function(status, headers, body)
  if status == 202 then posts = posts + 1
  elseif status == 200 then reads = reads + 1
  else bad = bad + 1 end
end
done = function(summary, latency, requests)
  local r, p, b = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("reads"); p = p + t:get("posts"); b = b + t:get("bad")
  end
  io.write(string.format(
    'RESULT {"reads":%d,"posts":%d,"bad":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    r, p, b, summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
