//! What the server's tests share: the seeded ids, a state, signed CloudStack forms and a
//! request through the router without a socket. (Each test file uses a part of it.)
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jobwire::protocol::cloudstack::{parse_envelope, parse_job_status, Auth};
use jobwire::protocol::{Format, JobSnapshot};
use jobwire_server::{app, AppState, Config};
use serde_json::Value;
use tower::ServiceExt;

/// Seeded zone, service offerings (HUGE exceeds every zone's capacity) and template.
pub const ZONE: &str = "a1f2c3d4-0000-4000-8000-000000000001";
pub const SMALL: &str = "b1f2c3d4-0000-4000-8000-000000000001";
pub const HUGE: &str = "b1f2c3d4-0000-4000-8000-000000000003";
pub const TEMPLATE: &str = "c1f2c3d4-0000-4000-8000-000000000001";
/// The parameters of a deploy that succeeds.
pub const DEPLOY: &[(&str, &str)] = &[("zoneid", ZONE), ("serviceofferingid", SMALL), ("templateid", TEMPLATE)];

pub fn state_with(config: Config) -> AppState {
    AppState::new(&config).expect("state")
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The server binary, started by a test: SIGKILLed when dropped, so a failing test leaves no
/// server behind (holding its port, its database, and the output pipe of whatever ran the tests).
pub struct ServerProcess(std::process::Child);

impl ServerProcess {
    /// SIGKILL, and reap it (a no-op once it is gone).
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `command` (the server binary with its flags) and waits until `port` accepts
/// connections.
pub fn spawn_listening(mut command: std::process::Command, port: u16) -> ServerProcess {
    let server = ServerProcess(command.spawn().expect("server starts"));
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("server did not listen on {port}");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The demo user's API key, signing with `expires` that far ahead (none: unversioned).
pub fn demo_auth_expiring(expires_in_secs: Option<u64>) -> Auth {
    let demo = Config::default().demo;
    Auth::ApiKey { api_key: demo.api_key, secret_key: demo.secret_key, expires_in_secs }
}

/// The signed form (or query string) of `command` with `params`, as signed at `now`.
pub fn signed_at(command: &str, params: &[(&str, &str)], format: Format, auth: &Auth, now: u64) -> String {
    let request = params.iter().fold(jobwire::protocol::cloudstack::Request::new(command), |r, (k, v)| r.param(*k, *v));
    request.encode(format, auth, now)
}

/// An answer of the router.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as a `queryAsyncJobResult` answer.
    pub fn job(&self, format: Format) -> JobSnapshot {
        parse_job_status(&parse_envelope(&self.body, format).expect("an envelope")).expect("a job status")
    }
}

/// `request` through a fresh router of `state`.
pub async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("a whole body").to_bytes().to_vec();
    Reply { status, headers, body }
}

/// `POST /client/api` with `form`, and `cookies` when given.
pub async fn post(state: &AppState, form: &str, cookies: Option<&str>) -> Reply {
    let mut request = Request::post("/client/api").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookies) = cookies {
        request = request.header(header::COOKIE, cookies);
    }
    send(state, request.body(Body::from(form.to_owned())).expect("a request")).await
}

/// Logs `user` in with a CloudStack session: the session key, and the `Cookie` header the
/// login set.
pub async fn session_login(state: &AppState, user: &str, password: &str) -> (String, String) {
    let login = post(state, &format!("command=login&username={user}&password={password}&response=json"), None).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let key = login.json()["loginresponse"]["sessionkey"].as_str().expect("a session key").to_owned();
    let cookies: Vec<&str> =
        login.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()?.split(';').next()).collect();
    (key, cookies.join("; "))
}
