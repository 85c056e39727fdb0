-- Refresh with latch's own tokens, the way real clients do: every 200
-- carries a new refresh token, which goes on a per-thread queue and is sent
-- (once) by the next request on any connection of this thread. The queue
-- starts with BENCH_TOKENS (one seed per connection, from real logins), so
-- it never runs dry while answers are 200s; every request still presents
-- a token nobody has presented before.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local queue, head, tail = {}, 1, 0

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if i % nthreads == id then tail = tail + 1; queue[tail] = line end
    i = i + 1
  end
end

function request()
  if head > tail then
    io.stderr:write("refresh_chain.lua: no fresh token left (non-200 answers?)\n")
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local t = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    '{"refresh":"' .. t .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh"%s*:%s*"([^"]+)"')
    if t then tail = tail + 1; queue[tail] = t end
  end
end
