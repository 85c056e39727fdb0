-- GET with an optional bearer token (BENCH_ACCESS); /healthz runs without.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local access = os.getenv("BENCH_ACCESS")
if access and access ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. access
end
