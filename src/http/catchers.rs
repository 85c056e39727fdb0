//! JSON for every error Rocket itself answers, 405 included, with
//! authentication before the method as DRF has it.

use rocket::http::{Method, Status};
use rocket::request::FromRequest;
use rocket::{Catcher, Request, catch, catchers};

use crate::error::{Error, stashed};
use crate::http::guards::{AuthUser, StaffUser};
use crate::http::routes::{Demand, Demands};

#[catch(default)]
async fn json_catcher(status: Status, req: &Request<'_>) -> Error {
    if let Some(error) = stashed(req) {
        return error;
    }
    if status == Status::NotFound
        && let Some(others) = other_methods(req)
    {
        // Authentication, and as in DRF permissions, come before the method:
        // an anonymous `POST /api/me/` is a 401, not a 405.
        let refused = match others.demand {
            Demand::Staff => StaffUser::from_request(req).await.is_error(),
            Demand::User => AuthUser::from_request(req).await.is_error(),
            Demand::Anyone => false,
        };
        if refused && let Some(error) = stashed(req) {
            return error;
        }
        return Error::MethodNotAllowed {
            method: req.method().as_str().to_string(),
            allow: others.allow.join(", "),
        };
    }
    match status.code {
        // Rocket answers 422 when a path or query parameter does not parse
        // (`/api/admin/users/abc`): to a client that is a missing resource.
        404 | 422 => Error::NotFound,
        413 => Error::PayloadTooLarge,
        500..=599 => Error::Internal(format!("status {status}")),
        _ => Error::Status(status),
    }
}

/// The methods other routes serve on this path, and the least those routes
/// all demand of the caller.
struct OtherMethods {
    allow: Vec<&'static str>,
    demand: Demand,
}

/// `Some` when routes serve this path only under other methods. (If one
/// with this method matches the shape, its parameters failed to parse: a
/// 404.)
fn other_methods(req: &Request<'_>) -> Option<OtherMethods> {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let method = match req.method() {
        Method::Head => Method::Get,
        m => m,
    };
    let demands = req.rocket().state::<Demands>();
    let mut allow = Vec::new();
    let mut least = None;
    for route in req.rocket().routes() {
        if pattern_matches(route.uri.path(), &segments) {
            if route.method == method {
                return None;
            }
            allow.push(route.method.as_str());
            let demand = demands.map_or(Demand::Anyone, |d| d.of(route));
            least = Some(least.map_or(demand, |d: Demand| d.min(demand)));
        }
    }
    allow.sort_unstable();
    allow.dedup();
    Some(OtherMethods {
        allow,
        demand: least?,
    })
}

fn pattern_matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segment_matches =
        |(p, s): (&&str, &&str)| (p.starts_with('<') && p.ends_with('>')) || p == s;
    match parts.split_last() {
        // A trailing `<rest..>` takes any number of segments after the prefix.
        Some((last, prefix)) if last.ends_with("..>") => {
            segments.len() >= prefix.len() && prefix.iter().zip(segments).all(segment_matches)
        }
        _ => parts.len() == segments.len() && parts.iter().zip(segments).all(segment_matches),
    }
}

pub fn catchers() -> Vec<Catcher> {
    catchers![json_catcher]
}
