-- wrk script used by bench/imagesd_vs_thumbor.py for every load run (both servers):
-- walks a list of request paths (one per line, file given after `--`) in order.
-- With one path it simply repeats it. `paths_wrapped` in the summary says how many
-- times the list was restarted (must be 0 when the list holds one-shot uncached URLs).
-- Run it with -t1 so that one Lua state walks the whole list.
-- A second argument `close` sends `Connection: close`, so that every request is a new connection and
-- pre-forked servers (thumbor --processes, gunicorn workers) share the load instead of one process
-- accepting all of wrk's persistent connections.

local paths = {}
local i = 0
local headers = {}
wraps = 0 -- global so that done() can read it from the thread

function init(args)
  local file = args[1]
  if file == nil then error("usage: wrk ... -s imagesd_wrk_paths.lua URL -- PATHS_FILE") end
  for line in io.lines(file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no paths in " .. file) end
  if args[2] == "close" then headers["Connection"] = "close" end
end

function request()
  i = i + 1
  if i > #paths then
    i = 1
    wraps = wraps + 1
  end
  return wrk.format("GET", paths[i], headers)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wraps") or 0) end
  io.write(string.format("paths_wrapped %d\n", w))
end
