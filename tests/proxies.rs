//! Single sign-on through real reverse proxies: nginx (`auth_request`),
//! Caddy (`forward_auth`) and Traefik (`ForwardAuth`), each running the
//! example configuration from `examples/` in front of an echo app, with
//! host names sent in the Host header; and headless Chromium through nginx
//! from the app to latch's page and back.

mod common;

use common::PASSWORD;
use common::proxies::{DOMAIN, Proxy, Reply, Stack, send};
use common::webdriver::{Browser, WAIT, start_driver};

const HTML: (&str, &str) = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
const JSON: (&str, &str) = ("Accept", "application/json");

fn percent_encode(s: &str) -> String {
    latch::auth::forward::percent_encode(s)
}

/// Asserts the echo app answered, and that it was told `user`.
fn reached_as(reply: &Reply, user: &str, groups: &str) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.app_saw("remote-user"), [user], "{}", reply.body);
    assert_eq!(
        reply.app_saw("remote-groups").concat(),
        groups,
        "{}",
        reply.body
    );
}

/// The app was reached, and no `Remote-User` naming anyone came with it.
fn reached_anonymously(reply: &Reply) {
    assert_eq!(reply.status, 200, "{reply:?}");
    let users = reply.app_saw("remote-user");
    assert!(users.iter().all(String::is_empty), "{}", reply.body);
}

fn single_sign_on_through(proxy: Proxy) {
    let stack = Stack::start(proxy);
    signed_out_requests_are_sent_to_sign_in(&stack, proxy);
    signed_in_requests_reach_the_app(&stack, proxy);
}

fn signed_out_requests_are_sent_to_sign_in(stack: &Stack, proxy: Proxy) {
    let port = stack.port;
    // A browser without credentials goes to the sign-in page, carrying
    // the URL it asked for.
    let reply = stack.get("app", "/reports?year=2026&q=a%20b", &[HTML]);
    assert_eq!(reply.status, 302, "{proxy:?}: {reply:?}");
    let original = format!("http://app.{DOMAIN}:{port}/reports?year=2026&q=a%20b");
    let login = format!(
        "http://auth.{DOMAIN}:{port}/?rd={}",
        percent_encode(&original)
    );
    assert_eq!(reply.header("location"), Some(login.as_str()), "{proxy:?}");

    // An API request gets 401 instead.
    let reply = stack.get("app", "/api/things", &[JSON]);
    assert_eq!(reply.status, 401, "{proxy:?}: {reply:?}");
    assert!(reply.header("location").is_none(), "{proxy:?}: {reply:?}");

    // Describing a public path in any header the proxy might pass on
    // does not open a private one.
    let public = format!("http://app.{DOMAIN}:{port}/public/x");
    let forged = [
        JSON,
        ("X-Original-URL", public.as_str()),
        ("X-Original-URI", "/public/x"),
        ("X-Forwarded-Uri", "/public/x"),
        ("X-Forwarded-Host", "app.example.test"),
    ];
    let reply = stack.get("app", "/private", &forged);
    assert_eq!(reply.status, 401, "{proxy:?}: {reply:?}");
    let reply = stack.get("admin", "/", &forged);
    assert_eq!(reply.status, 401, "{proxy:?}: {reply:?}");
}

fn signed_in_requests_reach_the_app(stack: &Stack, proxy: Proxy) {
    // A bearer token and the sign-in cookie both reach the app as alice;
    // what the client claims in Remote-* never does.
    let (access, sso) = stack.sign_in("alice");
    let bearer = format!("Bearer {access}");
    let cookie = format!("latch_sso={sso}");
    let forged = [("Remote-User", "mallory"), ("Remote-Groups", "staff")];
    let reply = stack.get("app", "/", &[JSON, ("Authorization", &bearer)]);
    reached_as(&reply, "alice", "");
    let reply = stack.get(
        "app",
        "/",
        &[HTML, ("Cookie", &cookie), forged[0], forged[1]],
    );
    reached_as(&reply, "alice", "");
    assert!(
        !reply.app_saw("remote-id").concat().is_empty(),
        "{}",
        reply.body
    );

    // An `anyone` path passes without credentials, and still without
    // the client's word for who it is.
    let reply = stack.get("app", "/public/logo.png", &[JSON, forged[0], forged[1]]);
    reached_anonymously(&reply);
    assert!(
        reply.app_saw("remote-groups").iter().all(String::is_empty),
        "{}",
        reply.body
    );

    // The staff-only host: 403 for alice, through for root.
    let reply = stack.get("admin", "/", &[HTML, ("Cookie", &cookie)]);
    assert_eq!(reply.status, 403, "{proxy:?}: {reply:?}");
    let (root_access, _) = stack.sign_in("root");
    let root_bearer = format!("Bearer {root_access}");
    let reply = stack.get("admin", "/", &[JSON, ("Authorization", &root_bearer)]);
    reached_as(&reply, "root", "staff");

    // "Log out everywhere": the very next request is refused.
    let revoked = send(
        stack.latch.port,
        "POST",
        "/api/sessions/revoke-all/",
        &format!("127.0.0.1:{}", stack.latch.port),
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let reply = stack.get("app", "/", &[JSON, ("Cookie", &cookie)]);
    assert_eq!(reply.status, 401, "{proxy:?}: {reply:?}");
    let reply = stack.get("app", "/", &[HTML, ("Cookie", &cookie)]);
    assert_eq!(reply.status, 302, "{proxy:?}: {reply:?}");
    let reply = stack.get("app", "/", &[JSON, ("Authorization", &bearer)]);
    assert_eq!(reply.status, 401, "{proxy:?}: {reply:?}");
}

#[test]
fn nginx_auth_request() {
    single_sign_on_through(Proxy::Nginx);
}

#[test]
fn caddy_forward_auth() {
    single_sign_on_through(Proxy::Caddy);
}

#[test]
fn traefik_forward_auth() {
    single_sign_on_through(Proxy::Traefik);
}

/// Waits until the browser's address is on `host` and its page text
/// contains `needle`; returns the text.
fn wait_for_page(browser: &Browser, host: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let url = browser
            .run("return location.href")
            .as_str()
            .unwrap_or("")
            .to_string();
        let text = browser
            .run("return document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or("")
            .to_string();
        if url.contains(host) && text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "at {url}, the page says {text:?}, not {needle:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_browser_signs_in_on_latch_and_comes_back_to_the_app() {
    let stack = Stack::start(Proxy::Nginx);
    let port = stack.port;
    let driver = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let browser = Browser::open(&driver, profile.path());
    let app = format!("app.{DOMAIN}:{port}");
    let auth = format!("auth.{DOMAIN}:{port}");

    // The app sends the browser to latch's page, which signs it in and
    // sends it back to where it was going, now as alice.
    browser.goto(&format!("http://{app}/dashboard?tab=2"));
    browser.wait_for_text("#login-title", "Sign in");
    let here = browser.run("return location.href");
    assert!(
        here.as_str()
            .unwrap()
            .starts_with(&format!("http://{auth}/?rd=")),
        "{here}"
    );
    browser.type_into("#login-username", "alice");
    browser.type_into("#login-password", PASSWORD);
    browser.click("#login-form button[type=submit]");
    let text = wait_for_page(&browser, &app, "\"remote-user\": [\"alice\"]");
    assert!(text.contains("/dashboard?tab=2"), "{text}");

    // Already signed in, the page returns at once.
    browser.goto(&format!(
        "http://{auth}/?rd={}",
        latch::auth::forward::percent_encode(&format!("http://{app}/again"))
    ));
    let text = wait_for_page(&browser, &app, "\"remote-user\": [\"alice\"]");
    assert!(text.contains("/again"), "{text}");

    // A foreign rd is not followed, and the page says so.
    for foreign in ["https://evil.test/", "//evil.test/", "javascript:alert(1)"] {
        browser.goto(&format!(
            "http://{auth}/?rd={}",
            latch::auth::forward::percent_encode(foreign)
        ));
        browser.wait_for_text("#banner", "Not returning to");
        browser.wait_for_text("#account-title", "alice");
        let here = browser.run("return location.host");
        assert_eq!(here.as_str(), Some(auth.as_str()), "{foreign}");
    }

    // The page's log-out ends the sign-in cookie too.
    browser.click("#logout-button");
    browser.wait_for_text("#banner", "logged out");
    browser.goto(&format!("http://{app}/after"));
    browser.wait_for_text("#login-title", "Sign in");
}
