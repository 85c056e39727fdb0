//! Unit tests of the forward-auth rules: matching, URLs, `rd`.

use super::*;

fn rule(host: &str, path: Option<&str>, require: Require) -> ForwardAuthRule {
    ForwardAuthRule {
        host: host.into(),
        path: path.map(Into::into),
        require,
    }
}

#[test]
fn first_matching_rule_wins_and_no_match_means_user() {
    let rules = [
        rule("app.example.com", Some("/public/*"), Require::Anyone),
        rule("*.example.com", Some("/admin/*"), Require::Staff),
        rule("admin.example.com", None, Require::Staff),
    ];
    let req = |h, p| required(&rules, h, p);
    assert_eq!(req("app.example.com", "/public/x"), Require::Anyone);
    assert_eq!(req("app.example.com", "/public"), Require::User);
    assert_eq!(req("a.b.example.com", "/admin/x"), Require::Staff);
    assert_eq!(req("example.com", "/admin/x"), Require::User);
    assert_eq!(req("evilexample.com", "/admin/x"), Require::User);
    assert_eq!(req("admin.example.com", "/"), Require::Staff);
    assert_eq!(req("other.test", "/"), Require::User);
    // Disguised paths fall under the rule they resolve to.
    for sneaky in ["/%61dmin/x", "//admin/x", "/x/../admin/x", "/./admin/x"] {
        assert_eq!(req("app.example.com", sneaky), Require::Staff, "{sneaky}");
    }
    assert_eq!(req("app.example.com", "/public/../private"), Require::User);
}

#[test]
fn globs() {
    assert!(glob_matches("/admin/*", "/admin/a/b"));
    assert!(glob_matches("/*.css", "/a/b.css"));
    assert!(glob_matches("/v?/x", "/v1/x"));
    assert!(!glob_matches("/admin/*", "/administrator"));
    assert!(glob_matches("*", ""));
}

#[test]
fn verdicts() {
    let alice = Who {
        id: 1,
        username: "alice".into(),
        is_staff: false,
    };
    let staff = Who {
        is_staff: true,
        ..alice.clone()
    };
    assert_eq!(verdict(Require::Anyone, None), Verdict::Allow(None));
    assert_eq!(verdict(Require::User, None), Verdict::SignIn);
    assert_eq!(verdict(Require::Staff, None), Verdict::SignIn);
    assert_eq!(
        verdict(Require::Staff, Some(alice.clone())),
        Verdict::Forbidden
    );
    assert_eq!(
        verdict(Require::User, Some(alice.clone())),
        Verdict::Allow(Some(alice))
    );
    assert_eq!(
        verdict(Require::Staff, Some(staff.clone())),
        Verdict::Allow(Some(staff))
    );
}

#[test]
fn the_original_request() {
    let o = Original::forwarded(
        Some("https"),
        "App.Example.com:8443",
        "/x?y=1",
        Some("post"),
    )
    .unwrap();
    assert_eq!(o.url.host, "app.example.com");
    assert_eq!(o.url.port, Some(8443));
    assert_eq!(o.url.path, "/x");
    assert_eq!(o.url.raw, "https://App.Example.com:8443/x?y=1");
    assert_eq!(o.method, "POST");
    assert!(!o.is_browser(Some("text/html")));
    let o = Original::url("http://app.example.com/", None).unwrap();
    assert!(o.is_browser(Some("text/html,application/xhtml+xml")));
    assert!(!o.is_browser(Some("application/json")));
    assert!(!o.is_browser(None));
    assert!(Original::forwarded(None, "a.com", "x", None).is_none());
    assert!(Original::forwarded(None, "a.com@evil.com", "/", None).is_none());
}

#[test]
fn login_urls_carry_the_original_percent_encoded() {
    assert_eq!(
        login_url(
            "https://auth.example.com/",
            "https://app.example.com/a?b=c&d"
        ),
        "https://auth.example.com/?rd=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3Dc%26d"
    );
}

#[test]
fn open_redirects_are_refused() {
    let hosts = ["partner.org".to_string()];
    let policy = RedirectPolicy {
        own_host: Some("auth.example.com"),
        cookie_domain: Some("example.com"),
        hosts: &hosts,
    };
    for good in [
        "https://app.example.com/x?y#z",
        "http://example.com",
        "https://APP.example.com:8443/",
        "https://auth.example.com/",
        "https://partner.org/welcome",
    ] {
        assert_eq!(policy.check(good).as_deref(), Ok(good), "{good}");
    }
    for bad in [
        "https://evil.com/",
        "//evil.com/",
        "/relative",
        "javascript:alert(1)",
        "JavaScript://app.example.com/%0aalert(1)",
        "data:text/html,x",
        "https://example.com@evil.com/",
        "https://app.example.com:x@evil.com/",
        "https://evil.com\\@app.example.com/",
        "https:\\\\evil.com",
        "https://evil.com\\.example.com/",
        "https://evilexample.com/",
        "https://example.com.evil.com/",
        "https://app.example.com /",
        "https://app.example.com\t/",
        "https://[::1]/",
        "https://sub.partner.org/",
        "ftp://app.example.com/",
        "",
    ] {
        assert!(policy.check(bad).is_err(), "{bad:?} was allowed");
    }
}
