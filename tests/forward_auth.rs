//! Forward authentication over HTTP, in process: the two endpoints' answers
//! for every method, the `latch_sso` cookie's attributes, storage and
//! lifetime (every kind of log-out ends it), the page's return-URL check,
//! the settings' validation; and, against the real binary, that a
//! revocation made by the CLI in another process is seen on the next
//! request despite the in-memory standing cache.

mod common;

use common::proxies::send;
use common::{KEY, PASSWORD, Server, add_user, figment, latch_cmd};
use latch::config::Settings;
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::{Value, json};
use tempfile::TempDir;

const PUBLIC: &str = "https://auth.example.test";
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

struct T {
    client: Client,
    _dir: TempDir,
}

fn app_with(public_url: Option<&str>) -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut f = figment(dir.path())
        .merge(("latch.sso_cookie_domain", "example.test"))
        .merge((
            "latch.forward_auth_rules",
            json!([
                {"host": "admin.example.test", "require": "staff"},
                {"host": "*.example.test", "path": "/public/*", "require": "anyone"},
            ]),
        ));
    if let Some(url) = public_url {
        f = f.merge(("latch.public_url", url));
    }
    let client = Client::untracked(latch::build(f)).expect("ignites");
    T { client, _dir: dir }
}

fn app() -> T {
    app_with(Some(PUBLIC))
}

/// A page sign-in's results.
struct SignedIn {
    access: String,
    refresh: String,
    sso: String,
    set_cookie: String,
}

fn cookie_value(res: &LocalResponse<'_>, name: &str) -> Option<(String, String)> {
    res.headers().get("Set-Cookie").find_map(|c| {
        let value = c.strip_prefix(&format!("{name}="))?.split(';').next()?;
        Some((value.to_string(), c.to_string()))
    })
}

impl T {
    fn user(&self, name: &str, staff: bool) -> i64 {
        let app = self.client.rocket().state::<latch::state::App>().unwrap();
        let hash = app.hasher.hash_blocking(PASSWORD).unwrap();
        app.db
            .run_blocking(|conn| {
                let key = latch::auth::usernames::key(name);
                latch::store::users::create(conn, name, &key, &hash, staff, app.now())
            })
            .unwrap()
            .unwrap()
            .id
    }

    fn page(&self, path: &str, body: Value) -> rocket::local::blocking::LocalRequest<'_> {
        self.client
            .post(path.to_string())
            .header(ContentType::JSON)
            .header(Header::new("X-Requested-With", "latch"))
            .body(body.to_string())
    }

    fn sign_in(&self, name: &str) -> SignedIn {
        let res = self
            .page(
                "/api/session/login",
                json!({"username": name, "password": PASSWORD}),
            )
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        let (sso, set_cookie) = cookie_value(&res, "latch_sso").expect("latch_sso");
        let (refresh, _) = cookie_value(&res, "latch_refresh").expect("latch_refresh");
        let access = common::body(res)["access"].as_str().unwrap().to_string();
        SignedIn {
            access,
            refresh,
            sso,
            set_cookie,
        }
    }

    /// Asks `endpoint` about `GET url` as its proxy would describe it:
    /// Traefik's and Caddy's `X-Forwarded-*`, nginx's `X-Original-URL`.
    fn ask(&self, endpoint: &str, url: &str, extra: &[Header<'static>]) -> LocalResponse<'_> {
        let mut req = self.client.get(format!("/api/authz/{endpoint}"));
        for h in described(endpoint, url) {
            req = req.header(h);
        }
        for h in extra {
            req = req.header(h.clone());
        }
        req.dispatch()
    }

    /// Rocket's local client takes cookies only through `.cookie()`.
    fn with_sso(&self, sso: &str) -> Status {
        self.client
            .get("/api/authz/forward-auth")
            .header(Header::new("X-Forwarded-Host", "app.example.test"))
            .header(Header::new("X-Forwarded-Uri", "/"))
            .cookie(Cookie::new("latch_sso", sso.to_string()))
            .dispatch()
            .status()
    }
}

/// The headers `endpoint`'s proxy family describes `url` with.
fn described(endpoint: &str, url: &str) -> Vec<Header<'static>> {
    if endpoint.starts_with("auth-request") {
        return vec![Header::new("X-Original-URL", url.to_string())];
    }
    let (proto, rest) = url.split_once("://").unwrap();
    let (host, uri) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    vec![
        Header::new("X-Forwarded-Proto", proto.to_string()),
        Header::new("X-Forwarded-Host", host.to_string()),
        Header::new("X-Forwarded-Uri", uri.to_string()),
    ]
}

fn bearer(access: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {access}"))
}

/// No credentials: what `endpoint` answers a browser-like `method`.
fn unauthenticated(t: &T, endpoint: &str, method: Method, original: &str, location: &str) {
    let forwarded_method = if endpoint.starts_with("forward") {
        "X-Forwarded-Method"
    } else {
        "X-Original-Method"
    };
    let mut req = t.client.req(method, format!("/api/authz/{endpoint}"));
    for h in described(endpoint, original) {
        req = req.header(h);
    }
    let res = req
        .header(Header::new(forwarded_method, method.as_str()))
        .header(Header::new("Accept", HTML))
        .dispatch();
    let browser = matches!(method, Method::Get | Method::Head);
    let expected = match (endpoint.starts_with("forward"), browser) {
        (true, true) => Status::Found,
        _ => Status::Unauthorized,
    };
    assert_eq!(res.status(), expected, "{method} {endpoint}");
    let loc = res.headers().get_one("Location").map(str::to_string);
    assert_eq!(loc.is_some(), browser, "{method} {endpoint}: {loc:?}");
    if browser {
        assert_eq!(loc.as_deref(), Some(location));
    }
    if expected == Status::Unauthorized {
        assert_eq!(
            res.headers().get_one("WWW-Authenticate"),
            Some("Bearer realm=\"api\"")
        );
    }
    if method != Method::Head {
        assert_eq!(
            common::body(res),
            json!({"detail": "Authentication credentials were not provided."})
        );
    }
}

#[test]
fn both_endpoints_answer_every_method_with_the_contracts_codes() {
    let t = app();
    let original = "https://app.example.test/a%20b?x=1&y=%C3%A9";
    let location = format!(
        "{PUBLIC}/?rd={}",
        latch::auth::forward::percent_encode(original)
    );
    let methods = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Options,
    ];
    for endpoint in [
        "forward-auth",
        "auth-request",
        "forward-auth/",
        "auth-request/",
    ] {
        for method in methods {
            unauthenticated(&t, endpoint, method, original, &location);
        }
    }
    // An API client (no text/html) is refused, not redirected.
    let res = t.ask("forward-auth", "https://app.example.test/x", &[]);
    assert_eq!(res.status(), Status::Unauthorized);
    assert!(res.headers().get_one("Location").is_none());
    // Without a way to tell the original request: 400, never a pass.
    let res = t.client.get("/api/authz/forward-auth").dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    let res = t
        .client
        .get("/api/authz/auth-request")
        .header(Header::new("X-Original-URL", "https://user@evil.test/"))
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
}

#[test]
fn without_public_url_browsers_get_401_too() {
    let t = app_with(None);
    let res = t.ask(
        "forward-auth",
        "https://app.example.test/",
        &[Header::new("Accept", HTML)],
    );
    assert_eq!(res.status(), Status::Unauthorized);
    assert!(res.headers().get_one("Location").is_none());
}

#[test]
fn allowed_requests_name_the_user() {
    let t = app();
    let alice = t.user("alice", false);
    t.user("root", true);
    let (access, _) = login(&t, "alice");
    let res = t.ask(
        "forward-auth",
        "https://app.example.test/x",
        &[bearer(&access)],
    );
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get_one("Remote-User"), Some("alice"));
    assert_eq!(
        res.headers().get_one("Remote-Id"),
        Some(alice.to_string().as_str())
    );
    assert_eq!(res.headers().get_one("Remote-Groups"), Some(""));
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
    // nginx's spellings of the original request.
    for headers in [
        vec![Header::new(
            "X-Original-URL",
            "http://app.example.test:8080/x",
        )],
        vec![
            Header::new("Host", "app.example.test"),
            Header::new("X-Original-URI", "/x"),
        ],
    ] {
        let mut req = t
            .client
            .get("/api/authz/auth-request")
            .header(bearer(&access));
        for h in headers {
            req = req.header(h);
        }
        let res = req.dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.headers().get_one("Remote-User"), Some("alice"));
    }
}

#[test]
fn rules_decide_who_passes() {
    let t = app();
    t.user("alice", false);
    t.user("root", true);
    let (access, _) = login(&t, "alice");
    // The staff-only host: 403 for alice, on both endpoints.
    for endpoint in ["forward-auth", "auth-request"] {
        let res = t.ask(
            endpoint,
            "https://admin.example.test:443/",
            &[bearer(&access)],
        );
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(
            common::body(res),
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
    let (root, _) = login(&t, "root");
    let res = t.ask(
        "forward-auth",
        "https://admin.example.test/",
        &[bearer(&root)],
    );
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get_one("Remote-Groups"), Some("staff"));
    // `anyone`: through with no credentials, and the headers empty.
    let res = t.ask("forward-auth", "https://app.example.test/public/a.css", &[]);
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get_one("Remote-User"), Some(""));
    // A client cannot describe another request in the other family's
    // headers, which its proxy passes through untouched.
    let forged_nginx = Header::new("X-Original-URL", "https://app.example.test/public/x");
    let res = t.ask(
        "forward-auth",
        "https://admin.example.test/",
        &[forged_nginx],
    );
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t
        .client
        .get("/api/authz/auth-request")
        .header(Header::new("X-Original-URL", "https://admin.example.test/"))
        .header(Header::new("X-Forwarded-Host", "app.example.test"))
        .header(Header::new("X-Forwarded-Uri", "/public/x"))
        .dispatch();
    assert_eq!(res.status(), Status::Unauthorized);
    // A disguised path does not dodge the default rule.
    let res = t.ask(
        "forward-auth",
        "https://app.example.test/public/../private",
        &[],
    );
    assert_eq!(res.status(), Status::Unauthorized);
    // A bad bearer is refused as on the API.
    let res = t.ask(
        "forward-auth",
        "https://app.example.test/",
        &[bearer("nope")],
    );
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(common::body(res)["code"], "token_not_valid");
}

fn login(t: &T, name: &str) -> (String, String) {
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .body(json!({"username": name, "password": PASSWORD}).to_string())
        .dispatch();
    let body = common::body(res);
    (
        body["access"].as_str().unwrap().to_string(),
        body["refresh"].as_str().unwrap().to_string(),
    )
}

#[test]
fn the_sso_cookie_is_locked_down_and_only_its_hash_is_kept() {
    let t = app();
    t.user("alice", false);
    let s = t.sign_in("alice");
    assert_eq!(s.sso.len(), 64);
    assert!(s.sso.bytes().all(|b| b.is_ascii_hexdigit()));
    let attrs = common::cookie_app::attributes(&s.set_cookie);
    for expected in [
        "httponly",
        "samesite=lax",
        "path=/",
        "domain=example.test",
        "secure",
    ] {
        assert!(attrs.iter().any(|a| a == expected), "{expected}: {attrs:?}");
    }
    assert_eq!(t.with_sso(&s.sso), Status::Ok);
    let app = t.client.rocket().state::<latch::state::App>().unwrap();
    let stored: Vec<String> = app
        .db
        .run_blocking(|conn| {
            let mut stmt =
                conn.prepare("SELECT sso_hash FROM sessions WHERE sso_hash IS NOT NULL")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
        .unwrap();
    assert_eq!(stored, [latch::auth::sso::hash(&s.sso).unwrap()]);
    assert_ne!(stored[0], s.sso);
    // Not Secure over plain http without cookie_secure.
    let t = app_with(Some("http://auth.example.test"));
    t.user("alice", false);
    let attrs = common::cookie_app::attributes(&t.sign_in("alice").set_cookie);
    assert!(!attrs.iter().any(|a| a == "secure"), "{attrs:?}");
    // Forged and malformed values sign no one in.
    for forged in ["", "00", &"a".repeat(64), &s.sso.to_uppercase()] {
        assert_eq!(t.with_sso(forged), Status::Unauthorized, "{forged}");
    }
}

#[test]
fn the_pages_log_out_clears_and_ends_the_sso_cookie() {
    let t = app();
    t.user("alice", false);

    // The page's log-out: the cookie is cleared and dead.
    let s = t.sign_in("alice");
    let res = t
        .page("/api/session/logout", json!({}))
        .cookie(Cookie::new("latch_refresh", s.refresh.clone()))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    let (cleared, line) = cookie_value(&res, "latch_sso").expect("cleared");
    assert!(cleared.is_empty(), "{line}");
    assert!(line.to_ascii_lowercase().contains("max-age=0"), "{line}");
    assert!(
        line.to_ascii_lowercase().contains("domain=example.test"),
        "{line}"
    );
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);
}

#[test]
fn every_kind_of_revocation_ends_the_sso_cookie() {
    let t = app();
    let alice = t.user("alice", false);
    t.user("root", true);
    let (root, _) = login(&t, "root");

    // Log out everywhere.
    let s = t.sign_in("alice");
    assert_eq!(t.with_sso(&s.sso), Status::Ok);
    let res = t
        .client
        .post("/api/sessions/revoke-all/")
        .header(bearer(&s.access))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);

    // Deleting the session.
    let s = t.sign_in("alice");
    assert_eq!(t.with_sso(&s.sso), Status::Ok);
    let sid = common::claims(&s.access)["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .client
        .delete(format!("/api/sessions/{sid}"))
        .header(bearer(&s.access))
        .dispatch();
    assert!(res.status().code < 300, "{}", res.status());
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);

    // A password change.
    let s = t.sign_in("alice");
    assert_eq!(t.with_sso(&s.sso), Status::Ok);
    let res = t
        .client
        .post("/api/me/password/")
        .header(ContentType::JSON)
        .header(bearer(&s.access))
        .body(json!({"old_password": PASSWORD, "new_password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Ok, "{:?}", res.into_string());
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);

    // Deactivation by staff, and the account deleted.
    let s = t.sign_in("alice");
    assert_eq!(t.with_sso(&s.sso), Status::Ok);
    let res = t
        .client
        .patch(format!("/api/admin/users/{alice}/"))
        .header(ContentType::JSON)
        .header(bearer(&root))
        .body(json!({"is_active": false}).to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);
    let res = t
        .client
        .delete(format!("/api/admin/users/{alice}/"))
        .header(bearer(&root))
        .dispatch();
    assert_eq!(res.status(), Status::NoContent);
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized);
}

#[test]
fn the_pages_refresh_keeps_or_restores_the_sso_cookie() {
    let t = app();
    t.user("alice", false);
    let s = t.sign_in("alice");
    // Presented: the same value again, with the session's new lifetime.
    let res = t
        .page("/api/session/refresh", json!({}))
        .cookie(Cookie::new("latch_refresh", s.refresh.clone()))
        .cookie(Cookie::new("latch_sso", s.sso.clone()))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    let (kept, _) = cookie_value(&res, "latch_sso").expect("re-set");
    assert_eq!(kept, s.sso);
    let (refresh, _) = cookie_value(&res, "latch_refresh").unwrap();
    // Lost (expired before its session): a new one, bound to the session.
    let res = t
        .page("/api/session/refresh", json!({}))
        .cookie(Cookie::new("latch_refresh", refresh))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    let (fresh, _) = cookie_value(&res, "latch_sso").expect("a new one");
    assert_ne!(fresh, s.sso);
    assert_eq!(t.with_sso(&fresh), Status::Ok);
    assert_eq!(t.with_sso(&s.sso), Status::Unauthorized, "replaced");
}

#[test]
fn the_page_may_return_only_to_allowed_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let f = figment(dir.path())
        .merge(("latch.public_url", PUBLIC))
        .merge(("latch.sso_cookie_domain", "example.test"))
        .merge(("latch.redirect_hosts", ["partner.test"]));
    let client = Client::untracked(latch::build(f)).unwrap();
    let check = |rd: &str| {
        let res = client
            .get(format!(
                "/api/authz/redirect/?rd={}",
                latch::auth::forward::percent_encode(rd)
            ))
            .dispatch();
        (res.status(), common::body(res))
    };
    for good in [
        "https://app.example.test/x?y=1",
        "http://example.test/",
        "https://auth.example.test/",
        "https://partner.test/",
    ] {
        let (status, body) = check(good);
        assert_eq!(status, Status::Ok, "{good}");
        assert_eq!(body["rd"], good);
    }
    for bad in [
        "https://evil.test/",
        "//evil.test/",
        "javascript:alert(document.cookie)",
        "https://evil.test\\@app.example.test/",
        "https:\\\\evil.test/",
        "https://example.test@evil.test/",
        "https://app.example.test.evil.test/",
        "/relative",
        "",
    ] {
        let (status, body) = check(bad);
        assert_eq!(status, Status::BadRequest, "{bad}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("The return address was refused"),
            "{body}"
        );
    }
    let res = client.get("/api/authz/redirect").dispatch();
    assert_eq!(res.status(), Status::BadRequest);
}

#[test]
fn bad_settings_are_refused_naming_the_key() {
    let cases: [(&str, Value); 7] = [
        ("public_url", json!("auth.example.com")),
        ("public_url", json!("https://auth.example.com/login")),
        ("sso_cookie_domain", json!(".example.com")),
        ("redirect_hosts", json!(["https://a.example.com"])),
        (
            "forward_auth_rules[0].host",
            json!([{"host": "a.*.com", "require": "user"}]),
        ),
        (
            "forward_auth_rules[0].path",
            json!([{"host": "a.com", "path": "x/*", "require": "user"}]),
        ),
        (
            "forward_auth_rules",
            json!([{"host": "a.com", "require": "admin"}]),
        ),
    ];
    for (key, value) in cases {
        let setting = key.split(['[', '.']).next().unwrap();
        let f = rocket::figment::Figment::new().merge((format!("latch.{setting}"), value.clone()));
        let err = Settings::from_figment(&f).expect_err(key);
        assert!(err.starts_with(key), "{key} = {value}: {err}");
    }
}

/// The standing cache keeps what the database said until the database
/// changes, whoever changes it: here the CLI, in another process.
#[test]
fn revocations_by_the_cli_are_seen_on_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    add_user(dir.path(), "alice", false);
    let cli = |args: &[&str]| {
        let out = latch_cmd(dir.path())
            .env("LATCH_SIGNING_KEY", KEY)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let (sso, access) = server_sign_in(&server);
    // Warm the cache, several times over.
    for _ in 0..3 {
        assert_eq!(server_ask(&server, &sso, None), 200);
        assert_eq!(server_ask(&server, "", Some(&access)), 200);
    }
    cli(&["session", "revoke-all", "alice"]);
    assert_eq!(server_ask(&server, &sso, None), 401);
    assert_eq!(server_ask(&server, "", Some(&access)), 401);

    let (sso, access) = server_sign_in(&server);
    assert_eq!(server_ask(&server, &sso, None), 200);
    assert_eq!(server_ask(&server, "", Some(&access)), 200);
    cli(&["user", "deactivate", "alice"]);
    assert_eq!(server_ask(&server, &sso, None), 401);
    assert_eq!(server_ask(&server, "", Some(&access)), 401);
}

/// auth-request on a real server, with the cookie and maybe a bearer.
fn server_ask(server: &Server, cookie: &str, bearer: Option<&str>) -> u16 {
    let mut headers = vec![
        ("X-Original-URL", "http://app.example.test/".to_string()),
        ("Cookie", format!("latch_sso={cookie}")),
    ];
    if let Some(b) = bearer {
        headers.push(("Authorization", format!("Bearer {b}")));
    }
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = format!("127.0.0.1:{}", server.port);
    let path = "/api/authz/auth-request";
    send(server.port, "GET", path, &host, &headers, "").status
}

/// The page's sign-in on a real server: `(latch_sso, access token)`.
fn server_sign_in(server: &Server) -> (String, String) {
    let body = json!({"username": "alice", "password": PASSWORD}).to_string();
    let host = format!("127.0.0.1:{}", server.port);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Requested-With", "latch"),
    ];
    let path = "/api/session/login";
    let reply = send(server.port, "POST", path, &host, &headers, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sso = reply
        .headers_named("set-cookie")
        .find_map(|c| c.strip_prefix("latch_sso=")?.split(';').next())
        .unwrap()
        .to_string();
    (sso, reply.json()["access"].as_str().unwrap().to_string())
}
