//! Support for the end-to-end tests: the reference server on a real loopback port.

use jobwire_server::{app, AppState, Config};

/// Seeded ids of the reference server.
pub mod ids {
    /// Zone "Zurich-1".
    pub const ZONE: &str = "a1f2c3d4-0000-4000-8000-000000000001";
    /// "Small Instance" (deploys succeed).
    pub const SMALL: &str = "b1f2c3d4-0000-4000-8000-000000000001";
    /// "Huge Instance" (deploys fail with 533).
    pub const HUGE: &str = "b1f2c3d4-0000-4000-8000-000000000003";
    /// Template "Debian 12".
    pub const TEMPLATE: &str = "c1f2c3d4-0000-4000-8000-000000000001";
}

/// The reference server's default demo user.
pub mod demo {
    /// User name.
    pub const USERNAME: &str = "demo";
    /// Password.
    pub const PASSWORD: &str = "demo-password";
    /// API key.
    pub const API_KEY: &str = "demo-api-key-0123456789abcdef";
    /// Secret key.
    pub const SECRET_KEY: &str = "demo-secret-key-do-not-use-in-production";
}

/// The demo user's API key and secret key, for signed requests.
pub fn demo_api_key() -> jobwire::Credentials {
    jobwire::Credentials::ApiKey(jobwire::ApiKeyCredentials {
        api_key: demo::API_KEY.into(),
        secret_key: demo::SECRET_KEY.into(),
    })
}

/// The parameters of a `deployVirtualMachine` in the seeded zone and template, on `offering`.
pub fn deploy_params(offering: &str) -> Vec<(String, String)> {
    vec![
        ("zoneid".into(), ids::ZONE.into()),
        ("serviceofferingid".into(), offering.into()),
        ("templateid".into(), ids::TEMPLATE.into()),
    ]
}

/// A quick poll policy for tests: first poll after 50 ms, then backoff between 20 and 100 ms.
pub fn fast_policy() -> jobwire::engine::PollPolicy {
    jobwire::engine::PollPolicy {
        first_delay: jobwire::time::Duration::from_millis(50),
        min_interval: jobwire::time::Duration::from_millis(20),
        max_interval: jobwire::time::Duration::from_millis(100),
        ..jobwire::engine::PollPolicy::default()
    }
}

/// A poll policy that asks every `tick_ms`, from the first poll on (no backoff, no jitter).
pub fn ticking_policy(tick_ms: u64) -> jobwire::engine::PollPolicy {
    let tick = jobwire::time::Duration::from_millis(tick_ms);
    jobwire::engine::PollPolicy {
        first_delay: tick,
        min_interval: tick,
        max_interval: tick,
        ..jobwire::engine::PollPolicy::default()
    }
}

/// Starts a server whose jobs take `job_duration_ms` on `127.0.0.1:0`; returns its API URL.
/// The server runs until the test's runtime ends.
pub async fn start_server(job_duration_ms: u64) -> std::io::Result<String> {
    let state = AppState::new(&Config { job_duration_ms, ..Config::default() }).map_err(std::io::Error::other)?;
    Ok(format!("{}/client/api", serve(app(state)).await?))
}

/// Starts a gateway on `127.0.0.1:0` forwarding `/client/api` to `upstream_api`; returns its
/// API URL.
pub async fn start_gateway(upstream_api: &str) -> std::io::Result<String> {
    let upstream = jobwire_server::gateway::Upstream::new(Some(upstream_api), None).map_err(std::io::Error::other)?;
    let router = jobwire_server::gateway_app(upstream, &Config::default());
    Ok(format!("{}/client/api", serve(router).await?))
}

/// Serves `router` on a fresh loopback port until the runtime ends; answers
/// `http://127.0.0.1:PORT` (the reference server, a gateway, or a test's stand-in server).
pub async fn serve(router: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("test server stopped: {err}");
        }
    });
    Ok(format!("http://{address}"))
}

pub mod bench;
pub mod soak;
