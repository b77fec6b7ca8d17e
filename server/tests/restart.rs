//! The real binary killed (SIGKILL) while jobs run, restarted on the same database and port:
//! every job still reaches a terminal state, and no resource is lost or duplicated.

use std::process::{Command, Stdio};
use std::time::Duration;

use jobwire::engine::PollPolicy;
use jobwire::protocol::JobState;
use jobwire::{ApiKeyCredentials, ClientConfig, Credentials, JobClient};

mod support;
use support::{free_port, spawn_listening, ServerProcess, SMALL, TEMPLATE, ZONE};

/// Starts the server binary on `port` with `db`, waiting until it accepts connections.
fn start(port: u16, db: &std::path::Path) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobwire-server"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--job-duration-ms", "1500", "--job-duration-p95-ms", "3000"])
        .arg("--db")
        .arg(db)
        .stdout(Stdio::null());
    spawn_listening(command, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_a_killed_server() {
    let dir = std::env::temp_dir().join(format!("jobwire-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let port = free_port();
    let mut server = start(port, &db);

    let credentials = Credentials::ApiKey(ApiKeyCredentials {
        api_key: "demo-api-key-0123456789abcdef".into(),
        secret_key: "demo-secret-key-do-not-use-in-production".into(),
    });
    let policy = PollPolicy {
        first_delay: Duration::from_millis(100),
        max_interval: Duration::from_millis(300),
        ..PollPolicy::default()
    };
    let config = ClientConfig {
        credentials,
        policy,
        long_poll_secs: None,
        ..ClientConfig::new(format!("http://127.0.0.1:{port}/client/api"))
    };
    let client = JobClient::new(config).unwrap();
    let params: Vec<(String, String)> = [("zoneid", ZONE), ("serviceofferingid", SMALL), ("templateid", TEMPLATE)]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut jobs = Vec::new();
    for _ in 0..20 {
        jobs.push(client.submit("deployVirtualMachine", &params).await.unwrap());
    }
    // Kill mid-run: some jobs may have finished, most have not.
    server.kill();
    let mut server = start(port, &db);

    for job in &jobs {
        let done =
            tokio::time::timeout(Duration::from_secs(30), client.wait(&job.job_id, |_| {})).await.unwrap().unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.result.unwrap()["virtualmachine"]["id"], job.resource_id.as_deref().unwrap());
    }
    let listed = client.call_value("listVirtualMachines", &[]).await.unwrap();
    let mut ids: Vec<String> =
        listed["virtualmachine"].as_array().unwrap().iter().map(|vm| vm["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), jobs.len(), "every VM once");
    assert!(listed["virtualmachine"].as_array().unwrap().iter().all(|vm| vm["state"] == "Running"));
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_it_cannot_open_ends_the_server_before_it_listens() {
    // Under a regular file, so no directory can be made for it.
    let file = std::env::temp_dir().join(format!("jobwire-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jobwire-server"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port()), "--db"])
        .arg(file.join("state.db"))
        .output()
        .expect("server runs");
    let _ = std::fs::remove_file(&file);
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success());
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    // What scripts wait for never shows: they see the exit, not a server about to go.
    assert!(!stdout.contains("listening"), "{stdout}");
}
