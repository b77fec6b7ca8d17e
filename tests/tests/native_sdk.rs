//! The SDK's Rust API (reqwest transport) against the reference server over real HTTP.

use jobwire::engine::{DelayReason, PollPolicy};
use jobwire::protocol::{Format, JobState};
use jobwire::time::Duration;
use jobwire::{ClientConfig, Credentials, Error, JobClient, SessionCredentials, WaitEvent};
use jobwire_e2e::{demo, demo_api_key, deploy_params, fast_policy, ids, start_server, ticking_policy};

fn params(offering: &str) -> Vec<(String, String)> {
    let mut params = deploy_params(offering);
    params.push(("name".into(), "web-1".into()));
    params
}

fn session(password: &str) -> Credentials {
    Credentials::Session(SessionCredentials {
        username: demo::USERNAME.into(),
        password: password.into(),
        domain: String::new(),
    })
}

/// A client of a fresh server, polling on `fast_policy` (no long-polls) unless told otherwise.
fn config(endpoint: String, credentials: Credentials, format: Format) -> ClientConfig {
    ClientConfig { format, credentials, policy: fast_policy(), long_poll_secs: None, ..ClientConfig::new(endpoint) }
}

async fn client(job_duration_ms: u64, format: Format) -> JobClient {
    let endpoint = start_server(job_duration_ms).await.expect("server starts");
    JobClient::new(config(endpoint, demo_api_key(), format)).expect("valid config")
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
        Err(Error::JobFailed { job_id, error, raw }) => {
            assert_eq!(job_id, job.job_id);
            assert_eq!(error.code, 533);
            // The whole final status rides along, for what the typed error does not name.
            assert_eq!(raw["jobid"], job.job_id.as_str());
            assert_eq!(raw["jobstatus"], 2);
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
    let client = JobClient::new(ClientConfig { policy, ..config(endpoint, demo_api_key(), Format::Json) }).unwrap();
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    assert!(matches!(client.wait(&job.job_id, |_| {}).await, Err(Error::WaitTimedOut { .. })));
    assert_eq!(client.poll(&job.job_id).await.unwrap().state, JobState::Pending);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error_after_the_retry_budget() {
    let config = ClientConfig { max_retries: 2, ..ClientConfig::new("http://127.0.0.1:9/client/api") };
    let client = JobClient::new(config).unwrap();
    assert!(matches!(client.poll("x").await, Err(Error::Transport(_))));
    assert_eq!(client.requests_sent(), 3, "one try and two retries");
    assert!(matches!(JobClient::new(ClientConfig::new("ftp://x")), Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn session_login_keeps_cookies_and_refused_login_is_typed() {
    let endpoint = start_server(200).await.unwrap();
    let client = JobClient::new(config(endpoint.clone(), session(demo::PASSWORD), Format::Json)).unwrap();
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    assert_eq!(client.wait(&job.job_id, |_| {}).await.unwrap().state, JobState::Succeeded);
    // After logout the next call logs in again by itself.
    client.logout().await.unwrap();
    assert!(client.call_value("listZones", &[]).await.is_ok());

    let refused = JobClient::new(config(endpoint.clone(), session("wrong"), Format::Json)).unwrap();
    match refused.call_value("listZones", &[]).await {
        Err(Error::LoginFailed(error)) => assert_eq!(error.code, 531),
        other => panic!("expected LoginFailed, got {other:?}"),
    }
    let unsigned = JobClient::new(config(endpoint, Credentials::None, Format::Json)).unwrap();
    assert!(matches!(unsigned.call_value("listZones", &[]).await, Err(Error::Api(e)) if e.code == 401));
}

#[tokio::test]
async fn long_polling_sees_the_finish_at_once_with_few_requests() {
    let endpoint = start_server(1500).await.unwrap();
    // Held requests are awaited beyond the hold (20 s), not cut at the 200 ms request timeout.
    let long_poll = ClientConfig {
        long_poll_secs: Some(20),
        request_timeout: Duration::from_millis(200),
        ..config(endpoint, demo_api_key(), Format::Json)
    };
    let client = JobClient::new(long_poll).unwrap();
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    let started = std::time::Instant::now();
    let before = client.requests_sent();
    let mut polls = 0;
    let done = client.wait(&job.job_id, |_| polls += 1).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!((polls, client.requests_sent() - before), (1, 1), "one held request is enough");
    assert!(waited < std::time::Duration::from_millis(1900), "finish noticed late: {waited:?}");
}

#[tokio::test]
async fn watching_many_jobs_costs_one_listing_per_tick() {
    let client = client(800, Format::Json).await;
    let mut jobs = Vec::new();
    for i in 0..40 {
        let offering = if i % 10 == 9 { ids::HUGE } else { ids::SMALL };
        jobs.push(client.submit("deployVirtualMachine", &params(offering)).await.unwrap());
    }
    let before = client.requests_sent();
    let mut updates: Vec<(String, JobState)> = Vec::new();
    let finals = client.watch(&jobs, |s| updates.push((s.job_id.clone(), s.state))).await.unwrap();
    let requests = client.requests_sent() - before;

    assert_eq!(finals.len(), 40);
    assert_eq!(
        finals.iter().map(|s| s.job_id.as_str()).collect::<Vec<_>>(),
        jobs.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(finals.iter().filter(|s| s.state == JobState::Failed).count(), 4);
    for job in &jobs {
        let terminal = updates.iter().filter(|(id, state)| *id == job.job_id && state.is_terminal()).count();
        assert_eq!(terminal, 1, "job {} reported finished exactly once", job.job_id);
    }
    // Per-job polling at the same policy would need at least 40 requests per tick.
    assert!(requests < 40, "{requests} requests for 40 jobs");
}

/// A watch learns how long its jobs' command takes, like a wait: the next watch of that command
/// lists first as the learned window opens (instead of ticking through the jobs' whole run),
/// and a wait's first poll is placed by what the watch learned.
#[tokio::test]
async fn a_watch_learns_durations_and_the_next_watch_and_wait_use_them() {
    let client = client(1500, Format::Json).await;
    // When each watch's first listing came (its first update: every job is news then).
    let mut first_listings = Vec::new();
    for _ in 0..2 {
        let jobs = deploy_three(&client).await;
        let started = std::time::Instant::now();
        let mut first_update = None;
        let finals = client.watch(&jobs, |_| _ = first_update.get_or_insert_with(|| started.elapsed())).await.unwrap();
        assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
        first_listings.push(first_update.expect("updates"));
    }
    // The policy's 50 ms first, then (learned from 1.5 s jobs) one at about 1.2 s.
    let (first, second) = (first_listings[0], first_listings[1]);
    assert!(first < std::time::Duration::from_millis(500), "first watch listed after {first:?}");
    assert!(second >= std::time::Duration::from_millis(800), "second watch listed after {second:?}");

    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    let mut first_delay = None;
    client
        .wait_job(&job, |event| {
            if let (WaitEvent::Delay { delay, reason, .. }, None) = (event, first_delay) {
                first_delay = Some((delay, reason));
            }
        })
        .await
        .unwrap();
    let (delay, reason) = first_delay.unwrap();
    assert_eq!(reason, DelayReason::Learned);
    assert!(delay >= Duration::from_millis(800), "first poll after {delay:?}");
}

/// A client of `endpoint` whose policy asks every `tick_ms`, from the first poll on.
fn ticking_client(endpoint: String, tick_ms: u64) -> JobClient {
    let policy = ticking_policy(tick_ms);
    JobClient::new(ClientConfig { policy, ..config(endpoint, demo_api_key(), Format::Json) }).expect("valid config")
}

/// Three small VM deploys.
async fn deploy_three(client: &JobClient) -> Vec<jobwire::SubmittedJob> {
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap());
    }
    jobs
}

#[tokio::test]
async fn a_watch_lists_no_sooner_than_the_jobs_progress_lets_one_finish() {
    // Listings 100 ms apart by the policy: 30 through 3 s jobs without the progress estimate.
    let client = ticking_client(start_server(3000).await.expect("server starts"), 100);
    let jobs = deploy_three(&client).await;
    let (before, started) = (client.requests_sent(), std::time::Instant::now());
    let mut reasons = Vec::new();
    let finals = client
        .watch_events(&jobs, |event| {
            if let WaitEvent::Delay { reason, .. } = event {
                reasons.push(reason);
            }
        })
        .await
        .unwrap();
    let (requests, took) = (client.requests_sent() - before, started.elapsed());
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    assert_eq!(reasons.first(), Some(&DelayReason::FirstPoll), "{reasons:?}");
    assert!(reasons.contains(&DelayReason::Eta), "{reasons:?}");
    // The first listing (0.1 s) reads a few percent, which puts the earliest finish near 3 s; the
    // next listing goes there, and one or two more catch the finish.
    assert!(requests <= 6, "{requests} listings");
    assert!(took < std::time::Duration::from_millis(3700), "finish seen after {took:?}");
}

#[tokio::test]
async fn a_watch_lists_by_the_first_finish_its_jobs_progress_promises_not_after_a_long_backoff() {
    // First listing after 0.5 s, then 3 s apart by the policy; the 2 s jobs read ~25 % at the
    // first listing, which says one of them is done by ~2 s: the next listing goes then (at
    // least 1 s after the last), not at 3.5 s.
    let policy = PollPolicy {
        first_delay: Duration::from_millis(500),
        min_interval: Duration::from_secs(3),
        max_interval: Duration::from_secs(3),
        ..PollPolicy::default()
    };
    let endpoint = start_server(2000).await.expect("server starts");
    let client = JobClient::new(ClientConfig { policy, ..config(endpoint, demo_api_key(), Format::Json) }).unwrap();
    let jobs = deploy_three(&client).await;
    let started = std::time::Instant::now();
    let mut delays = Vec::new();
    let finals = client
        .watch_events(&jobs, |event| {
            if let WaitEvent::Delay { delay, reason, .. } = event {
                delays.push((delay, reason));
            }
        })
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    assert_eq!(delays.len(), 2, "one listing to read the progress, one to see the finishes: {delays:?}");
    assert_eq!(delays[1].1, DelayReason::Eta, "{delays:?}");
    assert!(delays[1].0 >= Duration::from_millis(900) && delays[1].0 < Duration::from_secs(2), "{delays:?}");
    assert!(took < std::time::Duration::from_millis(3000), "finish seen after {took:?}");
}

#[tokio::test]
async fn a_watch_of_long_jobs_still_lists_every_10_s() {
    // 60 s jobs read 0 % for their first 0.6 s (ticks of 100 ms then); the first reading of 1 %
    // puts the earliest finish near 60 s, but the watch comes back after 10 s so the progress
    // it reports moves. Only the delays of its first second are looked at.
    let client = ticking_client(start_server(60_000).await.expect("server starts"), 100);
    let jobs = deploy_three(&client).await;
    let delays = std::sync::Mutex::new(Vec::new());
    let watching = client.watch_events(&jobs, |event| {
        if let WaitEvent::Delay { delay, reason, .. } = event {
            delays.lock().unwrap().push((delay, reason));
        }
    });
    assert!(tokio::time::timeout(std::time::Duration::from_secs(1), watching).await.is_err(), "jobs still run");
    let delays = delays.into_inner().unwrap();
    let (last, before) = delays.split_last().expect("delays");
    assert!(before.iter().all(|(delay, reason)| *reason != DelayReason::Eta && *delay < Duration::from_secs(1)));
    assert_eq!(last.1, DelayReason::Eta, "{delays:?}");
    assert!(last.0 > Duration::from_secs(9) && last.0 <= Duration::from_secs(10), "{delays:?}");
}

#[tokio::test]
async fn a_watch_of_jobs_reporting_no_progress_keeps_to_its_backoff() {
    // Many real CloudStack commands report `jobprocstatus` 0 until they end: no estimate, so the
    // watch ticks by its policy (100 ms here) and sees the finish promptly.
    let silent = jobwire_server::Config { job_duration_ms: 1500, no_job_progress: true, ..Default::default() };
    let server = jobwire_e2e::bench::Server::start(&silent, None).await.expect("server starts");
    let client = ticking_client(server.api.clone(), 100);
    let jobs = deploy_three(&client).await;
    let started = std::time::Instant::now();
    let mut reasons = Vec::new();
    let mut progress = Vec::new();
    let finals = client
        .watch_events(&jobs, |event| match event {
            WaitEvent::Delay { reason, .. } => reasons.push(reason),
            WaitEvent::Status(snapshot) => progress.extend(snapshot.progress.filter(|_| !snapshot.state.is_terminal())),
        })
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    assert!(progress.iter().all(|p| *p == 0.0), "progress reported: {progress:?}");
    assert!(!reasons.contains(&DelayReason::Eta), "{reasons:?}");
    assert!(reasons.len() >= 10, "ticks of 100 ms through 1.5 s jobs: {reasons:?}");
    assert!(took < std::time::Duration::from_millis(2200), "finish seen after {took:?}");
}

#[tokio::test]
async fn watching_new_jobs_does_not_list_the_accounts_whole_history_at_every_tick() {
    let client = ticking_client(start_server(4000).await.expect("server starts"), 500);
    // 1,500 older jobs: with the new ones, four pages of 500 in a full listing.
    for _ in 0..1500 {
        client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let jobs = deploy_three(&client).await;
    let before = client.requests_sent();
    let finals = client.watch(&jobs, |_| {}).await.unwrap();
    let requests = client.requests_sent() - before;
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    // The new jobs run 4 s or less, listings come 0.5 s apart: at most 9 ticks. The first lists
    // everything (four pages); once it showed when the new jobs were created, the others ask
    // only for jobs since then: one page each, 12 requests at most. Full listings at every
    // tick would be four pages for each of at least 5 ticks.
    assert!(requests <= 12, "{requests} requests");
}

#[tokio::test]
async fn call_text_answers_the_raw_xml_of_a_json_client() {
    let client = client(0, Format::Json).await;
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    client.wait(&job.job_id, |_| {}).await.unwrap();
    let request = jobwire::protocol::cloudstack::Request::query_async_job_result(&job.job_id);
    let xml = client.call_text(&request, Format::Xml).await.unwrap();
    assert!(xml.contains("<queryasyncjobresultresponse"), "{xml}");
    assert!(xml.contains(&format!("<jobid>{}</jobid>", job.job_id)), "{xml}");
    assert!(xml.contains("<name>web-1</name>"), "{xml}");
    let json = client.call_text(&request, Format::Json).await.unwrap();
    assert!(json.trim_start().starts_with('{'), "{json}");
    // Refusals stay errors.
    let unknown = jobwire::protocol::cloudstack::Request::query_async_job_result("no-such-job");
    assert!(client.call_text(&unknown, Format::Xml).await.is_err());
}

/// Two waits of one job at once, on clones of one client: one shared wait. Both get every
/// status; the client sends one request per status, not two.
#[tokio::test]
async fn concurrent_waits_of_one_job_poll_it_once() {
    for long_poll_secs in [None, Some(5)] {
        let endpoint = start_server(600).await.unwrap();
        let client =
            JobClient::new(ClientConfig { long_poll_secs, ..config(endpoint, demo_api_key(), Format::Json) }).unwrap();
        let other = client.clone();
        let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
        let before = client.requests_sent();
        let (mut first, mut second) = (0u64, 0u64);
        let (a, b) = tokio::join!(client.wait(&job.job_id, |_| first += 1), other.wait(&job.job_id, |_| second += 1));
        assert_eq!(a.unwrap().state, JobState::Succeeded);
        assert_eq!(b.unwrap().state, JobState::Succeeded);
        assert_eq!(first, second, "{long_poll_secs:?}: both see every status");
        assert!(first >= 1);
        assert_eq!(client.requests_sent() - before, first, "{long_poll_secs:?}: one request per status");
    }
}

/// Each of two shared waits keeps its own deadline: the one that joined late does not end with
/// the first one's timeout, it goes on polling until its own deadline has passed too.
#[tokio::test]
async fn a_late_joining_wait_keeps_its_own_deadline() {
    const DEADLINE_MS: u64 = 700;
    const JOINS_AFTER_MS: u64 = 400;
    for long_poll_secs in [None, Some(5)] {
        let endpoint = start_server(60_000).await.unwrap();
        let policy = PollPolicy { deadline: Some(Duration::from_millis(DEADLINE_MS)), ..fast_policy() };
        let client =
            JobClient::new(ClientConfig { long_poll_secs, policy, ..config(endpoint, demo_api_key(), Format::Json) })
                .unwrap();
        let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
        let begun = std::time::Instant::now();
        let first = client.wait(&job.job_id, |_| {});
        let late = async {
            tokio::time::sleep(std::time::Duration::from_millis(JOINS_AFTER_MS)).await;
            let joined = std::time::Instant::now();
            (client.wait(&job.job_id, |_| {}).await, joined.elapsed())
        };
        let (first, (late, late_waited)) = tokio::join!(first, late);
        assert!(matches!(first, Err(Error::WaitTimedOut { .. })), "{long_poll_secs:?}: {first:?}");
        match late {
            Err(Error::WaitTimedOut { waited_ms, .. }) => {
                // Its own deadline, counted from when it began, not the first wait's.
                assert!(waited_ms >= DEADLINE_MS, "{long_poll_secs:?}: waited {waited_ms} ms");
                assert!(late_waited >= std::time::Duration::from_millis(DEADLINE_MS), "{late_waited:?}");
                assert!(begun.elapsed() >= std::time::Duration::from_millis(JOINS_AFTER_MS + DEADLINE_MS));
            }
            other => panic!("{long_poll_secs:?}: expected WaitTimedOut, got {other:?}"),
        }
    }
}

/// Waits of different jobs on one client share `listAsyncJobs` listings when the server does
/// not hold requests: every job resolves with its own VM, with far fewer requests than the same
/// waits each on a client of its own. The waits are tasks of a multi-threaded runtime: the
/// client's futures are `Send`, and its shared state holds across threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_of_different_jobs_on_one_client_share_listings() {
    const JOBS: u64 = 10;
    let endpoint = start_server(2000).await.unwrap();
    let new_client = || JobClient::new(config(endpoint.clone(), demo_api_key(), Format::Json)).unwrap();
    let mut requests = Vec::new();
    for share in [true, false] {
        let clients: Vec<JobClient> =
            if share { vec![new_client(); JOBS as usize] } else { (0..JOBS).map(|_| new_client()).collect() };
        let mut waits = tokio::task::JoinSet::new();
        for client in &clients {
            let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
            let client = client.clone();
            waits.spawn(async move { (client.wait(&job.job_id, |_| {}).await, job) });
        }
        while let Some(joined) = waits.join_next().await {
            let (outcome, job) = joined.unwrap();
            let snapshot = outcome.unwrap();
            assert_eq!(snapshot.state, JobState::Succeeded);
            assert_eq!(snapshot.job_id, job.job_id);
            let vm = &snapshot.result.as_ref().unwrap()["virtualmachine"];
            assert_eq!(vm["id"], job.resource_id.unwrap().as_str(), "each wait gets its own job's result");
        }
        // Clones share one counter: count each distinct client once.
        requests.push(if share {
            clients[0].requests_sent()
        } else {
            clients.iter().map(JobClient::requests_sent).sum()
        });
    }
    // Status requests only (the submits are the same either way).
    let (shared, alone) = (requests[0] - JOBS, requests[1] - JOBS);
    assert!(shared * 2 <= alone, "shared listings: {shared} status requests, each job alone: {alone}");
}

/// The same status request asked for twice at once goes out once; both get its answer.
#[tokio::test]
async fn identical_polls_at_once_are_sent_once() {
    let client = client(5_000, Format::Json).await;
    let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
    let before = client.requests_sent();
    let (a, b) = tokio::join!(client.poll(&job.job_id), client.poll(&job.job_id));
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(client.requests_sent() - before, 1);
    // Not at once: each is sent.
    client.poll(&job.job_id).await.unwrap();
    assert_eq!(client.requests_sent() - before, 2);
}

/// Stopping one of two waits (a timeout here, an AbortSignal in JavaScript) leaves the other
/// waiting, and it still sees the job finish.
#[tokio::test]
async fn stopping_one_wait_does_not_stop_the_other() {
    for first_stops in [true, false] {
        let client = client(800, Format::Json).await;
        let job = client.submit("deployVirtualMachine", &params(ids::SMALL)).await.unwrap();
        let stopping = tokio::time::timeout(std::time::Duration::from_millis(200), client.wait(&job.job_id, |_| {}));
        let staying = client.wait(&job.job_id, |_| {});
        let (stopped, stayed) = if first_stops {
            tokio::join!(stopping, staying)
        } else {
            let (stayed, stopped) = tokio::join!(staying, stopping);
            (stopped, stayed)
        };
        assert!(stopped.is_err(), "the short wait timed out");
        assert_eq!(stayed.unwrap().state, JobState::Succeeded);
    }
}
