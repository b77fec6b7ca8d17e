//! The SDK's CLM client (reqwest transport) against the reference server's `/csm` API over real
//! HTTP: login, async and held operations, polling and long-polling, results and paging, typed
//! errors, token renewal, and retries through injected refusals.

use jobwire::engine::DelayReason;
use jobwire::protocol::clm::{SearchResults, TaskResult};
use jobwire::protocol::JobState;
use jobwire::time::Duration;
use jobwire::{ClmClient, ClmConfig, Error, WaitEvent};
use jobwire_e2e::{demo, fast_policy, serve, start_server};
use jobwire_server::scenario::parse_fault_flag;
use jobwire_server::{app, AppState, Config};
use serde_json::{json, Value};

const CONTAINER_CLASS: &str = "com.bmc.cloud.model.beans.ComputeContainer";
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

/// The server root of a fresh reference server (`start_server` answers its CloudStack URL).
async fn base_url(job_duration_ms: u64) -> String {
    let api = start_server(job_duration_ms).await.expect("server starts");
    api.strip_suffix("/client/api").expect("start_server answers .../client/api").to_owned()
}

/// Like `start_server`, with a whole configuration (session timeout, faults); answers the root.
async fn base_url_with(config: Config) -> String {
    serve(app(AppState::new(&config).expect("state"))).await.expect("server starts")
}

/// The demo user with `password`, polling on `fast_policy` without long-polls.
fn config(base: &str, password: &str) -> ClmConfig {
    ClmConfig { policy: fast_policy(), long_poll_secs: None, ..ClmConfig::new(base, demo::USERNAME, password) }
}

async fn client(job_duration_ms: u64) -> ClmClient {
    ClmClient::new(config(&base_url(job_duration_ms).await, demo::PASSWORD)).expect("valid config")
}

/// What a wait reported.
#[derive(Debug, Default)]
struct Seen {
    states: Vec<JobState>,
    delays: Vec<DelayReason>,
}

impl Seen {
    fn record(&mut self, event: WaitEvent<'_>) {
        match event {
            WaitEvent::Status(snapshot) => self.states.push(snapshot.state),
            WaitEvent::Delay { reason, .. } => self.delays.push(reason),
        }
    }
}

fn search_page(result: Result<TaskResult, Error>) -> SearchResults {
    match result {
        Ok(TaskResult::Search(page)) => page,
        other => panic!("expected a SearchResults page, got {other:?}"),
    }
}

fn names(page: &SearchResults) -> Vec<&str> {
    page.results.iter().filter_map(|row| row["name"].as_str()).collect()
}

#[tokio::test]
async fn login_keeps_a_token_and_a_refused_login_is_typed() {
    let base = base_url(100).await;
    let client = ClmClient::new(config(&base, demo::PASSWORD)).unwrap();
    assert_eq!(client.last_transaction_id(), None);
    client.login().await.unwrap();
    assert_eq!((client.logins(), client.requests_sent()), (1, 1));
    let login_transaction = client.last_transaction_id().expect("BMC-Transaction-ID kept");
    // The token is sent: the server answers 404 for the object, not 401, and no second login.
    match client.get(&format!("ComputeContainer/{UNKNOWN_ID}")).await {
        Err(Error::Api(error)) => assert_eq!(error.code, 404, "{}", error.text),
        other => panic!("expected a 404, got {other:?}"),
    }
    assert_eq!((client.logins(), client.requests_sent()), (1, 2));
    assert_ne!(client.last_transaction_id(), Some(login_transaction));

    let refused = ClmClient::new(config(&base, "not-the-password")).unwrap();
    match refused.login().await {
        Err(Error::LoginFailed(error)) => {
            assert_eq!(error.code, 401);
            assert!(error.text.contains("Invalid username or password"), "{}", error.text);
        }
        other => panic!("expected LoginFailed, got {other:?}"),
    }
    // A call logs in on demand and fails the same way; a refused login is not retried.
    assert!(matches!(refused.poll(UNKNOWN_ID).await, Err(Error::LoginFailed(_))));
    assert_eq!((refused.logins(), refused.requests_sent()), (0, 2));
    assert!(!format!("{refused:?}").contains("not-the-password"), "password in Debug");
    assert!(matches!(ClmClient::new(ClmConfig::new("ftp://x", "u", "p")), Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn submit_create_then_wait_resolves_with_the_compute_container() {
    let client = client(300).await;
    let job = client.submit("ComputeContainer", json!({"name": "web-1"})).await.unwrap();
    assert_eq!((job.command.as_str(), job.resource_id.as_deref()), ("ComputeContainer.create", None));
    assert!(!job.job_id.is_empty());
    let mut seen = Seen::default();
    let done = client.wait_job(&job, |event| seen.record(event)).await.unwrap();
    assert_eq!((done.state, done.job_id.as_str()), (JobState::Succeeded, job.job_id.as_str()));
    assert_eq!(seen.states.first(), Some(&JobState::Pending), "first poll comes before the job ends");
    assert_eq!(seen.states.last(), Some(&JobState::Succeeded));
    assert_eq!(seen.delays.first(), Some(&DelayReason::FirstPoll));
    // The task reports its progress: later polls go by the finish it lets estimate.
    assert!(
        seen.delays[1..].iter().all(|reason| matches!(reason, DelayReason::Eta | DelayReason::Backoff)),
        "{:?}",
        seen.delays
    );
    let result = done.result.expect("inline results");
    let container = &result[0];
    assert_eq!((container["cloudClass"].as_str(), container["name"].as_str()), (Some(CONTAINER_CLASS), Some("web-1")));
    let guid = container["guid"].as_str().expect("guid");
    // The result endpoint and the object itself say the same.
    match client.result(&job.job_id, None).await {
        Ok(TaskResult::Objects(entries)) => assert_eq!(entries[0].value["guid"], guid),
        other => panic!("expected the container, got {other:?}"),
    }
    let read = client.get(&format!("ComputeContainer/{guid}")).await.unwrap();
    assert_eq!((read.len(), read[0]["state"].as_str()), (1, Some("Running")));
}

#[tokio::test]
async fn run_with_a_long_wait_answers_the_object_without_polling() {
    const JOB_MS: u64 = 600;
    // An answer may take 200 ms beyond the hold: the held operation still gets its 600 ms.
    let config =
        ClmConfig { request_timeout: Duration::from_millis(200), ..config(&base_url(JOB_MS).await, demo::PASSWORD) };
    let client = ClmClient::new(config).unwrap();
    client.login().await.unwrap();
    let before = client.requests_sent();
    let mut seen = Seen::default();
    let started = std::time::Instant::now();
    let done = client.run("ComputeContainer", json!({"name": "db-1"}), 10, |event| seen.record(event)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result.as_ref().map(|r| r[0]["name"].clone()), Some(json!("db-1")));
    assert!(seen.states.is_empty() && seen.delays.is_empty(), "{seen:?}");
    assert_eq!(client.requests_sent() - before, 1, "one held request, no status polls");
    assert!(took >= std::time::Duration::from_millis(JOB_MS - 50), "the server did not wait: {took:?}");
    assert!(took < std::time::Duration::from_millis(JOB_MS + 300), "finish noticed late: {took:?}");
}

#[tokio::test]
async fn run_with_a_short_wait_falls_back_to_polling() {
    const JOB_MS: u64 = 2200;
    let client = client(JOB_MS).await;
    let mut seen = Seen::default();
    let started = std::time::Instant::now();
    let done = client.run("ComputeContainer", json!({"name": "app-1"}), 1, |event| seen.record(event)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(done.state, JobState::Succeeded);
    assert!(!done.job_id.is_empty(), "a Task was shown, so its id is known");
    assert_eq!(done.result.as_ref().map(|r| r[0]["name"].clone()), Some(json!("app-1")));
    // The held answer was the Task, still running after 1 s; then polls until the finish.
    assert_eq!(seen.states.first(), Some(&JobState::Pending));
    assert_eq!(seen.states.last(), Some(&JobState::Succeeded));
    assert!(seen.states.len() >= 3, "{seen:?}");
    assert!(took >= std::time::Duration::from_millis(JOB_MS), "{took:?}");
    assert!(took < std::time::Duration::from_millis(JOB_MS + 500), "{took:?}");
}

#[tokio::test]
async fn long_polling_sees_the_finish_in_one_or_two_requests() {
    const JOB_MS: u64 = 1500;
    let base = base_url(JOB_MS).await;
    // Held status requests are awaited beyond the hold, not cut at 200 ms.
    let held = ClmConfig {
        long_poll_secs: Some(20),
        request_timeout: Duration::from_millis(200),
        ..config(&base, demo::PASSWORD)
    };
    let client = ClmClient::new(held).unwrap();
    let submitted = std::time::Instant::now();
    let job = client.submit("ComputeContainer", json!({})).await.unwrap();
    let before = client.requests_sent();
    let mut seen = Seen::default();
    let done = client.wait_job(&job, |event| seen.record(event)).await.unwrap();
    let took = submitted.elapsed();
    assert_eq!(done.state, JobState::Succeeded);
    let requests = client.requests_sent() - before;
    assert!((1..=2).contains(&requests), "{requests} status requests: {seen:?}");
    assert_eq!(usize::try_from(requests).ok(), Some(seen.states.len()));
    assert!(seen.delays.iter().all(|reason| *reason == DelayReason::LongPoll), "{seen:?}");
    assert!(took < std::time::Duration::from_millis(JOB_MS + 400), "finish noticed late: {took:?}");
}

#[tokio::test]
async fn search_results_are_paged_through_result() {
    let client = client(400).await;
    let job = client.submit("staticpool/search", json!({})).await.unwrap();
    assert_eq!(job.command, "StaticPool.search");
    // Not finished yet: the result is refused with a typed 409.
    match client.result(&job.job_id, None).await {
        Err(Error::Api(error)) => assert_eq!(error.code, 409, "{}", error.text),
        other => panic!("expected a 409, got {other:?}"),
    }
    client.wait_job(&job, |_| {}).await.unwrap();
    let all = search_page(client.result(&job.job_id, None).await);
    assert_eq!((all.total_rows, all.results.len()), (Some(7), 7));
    let second = search_page(client.result(&job.job_id, Some((1, 3))).await);
    assert_eq!((second.page_no, second.page_size, second.total_rows), (Some(1), Some(3), Some(7)));
    assert_eq!(names(&second), names(&all)[3..6]);
    let last = search_page(client.result(&job.job_id, Some((2, 3))).await);
    assert_eq!(names(&last), names(&all)[6..]);
    let beyond = search_page(client.result(&job.job_id, Some((5, 3))).await);
    assert_eq!((beyond.results.len(), beyond.total_rows), (0, Some(7)));
}

#[tokio::test]
async fn stop_and_start_the_created_server() {
    let client = client(200).await;
    let created = client.run("ComputeContainer", json!({"name": "s-1"}), 10, |_| {}).await.unwrap();
    let guid = created.result.as_ref().and_then(|r| r[0]["guid"].as_str()).expect("guid").to_owned();
    let state = async |client: &ClmClient| {
        let read = client.get(&format!("ComputeContainer/{guid}")).await.unwrap();
        read[0]["state"].as_str().map(str::to_owned)
    };
    assert_eq!(state(&client).await.as_deref(), Some("Running"));

    let stop = client.submit(&format!("ComputeContainer/{guid}/stop"), Value::Null).await.unwrap();
    assert_eq!((stop.command.as_str(), stop.resource_id.as_deref()), ("ComputeContainer.stop", Some(guid.as_str())));
    assert_eq!(state(&client).await.as_deref(), Some("Stopping"));
    client.wait_job(&stop, |_| {}).await.unwrap();
    assert_eq!(state(&client).await.as_deref(), Some("Stopped"));
    // Stopping a stopped server is refused at once, typed.
    match client.submit(&format!("ComputeContainer/{guid}/stop"), json!({})).await {
        Err(Error::Api(error)) => assert_eq!(error.code, 409, "{}", error.text),
        other => panic!("expected a 409, got {other:?}"),
    }

    // The full URL path works too.
    let started = client.run(&format!("/csm/ComputeContainer/{guid}/start"), json!({}), 10, |_| {}).await.unwrap();
    assert_eq!(started.state, JobState::Succeeded);
    assert_eq!(state(&client).await.as_deref(), Some("Running"));
}

#[tokio::test]
async fn unknown_tasks_and_bad_arguments_are_typed_errors() {
    let client = client(100).await;
    for outcome in [
        client.poll(UNKNOWN_ID).await.map(drop),
        client.wait(UNKNOWN_ID, |_| {}).await.map(drop),
        client.result(UNKNOWN_ID, None).await.map(drop),
        client.submit("NoSuchClass", json!({})).await.map(drop),
    ] {
        match outcome {
            Err(Error::Api(error)) => assert_eq!(error.code, 404, "{}", error.text),
            other => panic!("expected a 404, got {other:?}"),
        }
    }
    let requests = client.requests_sent();
    assert!(matches!(client.poll("../login").await, Err(Error::InvalidArgument(_))));
    assert!(matches!(client.result("a/b", None).await, Err(Error::InvalidArgument(_))));
    assert!(matches!(client.submit("ComputeContainer", json!([1])).await, Err(Error::InvalidArgument(_))));
    assert!(matches!(client.submit("ComputeContainer?x=1", json!({})).await, Err(Error::InvalidArgument(_))));
    assert_eq!(client.requests_sent(), requests, "bad arguments are refused before sending");
    // A body the server refuses is its typed 400.
    match client.submit("ComputeContainer", json!({"name": "   "})).await {
        Err(Error::Api(error)) => assert_eq!(error.code, 400, "{}", error.text),
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn an_ended_or_expired_token_is_renewed_by_the_next_call() {
    // Logged out: the next call logs in by itself.
    let client = client(100).await;
    client.login().await.unwrap();
    client.logout().await.unwrap();
    let done = client.run("staticpool/search", json!({}), 10, |_| {}).await.unwrap();
    assert_eq!((done.state, client.logins()), (JobState::Succeeded, 2));

    // Expired on the server while the client still holds it: refused once, renewed, resent.
    let base = base_url_with(Config { job_duration_ms: 100, session_timeout_secs: 1, ..Config::default() }).await;
    let client = ClmClient::new(config(&base, demo::PASSWORD)).unwrap();
    client.login().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let before = client.requests_sent();
    let done = client.run("staticpool/search", json!({}), 10, |_| {}).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(client.logins(), 2, "the refused token was replaced");
    assert_eq!(client.requests_sent() - before, 3, "the refused call, the login, the call again");
}

#[tokio::test]
async fn throttling_and_unavailable_answers_are_retried() {
    let mut server = Config { job_duration_ms: 300, seed: 7, ..Config::default() };
    server.scenario.fault_rate = Some(0.5);
    server.scenario.faults =
        ["status429:0", "status503:0"].into_iter().map(|f| parse_fault_flag(f).expect("fault flag")).collect();
    let base = base_url_with(server).await;
    let client = ClmClient::new(ClmConfig { max_retries: 30, ..config(&base, demo::PASSWORD) }).unwrap();
    // Operations are resent after refusals (nothing ran), reads after any transient failure.
    let job = client.submit("ComputeContainer", json!({"name": "flaky"})).await.unwrap();
    let mut seen = Seen::default();
    let done = client.wait_job(&job, |event| seen.record(event)).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    for _ in 0..5 {
        assert_eq!(client.poll(&job.job_id).await.unwrap().state, JobState::Succeeded);
    }
    let search = client.run("staticpool/search", json!({}), 10, |event| seen.record(event)).await.unwrap();
    assert_eq!(search.state, JobState::Succeeded);
    // login + submit + the wait's status requests + 5 polls + run (+ its polls, if any)
    let logical = 2 + 5 + 1 + seen.states.len() as u64;
    assert!(client.requests_sent() > logical, "no fault struck: {} requests", client.requests_sent());
    assert!(seen.delays.contains(&DelayReason::RetryAfter), "{seen:?}");
}

/// Two waits of one task at once: one shared wait, one status request per status seen.
#[tokio::test]
async fn concurrent_waits_of_one_task_poll_it_once() {
    let client = client(600).await;
    let job = client.submit("ComputeContainer", json!({"name": "twice"})).await.unwrap();
    let (before, other) = (client.requests_sent(), client.clone());
    let (mut first, mut second) = (Seen::default(), Seen::default());
    let (a, b) = tokio::join!(
        client.wait_job(&job, |event| first.record(event)),
        other.wait_job(&job, |event| second.record(event))
    );
    assert_eq!(a.unwrap().state, JobState::Succeeded);
    assert_eq!(b.unwrap().state, JobState::Succeeded);
    assert_eq!(first.states, second.states);
    assert_eq!(client.requests_sent() - before, first.states.len() as u64);
}
