//! The SDK's Rust API (reqwest transport) against the reference server over real HTTP.

use jobwire::engine::PollPolicy;
use jobwire::protocol::{Format, JobState};
use jobwire::time::Duration;
use jobwire::{ClientConfig, Error, JobClient};
use jobwire_e2e::{ids, start_server};

fn params(offering: &str) -> Vec<(String, String)> {
    vec![
        ("zoneid".into(), ids::ZONE.into()),
        ("serviceofferingid".into(), offering.into()),
        ("templateid".into(), ids::TEMPLATE.into()),
        ("name".into(), "web-1".into()),
    ]
}

fn fast_policy() -> PollPolicy {
    PollPolicy {
        first_delay: Duration::from_millis(50),
        min_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
        ..PollPolicy::default()
    }
}

async fn client(job_duration_ms: u64, format: Format) -> JobClient {
    let endpoint = start_server(job_duration_ms).await.expect("server starts");
    JobClient::new(ClientConfig { format, policy: fast_policy(), ..ClientConfig::new(endpoint) }).expect("valid config")
}

#[tokio::test]
async fn submit_then_wait_resolves_with_the_created_vm_json_and_xml() {
    for format in [Format::Json, Format::Xml] {
        let client = client(300, format).await;
        let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
        let mut seen = Vec::new();
        let done = client.wait(&job.job_id, |s| seen.push(s.state)).await.unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(seen.first(), Some(&JobState::Pending), "{format:?}: first poll comes before the job ends");
        assert_eq!(seen.last(), Some(&JobState::Succeeded));
        let vm = &done.result.unwrap()["virtualmachine"];
        assert_eq!(vm["id"], job.resource_id.unwrap().as_str());
        assert_eq!(vm["name"], "web-1");
    }
}

#[tokio::test]
async fn failed_job_rejects_with_its_code_and_text() {
    let client = client(0, Format::Json).await;
    let job = client.submit("deployVirtualMachine", &params(ids::HUGE)).await.unwrap();
    match client.wait(&job.job_id, |_| {}).await {
        Err(Error::JobFailed { job_id, error }) => {
            assert_eq!(job_id, job.job_id);
            assert_eq!(error.code, 533);
            assert!(error.text.contains("insufficient capacity"), "{}", error.text);
        }
        other => panic!("expected JobFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_command_is_a_typed_api_error() {
    let client = client(0, Format::Json).await;
    match client.submit("frobnicate", &[]).await {
        Err(Error::Api(error)) => {
            assert_eq!((error.code, error.text.as_str()), (432, "Unknown API command: frobnicate"))
        }
        other => panic!("expected Api error, got {other:?}"),
    }
}

#[tokio::test]
async fn waiting_stops_at_the_deadline_and_the_job_stays_trackable() {
    let endpoint = start_server(60_000).await.unwrap();
    let policy = PollPolicy { deadline: Some(Duration::from_millis(200)), ..fast_policy() };
    let client = JobClient::new(ClientConfig { policy, ..ClientConfig::new(endpoint) }).unwrap();
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    assert!(matches!(client.wait(&job.job_id, |_| {}).await, Err(Error::WaitTimedOut { .. })));
    assert_eq!(client.poll(&job.job_id).await.unwrap().state, JobState::Pending);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    let client = JobClient::new(ClientConfig::new("http://127.0.0.1:9/client/api")).unwrap();
    assert!(matches!(client.poll("x").await, Err(Error::Transport(_))));
    assert!(matches!(JobClient::new(ClientConfig::new("ftp://x")), Err(Error::InvalidArgument(_))));
}
