//! Who is calling: the client's address (through trusted proxies only)
//! and what the session list shows of it.

use std::net::IpAddr;

use rocket::State;
use rocket::request::{FromRequest, Outcome, Request};

use crate::error::Error;
use crate::state::App;
use crate::store::sessions::ClientInfo;

/// The client's address: the peer, or, when the peer is a configured proxy,
/// the nearest `X-Forwarded-For` hop that is not one.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

pub fn client_addr(req: &Request<'_>, trusted: &[IpAddr]) -> IpAddr {
    let peer = req
        .remote()
        .map(|r| r.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let trusted = req
            .guard::<&State<App>>()
            .await
            .succeeded()
            .map(|app| app.settings.trusted_proxies.as_slice())
            .unwrap_or(&[]);
        Outcome::Success(ClientAddr(client_addr(req, trusted)))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let ClientAddr(ip) = match ClientAddr::from_request(req).await {
            Outcome::Success(addr) => addr,
            _ => ClientAddr(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        };
        Outcome::Success(ClientInfo {
            user_agent: req
                .headers()
                .get_one("User-Agent")
                .unwrap_or("")
                .to_string(),
            ip: ip.to_string(),
        })
    }
}

/// The device token a client presented: the page's `latch_device` cookie,
/// or an API client's `X-Latch-Device` header. Unchecked here; see
/// `auth::credentials`.
#[derive(Debug, Clone, Default)]
pub struct PresentedDevice(pub Option<String>);

/// The page's device cookie: sent only to the cookie-session endpoints.
pub const DEVICE_COOKIE: &str = "latch_device";
/// The header API clients send their device token back in, and in which
/// a successful `POST /api/token/` hands them a new one.
pub const DEVICE_HEADER: &str = "X-Latch-Device";

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PresentedDevice {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let presented = req
            .headers()
            .get_one(DEVICE_HEADER)
            .map(str::to_string)
            .or_else(|| {
                req.cookies()
                    .get(DEVICE_COOKIE)
                    .map(|c| c.value().to_string())
            });
        Outcome::Success(PresentedDevice(presented))
    }
}
