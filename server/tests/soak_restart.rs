//! The fault soak with a server crash in the middle: the real binary, 20 % injected faults,
//! SIGKILLed once half the jobs are submitted and restarted at once on the same database and
//! port. The SDK's retries (network errors while the port is closed, lost submit answers adopted
//! through `customjobid`) ride through; every job still resolves, exactly once, in the state the
//! restarted server has for it, and no job or VM exists twice.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[allow(dead_code)]
#[path = "../../tests/src/soak.rs"]
mod soak;

mod support;
use support::{free_port, spawn_listening, ServerProcess};

const JOBS: usize = 300;

/// Starts the server binary on `port` with `db` (and the soak's faults when `faults`), waiting
/// until it accepts connections.
fn start(port: u16, db: &std::path::Path, faults: bool) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobwire-server"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--job-duration-ms", "300", "--job-duration-p95-ms", "1200"])
        .args(["--failure-rate", "0.05", "--seed", "5"])
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "jobwire_server=warn")
        .stdout(Stdio::null());
    if faults {
        command.args(["--fault-rate", "0.2"]);
        for fault in soak::FAULTS {
            command.args(["--fault", fault]);
        }
    }
    spawn_listening(command, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_rides_through_a_sigkilled_server() {
    let dir = std::env::temp_dir().join(format!("jobwire-soak-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let port = free_port();
    let server = Arc::new(Mutex::new(start(port, &db, true)));

    // Kill and restart once half the jobs are in (unless the soak ended before: it failed).
    let progress = Arc::new(AtomicUsize::new(0));
    let soak_over = Arc::new(AtomicBool::new(false));
    let killer = {
        let (server, progress, soak_over, db) = (server.clone(), progress.clone(), soak_over.clone(), db.clone());
        tokio::task::spawn_blocking(move || {
            while progress.load(Ordering::Relaxed) < JOBS / 2 {
                if soak_over.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut server = server.lock().unwrap();
            server.kill();
            let killed_at = progress.load(Ordering::Relaxed);
            *server = start(port, &db, true);
            Some(killed_at)
        })
    };

    // The demo user on two lanes; retries raised for the restart window.
    let demo = soak::Tenant::api_key("demo-api-key-0123456789abcdef", "demo-secret-key-do-not-use-in-production");
    let tenants = vec![demo.clone(), demo];
    let plan = soak::Plan { max_retries: 15, ..soak::Plan::new(JOBS) };
    let endpoint = format!("http://127.0.0.1:{port}/client/api");
    let run = tokio::time::timeout(Duration::from_secs(90), soak::run(&endpoint, &tenants, &plan, progress));
    let outcome = run.await;
    soak_over.store(true, Ordering::Relaxed);
    let killed_at = killer.await.expect("the killer thread");
    let outcome = outcome.expect("the soak finished in time").unwrap_or_else(|e| panic!("{e}"));
    let killed_at = killed_at.expect("the server was killed and restarted");

    // The server's own view, without faults: killed once more and restarted clean.
    {
        let mut guard = server.lock().unwrap();
        guard.kill();
        *guard = start(port, &db, false);
    }
    let verified = soak::verify(&endpoint, &tenants, &outcome).await;
    server.lock().unwrap().kill();
    let verified = verified.unwrap_or_else(|e| panic!("{e}"));
    println!(
        "soak with a SIGKILL after {killed_at} submits: {JOBS} jobs, {} succeeded, {} failed, {} requests, {:.1} s",
        verified.succeeded,
        verified.failed,
        outcome.requests,
        outcome.elapsed.as_secs_f64()
    );
    assert_eq!(verified.succeeded + verified.failed, JOBS);
    let _ = std::fs::remove_dir_all(&dir);
}
