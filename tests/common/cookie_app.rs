//! The app behind an async, untracked client, for the page's cookie
//! endpoints.

use latch::state::App;
use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::{PASSWORD, figment};

pub const HOST: &str = "latch.test";
pub const COOKIE: &str = "latch_refresh";

/// The app behind an untracked async client: every test says which cookie
/// it sends, so an old cookie can be replayed on purpose.
pub struct CookieApp {
    pub client: Client,
    _dir: TempDir,
}

pub async fn cookie_app_with(tweak: impl FnOnce(Figment) -> Figment) -> CookieApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::untracked(latch::build(tweak(figment(dir.path()))))
        .await
        .expect("rocket ignites");
    CookieApp { client, _dir: dir }
}

pub async fn cookie_app() -> CookieApp {
    cookie_app_with(|f| f).await
}

impl CookieApp {
    pub fn state(&self) -> &App {
        self.client.rocket().state::<App>().expect("app state")
    }

    pub fn setup_token(&self) -> Option<String> {
        self.state().first_run.token()
    }

    pub async fn user(&self, name: &str) {
        let app = self.state();
        let hash = app.hasher.hash(PASSWORD.to_string()).await.expect("hash");
        let name = name.to_string();
        let now = app.now();
        app.db
            .run(move |conn| {
                let key = latch::auth::usernames::key(&name);
                latch::store::users::create(conn, &name, &key, &hash, false, now)
            })
            .await
            .expect("create")
            .expect("new name");
    }

    /// A POST the page would send: JSON, our Host, the custom header.
    pub fn page_post(&self, path: &str, body: Value) -> LocalRequest<'_> {
        self.client
            .post(path.to_string())
            .header(ContentType::JSON)
            .header(Header::new("Host", HOST))
            .header(Header::new("X-Requested-With", "latch"))
            .body(body.to_string())
    }

    /// Logs alice in through the cookie endpoint; returns the cookie value.
    pub async fn login(&self) -> String {
        let res = self
            .page_post(
                "/api/session/login",
                json!({"username": "alice", "password": PASSWORD}),
            )
            .dispatch()
            .await;
        assert_eq!(res.status(), Status::Ok);
        refresh_cookie(&res).expect("a refresh cookie")
    }

    pub async fn refresh(&self, cookie: &str) -> LocalResponse<'_> {
        self.page_post("/api/session/refresh", json!({}))
            .cookie(Cookie::new(COOKIE, cookie.to_string()))
            .dispatch()
            .await
    }
}

pub fn set_cookies(res: &LocalResponse<'_>) -> Vec<String> {
    res.headers()
        .get("Set-Cookie")
        .map(str::to_string)
        .collect()
}

/// The refresh cookie's value, if the response set a live one.
pub fn refresh_cookie(res: &LocalResponse<'_>) -> Option<String> {
    set_cookies(res).iter().find_map(|c| {
        let value = c.strip_prefix(&format!("{COOKIE}="))?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_string())
    })
}

pub fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

pub async fn json_body(res: LocalResponse<'_>) -> Value {
    let text = res.into_string().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
}
