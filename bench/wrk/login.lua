-- The same successful login on every request: each one costs one argon2id
-- verify plus a session insert, which is what a login flood looks like.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
