//! Browser mode over HTTP: the cookie endpoints, their CSRF defences, the
//! embedded page's headers, and first-run setup. Each test has its own
//! database. The client is untracked: every test says which cookie it
//! sends, so an old cookie can be replayed on purpose.

mod common;

use common::cookie_app::*;
use common::{PASSWORD, figment};
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

#[rocket::async_test]
async fn login_sets_a_locked_down_cookie_and_answers_only_the_access_token() {
    let t = cookie_app().await;
    t.user("alice").await;
    let res = t
        .page_post(
            "/api/session/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
    let cookies = set_cookies(&res);
    // The refresh token, the device token for the next sign-in, and the
    // single sign-on cookie (its attributes: tests/forward_auth.rs).
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    let named = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie: {cookies:?}"))
            .clone()
    };
    let (refresh, device) = (named(COOKIE), named("latch_device"));
    for cookie in [&refresh, &device] {
        let attrs = attributes(cookie);
        for expected in ["httponly", "samesite=strict", "path=/api/session"] {
            assert!(attrs.iter().any(|a| a == expected), "{expected}: {attrs:?}");
        }
    }
    let attrs = attributes(&refresh);
    assert!(!attrs.iter().any(|a| a == "secure"), "{attrs:?}");
    assert!(attrs.iter().any(|a| a == "max-age=86400"), "{attrs:?}");
    let cookie = refresh_cookie(&res).unwrap();
    let body = json_body(res).await;
    assert!(body.get("refresh").is_none(), "{body}");
    assert_eq!(body["username"], "alice");
    let now = common::now();
    let access_expires = body["access_expires"].as_i64().unwrap();
    assert!((now + 299..=now + 301).contains(&access_expires), "{body}");
    let session_expires = body["session_expires"].as_i64().unwrap();
    assert!((now + 86_399..=now + 86_401).contains(&session_expires));
    assert!(
        !body.to_string().contains(&cookie),
        "no refresh token in the body"
    );

    // The access token works; the cookie is a refresh token.
    let access = body["access"].as_str().unwrap();
    let me = t
        .client
        .get("/api/me/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch()
        .await;
    assert_eq!(me.status(), Status::Ok);
    let claims = latch::auth::tokens::decode_segment(cookie.split('.').nth(1).unwrap()).unwrap();
    assert_eq!(claims["token_type"], "refresh");
}

#[rocket::async_test]
async fn wrong_credentials_and_bad_fields_answer_like_the_token_api() {
    let t = cookie_app().await;
    t.user("alice").await;
    let res = t
        .page_post(
            "/api/session/login",
            json!({"username": "alice", "password": "wrong password"}),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        json_body(res).await,
        json!({"detail": "No active account found with the given credentials"})
    );
    let res = t
        .page_post("/api/session/login", json!({"username": "alice"}))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        json_body(res).await,
        json!({"password": ["This field is required."]})
    );
}

#[rocket::async_test]
async fn throttled_logins_say_when_to_retry() {
    let t = cookie_app_with(|f| f.merge(("latch.login_account_burst", 1))).await;
    t.user("alice").await;
    let wrong = json!({"username": "alice", "password": "wrong password"});
    let res = t
        .page_post("/api/session/login", wrong.clone())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t.page_post("/api/session/login", wrong).dispatch().await;
    assert_eq!(res.status(), Status::TooManyRequests);
    let retry: u64 = res
        .headers()
        .get_one("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert_eq!(
        json_body(res).await,
        json!({"detail": format!("Request was throttled. Expected available in {retry} seconds.")})
    );
}

#[rocket::async_test]
async fn the_cookie_is_secure_when_configured_or_forwarded_over_https() {
    let t = cookie_app_with(|f| f.merge(("latch.cookie_secure", true))).await;
    t.user("alice").await;
    let res = t
        .page_post(
            "/api/session/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let attrs = attributes(&set_cookies(&res)[0]);
    assert!(attrs.iter().any(|a| a == "secure"), "{attrs:?}");

    let t = cookie_app_with(|f| f.merge(("latch.trusted_proxies", ["127.0.0.1"]))).await;
    t.user("alice").await;
    let res = t
        .page_post(
            "/api/session/login",
            json!({"username": "alice", "password": PASSWORD}),
        )
        .remote("127.0.0.1:40000".parse().unwrap())
        .header(Header::new("X-Forwarded-Proto", "https"))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let attrs = attributes(&set_cookies(&res)[0]);
    assert!(attrs.iter().any(|a| a == "secure"), "{attrs:?}");
}

#[rocket::async_test]
async fn cross_site_requests_are_refused() {
    let t = cookie_app().await;
    t.user("alice").await;
    let cookie = t.login().await;
    let csrf = json!({"detail": "CSRF check failed."});
    let credentials = json!({"username": "alice", "password": PASSWORD});
    for path in [
        "/api/session/login",
        "/api/session/refresh",
        "/api/session/logout",
    ] {
        // A foreign Origin, even with the custom header.
        for origin in [
            "https://evil.example",
            "null",
            "http://latch.test.evil.example",
        ] {
            let res = t
                .page_post(path, credentials.clone())
                .header(Header::new("Origin", origin))
                .cookie(Cookie::new(COOKIE, cookie.clone()))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::Forbidden, "{path} from {origin}");
            assert!(set_cookies(&res).is_empty());
            assert_eq!(json_body(res).await, csrf);
        }
        // Neither Origin nor the custom header.
        let res = t
            .client
            .post(path)
            .header(ContentType::JSON)
            .header(Header::new("Host", HOST))
            .cookie(Cookie::new(COOKIE, cookie.clone()))
            .body(credentials.to_string())
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden, "{path} without proof");
        assert_eq!(json_body(res).await, csrf);
        // Fetch metadata saying cross-site.
        let res = t
            .page_post(path, credentials.clone())
            .header(Header::new("Sec-Fetch-Site", "cross-site"))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Forbidden, "{path} cross-site");
        // What an HTML form can send: never JSON.
        for (kind, form) in [
            (ContentType::Form, "username=alice&password=x"),
            (ContentType::Plain, "{}"),
        ] {
            let res = t
                .client
                .post(path)
                .header(kind.clone())
                .header(Header::new("Host", HOST))
                .header(Header::new("Origin", format!("http://{HOST}")))
                .cookie(Cookie::new(COOKIE, cookie.clone()))
                .body(form)
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::UnsupportedMediaType, "{path} {kind}");
            assert_eq!(
                json_body(res).await,
                json!({"detail": format!("Unsupported media type \"{kind}\" in request.")})
            );
        }
    }
    // The cookie survived all of that.
    assert_eq!(t.refresh(&cookie).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_same_origin_request_needs_no_custom_header() {
    let t = cookie_app().await;
    t.user("alice").await;
    let res = t
        .client
        .post("/api/session/login")
        .header(ContentType::JSON)
        .header(Header::new("Host", HOST))
        .header(Header::new("Origin", format!("http://{HOST}")))
        .header(Header::new("Sec-Fetch-Site", "same-origin"))
        .body(json!({"username": "alice", "password": PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    assert!(refresh_cookie(&res).is_some());
}

#[rocket::async_test]
async fn refresh_rotates_the_cookie_and_the_old_one_is_dead() {
    let t = cookie_app().await;
    t.user("alice").await;
    let first = t.login().await;
    let res = t.refresh(&first).await;
    assert_eq!(res.status(), Status::Ok);
    let second = refresh_cookie(&res).expect("a rotated cookie");
    assert_ne!(first, second);
    let rotated = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with(&format!("{COOKIE}=")))
        .unwrap();
    let attrs = attributes(&rotated);
    assert!(attrs.iter().any(|a| a == "path=/api/session"), "{attrs:?}");
    let answer = json_body(res).await;
    assert_eq!(answer["username"], "alice");
    assert!(answer.get("refresh").is_none());

    // The successor works, and rotates again.
    let res = t.refresh(&second).await;
    assert_eq!(res.status(), Status::Ok);
    let third = refresh_cookie(&res).unwrap();

    // Replaying a consumed cookie after the few seconds two tabs may race
    // in: blacklisted, the cookie cleared, and reuse detection ends the
    // whole session.
    t.state().clock.advance(std::time::Duration::from_secs(11));
    let res = t.refresh(&first).await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert!(res.headers().get_one("WWW-Authenticate").is_some());
    let cleared = set_cookies(&res);
    assert!(cleared.iter().any(|c| c.starts_with(&format!("{COOKIE}=;"))
        && attributes(c).contains(&"max-age=0".to_string())
        && attributes(c).contains(&"path=/api/session".to_string())));
    assert_eq!(
        json_body(res).await,
        json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
    );
    assert_eq!(t.refresh(&third).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn refresh_without_a_cookie_is_204_and_with_a_dead_one_401() {
    let t = cookie_app().await;
    // No cookie: no session, which is no error (the page asks on every
    // first visit, and a 401 would be a console error there).
    let res = t
        .page_post("/api/session/refresh", json!({}))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
    assert!(set_cookies(&res).is_empty(), "nothing to clear");
    assert!(res.into_bytes().await.unwrap_or_default().is_empty());
    // Still behind the CSRF check.
    let res = t
        .client
        .post("/api/session/refresh")
        .header(ContentType::JSON)
        .header(Header::new("Host", HOST))
        .body("{}")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let res = t.refresh("not-a-token").await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert!(res.headers().get_one("WWW-Authenticate").is_some());
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with(&format!("{COOKIE}=;"))),
        "the dead cookie is cleared: {:?}",
        set_cookies(&res)
    );
    assert_eq!(
        json_body(res).await,
        json!({"detail": "Token is invalid", "code": "token_not_valid"})
    );
}

#[rocket::async_test]
async fn logout_clears_the_cookie_and_ends_the_session() {
    let t = cookie_app().await;
    t.user("alice").await;
    let cookie = t.login().await;
    let res = t
        .page_post("/api/session/logout", json!({}))
        .cookie(Cookie::new(COOKIE, cookie.clone()))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let mut cleared = set_cookies(&res);
    // The refresh cookie, and the single sign-on cookie (tests/forward_auth.rs).
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    cleared.sort_by_key(|c| !c.starts_with(&format!("{COOKIE}=")));
    assert!(
        cleared[0].starts_with(&format!("{COOKIE}=;")),
        "{cleared:?}"
    );
    assert!(cleared[1].starts_with("latch_sso=;"), "{cleared:?}");
    let attrs = attributes(&cleared[0]);
    for expected in ["max-age=0", "path=/api/session", "httponly"] {
        assert!(attrs.iter().any(|a| a == expected), "{expected}: {attrs:?}");
    }
    assert_eq!(json_body(res).await, json!({}));
    let res = t.refresh(&cookie).await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(json_body(res).await["detail"], "Token is blacklisted");
    // Logging out again, or with no cookie at all, is still fine.
    for sent in [Some(cookie.as_str()), None] {
        let mut req = t.page_post("/api/session/logout", json!({}));
        if let Some(c) = sent {
            req = req.cookie(Cookie::new(COOKIE, c.to_string()));
        }
        assert_eq!(req.dispatch().await.status(), Status::Ok);
    }
}

#[rocket::async_test]
async fn the_page_is_served_with_strict_headers_and_revalidates() {
    let t = cookie_app().await;
    for path in ["/", "/setup", "/setup/"] {
        let res = t.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert_eq!(res.content_type(), Some(ContentType::HTML));
        let h = res.headers();
        let csp = h.get_one("Content-Security-Policy").unwrap_or_default();
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(h.get_one("X-Frame-Options"), Some("DENY"));
        assert_eq!(h.get_one("Referrer-Policy"), Some("no-referrer"));
        assert_eq!(h.get_one("Cache-Control"), Some("no-cache"));
        let html = res.into_string().await.unwrap();
        // Nothing inline, nothing from elsewhere.
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "inline code"
        );
        assert!(
            !html.contains("https://") && !html.contains("http://"),
            "external"
        );
        assert!(html.contains("src=\"/static/app.js\""));
    }
    for (path, kind) in [
        ("/static/app.js", ContentType::JavaScript),
        ("/static/app.css", ContentType::CSS),
        ("/static/index.html", ContentType::HTML),
    ] {
        let res = t.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert_eq!(res.content_type(), Some(kind), "{path}");
        assert_eq!(
            res.headers().get_one("X-Content-Type-Options"),
            Some("nosniff")
        );
        let etag = res.headers().get_one("ETag").expect("etag").to_string();
        assert!(etag.starts_with('"') && etag.len() == 66, "strong: {etag}");
        let text = res.into_string().await.unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path}"
        );

        for sent in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
            let res = t
                .client
                .get(path)
                .header(Header::new("If-None-Match", sent.clone()))
                .dispatch()
                .await;
            assert_eq!(res.status(), Status::NotModified, "{path} {sent}");
            assert_eq!(res.headers().get_one("ETag"), Some(etag.as_str()));
            assert!(res.into_bytes().await.unwrap_or_default().is_empty());
        }
        let res = t
            .client
            .get(path)
            .header(Header::new("If-None-Match", "\"stale\""))
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
    }
    // The icon, linked from the page and at the path browsers ask anyway.
    for path in ["/static/favicon.svg", "/favicon.ico"] {
        let res = t.client.get(path).dispatch().await;
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert_eq!(res.content_type(), Some(ContentType::SVG), "{path}");
        let svg = res.into_string().await.unwrap();
        assert!(svg.starts_with("<svg") && !svg.contains("<script"), "{svg}");
    }
    let html = t.client.get("/").dispatch().await.into_string().await;
    assert!(
        html.unwrap_or_default()
            .contains(r#"<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">"#)
    );
    // Other methods get the contract's JSON 405.
    for (res, method) in [
        (t.client.post("/").dispatch().await, "POST"),
        (t.client.delete("/static/app.js").dispatch().await, "DELETE"),
        (t.client.get("/api/session/login").dispatch().await, "GET"),
    ] {
        assert_eq!(res.status(), Status::MethodNotAllowed);
        assert_eq!(
            json_body(res).await,
            json!({"detail": format!("Method \"{method}\" not allowed.")})
        );
    }
    for missing in ["/static/nope.js", "/static/../Cargo.toml", "/static/"] {
        let res = t.client.get(missing).dispatch().await;
        assert_eq!(res.status(), Status::NotFound, "{missing}");
        assert_eq!(res.content_type(), Some(ContentType::JSON));
    }
}

async fn setup(t: &CookieApp, fields: Value) -> (Status, Value) {
    let res = t
        .client
        .post("/api/setup")
        .header(ContentType::JSON)
        .body(fields.to_string())
        .dispatch()
        .await;
    let status = res.status();
    (status, json_body(res).await)
}

#[rocket::async_test]
async fn first_run_setup_token_works_once() {
    let t = cookie_app().await;
    let token = t.setup_token().expect("an empty instance arms a token");
    assert_eq!(token.len(), 64);
    let refused = json!({"detail": "The setup link is invalid or has already been used."});
    let fields = |token: &str| json!({"token": token, "username": "root", "password": PASSWORD});
    let mut wrong = token.clone();
    wrong.replace_range(..1, if token.starts_with('0') { "1" } else { "0" });
    for bad in [
        fields(&wrong),
        fields(""),
        json!({"username": "root", "password": PASSWORD}),
    ] {
        assert_eq!(setup(&t, bad).await, (Status::Forbidden, refused.clone()));
    }
    // A rejected form leaves the token alive.
    let (status, body) = setup(
        &t,
        json!({"token": token, "username": "root", "password": "password"}),
    )
    .await;
    assert_eq!(status, Status::BadRequest);
    assert!(body["password"].is_array(), "{body}");
    let (status, body) = setup(
        &t,
        json!({"token": token, "username": "bad name!", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, Status::BadRequest);
    assert!(body["username"].is_array(), "{body}");

    let (status, body) = setup(&t, fields(&token)).await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["username"], "root");
    assert_eq!(body["is_staff"], true);
    assert_eq!(t.setup_token(), None);
    // Used once: gone.
    assert_eq!(
        setup(&t, fields(&token)).await,
        (Status::Forbidden, refused)
    );
    // The account signs in.
    let res = t
        .page_post(
            "/api/session/login",
            json!({"username": "root", "password": PASSWORD}),
        )
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
}

#[rocket::async_test]
async fn setup_is_refused_once_any_user_exists() {
    // A user created (say, from the CLI) while the token is pending.
    let t = cookie_app().await;
    let token = t.setup_token().unwrap();
    t.user("alice").await;
    let (status, body) = setup(
        &t,
        json!({"token": token, "username": "root", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(
        body,
        json!({"detail": "This instance already has an account. Sign in instead."})
    );
    assert_eq!(t.setup_token(), None);
}

async fn claim(client: &Client, token: &str) -> Status {
    client
        .post("/api/setup")
        .header(ContentType::JSON)
        .body(json!({"token": token, "username": "root", "password": PASSWORD}).to_string())
        .dispatch()
        .await
        .status()
}

#[rocket::async_test]
async fn the_token_dies_with_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let first = Client::untracked(latch::build(figment(dir.path())))
        .await
        .unwrap();
    let old = first
        .rocket()
        .state::<latch::state::App>()
        .unwrap()
        .first_run
        .token()
        .unwrap();
    drop(first);
    // Restarted on the same, still empty, database: a new token.
    let second = Client::untracked(latch::build(figment(dir.path())))
        .await
        .unwrap();
    let new = second
        .rocket()
        .state::<latch::state::App>()
        .unwrap()
        .first_run
        .token()
        .unwrap();
    assert_ne!(old, new);
    assert_eq!(claim(&second, &old).await, Status::Forbidden);
    // Once claimed, a restart arms nothing.
    assert_eq!(claim(&second, &new).await, Status::Created);
    drop(second);
    let third = Client::untracked(latch::build(figment(dir.path())))
        .await
        .unwrap();
    assert_eq!(
        third
            .rocket()
            .state::<latch::state::App>()
            .unwrap()
            .first_run
            .token(),
        None
    );
}

#[rocket::async_test]
async fn the_pages_replay_grace_is_the_pages_alone() {
    let t = cookie_app().await;
    t.user("alice").await;
    // A refresh token from the API, rotated by its client...
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .body(json!({"username": "alice", "password": PASSWORD}).to_string())
        .dispatch()
        .await;
    let stolen = json_body(res).await["refresh"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .client
        .post("/api/token/refresh/")
        .header(ContentType::JSON)
        .body(json!({"refresh": stolen}).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Ok);
    let successor = json_body(res).await["refresh"]
        .as_str()
        .unwrap()
        .to_string();
    // ...and replayed at once through the cookie endpoint: reuse, not a
    // duplicate tab, so the whole session ends.
    let res = t.refresh(&stolen).await;
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t
        .client
        .post("/api/token/refresh/")
        .header(ContentType::JSON)
        .body(json!({"refresh": successor}).to_string())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn a_late_tab_gets_the_newest_cookie_of_its_session() {
    let t = cookie_app().await;
    t.user("alice").await;
    let first = t.login().await;
    let res = t.refresh(&first).await;
    let second = refresh_cookie(&res).unwrap();
    let res = t.refresh(&second).await;
    let third = refresh_cookie(&res).unwrap();
    // A tab still holding the first cookie, within the grace: it gets the
    // cookie the session holds now, not the spent second one.
    let res = t.refresh(&first).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(refresh_cookie(&res).unwrap(), third);
}

#[rocket::async_test]
async fn a_replay_in_the_grace_window_still_needs_the_account() {
    let t = cookie_app().await;
    t.user("alice").await;
    let first = t.login().await;
    assert_eq!(t.refresh(&first).await.status(), Status::Ok);
    t.state()
        .db
        .run(|c| latch::store::users::delete(c, 1))
        .await
        .unwrap();
    let res = t.refresh(&first).await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(
        json_body(res).await,
        json!({"detail": "No active account found for the given token."})
    );
}
