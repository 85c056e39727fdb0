//! `GET /api/openapi.json`: an OpenAPI 3.1 document that lists every
//! mounted route, and whose schemas the real responses honour.
//!
//! Deliberately not in the document (and skipped here): `/static/<file>`,
//! the login page's assets, and the forward-auth endpoints' methods other
//! than GET, which answer exactly as GET does.

mod common;

use std::collections::BTreeSet;

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

fn document(t: &TestApp) -> Value {
    let res = t.client.get("/api/openapi.json").dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    body(res)
}

/// A Rocket route or an OpenAPI path, as `/a/{x}` without a trailing slash.
fn normalize(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let joined = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(name) => format!("{{{name}}}"),
                None => s.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/");
    format!("/{joined}")
}

#[test]
fn the_document_is_openapi_3_1_with_its_security_schemes() {
    let t = app();
    let doc = document(&t);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "latch");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["page_cookie"]["type"], "apiKey");
    assert_eq!(schemes["page_cookie"]["in"], "cookie");
    assert_eq!(schemes["page_cookie"]["name"], "latch_refresh");
    assert_eq!(schemes["sso_cookie"]["name"], "latch_sso");
    // Operation ids are unique (clients generate method names from them).
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(ids.insert(id.clone()), "{method} {path}: duplicate {id}");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
        }
    }
    // Every reference resolves.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").expect(r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {r}"
        );
    }
    // Protected routes say so.
    assert_eq!(
        doc["paths"]["/api/me/"]["get"]["security"],
        json!([{"bearer": []}])
    );
}

#[test]
fn the_document_lists_every_mounted_route_and_nothing_else() {
    let t = app();
    let doc = document(&t);
    let mut mounted = BTreeSet::new();
    for route in t.client.rocket().routes() {
        let path = normalize(&route.uri.to_string());
        if path.starts_with("/static/") {
            continue;
        }
        if path.starts_with("/api/authz/") && route.method != rocket::http::Method::Get {
            continue;
        }
        mounted.insert((route.method.as_str().to_ascii_lowercase(), path));
    }
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), normalize(path)));
        }
    }
    let missing: Vec<_> = mounted.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not mounted: {extra:?}");
    assert!(documented.len() >= 35, "{}", documented.len());
}

/// Just enough of JSON Schema (2020-12, as OpenAPI 3.1 uses it) for the
/// schemas utoipa writes: `$ref`, `type`, `properties`, `required`,
/// `items`, `additionalProperties`, `oneOf`, `anyOf`, `allOf`, `enum`.
fn errors(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "dangling {reference}");
        return errors(doc, target, value, at, out);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !ok {
            out.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        out.push(format!("{at}: {value} not in {options:?}"));
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        if value.get(name).is_none() {
            out.push(format!("{at}: missing {name}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for (name, v) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => errors(doc, s, v, &format!("{at}.{name}"), out),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => out.push(format!("{at}: unexpected {name}")),
                    s @ Value::Object(_) => errors(doc, s, v, &format!("{at}.{name}"), out),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            errors(doc, items, v, &format!("{at}[{i}]"), out);
        }
    }
    for s in schema["allOf"].as_array().into_iter().flatten() {
        errors(doc, s, value, at, out);
    }
    let matching = |list: &Value| {
        list.as_array().map(|l| {
            l.iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    errors(doc, s, value, at, &mut e);
                    e.is_empty()
                })
                .count()
        })
    };
    if let Some(n) = matching(&schema["oneOf"])
        && n != 1
    {
        out.push(format!("{at}: {value} matches {n} of oneOf"));
    }
    if let Some(0) = matching(&schema["anyOf"]) {
        out.push(format!("{at}: {value} matches none of anyOf"));
    }
}

/// Asserts the response documented for `method path status` describes
/// `value`, and that the status is documented at all.
fn conforms(doc: &Value, method: &str, path: &str, status: u16, value: &Value) {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(
        !response.is_null(),
        "{method} {path}: {status} undocumented"
    );
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} {status}: no JSON schema"
    );
    let mut out = Vec::new();
    errors(doc, schema, value, "$", &mut out);
    assert!(
        out.is_empty(),
        "{method} {path} {status}: {value} does not conform: {out:?}"
    );
}

#[test]
fn responses_honour_their_schemas() {
    let t = app();
    let doc = document(&t);
    let id = t.user("alice", PASSWORD, true);
    t.user("bob", PASSWORD, false);

    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Ok);
    conforms(&doc, "post", "/api/token/", 200, &body(res));
    let (access, refresh) = t.login("alice", PASSWORD);

    for (input, status) in [
        (json!({"username": "alice", "password": "wrong"}), 401),
        (json!({}), 400),
        (json!([1]), 400),
    ] {
        let res = t.post_json("/api/token/", input);
        assert_eq!(res.status().code, status);
        conforms(&doc, "post", "/api/token/", status, &body(res));
    }
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .body("{")
        .dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    conforms(&doc, "post", "/api/token/", 400, &body(res));
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::Plain)
        .body("x")
        .dispatch();
    conforms(&doc, "post", "/api/token/", 415, &body(res));

    let res = t.post_json("/api/token/verify/", json!({"token": access}));
    conforms(&doc, "post", "/api/token/verify/", 200, &body(res));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    conforms(&doc, "post", "/api/token/refresh/", 200, &body(res));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);
    conforms(&doc, "post", "/api/token/refresh/", 401, &body(res));
    let res = t.post_json("/api/token/verify/", json!({"token": refresh}));
    assert_eq!(res.status(), Status::BadRequest);
    conforms(&doc, "post", "/api/token/verify/", 400, &body(res));
    // Reuse detection ended that session: a new one for the rest.
    let (access, _) = t.login("alice", PASSWORD);

    for path in [
        "/api/me/",
        "/api/me/activity/",
        "/api/sessions/",
        "/api/admin/users/",
        "/api/admin/audit/",
        "/healthz",
        "/.well-known/jwks.json",
    ] {
        let res = t.get_auth(path, &access);
        assert_eq!(res.status(), Status::Ok, "{path}");
        conforms(&doc, "get", path, 200, &body(res));
    }
    let res = t.get_auth(&format!("/api/admin/users/{id}/"), &access);
    conforms(&doc, "get", "/api/admin/users/{id}/", 200, &body(res));
    let res = t.get_auth("/api/admin/users/999/", &access);
    conforms(&doc, "get", "/api/admin/users/{id}/", 404, &body(res));
    let res = t.get_auth("/api/admin/users/?page=9", &access);
    conforms(&doc, "get", "/api/admin/users/", 404, &body(res));
    let res = t.get_auth("/api/admin/audit/?event=nope", &access);
    conforms(&doc, "get", "/api/admin/audit/", 400, &body(res));

    // Each 401 of a protected route, and a 403.
    let res = t.client.get("/api/me/").dispatch();
    conforms(&doc, "get", "/api/me/", 401, &body(res));
    let res = t.get_auth("/api/me/", "not-a-token");
    let refused = body(res);
    assert!(refused["messages"].is_array(), "{refused}");
    conforms(&doc, "get", "/api/me/", 401, &refused);
    let res = t
        .client
        .get("/api/me/")
        .header(Header::new("Authorization", "Bearer"))
        .dispatch();
    conforms(&doc, "get", "/api/me/", 401, &body(res));
    let (bob, _) = t.login("bob", PASSWORD);
    let res = t.get_auth("/api/admin/users/", &bob);
    assert_eq!(res.status(), Status::Forbidden);
    conforms(&doc, "get", "/api/admin/users/", 403, &body(res));

    // Staff writes, and the last staff account's 409.
    let res = t
        .client
        .post("/api/admin/users/")
        .header(ContentType::Form)
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .body("username=carol&password=another+long+pass+phrase&is_staff=false")
        .dispatch();
    assert_eq!(res.status(), Status::Created);
    conforms(&doc, "post", "/api/admin/users/", 201, &body(res));
    let res = t
        .client
        .patch(format!("/api/admin/users/{id}/"))
        .header(ContentType::JSON)
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .body(json!({"is_staff": false}).to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Conflict);
    conforms(&doc, "patch", "/api/admin/users/{id}/", 409, &body(res));
    let res = t
        .client
        .post(format!("/api/admin/users/{id}/tokens/"))
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::Created);
    conforms(
        &doc,
        "post",
        "/api/admin/users/{id}/tokens/",
        201,
        &body(res),
    );

    // The page's session.
    let res = t
        .client
        .post("/api/session/login")
        .header(ContentType::JSON)
        .header(Header::new("X-Requested-With", "latch"))
        .body(json!({"username": "alice", "password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    conforms(&doc, "post", "/api/session/login", 200, &body(res));
    let res = t.post_json("/api/session/login", json!({}));
    assert_eq!(res.status(), Status::Forbidden);
    conforms(&doc, "post", "/api/session/login", 403, &body(res));

    // Forward authentication and the return-address check.
    let res = t
        .client
        .get("/api/authz/forward-auth")
        .header(Header::new("X-Forwarded-Proto", "https"))
        .header(Header::new("X-Forwarded-Host", "app.example.com"))
        .header(Header::new("X-Forwarded-Uri", "/"))
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    conforms(&doc, "get", "/api/authz/forward-auth", 200, &body(res));
    let res = t.client.get("/api/authz/auth-request").dispatch();
    assert_eq!(res.status(), Status::BadRequest);
    conforms(&doc, "get", "/api/authz/auth-request", 400, &body(res));
    let res = t
        .client
        .get("/api/authz/redirect?rd=https://evil.example/")
        .dispatch();
    conforms(&doc, "get", "/api/authz/redirect", 400, &body(res));
}
