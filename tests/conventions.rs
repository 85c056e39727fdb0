//! API.md "Conventions" and "Field validation": JSON everywhere, both path
//! spellings, media types, methods, limits and DRF's field messages.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::json;

#[test]
fn every_token_route_answers_with_and_without_trailing_slash() {
    let t = app();
    t.user("alice", PASSWORD, false);
    for path in [
        "/api/token",
        "/api/token/",
        "/access-token",
        "/access-token/",
    ] {
        let res = t.post_json(path, json!({"username": "alice", "password": PASSWORD}));
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert!(body(res)["access"].is_string());
    }
    for path in [
        "/api/token/refresh",
        "/api/token/refresh/",
        "/access-token/refresh",
        "/access-token/refresh/",
    ] {
        let (_, refresh) = t.login("alice", PASSWORD);
        let res = t.post_json(path, json!({"refresh": refresh}));
        assert_eq!(res.status(), Status::Ok, "{path}");
    }
    for path in ["/api/token/verify", "/api/token/verify/"] {
        let (access, _) = t.login("alice", PASSWORD);
        let res = t.post_json(path, json!({"token": access}));
        assert_eq!(res.status(), Status::Ok, "{path}");
    }
    for path in ["/api/token/blacklist", "/api/token/blacklist/"] {
        let (_, refresh) = t.login("alice", PASSWORD);
        let res = t.post_json(path, json!({"refresh": refresh}));
        assert_eq!(res.status(), Status::Ok, "{path}");
    }
    let (access, _) = t.login("alice", PASSWORD);
    for path in ["/api/me", "/api/me/", "/healthz", "/healthz/"] {
        let res = t.get_auth(path, &access);
        assert_eq!(res.status(), Status::Ok, "{path}");
        assert!(res.headers().get_one("Location").is_none(), "no redirect");
    }
}

#[test]
fn healthz_is_ok() {
    let t = app();
    let res = t.client.get("/healthz").dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body(res), json!({"status": "ok"}));
}

#[test]
fn unknown_path_is_json_404() {
    let t = app();
    let res = t.client.get("/nope/").dispatch();
    assert_eq!(res.status(), Status::NotFound);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    assert_eq!(body(res), json!({"detail": "Not found."}));
}

#[test]
fn wrong_method_is_json_405() {
    let t = app();
    for (method, path) in [
        ("GET", "/api/token/"),
        ("PUT", "/api/token/refresh"),
        ("DELETE", "/api/token/verify/"),
        ("GET", "/api/token/blacklist/"),
        ("POST", "/healthz"),
    ] {
        let req = match method {
            "GET" => t.client.get(path),
            "PUT" => t.client.put(path),
            "DELETE" => t.client.delete(path),
            _ => t.client.post(path),
        };
        let res = req.dispatch();
        assert_eq!(res.status(), Status::MethodNotAllowed, "{method} {path}");
        assert_eq!(res.content_type(), Some(ContentType::JSON));
        assert_eq!(
            body(res),
            json!({"detail": format!("Method \"{method}\" not allowed.")})
        );
    }
}

#[test]
fn unsupported_media_type_is_415_naming_the_type() {
    let t = app();
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::Plain)
        .body("username=a")
        .dispatch();
    assert_eq!(res.status(), Status::UnsupportedMediaType);
    assert_eq!(
        body(res),
        json!({"detail": "Unsupported media type \"text/plain; charset=utf-8\" in request."})
    );
    let res = t
        .client
        .post("/api/token/refresh/")
        .header(ContentType::XML)
        .body("<a/>")
        .dispatch();
    assert_eq!(res.status(), Status::UnsupportedMediaType);
}

#[test]
fn form_and_multipart_bodies_are_accepted() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::Form)
        .body("username=alice&password=correct+horse+battery+staple")
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    let refresh = body(res)["refresh"].as_str().unwrap().to_string();

    let boundary = "XyZboundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"refresh\"\r\n\r\n{refresh}\r\n--{boundary}--\r\n"
    );
    let res = t
        .client
        .post("/api/token/refresh/")
        .header(Header::new(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .body(multipart)
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert!(body(res)["access"].is_string());
}

#[test]
fn field_errors_follow_drf() {
    let t = app();
    let cases = [
        (
            json!({}),
            json!({"username": ["This field is required."], "password": ["This field is required."]}),
        ),
        (
            json!({"username": "", "password": ""}),
            json!({"username": ["This field may not be blank."], "password": ["This field may not be blank."]}),
        ),
        (
            json!({"username": null, "password": null}),
            json!({"username": ["This field may not be null."], "password": ["This field may not be null."]}),
        ),
        (
            json!({"username": ["a"], "password": {"a": 1}}),
            json!({"username": ["Not a valid string."], "password": ["Not a valid string."]}),
        ),
        (
            json!({"username": true, "password": "x"}),
            json!({"username": ["Not a valid string."]}),
        ),
        (
            json!({"password": "x"}),
            json!({"username": ["This field is required."]}),
        ),
    ];
    for (input, expected) in cases {
        let res = t.post_json("/api/token/", input.clone());
        assert_eq!(res.status(), Status::BadRequest, "{input}");
        let text = res.into_string().unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            expected,
            "{input}"
        );
        // One key per field, username first.
        if expected.as_object().unwrap().len() == 2 {
            assert!(text.find("username").unwrap() < text.find("password").unwrap());
        }
    }
    for (path, field) in [
        ("/api/token/refresh/", "refresh"),
        ("/api/token/verify/", "token"),
        ("/api/token/blacklist/", "refresh"),
    ] {
        let res = t.post_json(path, json!({}));
        assert_eq!(res.status(), Status::BadRequest);
        assert_eq!(body(res), json!({field: ["This field is required."]}));
    }
}

#[test]
fn empty_body_means_every_field_is_missing() {
    let t = app();
    for content_type in [Some(ContentType::JSON), Some(ContentType::Form), None] {
        let mut req = t.client.post("/api/token/");
        if let Some(ct) = content_type.clone() {
            req = req.header(ct);
        }
        let res = req.dispatch();
        assert_eq!(res.status(), Status::BadRequest, "{content_type:?}");
        assert_eq!(
            body(res),
            json!({"username": ["This field is required."], "password": ["This field is required."]})
        );
    }
}

#[test]
fn numbers_are_coerced_to_strings() {
    let t = app();
    t.user("12345", "67890-latch-pass", false);
    let res = t.post_json(
        "/api/token/",
        json!({"username": 12345, "password": "67890-latch-pass"}),
    );
    assert_eq!(res.status(), Status::Ok);
    // A number password is its decimal string: wrong here, but not a 400.
    let res = t.post_json("/api/token/", json!({"username": 12345, "password": 1.5}));
    assert_eq!(res.status(), Status::Unauthorized);
}

#[test]
fn malformed_json_and_non_objects() {
    let t = app();
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .body("{\"username\": ")
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    let detail = body(res)["detail"].as_str().unwrap().to_string();
    assert!(detail.starts_with("JSON parse error - "), "{detail}");

    for (raw, kind) in [
        ("[1, 2]", "list"),
        ("\"text\"", "str"),
        ("42", "int"),
        ("4.5", "float"),
        ("true", "bool"),
        ("null", "NoneType"),
    ] {
        let res = t
            .client
            .post("/api/token/")
            .header(ContentType::JSON)
            .body(raw)
            .dispatch();
        assert_eq!(res.status(), Status::BadRequest, "{raw}");
        assert_eq!(
            body(res),
            json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]})
        );
    }
}

#[test]
fn oversized_and_deep_bodies_get_clear_4xx() {
    let t = app();
    let big = json!({"username": "a", "password": "x".repeat(64 * 1024)});
    let res = t.post_json("/api/token/", big);
    assert_eq!(res.status(), Status::PayloadTooLarge);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    assert!(body(res)["detail"].is_string());

    let big_form = format!("username=a&password={}", "x".repeat(64 * 1024));
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::Form)
        .body(big_form)
        .dispatch();
    assert_eq!(
        res.status(),
        Status::PayloadTooLarge,
        "{:?}",
        res.into_string()
    );

    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .body(deep)
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    assert!(
        body(res)["detail"]
            .as_str()
            .unwrap()
            .contains("recursion limit")
    );
}

#[test]
fn overlong_username_and_password_get_400() {
    let t = app();
    let res = t.post_json(
        "/api/token/",
        json!({"username": "u".repeat(151), "password": "p".repeat(1025)}),
    );
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({
            "username": ["Ensure this field has no more than 150 characters."],
            "password": ["Ensure this field has no more than 1024 characters."],
        })
    );
}

#[test]
fn passwords_are_used_exactly_as_received() {
    let t = app();
    t.user("alice", "  Spaced Out Password  ", false);
    let ok = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": "  Spaced Out Password  "}),
    );
    assert_eq!(ok.status(), Status::Ok);
    for variant in [
        "Spaced Out Password",
        "  spaced out password  ",
        "  Spaced Out Password",
    ] {
        let res = t.post_json(
            "/api/token/",
            json!({"username": "alice", "password": variant}),
        );
        assert_eq!(res.status(), Status::Unauthorized, "{variant:?}");
    }
    // A long password is hashed whole, not truncated at 72 bytes like bcrypt.
    let long = "L".repeat(100);
    t.user("bob", &long, false);
    let res = t.post_json(
        "/api/token/",
        json!({"username": "bob", "password": format!("{}X", &long[..99])}),
    );
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t.post_json("/api/token/", json!({"username": "bob", "password": long}));
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn usernames_are_nfkc_normalised_on_login() {
    let t = app();
    // Stored as the NFKC form; typed as the compatibility form.
    t.user(
        &latch::auth::usernames::normalize("ｊｏｈｎ"),
        PASSWORD,
        false,
    );
    let res = t.post_json(
        "/api/token/",
        json!({"username": "ｊｏｈｎ", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Ok);
    let res = t.post_json(
        "/api/token/",
        json!({"username": "john", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Ok);
    // Case-sensitive, as in Django.
    let res = t.post_json(
        "/api/token/",
        json!({"username": "John", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Unauthorized);
}

#[test]
fn security_headers_and_no_store_on_token_responses() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    let h = res.headers();
    assert_eq!(h.get_one("Cache-Control"), Some("no-store"));
    assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(h.get_one("X-Frame-Options"), Some("DENY"));
    assert_eq!(h.get_one("Referrer-Policy"), Some("no-referrer"));
    assert!(h.get_one("Server").is_none(), "no server banner");
    let refresh = body(res)["refresh"].as_str().unwrap().to_string();
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
}

#[test]
fn every_401_carries_www_authenticate() {
    let t = app();
    let responses = [
        t.post_json("/api/token/", json!({"username": "x", "password": "y"})),
        t.post_json("/api/token/refresh/", json!({"refresh": "garbage"})),
        t.post_json("/api/token/verify/", json!({"token": "garbage"})),
        t.post_json("/api/token/blacklist/", json!({"refresh": "garbage"})),
        t.client.get("/api/me/").dispatch(),
        t.get_auth("/api/me/", "garbage"),
    ];
    for res in responses {
        assert_eq!(res.status(), Status::Unauthorized);
        assert_eq!(
            res.headers().get_one("WWW-Authenticate"),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(res.content_type(), Some(ContentType::JSON));
    }
}

#[test]
fn a_database_failure_is_a_json_500_without_details() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let db = t.dir.path().join("latch.db");
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("DROP TABLE sessions").unwrap();
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::InternalServerError);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    assert_eq!(body(res), json!({"detail": "A server error occurred."}));
}

#[test]
fn the_json_body_limit_follows_rockets_limits_setting() {
    let body = json!({"username": "a", "password": "x".repeat(20 * 1024)});
    let default = app();
    assert_eq!(
        default.post_json("/api/token/", body.clone()).status(),
        Status::PayloadTooLarge
    );
    let raised = app_with(|f| f.merge(("limits.json", "64KiB")));
    // Past the limit, the overlong password is a field error instead.
    assert_eq!(
        raised.post_json("/api/token/", body).status(),
        Status::BadRequest
    );
}

/// Each module declares what its routes demand, and the 401-before-405
/// rule is read from that declaration; this holds every mounted route to
/// it, both ways.
#[test]
fn every_route_demands_what_its_module_declares() {
    use latch::http::routes::{Demand, Demands};
    let t = app();
    let demands = t.client.rocket().state::<Demands>().expect("demands");
    let mut checked = 0;
    for route in t.client.rocket().routes() {
        let demand = demands.of(route);
        let path: String = route
            .uri
            .path()
            .split('/')
            .map(|s| if s.starts_with('<') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let res = t
            .client
            .req(route.method, path.clone())
            .header(ContentType::JSON)
            .body("{}")
            .dispatch();
        let status = res.status();
        let text = res.into_string().unwrap_or_default();
        let anonymous_refused = status == Status::Unauthorized
            && text.contains("Authentication credentials were not provided.");
        assert_eq!(
            anonymous_refused,
            demand != Demand::Anyone,
            "{} {path} is declared {demand:?} but answered {status}: {text}",
            route.method
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    assert!(demands.all().count() >= checked);
}

#[test]
fn a_405_lists_the_allowed_methods() {
    let t = app();
    let res = t.client.get("/api/token/refresh/").dispatch();
    assert_eq!(res.status(), Status::MethodNotAllowed);
    assert_eq!(res.headers().get_one("Allow"), Some("POST"));
    let id = t.user("alice", PASSWORD, true);
    let (access, _) = t.login("alice", PASSWORD);
    let res = t
        .client
        .put(format!("/api/admin/users/{id}/"))
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::MethodNotAllowed);
    assert_eq!(res.headers().get_one("Allow"), Some("DELETE, GET, PATCH"));
}

/// A POST with the given Content-Type and the page's custom header, so the
/// cookie endpoints' CSRF check passes and only the media type is judged.
fn post_typed(t: &TestApp, path: &str, content_type: &str, body: &str) -> Status {
    t.client
        .post(path.to_string())
        .header(Header::new("Content-Type", content_type.to_string()))
        .header(Header::new("X-Requested-With", "latch"))
        .body(body)
        .dispatch()
        .status()
}

#[test]
fn json_in_another_charset_is_415() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let credentials = json!({"username": "alice", "password": PASSWORD}).to_string();
    for path in ["/api/token/", "/api/session/login"] {
        for media in [
            "application/json; charset=utf-16",
            "application/json; charset=ISO-8859-1",
            "application/json; charset=utf8",
        ] {
            let res = t
                .client
                .post(path)
                .header(Header::new("Content-Type", media))
                .header(Header::new("X-Requested-With", "latch"))
                .body(credentials.clone())
                .dispatch();
            assert_eq!(res.status(), Status::UnsupportedMediaType, "{path} {media}");
            assert_eq!(
                body(res),
                json!({"detail": format!("Unsupported media type \"{media}\" in request.")}),
                "{path} {media}"
            );
        }
        for media in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=UTF-8",
            "application/json; charset=\"utf-8\"",
        ] {
            assert_eq!(
                post_typed(&t, path, media, &credentials),
                Status::Ok,
                "{path} {media}"
            );
        }
    }
    // Every endpoint that reads a body, and the cookie endpoints that read none.
    for path in ["/api/token/refresh/", "/api/session/refresh"] {
        assert_eq!(
            post_typed(&t, path, "application/json; charset=utf-16", "{}"),
            Status::UnsupportedMediaType,
            "{path}"
        );
    }
}

#[test]
fn a_form_field_given_twice_is_400() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::Form)
        .body("username=alice&username=mallory&password=correct+horse+battery+staple")
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({"username": ["This field was given more than once."]})
    );

    let (_, refresh) = t.login("alice", PASSWORD);
    let boundary = "XyZboundary";
    let part = |value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"refresh\"\r\n\r\n{value}\r\n"
        )
    };
    let multipart = format!("{}{}--{boundary}--\r\n", part(&refresh), part(&refresh));
    let res = t
        .client
        .post("/api/token/refresh/")
        .header(Header::new(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .body(multipart)
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({"refresh": ["This field was given more than once."]})
    );

    let id = t.user("bob", PASSWORD, false);
    t.user("root", PASSWORD, true);
    let (staff, _) = t.login("root", PASSWORD);
    let res = t
        .client
        .patch(format!("/api/admin/users/{id}/"))
        .header(Header::new("Authorization", format!("Bearer {staff}")))
        .header(ContentType::Form)
        .body("is_active=false&is_active=false")
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({"is_active": ["This field was given more than once."]})
    );
}
