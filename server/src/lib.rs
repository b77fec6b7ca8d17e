//! The reference server: CloudStack's API at `/client/api`, the dashboard at `/`, CORS for
//! browser clients on other origins.

pub mod cloudstack;
mod cors;
pub mod jobs;
pub mod seed;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::any;
use axum::Router;
use tower_http::services::ServeDir;

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
    /// How long an async job stays pending, in milliseconds.
    #[arg(long, env = "JOBWIRE_JOB_DURATION_MS", default_value_t = 3000)]
    pub job_duration_ms: u64,
    /// Extra origins allowed by CORS (besides localhost / 127.0.0.1 on any port).
    #[arg(long = "cors-origin", env = "JOBWIRE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:0".into(),
            dist: PathBuf::from("dist"),
            job_duration_ms: 3000,
            cors_origins: Vec::new(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The async jobs.
    pub jobs: Arc<jobs::JobStore>,
    /// How long a job runs.
    pub job_duration: Duration,
    dist: PathBuf,
    cors_origins: Arc<Vec<String>>,
}

impl AppState {
    /// State for `config`, with an empty job store.
    pub fn new(config: &Config) -> Self {
        AppState {
            jobs: Arc::new(jobs::JobStore::default()),
            job_duration: Duration::from_millis(config.job_duration_ms),
            dist: config.dist.clone(),
            cors_origins: Arc::new(config.cors_origins.clone()),
        }
    }
}

/// The whole HTTP application (a function so tests can call it without a socket).
pub fn app(state: AppState) -> Router {
    let cors = cors::layer(&state.cors_origins);
    let dashboard = ServeDir::new(&state.dist).append_index_html_on_directories(true);
    Router::new().route("/client/api", any(cloudstack::api)).fallback_service(dashboard).layer(cors).with_state(state)
}
