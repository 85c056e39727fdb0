-- Forward-auth as a proxy asks it: the original request in X-Forwarded-*,
-- and the caller's credential, a bearer token (BENCH_ACCESS) or the
-- latch_sso sign-in cookie (BENCH_SSO).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["X-Forwarded-Host"] = "app.example.com"
wrk.headers["X-Forwarded-Uri"] = "/dashboard?tab=2"
wrk.headers["Accept"] = "application/json"

local access = os.getenv("BENCH_ACCESS")
if access and access ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. access
end
local sso = os.getenv("BENCH_SSO")
if sso and sso ~= "" then
  wrk.headers["Cookie"] = "latch_sso=" .. sso
end
