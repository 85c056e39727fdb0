-- Refresh with a fresh, never-presented token on every request, read from a
-- file of pre-minted tokens (BENCH_TOKENS, one a line). Each wrk thread has
-- its own Lua state, so thread i takes lines i, i+n, i+2n, ... and no token
-- is ever sent twice (a second use would be a 401 and revoke its family).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local tokens, next_index = {}, 1
local exhausted = false

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if i % nthreads == id then tokens[#tokens + 1] = line end
    i = i + 1
  end
end

function request()
  local t = tokens[next_index]
  if t == nil then
    -- Out of tokens: stop rather than send a replay. bench/run mints more
    -- than the run can use; the request count shows if this ever fired.
    if not exhausted then
      exhausted = true
      io.stderr:write("refresh_file.lua: thread ran out of pre-minted tokens\n")
    end
    wrk.thread:stop()
    t = tokens[#tokens]
  end
  next_index = next_index + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    '{"refresh":"' .. t .. '"}')
end
