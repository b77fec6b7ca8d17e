//! The reference server: CloudStack's API at `/client/api`, the dashboard at `/`, CORS for
//! browser clients on other origins, everything persisted in SQLite.

pub mod clm;
pub mod cloudstack;
mod cors;
pub mod edge;
pub mod effects;
pub mod faults;
pub mod gateway;
pub mod hub;
pub mod metrics;
pub mod model;
pub mod scenario;
pub mod seed;
pub mod store;
pub mod throttle;

use std::path::PathBuf;
use std::sync::Arc;

use axum::middleware;
use axum::routing::{any, get};
use axum::Router;
use tower_http::services::ServeDir;

use crate::cloudstack::auth::SessionKeyCheck;
use crate::hub::Hub;
use crate::scenario::Scenario;
use crate::store::{Store, StoreError};

/// Command-line / environment configuration.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Reference CloudStack server for Jobwire")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "JOBWIRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory of the built dashboard, served at `/`.
    #[arg(long, env = "JOBWIRE_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// SQLite database file; without it everything lives in memory and is lost at exit.
    #[arg(long, env = "JOBWIRE_DB")]
    pub db: Option<PathBuf>,
    /// Median duration of an async job, ms.
    #[arg(long, env = "JOBWIRE_JOB_DURATION_MS", default_value_t = 3000)]
    pub job_duration_ms: u64,
    /// 95th percentile of job durations, ms: log-normal durations; without it every job takes the median.
    #[arg(long, env = "JOBWIRE_JOB_DURATION_P95_MS")]
    pub job_duration_p95_ms: Option<u64>,
    /// Report no progress while jobs run (`jobprocstatus` and CLM `taskProgress` 0 until the
    /// end), as many real CloudStack commands do; by default progress grows with time.
    #[arg(long, env = "JOBWIRE_NO_JOB_PROGRESS")]
    pub no_job_progress: bool,
    /// Share of jobs that fail at random with an internal error (0–1).
    #[arg(long, env = "JOBWIRE_FAILURE_RATE", default_value_t = 0.0)]
    pub failure_rate: f64,
    /// Seed of every random choice, so runs repeat.
    #[arg(long, env = "JOBWIRE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Extra origins allowed by CORS (besides localhost / 127.0.0.1 on any port).
    #[arg(long = "cors-origin", env = "JOBWIRE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Which session credentials a session request must carry.
    #[arg(long, value_enum, default_value = "cookie-and-parameter")]
    pub session_check: SessionKeyCheck,
    /// CloudStack's `enforce.post.requests.and.timestamps`: signed requests need
    /// signatureVersion 3 with `expires` at most 15 minutes ahead.
    #[arg(long)]
    pub enforce_timestamps: bool,
    /// Session inactivity timeout, seconds.
    #[arg(long, default_value_t = 1800)]
    pub session_timeout_secs: u64,
    /// Gateway mode: forward `/client/api` to this CloudStack API URL (adding CORS) instead of
    /// answering it here, e.g. `http://mgmt.example:8080/client/api`.
    #[arg(long, env = "JOBWIRE_UPSTREAM")]
    pub upstream: Option<String>,
    /// Gateway mode for CLM: forward `/csm/...` below this base URL, e.g. `http://clm.example:8080`.
    #[arg(long, env = "JOBWIRE_UPSTREAM_CLM")]
    pub upstream_clm: Option<String>,
    /// Scenario file, faults and throttling (see [`scenario`]).
    #[command(flatten)]
    pub scenario: scenario::Flags,
    /// The demo user.
    #[command(flatten)]
    pub demo: seed::DemoUser,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:0".into(),
            dist: PathBuf::from("dist"),
            db: None,
            job_duration_ms: 3000,
            job_duration_p95_ms: None,
            no_job_progress: false,
            failure_rate: 0.0,
            seed: 1,
            cors_origins: Vec::new(),
            session_check: SessionKeyCheck::CookieAndParameter,
            enforce_timestamps: false,
            session_timeout_secs: 1800,
            upstream: None,
            upstream_clm: None,
            scenario: scenario::Flags::default(),
            demo: seed::DemoUser::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Users, sessions, jobs, resources.
    pub hub: Arc<Hub>,
    /// Durations and failures.
    pub scenario: Arc<Scenario>,
    /// Faults injected into API requests.
    pub faults: Arc<faults::Faults>,
    /// API throttling per account.
    pub throttle: Arc<throttle::Throttle>,
    /// Counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Session credential rule.
    pub session_check: SessionKeyCheck,
    /// Whether signed requests need a bounded `expires`.
    pub enforce_timestamps: bool,
    /// Session timeout, seconds.
    pub session_timeout_secs: u64,
    /// Whether new jobs report progress while they run.
    pub job_progress: bool,
    dist: PathBuf,
    cors_origins: Arc<Vec<String>>,
}

impl AppState {
    /// Opens the database, adds the demo user and resumes unfinished jobs. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be opened or read.
    pub fn new(config: &Config) -> Result<Self, StoreError> {
        let store = Store::open(config.db.as_deref())?;
        let hub = Hub::load(store)?;
        hub.put_user(config.demo.to_user())?;
        clm::callback::register(&hub);
        let metrics = Arc::new(metrics::Metrics::default());
        // Before resuming: jobs already past their time finish at once and must be counted.
        metrics.watch(&hub);
        hub.resume_pending();
        let resolved = scenario::Resolved::new(config);
        Ok(AppState {
            hub,
            scenario: Arc::new(resolved.scenario),
            faults: Arc::new(faults::Faults::new(resolved.seed, resolved.fault_rate, resolved.faults)),
            throttle: Arc::new(throttle::Throttle::new(resolved.throttling)),
            metrics,
            session_check: config.session_check,
            job_progress: !config.no_job_progress,
            enforce_timestamps: config.enforce_timestamps,
            session_timeout_secs: config.session_timeout_secs,
            dist: config.dist.clone(),
            cors_origins: Arc::new(config.cors_origins.clone()),
        })
    }
}

/// The `Content-Security-Policy` header of the dashboard's files: the policy of the
/// `index.html` meta tag (no inline script; wasm needs `'wasm-unsafe-eval'`; the API may be any
/// http(s) origin the user enters), plus `frame-ancestors 'none'`, which only a header can set.
pub const DASHBOARD_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self'; connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The dashboard's files from `dist`, each answer with [`DASHBOARD_CSP`].
fn dashboard(dist: &std::path::Path) -> Router {
    async fn with_csp(mut response: axum::response::Response) -> axum::response::Response {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_static(DASHBOARD_CSP));
        response
    }
    Router::new()
        .fallback_service(ServeDir::new(dist).append_index_html_on_directories(true))
        .layer(middleware::map_response(with_csp))
}

/// The whole HTTP application (a function so tests can call it without a socket).
pub fn app(state: AppState) -> Router {
    let cors = cors::layer(&state.cors_origins);
    let dashboard = dashboard(&state.dist);
    Router::new()
        .route("/client/api", any(cloudstack::api))
        .nest("/csm", clm::router())
        .route("/metrics", get(metrics::handler))
        .fallback_service(dashboard)
        // Inside CORS, so fault and error answers carry CORS headers; see `edge` for the order.
        .layer(middleware::from_fn_with_state(state.clone(), faults::inject))
        .layer(middleware::from_fn(edge::prepare))
        .layer(middleware::from_fn_with_state(state.clone(), edge::observe))
        .layer(cors)
        .with_state(state)
}

/// Gateway mode: the dashboard, and the API forwarded to `upstream` with CORS added.
pub fn gateway_app(upstream: gateway::Upstream, config: &Config) -> Router {
    let dashboard = dashboard(&config.dist);
    Router::new()
        .route("/client/api", any(gateway::cloudstack))
        .route("/csm/{*path}", any(gateway::clm))
        .fallback_service(dashboard)
        .layer(cors::layer(&config.cors_origins))
        .with_state(upstream)
}
