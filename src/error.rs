//! The one error type, and the one place an error becomes an HTTP status,
//! headers and a JSON body. The messages are Simple JWT's, byte for byte,
//! because clients match on them.

use std::io::Cursor;
use std::sync::{Arc, Mutex, PoisonError};

use rocket::Request;
use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use serde_json::{Map, Value, json};

/// Why a token was refused, in the precedence order of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Invalid,
    Expired,
    Blacklisted,
    NoExp,
    NoId,
    NoType,
    WrongType,
}

impl TokenProblem {
    pub fn message(self) -> &'static str {
        match self {
            TokenProblem::Invalid => "Token is invalid",
            TokenProblem::Expired => "Token is expired",
            TokenProblem::Blacklisted => "Token is blacklisted",
            TokenProblem::NoExp => "Token has no 'exp' claim",
            TokenProblem::NoId => "Token has no id",
            TokenProblem::NoType => "Token has no type",
            TokenProblem::WrongType => "Token has wrong type",
        }
    }
}

/// Field errors in Django REST Framework's shape: `{"field": ["message"]}`,
/// in the order the fields were checked.
pub type FieldErrors = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid fields")]
    Fields(FieldErrors),
    #[error("{0}")]
    NonField(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no active account")]
    NoActiveAccount,
    #[error("no active account for token")]
    NoActiveAccountForToken,
    /// A token problem on the token endpoints.
    #[error("token: {}", .0.message())]
    Token(TokenProblem),
    /// A token problem in the `Authorization` header of a protected route.
    #[error("access token: {}", .0.message())]
    AccessToken(TokenProblem),
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    #[error("bad authorization header")]
    BadAuthorizationHeader,
    #[error("token has no user id")]
    NoUserId,
    #[error("user not found")]
    UserNotFound,
    #[error("user inactive")]
    UserInactive,
    #[error("forbidden")]
    Forbidden,
    #[error("{0}")]
    ForbiddenDetail(String),
    #[error("not found")]
    NotFound,
    /// The request contradicts the server's state (removing the last
    /// staff account).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A 404 with DRF's more specific words (`Invalid page.`).
    #[error("not found: {0}")]
    NotFoundDetail(&'static str),
    /// `allow` lists the methods the path does serve, for the `Allow`
    /// header RFC 9110 §15.5.6 requires.
    #[error("method {method} not allowed")]
    MethodNotAllowed { method: String, allow: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// Forward-auth found no one signed in: `cause` says why, `location`
    /// is the sign-in page with the original URL (for browsers), and
    /// `redirect` answers `302` to it rather than `401` (not for nginx,
    /// which turns only 401/403 into decisions).
    #[error("sign-in required: {cause}")]
    SignIn {
        cause: Box<Error>,
        location: Option<String>,
        redirect: bool,
    },
    /// Any other status a catcher meets, with its reason phrase.
    #[error("status {0}")]
    Status(Status),
    #[error("throttled for {0}s")]
    Throttled(u64),
    /// Shared so errors can be cloned into the request cache.
    #[error("database: {0}")]
    Database(#[source] Arc<rusqlite::Error>),
    /// An invariant broke (a worker thread gone, a value we wrote that no
    /// longer reads back); never the client's fault.
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why latch could not start: settings, the database, the key, or a worker
/// thread. Kept apart from [`Error`], which is about answering requests.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid setting: {0}")]
    Setting(String),
    #[error("database {path}: {source}")]
    Database {
        path: std::path::PathBuf,
        #[source]
        source: Error,
    },
    #[error(
        "the database schema is version {found}, newer than this latch understands \
         ({supported}); upgrade latch or use another database"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("signing key: {0}")]
    SigningKey(String),
    #[error("cannot start a worker thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("argon2 parameters: {0}")]
    HashParameters(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Database(Arc::new(e))
    }
}

/// A guard's failure, kept for the catcher: Rocket hands catchers only the
/// status, and the contract needs the exact body.
#[derive(Default)]
pub struct Stashed(Mutex<Option<Error>>);

/// Records `e` for the catcher and returns what a guard's outcome carries.
pub fn stash(req: &Request<'_>, e: Error) -> (Status, Error) {
    let slot = req.local_cache(Stashed::default);
    *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.clone());
    (e.status(), e)
}

/// The error a guard stashed for this request, if any.
pub fn stashed(req: &Request<'_>) -> Option<Error> {
    req.local_cache(Stashed::default)
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

impl Error {
    pub fn field(name: &str, message: &str) -> Error {
        Error::Fields(vec![(name.to_string(), vec![message.to_string()])])
    }

    pub fn status(&self) -> Status {
        match self {
            Error::Fields(_) | Error::NonField(_) | Error::BadRequest(_) => Status::BadRequest,
            Error::NoActiveAccount
            | Error::NoActiveAccountForToken
            | Error::Token(_)
            | Error::AccessToken(_)
            | Error::NotAuthenticated
            | Error::BadAuthorizationHeader
            | Error::NoUserId
            | Error::UserNotFound
            | Error::UserInactive => Status::Unauthorized,
            Error::Forbidden | Error::ForbiddenDetail(_) => Status::Forbidden,
            Error::NotFound | Error::NotFoundDetail(_) => Status::NotFound,
            Error::Conflict(_) => Status::Conflict,
            Error::MethodNotAllowed { .. } => Status::MethodNotAllowed,
            Error::PayloadTooLarge => Status::PayloadTooLarge,
            Error::HeadersTooLarge => Status::new(431),
            Error::UnsupportedMediaType(_) => Status::UnsupportedMediaType,
            Error::Throttled(_) => Status::TooManyRequests,
            Error::SignIn { redirect: true, .. } => Status::Found,
            Error::SignIn { cause, .. } => cause.status(),
            Error::Status(s) => *s,
            Error::Database(_) | Error::Internal(_) => Status::InternalServerError,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            Error::Fields(fields) => {
                let mut map = Map::new();
                for (name, messages) in fields {
                    map.insert(name.clone(), json!(messages));
                }
                Value::Object(map)
            }
            Error::NonField(m) => json!({ "non_field_errors": [m] }),
            Error::BadRequest(m) | Error::ForbiddenDetail(m) | Error::Conflict(m) => {
                json!({ "detail": m })
            }
            Error::NoActiveAccount => {
                json!({ "detail": "No active account found with the given credentials" })
            }
            Error::NoActiveAccountForToken => {
                json!({ "detail": "No active account found for the given token." })
            }
            Error::Token(p) => json!({ "detail": p.message(), "code": "token_not_valid" }),
            Error::AccessToken(p) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": p.message(),
                }],
            }),
            Error::NotAuthenticated => {
                json!({ "detail": "Authentication credentials were not provided." })
            }
            Error::BadAuthorizationHeader => json!({
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            }),
            Error::NoUserId => json!({
                "detail": "Token contained no recognizable user identification",
                "code": "token_not_valid",
            }),
            Error::UserNotFound => json!({ "detail": "User not found", "code": "user_not_found" }),
            Error::UserInactive => json!({ "detail": "User is inactive", "code": "user_inactive" }),
            Error::Forbidden => {
                json!({ "detail": "You do not have permission to perform this action." })
            }
            Error::NotFound => json!({ "detail": "Not found." }),
            Error::NotFoundDetail(m) => json!({ "detail": m }),
            Error::MethodNotAllowed { method, .. } => {
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            }
            Error::PayloadTooLarge => json!({ "detail": "Request body is too large." }),
            Error::HeadersTooLarge => json!({ "detail": "Request headers are too large." }),
            Error::UnsupportedMediaType(t) => {
                json!({ "detail": format!("Unsupported media type \"{t}\" in request.") })
            }
            Error::SignIn { cause, .. } => cause.body(),
            Error::Status(s) => json!({ "detail": format!("{}.", s.reason().unwrap_or("Error")) }),
            Error::Throttled(secs) => json!({
                "detail": format!("Request was throttled. Expected available in {secs} seconds.")
            }),
            Error::Database(_) | Error::Internal(_) => {
                json!({ "detail": "A server error occurred." })
            }
        }
    }
}

fn json_response<'r>(status: Status, body: &Value) -> Response<'r> {
    let text = body.to_string();
    Response::build()
        .status(status)
        .header(ContentType::JSON)
        .sized_body(text.len(), Cursor::new(text))
        .finalize()
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status == Status::InternalServerError {
            // The detail goes to the log, never to the client.
            rocket::error!("internal error: {self}");
        }
        let mut response = json_response(status, &self.body());
        if status == Status::Unauthorized {
            response.set_header(Header::new("WWW-Authenticate", "Bearer realm=\"api\""));
        }
        match self {
            Error::Throttled(secs) => {
                response.set_header(Header::new("Retry-After", secs.to_string()));
            }
            Error::MethodNotAllowed { allow, .. } => {
                response.set_header(Header::new("Allow", allow));
            }
            Error::SignIn {
                location: Some(location),
                ..
            } => {
                response.set_header(Header::new("Location", location));
                response.set_header(Header::new("Cache-Control", "no-store"));
            }
            _ => {}
        }
        Ok(response)
    }
}
