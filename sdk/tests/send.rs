//! Natively every future of the clients is `Send`: a Rust caller can `tokio::spawn` a submit,
//! a wait or a watch on a multi-threaded runtime.
#![cfg(not(target_arch = "wasm32"))]

use jobwire::protocol::cloudstack::Request;
use jobwire::{ClientConfig, ClmClient, ClmConfig, JobClient, SubmittedJob};
use serde_json::json;

fn assert_send<T: Send>(_: &T) {}

fn job() -> SubmittedJob {
    SubmittedJob { job_id: "j".into(), resource_id: None, command: "deployVirtualMachine".into(), submitted_at: None }
}

#[test]
fn cloudstack_futures_are_send() {
    let client = JobClient::new(ClientConfig::new("http://127.0.0.1:9/client/api")).expect("client");
    let (job, request) = (job(), Request::new("listZones"));
    assert_send(&client.login());
    assert_send(&client.call(&request));
    assert_send(&client.submit("deployVirtualMachine", &[]));
    assert_send(&client.poll("j"));
    assert_send(&client.wait("j", |_| {}));
    assert_send(&client.wait_job(&job, |_| {}));
    assert_send(&client.watch(std::slice::from_ref(&job), |_| {}));
    assert_send(&client.watch_events(std::slice::from_ref(&job), |_| {}));
}

#[test]
fn clm_futures_are_send() {
    let client = ClmClient::new(ClmConfig::new("http://127.0.0.1:9/csm", "user", "password")).expect("client");
    let job = job();
    assert_send(&client.login());
    assert_send(&client.submit("ComputeContainer", json!({})));
    assert_send(&client.run("ComputeContainer", json!({}), 5, |_| {}));
    assert_send(&client.poll("j"));
    assert_send(&client.wait("j", |_| {}));
    assert_send(&client.wait_job(&job, |_| {}));
    assert_send(&client.result("j", None));
}

/// What the assertions above promise, done: waits spawned on a multi-threaded runtime.
#[test]
fn a_wait_can_be_spawned_on_a_multi_threaded_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let config = ClientConfig { max_retries: 0, ..ClientConfig::new("http://127.0.0.1:9/client/api") };
    let client = JobClient::new(config).expect("client");
    let outcome = runtime.block_on(async move {
        let task = tokio::spawn(async move { client.poll("j").await });
        task.await.expect("the task ran")
    });
    // Nothing listens on port 9 (discard): a transport error, no retries asked for.
    assert!(matches!(outcome, Err(jobwire::Error::Transport(_))), "{outcome:?}");
}
