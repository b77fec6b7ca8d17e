//! `jobwire-server`: the reference CloudStack server for Jobwire's demo and tests.
//!
//! Run with `cargo run -p jobwire-server -- --listen 127.0.0.1:8080 --dist dist`.

use std::process::ExitCode;

use clap::Parser;
use jobwire_server::{app, AppState, Config};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "jobwire_server=info".into()),
        )
        .init();
    let config = Config::parse();
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("jobwire-server: cannot listen on {}: {err}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| config.listen.clone());
    println!("jobwire-server listening on http://{address}/  (API: http://{address}/client/api)");
    let router = app(AppState::new(&config));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("jobwire-server: {err}");
            ExitCode::FAILURE
        }
    }
}
