# Sourced by bench/run and bench/profile: the parts both need to get a latch
# running on loopback with a throwaway database and known users.
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
HELPER=(python3 "$BENCH_DIR/helper.py")
export BENCH_WRK_DIR="$BENCH_DIR/wrk"

say() { printf '==> %s\n' "$*" >&2; }

# ------------------------------------------------------------ clean-up
# Everything started here is recorded and ended by pid on exit, however the
# script exits (error, Ctrl-C, normal end).
WORK=""
SERVER_PID=""
BG_PIDS=()
cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}" $SERVER_PID; do
    kill "$pid" 2>/dev/null || true
  done
  if [[ -n "$SERVER_PID" ]]; then
    # Give latch a moment to shut down cleanly, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ load generator
# wrk rather than oha: wrk is one apt-get away (no multi-minute cargo install
# on a 2-core machine), and its Lua request() hook can send a different body
# on every request, which the refresh benchmark needs (a refresh token is
# single-use; replaying one is a 401 that revokes its whole family).
ensure_wrk() {
  command -v wrk >/dev/null && return
  say "installing wrk"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
}

# ------------------------------------------------------------ server
# setup_server: a temporary directory, a free port, the environment latch and
# its command line read, and two users (bench, and the inactive
# bench-inactive). Sets WORK PORT URL USER_ID PASSWORD INACTIVE_PASSWORD.
setup_server() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/latch-bench.XXXXXX")"
  PORT="$("${HELPER[@]}" freeport)"
  URL="http://127.0.0.1:$PORT"
  export LATCH_DATABASE="$WORK/latch.db"
  # A known key lets helper.py mint foreign refresh tokens (API.md: any
  # token signed with the shared key is accepted). Random per run, never
  # written anywhere.
  LATCH_SIGNING_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
  export LATCH_SIGNING_KEY
  export ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=off ROCKET_CLI_COLORS=false
  # The throttles are what protect a real server from exactly this traffic;
  # the benchmark measures the work behind them, so they are opened wide.
  export LATCH_REQUEST_ADDRESS_BURST=100000000 LATCH_REQUEST_ADDRESS_PER_HOUR=1000000000
  export LATCH_LOGIN_ACCOUNT_BURST=100000000 LATCH_LOGIN_ACCOUNT_PER_HOUR=1000000000
  export LATCH_LOGIN_ADDRESS_BURST=100000000 LATCH_LOGIN_ADDRESS_PER_HOUR=1000000000

  PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
  INACTIVE_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
  say "creating users (database in a temporary directory)"
  local created
  created="$(printf '%s\n' "$PASSWORD" | "$BIN" user add bench --password-stdin)"
  USER_ID="$(sed -n 's/.*(id \([0-9]*\)).*/\1/p' <<<"$created")"
  # Deactivated before the server starts, so no cache of the server's can
  # still hold it as active.
  printf '%s\n' "$INACTIVE_PASSWORD" | "$BIN" user add bench-inactive --password-stdin >/dev/null
  "$BIN" user deactivate bench-inactive >/dev/null
}

# start_server: spawns latch and sets SERVER_PID and FIRST_ANSWER_MS (from
# spawn to the first 200 on /healthz).
start_server() {
  say "starting latch on $URL"
  FIRST_ANSWER_MS="$("${HELPER[@]}" start "$WORK/server.log" "$WORK/server.pid" -- "$BIN")"
  SERVER_PID="$(cat "$WORK/server.pid")"
}

# status_kb FIELD [PID]: a /proc/<pid>/status figure in kB (VmRSS, VmHWM).
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/${2:-$SERVER_PID}/status"; }

alive() {
  kill -0 "$SERVER_PID" 2>/dev/null && return
  say "latch is gone; the end of its log:"
  tail -20 "$WORK/server.log" >&2
  exit 1
}

# A fresh access token for bench. Access tokens live 5 minutes, so callers
# log in right before each authenticated run.
access_token() {
  "${HELPER[@]}" login "$URL" bench "$PASSWORD" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}

# seed_refresh_tokens N FILE: N latch-issued refresh tokens, one login each.
seed_refresh_tokens() {
  "${HELPER[@]}" login "$URL" bench "$PASSWORD" "$1" |
    python3 -c 'import json,sys; [print(json.loads(l)["refresh"]) for l in sys.stdin]' >"$2"
}

login_body() {
  python3 -c 'import json,sys; print(json.dumps({"username": "bench", "password": sys.argv[1]}))' "$PASSWORD"
}
