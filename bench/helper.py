#!/usr/bin/env python3
"""Small helpers for bench/run that are awkward in bash or in wrk's Lua.

Standard library only, so the benchmark needs nothing beyond Python 3 and
the load generator.

    helper.py freeport
    helper.py start LOGFILE PIDFILE -- CMD...   spawn the server, print ms to first 200
    helper.py login URL USER PASSWORD [N]       N token pairs, one JSON object a line
    helper.py mint USER_ID COUNT OUTFILE        pre-mint foreign refresh tokens
                                                (key from LATCH_SIGNING_KEY)
    helper.py enum URL ROUNDS USER PASSWORD INACTIVE_USER INACTIVE_PASSWORD
    helper.py django_dump OUTFILE COUNT PASSWORD  a dumpdata file of COUNT users with
                                                Django's default pbkdf2_sha256 hashes
    helper.py django_logins URL COUNT PASSWORD ROUNDS  login times, Django hash vs argon2id
    helper.py report RESULTS_FILE MARKDOWN_OUT
    helper.py fold < perf-script-output          folded stacks for flame graphs
    helper.py share FOLDED REGEX...             % of samples whose stack matches
"""

import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse


def freeport() -> None:
    # Bind port 0 and let the kernel choose; a race with another process
    # grabbing it before latch does is possible but harmless (start fails
    # loudly rather than measuring the wrong server).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def _get_status(port: int, path: str) -> int | None:
    """One GET on a fresh connection; None while nothing listens yet."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def start(logfile: str, pidfile: str, cmd: list[str]) -> None:
    """Spawns the server and times spawn -> first 200 on /healthz.

    Done here rather than in bash because the clock must start at the spawn
    itself: polling with curl from bash would add a process start (several
    ms) to every probe, and starting a Python poller after the spawn would
    add the interpreter's own start-up to the figure.
    """
    port = int(os.environ["ROCKET_PORT"])
    log = open(logfile, "wb")
    t0 = time.perf_counter()
    # The server outlives this helper on purpose: bench/run owns it from
    # here on (by the pid written below) and kills it in its exit trap.
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    with open(pidfile, "w") as f:
        f.write(f"{proc.pid}\n")
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            sys.exit(f"latch exited with status {proc.returncode} before answering; see its log")
        if _get_status(port, "/healthz") == 200:
            print(f"{(time.perf_counter() - t0) * 1000:.1f}")
            return
        # Fast polling: a refused connect on loopback costs microseconds.
        time.sleep(0.0005)
    sys.exit("latch did not answer /healthz within 30 s")


def _post_json(conn: http.client.HTTPConnection, path: str, body: dict):
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def _conn(url: str) -> http.client.HTTPConnection:
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def login(url: str, user: str, password: str, count: int = 1) -> None:
    """Logs in `count` times; each login is its own session, so the refresh
    tokens are independent seeds. A few threads: each login is one argon2
    hash, and latch runs one hash per core."""
    def one(_):
        c = _conn(url)
        status, body = _post_json(c, "/api/token/", {"username": user, "password": password})
        c.close()
        if status != 200:
            sys.exit(f"login failed: {status} {body[:200]!r}")
        return json.loads(body)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for pair in pool.map(one, range(count)):
            print(json.dumps(pair))


def sso(url: str, user: str, password: str) -> None:
    """Signs in as the page does and prints the latch_sso cookie's value."""
    c = _conn(url)
    c.request("POST", "/api/session/login",
              body=json.dumps({"username": user, "password": password}),
              headers={"Content-Type": "application/json", "X-Requested-With": "latch"})
    resp = c.getresponse()
    resp.read()
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name == "latch_sso":
            print(rest.split(";")[0])
            return
    sys.exit(f"page sign-in gave no latch_sso cookie ({resp.status})")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(user_id: str, count: int, outfile: str) -> None:
    """Refresh tokens as another Simple JWT service sharing the key would
    mint them (API.md: accepted once). Minting tens of thousands through
    latch itself would take minutes (a process start or an argon2 login
    each), while HS256 here costs microseconds."""
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    # One second in the past: latch refuses an iat in its future, and its
    # clock reads whole seconds.
    iat = int(time.time()) - 1
    exp = iat + 24 * 3600
    # From the environment, not argv, so it does not show in `ps`.
    k = os.environ["LATCH_SIGNING_KEY"].encode()
    with open(outfile, "w") as out:
        for _ in range(count):
            # Claim order as Simple JWT writes it; jti is a dashless UUIDv4.
            claims = {"token_type": "refresh", "exp": exp, "iat": iat,
                      "jti": secrets.token_hex(16), "user_id": user_id}
            signing_input = header + "." + _b64(json.dumps(claims, separators=(",", ":")).encode())
            sig = hmac.new(k, signing_input.encode(), hashlib.sha256).digest()
            out.write(signing_input + "." + _b64(sig) + "\n")


def enum(url: str, rounds: int, user: str, password: str,
         inactive_user: str, inactive_password: str) -> None:
    """Login timing for the three kinds of failed login.

    Interleaved (a, b, c, a, b, c, ...) on one keep-alive connection each,
    so drift on a shared machine (another build starting, CPU frequency)
    lands on all three alike instead of on whichever ran last.
    """
    kinds = {
        "unknown": {"username": "nobody-" + secrets.token_hex(4), "password": password},
        "wrong_password": {"username": user, "password": password + "-wrong"},
        "inactive": {"username": inactive_user, "password": inactive_password},
    }
    conns = {k: _conn(url) for k in kinds}
    times = {k: [] for k in kinds}
    bodies = {}
    for k, body in kinds.items():  # warm each connection, and the dummy hash
        _post_json(conns[k], "/api/token/", body)
    for _ in range(rounds):
        for k, body in kinds.items():
            t = time.perf_counter()
            status, resp = _post_json(conns[k], "/api/token/", body)
            times[k].append(time.perf_counter() - t)
            bodies.setdefault(k, set()).add((status, resp))
    for k in kinds:
        if len(bodies[k]) != 1 or next(iter(bodies[k]))[0] != 401:
            print(f"enum_{k}_unexpected={sorted(bodies[k])!r}")
        ms = [t * 1000 for t in times[k]]
        print(f"enum_{k}_mean_ms={statistics.fmean(ms):.3f}")
        print(f"enum_{k}_median_ms={statistics.median(ms):.3f}")
        print(f"enum_{k}_p90_ms={statistics.quantiles(ms, n=10)[-1]:.3f}")
        print(f"enum_{k}_n={len(ms)}")
    same = len({next(iter(bodies[k])) for k in kinds}) == 1
    print(f"enum_same_answer={'yes' if same else 'no'}")


def guesses(url: str, user: str) -> None:
    """What an attacker gets against one account at the server's throttle
    settings: wrong passwords, each from a new address (the server trusts
    this host as a proxy, so X-Forwarded-For is the client), until the
    account is throttled. The burst is counted; the refill rate is what the
    429's Retry-After says one more guess costs in waiting."""
    conn = _conn(url)
    burst, retry_after = 0, None
    for i in range(10_000):
        body = json.dumps({"username": user, "password": "wrong-" + secrets.token_hex(8)})
        headers = {"Content-Type": "application/json",
                   "X-Forwarded-For": f"198.18.{i // 250}.{i % 250 + 1}"}
        conn.request("POST", "/api/token/", body, headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status == 429:
            retry_after = int(resp.getheader("Retry-After", "0") or 0)
            break
        burst += 1
    per_hour = burst + (3600 / retry_after if retry_after else float("inf"))
    print(f"attacker_burst={burst}")
    print(f"attacker_retry_after_s={retry_after}")
    print(f"attacker_per_hour={per_hour:.0f}")


def dbsize(path: str) -> None:
    """Bytes the database holds in use, after folding the WAL in (a
    passive checkpoint beside the running server)."""
    import sqlite3
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    print((pages - free) * size)


# ---------------------------------------------------------------- report

def _load(path: str) -> dict[str, str]:
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v
    return out


# ------------------------------------------------------ users from Django

DJANGO_ITERATIONS = 1_000_000  # Django 5.2's PBKDF2PasswordHasher.iterations
DJANGO_FIRST_ID = 1000


def _django_pbkdf2(password: str) -> str:
    """Django's PBKDF2PasswordHasher.encode, byte for byte: 22 salt
    characters from Django's alphabet, standard padded base64."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    salt = "".join(secrets.choice(alphabet) for _ in range(22))
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), DJANGO_ITERATIONS)
    return f"pbkdf2_sha256${DJANGO_ITERATIONS}${salt}${base64.b64encode(dk).decode()}"


def django_dump(outfile: str, count: int, password: str) -> None:
    """`manage.py dumpdata auth.user` as Django writes it, for
    `latch import-django`: users bench-django-0.. with ids from 1000."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    records = [{
        "model": "auth.user",
        "pk": DJANGO_FIRST_ID + i,
        "fields": {
            "password": _django_pbkdf2(password), "last_login": None, "is_superuser": False,
            "username": f"bench-django-{i}", "first_name": "", "last_name": "", "email": "",
            "is_staff": False, "is_active": True, "date_joined": now,
            "groups": [], "user_permissions": [],
        },
    } for i in range(count)]
    with open(outfile, "w") as f:
        json.dump(records, f, indent=2)


def django_logins(url: str, count: int, password: str, rounds: int) -> None:
    """Time per login by stored hash, at concurrency 1.

    Wrong passwords (a full verify, nothing written), interleaved between
    an imported pbkdf2_sha256 user and latch's own argon2id user `bench`;
    then each imported user's first successful login (pbkdf2 verify, then
    the re-hash to argon2id and the session) and their second (argon2id).
    """
    conn = _conn(url)
    kinds = {
        "pbkdf2": {"username": "bench-django-0", "password": password + "-wrong"},
        "argon2id": {"username": "bench", "password": password + "-wrong"},
    }
    wrong = {k: [] for k in kinds}
    for _ in range(rounds):
        for k, body in kinds.items():
            t = time.perf_counter()
            status, resp = _post_json(conn, "/api/token/", body)
            wrong[k].append((time.perf_counter() - t) * 1000)
            if status != 401:
                print(f"note_django_{k}=a wrong password answered {status} {resp[:80]!r}")
    first, second = [], []
    for i in range(count):
        body = {"username": f"bench-django-{i}", "password": password}
        for times in (first, second):
            t = time.perf_counter()
            status, resp = _post_json(conn, "/api/token/", body)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                print(f"note_django_login=an imported user's login answered {status} {resp[:80]!r}")
    for k in kinds:
        print(f"django_wrong_{k}_median_ms={statistics.median(wrong[k]):.3f}")
    print(f"django_first_login_median_ms={statistics.median(first):.3f}")
    print(f"django_second_login_median_ms={statistics.median(second):.3f}")
    print(f"django_logins_n={count}")
    print(f"django_wrong_n={rounds}")


def report(results: str, markdown_out: str) -> None:
    r = _load(results)
    num = lambda k: float(r[k]) if r.get(k, "") not in ("", "nan") else float("nan")
    ms = lambda us: "—" if us != us else f"{us / 1000:.2f} ms"  # x != x: NaN, not measured
    mib = lambda kb: "—" if kb != kb else f"{kb / 1024:.1f} MiB"
    lines: list[str] = []
    p = lines.append

    p(f"latch benchmark, {r.get('date', '?')}, commit {r.get('commit', '?')}")
    p("")
    p(f"Machine: {r.get('cpu', '?')}, {r.get('cores', '?')} cores, "
      f"{r.get('mem', '?')} RAM, Linux {r.get('kernel', '?')}; "
      f"load average before {r.get('load_before', '?')}, after {r.get('load_after', '?')}.")
    p(f"Load generator: {r.get('loadgen', '?')}; {r.get('seconds', '?')} s per run, "
      f"{r.get('conns', '?')} connections on {r.get('threads', '?')} wrk thread(s) unless noted.")
    p("")
    p("| scenario | connections | req/s | p50 | p99 | peak RSS | RSS after | non-2xx/errors |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    scenarios = [
        ("healthz", "`GET /healthz` (unauthenticated)"),
        ("me", "`GET /api/me/` (authenticated)"),
        ("refresh_chain", "`POST /api/token/refresh/`, latch-issued tokens"),
        ("refresh_foreign", "`POST /api/token/refresh/`, pre-minted foreign tokens"),
        ("login", "`POST /api/token/` login flood"),
        ("me_idle", "`GET /api/me/` light load, idle server"),
        ("me_flood", "`GET /api/me/` light load, during login flood"),
        ("login_bg", "`POST /api/token/` flood behind the row above"),
        ("me_hog", "`GET /api/me/` light load, beside nice-19 busy loops (control)"),
        ("forward_cookie", "forward-auth, valid `latch_sso` cookie"),
        ("forward_bearer", "forward-auth, valid bearer token"),
        ("forward_idle", "forward-auth (cookie) light load, idle server"),
        ("forward_flood", "forward-auth (cookie) light load, during login flood"),
        ("eddsa_healthz", "EdDSA server: `GET /healthz`"),
        ("jwks", "EdDSA server: `GET /.well-known/jwks.json`"),
        ("eddsa_me", "EdDSA: `GET /api/me/` (authenticated)"),
        ("eddsa_refresh_chain", "EdDSA: `POST /api/token/refresh/`, latch-issued tokens"),
        ("eddsa_login", "EdDSA: `POST /api/token/` login flood"),
    ]
    for key, label in scenarios:
        if f"{key}_rps" not in r:
            continue
        errs = int(num(f"{key}_errors")) if f"{key}_errors" in r else 0
        p(f"| {label} | {r.get(key + '_conns', '?')} | {num(key + '_rps'):,.0f} | "
          f"{ms(num(key + '_p50_us'))} | {ms(num(key + '_p99_us'))} | "
          f"{mib(num(key + '_rss_peak_kb'))} | {mib(num(key + '_rss_after_kb'))} | {errs} |")
    p("")

    if "bytes_per_refresh" in r:
        p(f"Storage: each refresh in the latch-issued run left {r['bytes_per_refresh']} bytes in "
          f"the database (target at most 150); the WAL peaked at "
          f"{int(r.get('wal_peak_kb', '0')) / 1024:.1f} MiB while it ran (target under 64 MiB).")
        p("")

    if "attacker_per_hour" in r:
        p(f"Failed logins an attacker gets against one account from unknown devices "
          f"(default throttles, a new address each time): a burst of "
          f"{r['attacker_burst']}, then one every {r['attacker_retry_after_s']} s: "
          f"about {r['attacker_per_hour']} per hour.")
        p("")

    checks = []

    def check(name, measured, target, ok):
        checks.append((name, measured, target, "PASS" if ok else "FAIL"))

    cores = num("cores")
    me_ratio = num("me_rps") / num("healthz_rps")
    check("authenticated `/api/me/` ÷ `/healthz`",
          f"{num('me_rps'):,.0f} ÷ {num('healthz_rps'):,.0f} = {me_ratio:.2f}", "≥ 0.85",
          me_ratio >= 0.85)
    for key, label in (("forward_cookie", "cookie"), ("forward_bearer", "bearer")):
        if f"{key}_rps" in r:
            ratio = num(key + "_rps") / num("healthz_rps")
            check(f"forward-auth ({label}) ÷ `/healthz`",
                  f"{num(key + '_rps'):,.0f} ÷ {num('healthz_rps'):,.0f} = {ratio:.2f}",
                  "≥ 0.85", ratio >= 0.85)
    if "forward_flood_p99_us" in r:
        ratio = num("forward_flood_p99_us") / num("forward_idle_p99_us")
        check("forward-auth p99 during login flood ÷ idle",
              f"{ms(num('forward_flood_p99_us'))} ÷ {ms(num('forward_idle_p99_us'))} = {ratio:.1f}",
              "≤ 2", ratio <= 2)
    hash_ms = num("hash_ms")
    login_target = 0.9 * cores / (hash_ms / 1000)
    check("login req/s vs 0.9 × cores ÷ hash time",
          f"{num('login_rps'):.1f}/s vs 0.9 × {cores:.0f} ÷ {hash_ms:.1f} ms = {login_target:.1f}/s",
          "≥ 1.00 ×", num("login_rps") >= login_target)
    check("RSS during 64-connection login flood", mib(num("login_rss_peak_kb")), "≤ 64 MiB",
          num("login_rss_peak_kb") <= 64 * 1024)
    flood_ratio = num("me_flood_p99_us") / num("me_idle_p99_us")
    check("`/api/me/` p99 during login flood ÷ idle",
          f"{ms(num('me_flood_p99_us'))} ÷ {ms(num('me_idle_p99_us'))} = {flood_ratio:.1f}",
          "≤ 2", flood_ratio <= 2)
    for key, label in (("refresh_chain", "latch-issued"), ("refresh_foreign", "foreign, pre-minted")):
        check(f"refresh with rotation, durably committed ({label})",
              f"{num(key + '_rps'):,.0f}/s", "≥ 2,000/s", num(key + "_rps") >= 2000)
    if "eddsa_me_rps" in r:
        ed_ratio = num("eddsa_me_rps") / num("me_rps")
        check("`/api/me/` EdDSA ÷ HS256",
              f"{num('eddsa_me_rps'):,.0f} ÷ {num('me_rps'):,.0f} = {ed_ratio:.2f}", "≥ 0.6",
              ed_ratio >= 0.6)
        jwks_ratio = num("jwks_rps") / num("eddsa_healthz_rps")
        check("JWKS ÷ `/healthz` (EdDSA server)",
              f"{num('jwks_rps'):,.0f} ÷ {num('eddsa_healthz_rps'):,.0f} = {jwks_ratio:.2f}",
              "≥ 1.00", jwks_ratio >= 1.0)
    check("idle RSS (settled after start)", mib(num("idle_rss_kb")), "≤ 15 MiB",
          num("idle_rss_kb") <= 15 * 1024)
    check("stripped release binary", f"{num('binary_bytes') / 1e6:.2f} MB "
          f"({int(num('binary_bytes')):,} bytes)", "≤ 10 MB", num("binary_bytes") <= 10e6)
    check("first answer after start", f"{num('first_answer_ms'):.1f} ms", "≤ 100 ms",
          num("first_answer_ms") <= 100)

    # The contract asks for "the same time"; ±5 % on the median is this
    # script's own band, not a number from the contract.
    for kind, label in (("wrong_password", "wrong password ÷ unknown user"),
                        ("inactive", "inactive user ÷ unknown user")):
        ratio_med = num(f"enum_{kind}_median_ms") / num("enum_unknown_median_ms")
        ratio_mean = num(f"enum_{kind}_mean_ms") / num("enum_unknown_mean_ms")
        check(f"no enumeration: {label} (median; mean)",
              f"{ratio_med:.3f}; {ratio_mean:.3f}", "0.95–1.05 (bench's band)",
              0.95 <= ratio_med <= 1.05)
    check("no enumeration: same status and body for all three",
          r.get("enum_same_answer", "?"), "yes", r.get("enum_same_answer") == "yes")

    p("| figure | measured | target | |")
    p("|---|---|---|---|")
    for c in checks:
        p(f"| {c[0]} | {c[1]} | {c[2]} | {c[3]} |")
    p("")
    p("Login failure timing at concurrency 1, interleaved "
      f"({r.get('enum_unknown_n', '?')} of each):")
    p("")
    p("| case | mean | median | p90 |")
    p("|---|---:|---:|---:|")
    for kind, label in (("unknown", "(a) unknown user"), ("wrong_password", "(b) wrong password"),
                        ("inactive", "(c) inactive user")):
        p(f"| {label} | {num(f'enum_{kind}_mean_ms'):.2f} ms | "
          f"{num(f'enum_{kind}_median_ms'):.2f} ms | {num(f'enum_{kind}_p90_ms'):.2f} ms |")
    p("")
    p(f"Hash time = median of (b), one argon2id verify plus a user lookup: {hash_ms:.1f} ms. "
      f"Idle RSS right at first answer: {mib(num('start_rss_kb'))}; "
      f"after all load: {mib(num('final_rss_kb'))}; highest peak of any run: "
      f"{mib(max(num(k) for k in r if k.endswith('_rss_peak_kb')))}.")
    if "django_first_login_median_ms" in r:
        p("")
        p("Login time by stored hash, concurrency 1 (users imported with "
          "`latch import-django`, Django's default pbkdf2_sha256 at 1,000,000 iterations; "
          f"{r.get('django_wrong_n', '?')} wrong passwords each, "
          f"{r.get('django_logins_n', '?')} users' first and second logins):")
        p("")
        p("| stored hash | wrong password (median) | successful login (median) |")
        p("|---|---:|---:|")
        p(f"| pbkdf2_sha256 (Django's, before the first login) | "
          f"{num('django_wrong_pbkdf2_median_ms'):.1f} ms | "
          f"{num('django_first_login_median_ms'):.1f} ms (verify, re-hash to argon2id) |")
        p(f"| argon2id (latch's; the same users' second login) | "
          f"{num('django_wrong_argon2id_median_ms'):.1f} ms | "
          f"{num('django_second_login_median_ms'):.1f} ms |")
    if "me_hog_p99_us" in r:
        p("")
        p(f"Control: with no latch work but {r.get('cores', '?')} nice-19 busy loops beside it, "
          f"`/api/me/` p99 is {ms(num('me_hog_p99_us'))} "
          f"({num('me_hog_p99_us') / num('me_idle_p99_us'):.1f} × idle); the login flood gives "
          f"{ms(num('me_flood_p99_us'))}. What the busy loops cost is the kernel's preemption "
          "latency, which no change in latch removes while hashing keeps every core busy.")
    notes = [v for k, v in sorted(r.items()) if k.startswith("note_")]
    if notes:
        p("")
        for n in notes:
            p(f"Note: {n}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(markdown_out, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- profiles

def fold() -> None:
    """`perf script -F comm,ip,sym` to folded stacks, thread name first.

    The thread name as the root frame separates the async workers from the
    group-commit writer and the hash threads at a glance."""
    import collections
    import re
    stacks: collections.Counter = collections.Counter()
    comm, frames = "?", []

    def flush():
        if frames:
            stacks[";".join([comm] + frames[::-1])] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            frames = []
        elif line[0] in " \t":
            parts = line.split(None, 1)
            if len(parts) == 2:
                frames.append(re.sub(r" \(.*\)$", "", parts[1].strip()).replace(";", ":"))
        else:
            comm = line.split()[0]
    flush()
    for stack, n in stacks.most_common():
        print(stack, n)


def share(folded: str, patterns: list[str]) -> None:
    import re
    stacks = []
    with open(folded) as f:
        for line in f:
            stack, n = line.rstrip("\n").rsplit(" ", 1)
            stacks.append((stack, int(n)))
    total = sum(n for _, n in stacks) or 1
    for pat in patterns:
        rx = re.compile(pat)
        n = sum(c for s, c in stacks if rx.search(s))
        print(f"{100 * n / total:6.2f}%  {pat}")
    print(f"({total} samples)")


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "freeport":
        freeport()
    elif cmd == "start":
        split = args.index("--")
        start(args[0], args[1], args[split + 1:])
    elif cmd == "login":
        login(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 1)
    elif cmd == "sso":
        sso(*args)
    elif cmd == "mint":
        mint(args[0], int(args[1]), args[2])
    elif cmd == "enum":
        enum(args[0], int(args[1]), *args[2:6])
    elif cmd == "dbsize":
        dbsize(args[0])
    elif cmd == "guesses":
        guesses(args[0], args[1])
    elif cmd == "django_dump":
        django_dump(args[0], int(args[1]), args[2])
    elif cmd == "django_logins":
        django_logins(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "report":
        report(args[0], args[1])
    elif cmd == "fold":
        fold()
    elif cmd == "share":
        share(args[0], args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
