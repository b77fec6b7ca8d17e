//! `jobwire-server`: the reference CloudStack server for Jobwire's demo and tests.
//!
//! Run with `cargo run -p jobwire-server -- --listen 127.0.0.1:8080 --dist dist`.

use std::process::ExitCode;

use axum::serve::ListenerExt;
use jobwire_server::{app, AppState};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "jobwire_server=info".into()),
        )
        .init();
    // Flags, environment and the `--scenario` file (flags given explicitly override the file).
    let config = match jobwire_server::scenario::parse_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("jobwire-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let router = if config.upstream.is_some() || config.upstream_clm.is_some() {
        match jobwire_server::gateway::Upstream::new(config.upstream.as_deref(), config.upstream_clm.as_deref()) {
            Ok(upstream) => {
                println!("gateway mode: forwarding the API to the upstream cloud, adding CORS; no local jobs or users");
                jobwire_server::gateway_app(upstream, &config)
            }
            Err(err) => {
                eprintln!("jobwire-server: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let state = match AppState::new(&config) {
            Ok(state) => state,
            Err(err) => {
                eprintln!("jobwire-server: cannot open the database: {err}");
                return ExitCode::FAILURE;
            }
        };
        let demo = &config.demo;
        // The built-in demo password and secret key are public (README, tests) and shown so the
        // demo can be used at once; ones given with --demo-* flags or the environment are the
        // operator's secrets and stay out of the output, which often ends up in a log.
        let defaults = jobwire_server::seed::DemoUser::default();
        let shown =
            |value: &str, default: &str| if value == default { value.to_owned() } else { "(set, not shown)".into() };
        println!(
            "demo user: username={} password={} apiKey={} secretKey={} (set with --demo-* flags or JOBWIRE_DEMO_* env)",
            demo.username,
            shown(&demo.password, &defaults.password),
            demo.api_key,
            shown(&demo.secret_key, &defaults.secret_key)
        );
        match &config.db {
            Some(path) => println!("database: {}", path.display()),
            None => println!("database: in memory (use --db FILE to keep state across restarts)"),
        }
        app(state)
    };
    // Bound only once the state is ready: "listening" (what scripts and tests wait for) means
    // the server answers, never that it is about to exit on a database it cannot open.
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("jobwire-server: cannot listen on {}: {err}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| config.listen.clone());
    println!("jobwire-server listening on http://{address}/  (API: http://{address}/client/api)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // No Nagle: small responses written in two parts (headers, then a file body) would
    // otherwise wait for the client's delayed ACK, ~40 ms each.
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
    });
    match axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("jobwire-server: {err}");
            ExitCode::FAILURE
        }
    }
}
