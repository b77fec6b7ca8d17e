//! How a watch asks for `listAsyncJobs`: by pages until a listing showed its size, then in one
//! request (`pagesize=-1`, CloudStack's "unlimited"), and by pages for good from a server that
//! refuses "unlimited"; and when it stops listing: a few jobs of its own among many others are
//! asked for one by one; and where a watch's first listing starts: at the oldest submit by the
//! client's clock (not the account's whole history), from the beginning when the server's clock
//! disagrees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Router};
use jobwire::engine::{CLOCK_SKEW_MARGIN, PER_JOB_MAX};
use jobwire::protocol::cloudstack::signing::format_date;
use jobwire::protocol::date::parse_cloudstack_date;
use jobwire::protocol::JobState;
use jobwire::time::SystemTime;
use jobwire::{ClientConfig, JobClient, SubmittedJob, WaitEvent};
use jobwire_e2e::bench::Server;
use jobwire_e2e::{demo_api_key, deploy_params, ids, serve, soak, ticking_policy};
use jobwire_server::Config;
use serde_json::json;

fn demo_client(endpoint: String, tick_ms: u64) -> JobClient {
    let config = ClientConfig {
        credentials: demo_api_key(),
        policy: ticking_policy(tick_ms),
        long_poll_secs: None,
        ..ClientConfig::new(endpoint)
    };
    JobClient::new(config).expect("valid config")
}

#[tokio::test]
async fn a_watch_of_600_jobs_lists_them_in_one_request_per_tick_once_it_knows_their_number() {
    let config = Config { job_duration_ms: 2500, ..Config::default() };
    let server = Server::start(&config, None).await.expect("server starts");
    let client = demo_client(server.api.clone(), 300);
    let params = deploy_params(ids::SMALL);
    let mut jobs = Vec::new();
    for _ in 0..600 {
        jobs.push(client.submit("deployVirtualMachine", &params).await.expect("submitted"));
    }
    let before = client.requests_sent();
    let mut ticks = 0u64;
    let finals = client
        .watch_events(&jobs, |event| {
            if let WaitEvent::Delay { retries: 0, .. } = event {
                ticks += 1;
            }
        })
        .await
        .expect("watched");
    let requests = client.requests_sent() - before;
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    let listed = requests_answered(&server, "listAsyncJobs").await as u64;
    let asked = requests_answered(&server, "queryAsyncJobResult").await as u64;
    // Every request was a listing or a status of one job: nothing was retried.
    assert_eq!(requests, listed + asked, "{listed} listings, {asked} job statuses");
    // The first listing: two pages of 500 (its size unknown); every later one: one request.
    // When a tick found at most PER_JOB_MAX of the jobs unfinished among the many listed (the
    // last few submits, when the submits took long), the rest of the watch asks for those
    // one by one instead: up to PER_JOB_MAX statuses per tick.
    let listing_ticks = listed - 1;
    assert!(listing_ticks >= 3, "{listing_ticks} listing ticks");
    let per_job_ticks = ticks.checked_sub(listing_ticks).expect("no more listings than ticks");
    let per_job_max = PER_JOB_MAX as u64;
    assert!(
        (asked.div_ceil(per_job_max)..=asked).contains(&per_job_ticks),
        "{ticks} ticks: {listed} listing requests, {asked} statuses"
    );
}

/// A server whose jobs report no progress (so a watch keeps ticking to the end), a client of
/// it, and `own` jobs followed by 100 others of the same account: every listing since the
/// first of them shows the others too.
async fn busy_account(own: usize) -> (Server, JobClient, Vec<SubmittedJob>) {
    let config = Config { job_duration_ms: 3000, no_job_progress: true, ..Config::default() };
    let server = Server::start(&config, None).await.expect("server starts");
    let client = demo_client(server.api.clone(), 300);
    let params = deploy_params(ids::SMALL);
    let mut jobs = Vec::new();
    for _ in 0..own + 100 {
        jobs.push(client.submit("deployVirtualMachine", &params).await.expect("submitted"));
    }
    jobs.truncate(own);
    (server, client, jobs)
}

/// Requests the server answered, by command.
async fn requests_answered(server: &Server, command: &str) -> f64 {
    let metrics = soak::metrics(&server.base).await.expect("metrics");
    soak::sum(&metrics, "jobwire_http_requests_total", &format!("command=\"{command}\""))
}

#[tokio::test]
async fn the_last_few_jobs_among_many_others_are_asked_for_one_by_one() {
    let (server, client, watched) = busy_account(1).await;
    let finals = client.watch(&watched, |_| {}).await.expect("watched");
    assert_eq!(finals[0].state, JobState::Succeeded);
    // The first listing (the job's creation time unknown: everything), then one since its
    // creation showing 101 jobs for 1 of its own: from then on the job alone, every tick.
    assert_eq!(requests_answered(&server, "listAsyncJobs").await, 2.0);
    assert!(requests_answered(&server, "queryAsyncJobResult").await >= 3.0);
}

/// Waits of different jobs share listings (the client's sweeps) only while those are mostly
/// theirs.
#[tokio::test]
async fn waits_among_many_other_jobs_poll_alone_instead_of_sharing_listings() {
    let (server, client, waited) = busy_account(2).await;
    let (a, b) = tokio::join!(client.wait(&waited[0].job_id, |_| {}), client.wait(&waited[1].job_id, |_| {}));
    assert_eq!((a.expect("first").state, b.expect("second").state), (JobState::Succeeded, JobState::Succeeded));
    // One shared listing showed 102 jobs for the 2 waiting: each polls alone from then on.
    assert!(requests_answered(&server, "listAsyncJobs").await <= 1.0);
    assert!(requests_answered(&server, "queryAsyncJobResult").await >= 6.0);
}

/// A stand-in for a CloudStack-like server without "unlimited" listings: three finished jobs,
/// listed by pages of at most 500; `pagesize=-1` is a parameter error (431). Records how each
/// listing was asked for.
async fn server_without_unlimited_listings() -> (String, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let router = Router::new().route(
        "/client/api",
        post(move |Form(params): Form<HashMap<String, String>>| {
            let log = log.clone();
            async move {
                let size = params.get("pagesize").cloned().unwrap_or_default();
                let page = params.get("page").cloned().unwrap_or_default();
                let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if size == "-1" {
                    log.push("unlimited".to_owned());
                    let refusal = json!({"listasyncjobsresponse": {"errorcode": 431, "cserrorcode": 4350,
                        "errortext": "Invalid parameter pagesize value=-1"}});
                    return (StatusCode::from_u16(431).unwrap_or(StatusCode::BAD_REQUEST), refusal.to_string());
                }
                log.push(format!("page {page}"));
                let jobs: Vec<_> = (1..=3)
                    .map(|n| {
                        json!({"jobid": format!("job-{n}"), "jobstatus": 1, "jobprocstatus": 0, "jobresultcode": 0,
                        "jobresulttype": "object", "jobresult": {}, "cmd": "deployVirtualMachine"})
                    })
                    .collect();
                (StatusCode::OK, json!({"listasyncjobsresponse": {"count": 3, "asyncjobs": jobs}}).to_string())
            }
        }),
    );
    (format!("{}/client/api", serve(router).await.expect("stand-in serves")), asked)
}

#[tokio::test]
async fn a_server_that_refuses_unlimited_listings_is_listed_by_pages_from_then_on() {
    let (endpoint, asked) = server_without_unlimited_listings().await;
    let config = ClientConfig { policy: ticking_policy(20), long_poll_secs: None, ..ClientConfig::new(endpoint) };
    let client = JobClient::new(config).expect("valid config");
    let jobs: Vec<SubmittedJob> = (1..=3)
        .map(|n| SubmittedJob {
            job_id: format!("job-{n}"),
            resource_id: None,
            command: "deployVirtualMachine".into(),
            submitted_at: None,
        })
        .collect();
    for _ in 0..3 {
        let finals = client.watch(&jobs, |_| {}).await.expect("watched");
        assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    }
    let asked = asked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    // Size unknown: a page. Then "unlimited", refused, and the listing by pages after all;
    // the third watch pages at once.
    assert_eq!(asked, ["page 1", "unlimited", "page 1", "page 1"]);
}

/// One listing a stand-in server answered: its `startdate` (Unix seconds), and how many jobs it
/// showed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Listed {
    since: Option<i64>,
    shown: usize,
}

/// Seconds since the Unix epoch on the clock the SDK reads.
fn unix_now() -> i64 {
    i64::try_from(jobwire::transport::unix_now()).unwrap_or(i64::MAX)
}

/// A stand-in for a CloudStack whose clock is `skew_secs` off this machine's: a day of history
/// (1,000 finished jobs, one every 86 s) and `own` finished jobs `job-1`… created just now by
/// its clock; `listAsyncJobs` shows those created since `startdate`, all in one answer.
/// Records each listing; any other command is refused (the watch must not ask per job).
async fn skewed_server(skew_secs: i64, own: usize) -> (String, Arc<Mutex<Vec<Listed>>>) {
    let now = unix_now() + skew_secs;
    let job = |id: String, created: i64| {
        json!({"jobid": id, "jobstatus": 1, "jobprocstatus": 0, "jobresultcode": 0, "jobresulttype": "object",
            "jobresult": {}, "cmd": "deployVirtualMachine", "created": format_date(u64::try_from(created).unwrap_or(0))})
    };
    let history = (0..1_000).map(|n| (format!("old-{n}"), now - 86_400 + n * 86));
    let own = (1..=own).map(|n| (format!("job-{n}"), now));
    let jobs: Arc<Vec<(i64, serde_json::Value)>> =
        Arc::new(history.chain(own).map(|(id, created)| (created, job(id, created))).collect());
    let listed = Arc::new(Mutex::new(Vec::new()));
    let log = listed.clone();
    let router = Router::new().route(
        "/client/api",
        post(move |Form(params): Form<HashMap<String, String>>| {
            let (log, jobs) = (log.clone(), jobs.clone());
            async move {
                if params.get("command").map(String::as_str) != Some("listAsyncJobs") {
                    return (StatusCode::from_u16(432).unwrap_or(StatusCode::BAD_REQUEST), String::new());
                }
                let since = params.get("startdate").map(|text| parse_cloudstack_date(text).expect("a startdate"));
                let shown: Vec<_> = jobs
                    .iter()
                    .filter(|(created, _)| since.is_none_or(|since| *created >= since))
                    .map(|(_, job)| job.clone())
                    .collect();
                log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Listed { since, shown: shown.len() });
                let answer = json!({"listasyncjobsresponse": {"count": shown.len(), "asyncjobs": shown}});
                (StatusCode::OK, answer.to_string())
            }
        }),
    );
    (format!("{}/client/api", serve(router).await.expect("stand-in serves")), listed)
}

/// `count` jobs `job-1`… submitted `age_secs` ago (`None`: handles made from bare ids).
fn own_jobs(count: usize, age_secs: Option<u64>) -> Vec<SubmittedJob> {
    let submitted_at = age_secs.map(|secs| SystemTime::now() - jobwire::time::Duration::from_secs(secs));
    (1..=count)
        .map(|n| SubmittedJob {
            job_id: format!("job-{n}"),
            resource_id: None,
            command: "deployVirtualMachine".into(),
            submitted_at,
        })
        .collect()
}

async fn watched_listings(skew_secs: i64, jobs: &[SubmittedJob]) -> Vec<Listed> {
    let (endpoint, listed) = skewed_server(skew_secs, jobs.len()).await;
    let config = ClientConfig { policy: ticking_policy(20), long_poll_secs: None, ..ClientConfig::new(endpoint) };
    let client = JobClient::new(config).expect("valid config");
    let finals = client.watch(jobs, |_| {}).await.expect("watched");
    assert_eq!(finals.len(), jobs.len());
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    let listed = listed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    listed
}

#[tokio::test]
async fn a_watchs_first_listing_starts_at_the_oldest_submit_not_at_the_accounts_history() {
    let before = unix_now();
    let listed = watched_listings(0, &own_jobs(5, Some(30))).await;
    // The client's clock puts the submits 30 s back, less the margin: the day of history stays
    // out of the answer (5 jobs instead of 1,005).
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].shown, 5);
    let margin = CLOCK_SKEW_MARGIN.as_secs() as i64;
    let since = listed[0].since.expect("a startdate");
    assert!((before - 30 - margin - 2..=unix_now() - 30 - margin).contains(&since), "{since} from {before}");
}

#[tokio::test]
async fn a_server_clock_behind_by_more_than_the_margin_costs_one_listing_of_the_history() {
    // Its jobs were created an hour before the client's clock says: the first listing shows
    // none of them, and the watch lists the whole history once, not each job on its own.
    let listed = watched_listings(-3_600, &own_jobs(5, Some(0))).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].shown, 0);
    assert!(listed[0].since.is_some());
    assert_eq!(listed[1], Listed { since: None, shown: 1_005 });
}

#[tokio::test]
async fn a_server_clock_ahead_or_a_few_minutes_behind_changes_nothing() {
    for skew_secs in [3_600, -60] {
        let listed = watched_listings(skew_secs, &own_jobs(5, Some(0))).await;
        assert_eq!(listed.len(), 1, "skew {skew_secs}: {listed:?}");
        assert!(listed[0].since.is_some());
        // Ahead: an hour of history shows too (43 jobs); behind: the own jobs only.
        assert!((5..=5 + 3_600 / 86 + 1).contains(&listed[0].shown), "skew {skew_secs}: {listed:?}");
    }
}

#[tokio::test]
async fn jobs_of_unknown_age_are_listed_from_the_beginning() {
    let listed = watched_listings(0, &own_jobs(5, None)).await;
    assert_eq!(listed, [Listed { since: None, shown: 1_005 }]);
}

/// Waits of jobs submitted together on one client share listings from their first poll on:
/// their submit times start the listing before any answer gave a creation time.
#[tokio::test]
async fn waits_of_jobs_submitted_together_share_even_their_first_polls() {
    const JOBS: usize = 10;
    let config = Config { job_duration_ms: 1500, ..Config::default() };
    let server = Server::start(&config, None).await.expect("server starts");
    let client = demo_client(server.api.clone(), 300);
    let params = deploy_params(ids::SMALL);
    let mut jobs = Vec::new();
    for _ in 0..JOBS {
        jobs.push(client.submit("deployVirtualMachine", &params).await.expect("submitted"));
    }
    let mut waits = tokio::task::JoinSet::new();
    for job in jobs.clone() {
        let client = client.clone();
        waits.spawn(async move { client.wait_job(&job, |_| {}).await.map(|snapshot| (snapshot, job)) });
    }
    while let Some(joined) = waits.join_next().await {
        let (snapshot, job) = joined.expect("joined").expect("waited");
        assert_eq!((snapshot.state, snapshot.job_id), (JobState::Succeeded, job.job_id));
    }
    // Before, each job's first poll went alone (10 status requests), as the first answer
    // gave the creation times listings start at.
    let statuses = requests_answered(&server, "queryAsyncJobResult").await;
    let listings = requests_answered(&server, "listAsyncJobs").await;
    assert!(statuses < 2.0, "{statuses} status requests, {listings} listings");
    assert!(listings >= 1.0);
}
