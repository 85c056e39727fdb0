//! The OpenAPI 3.1 document of every endpoint, served at
//! `GET /api/openapi.json`.
//!
//! Generated with utoipa from the handlers' own `#[utoipa::path]`
//! annotations (next to the Rocket attribute they describe) and from the
//! response types' `ToSchema` derives, so a changed field or a new route
//! shows in the document. What the code builds with `json!` (error bodies,
//! `{}` and `{"revoked": n}` answers, request bodies read field by field)
//! is described by the shapes below; the tests validate real responses
//! against them so they cannot drift either.
//!
//! Left out on purpose: `/static/<file>` (the page's own assets), and the
//! forward-auth endpoints' methods other than GET (they answer every method
//! alike). 405 is global (API.md "Conventions") and not repeated per route.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::http::routes;

/// The page's refresh-token cookie, sent only to `/api/session/...`.
pub const PAGE_COOKIE_SCHEME: &str = "page_cookie";
/// The single sign-on cookie forward-auth reads.
pub const SSO_COOKIE_SCHEME: &str = "sso_cookie";
pub const BEARER_SCHEME: &str = "bearer";

// Response descriptions shared by many operations.
pub const E400: &str = "Invalid input: `{\"field\": [\"message\"]}` (DRF's field errors, \
    `non_field_errors` for a body that is not an object) or `{\"detail\": \"JSON parse error - ...\"}`";
pub const E401_TOKEN: &str = "The token was refused: `{\"detail\": \"Token is invalid\", \
    \"code\": \"token_not_valid\"}` and the other messages of API.md, or no active account";
pub const E401_BEARER: &str = "Not authenticated, or the access token was refused \
    (`detail`, and `code` and `messages` as Simple JWT sends them); with `WWW-Authenticate`";
pub const E403_STAFF: &str = "Authenticated, but not staff";
pub const E404: &str = "No such object (`{\"detail\": \"Not found.\"}`)";
pub const E404_PAGE: &str =
    "No such page (`{\"detail\": \"Invalid page.\"}`), or an id that is not one";
pub const E409: &str = "It would remove the last active staff account";
pub const E413: &str = "The request body is larger than the configured limit";
pub const E415: &str = "A media type other than JSON, urlencoded form or multipart form, \
    or JSON in a charset other than UTF-8";
pub const E429: &str = "Throttled: `Retry-After` says when to try again";

/// The JSON bodies of every error but field errors: `detail`, with `code`
/// (token and authentication errors) and `messages` (an access token
/// refused on a protected route) where Simple JWT sends them.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Detail {
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<TokenMessage>>,
}

/// Why an access token was refused, as Simple JWT lists it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenMessage {
    pub token_class: String,
    pub token_type: String,
    pub message: String,
}

/// DRF's field errors: each bad field (or `non_field_errors`) with its
/// messages.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

/// A 400: field errors, or a `detail` (a body that does not parse).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum BadRequest {
    Detail(Detail),
    Fields(FieldErrors),
}

/// `{}`: done, nothing to say.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// The page's custom header value (`X-Requested-With: latch`).
#[derive(Debug, Serialize, ToSchema)]
pub enum RequestedWith {
    #[serde(rename = "latch")]
    Latch,
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Revoked {
    pub revoked: u64,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// The public keys tokens are verified with (RFC 7517); empty with HMAC.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    /// Public JWKs, each with `kty`, `kid`, `alg` and `use: "sig"`.
    pub keys: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A return address the page may send the browser to.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ReturnAddress {
    pub rd: String,
}

/// Logging in: `username` and `password`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Credentials {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

/// A refresh token.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RefreshRequest {
    #[schema(min_length = 1)]
    pub refresh: String,
}

/// Any token, access or refresh.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct VerifyRequest {
    #[schema(min_length = 1)]
    pub token: String,
}

/// Changing one's own password.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PasswordChange {
    #[schema(min_length = 1)]
    pub old_password: String,
    #[schema(min_length = 1)]
    pub new_password: String,
}

/// Setting a user's password (staff).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PasswordReset {
    #[schema(min_length = 1)]
    pub password: String,
}

/// A new user (staff).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NewUserRequest {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
    /// `false` when absent.
    pub is_staff: Option<bool>,
}

/// What a staff member may change of a user; absent fields stay.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct UserChangesRequest {
    #[schema(min_length = 1)]
    pub username: Option<String>,
    /// `false` ends the user's sessions and tokens at once.
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
}

/// Claiming an empty instance: the token printed at start-up, and the
/// first (staff) account.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub struct SetupRequest {
    #[schema(min_length = 1)]
    pub token: String,
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /api/token/`, as `Authorization: Bearer <access>`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            PAGE_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                routes::session_cookie::COOKIE,
                "The login page's refresh token (HttpOnly, sent to /api/session/ only)",
            ))),
        );
        components.add_security_scheme(
            SSO_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::sso::COOKIE,
                "The single sign-on cookie the page sets, read by forward authentication",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "latch",
        description = "A single-binary authentication server speaking the wire protocol of \
            Django REST Framework's Simple JWT. Every path also answers with its trailing slash \
            added or removed; a wrong method is `405 {\"detail\": \"Method \\\"<METHOD>\\\" not \
            allowed.\"}` with `Allow`; every 401 carries `WWW-Authenticate: Bearer realm=\"api\"`."
    ),
    paths(
        routes::health::healthz,
        routes::tokens::obtain,
        routes::tokens::refresh,
        routes::tokens::verify,
        routes::tokens::blacklist,
        routes::tokens::obtain_alias,
        routes::tokens::refresh_alias,
        routes::me::me,
        routes::me::change_password,
        routes::me::activity,
        routes::sessions::list,
        routes::sessions::revoke_one,
        routes::sessions::revoke_all,
        routes::registration::register,
        routes::admin::list,
        routes::admin::create,
        routes::admin::read,
        routes::admin::update,
        routes::admin::remove,
        routes::admin::set_password,
        routes::admin::force_logout,
        routes::admin::sessions,
        routes::admin::mint,
        routes::audit::list,
        routes::page::index,
        routes::page::setup,
        routes::page::favicon,
        routes::session_cookie::login,
        routes::session_cookie::refresh,
        routes::session_cookie::logout,
        routes::first_run::create_first_account,
        routes::metrics::metrics,
        routes::forward_auth::forward_auth,
        routes::forward_auth::auth_request,
        routes::forward_auth::redirect,
        routes::jwks::jwks,
        routes::openapi::document,
    ),
    components(schemas(Detail, TokenMessage, FieldErrors, BadRequest, RequestedWith)),
    modifiers(&SecuritySchemes),
)]
pub struct Document;

static JSON: LazyLock<String> = LazyLock::new(|| {
    Document::openapi()
        .to_json()
        .expect("the OpenAPI document serializes")
});

/// The document, serialized once.
pub fn json() -> &'static str {
    JSON.as_str()
}
