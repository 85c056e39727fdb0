//! Who is calling: the client's address (through trusted proxies only)
//! and what the session list shows of it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;

use rocket::request::{FromRequest, Outcome, Request};

use crate::config::TrustedProxies;
use crate::error::Error;
use crate::state::App;
use crate::store::sessions::ClientInfo;

/// The client's address: the peer, or, when the peer is a configured proxy,
/// the nearest `X-Forwarded-For` hop that is not one.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The connected peer, IPv4-mapped IPv6 shown as the IPv4 address it is, so
/// one client has one throttle budget however the socket reports it.
fn peer(req: &Request<'_>) -> IpAddr {
    req.remote()
        .map(|r| r.ip().to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

pub fn client_addr(req: &Request<'_>, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer(req);
    if !trusted.trusts(peer) {
        return peer;
    }
    let hops: Vec<&str> = req
        .headers()
        .get("X-Forwarded-For")
        .flat_map(|v| v.split(','))
        .collect();
    // From the right: each trusted hop vouches for the one before it. A hop
    // that does not read as an address ends the walk at the last hop we
    // could read; stepping over it would let a client choose its own
    // address by sending garbage first.
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop_address(hop.trim()) else {
            return client;
        };
        client = ip;
        if !trusted.trusts(ip) {
            return ip;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, or one with a port as some
/// proxies write it (`1.2.3.4:5678`, `[::1]:80`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Behind a proxy that is not in `trusted_proxies` every client looks like
/// the proxy and shares one throttle budget; the header says so, so say it
/// in the log, once per process (per [`App`]), since any client can send
/// the header and a warning per request would flood the log.
fn warn_untrusted_forwarded(req: &Request<'_>, app: &App) {
    let peer = peer(req);
    if app.settings.trusted_proxies.trusts(peer) || !req.headers().contains("X-Forwarded-For") {
        return;
    }
    let first = app
        .untrusted_forwarded_warnings
        .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok();
    if first {
        rocket::warn!(
            "X-Forwarded-For from {peer} ignored: that peer is not in trusted_proxies; \
             behind a reverse proxy, set trusted_proxies so throttling sees client addresses"
        );
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Success(ClientAddr(peer(req)));
        };
        warn_untrusted_forwarded(req, app);
        Outcome::Success(ClientAddr(client_addr(req, &app.settings.trusted_proxies)))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let ClientAddr(ip) = match ClientAddr::from_request(req).await {
            Outcome::Success(addr) => addr,
            _ => ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
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

/// The device token an API client presented in `X-Latch-Device` (the page
/// presents its own in the `latch_device` cookie, to the cookie endpoints
/// only). Unchecked here; see `auth::credentials`.
#[derive(Debug, Clone, Default)]
pub struct PresentedDevice(pub Option<String>);

/// The header API clients send their device token back in, and in which
/// a successful `POST /api/token/` hands them a new one.
pub const DEVICE_HEADER: &str = "X-Latch-Device";

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PresentedDevice {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let presented = req.headers().get_one(DEVICE_HEADER).map(str::to_string);
        Outcome::Success(PresentedDevice(presented))
    }
}
