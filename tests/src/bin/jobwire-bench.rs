//! `jobwire-bench`: the SDK (native Rust build: the protocol and engine code the npm package's
//! wasm core and its engine's JavaScript twin run, with reqwest instead of `fetch`) against the
//! reference server in-process on loopback ports; the per-job section also runs the npm package
//! itself in Node (`$JOBWIRE_PKG`, tests/bench/package.mjs). Prints Markdown tables; `./dev
//! bench` runs it.
//!
//! Detection lag is measured on one clock: the server's job runner reports each finish to a
//! hook in this process (`Instant` when the job's state changed), and the client side takes an
//! `Instant` when the future resolves (or the batch reports the terminal state). No second
//! resolution, no clock skew.
//!
//! Sections (`JOBWIRE_BENCH_SECTIONS`, default `per-job,concurrent,throttled`):
//! - `per-job`: `JOBWIRE_BENCH_JOBS` jobs (default 40) per way of waiting, submitted 250 ms
//!   apart, all ways at once on one server; log-normal durations, median 4 s, p95 15 s (the
//!   default of `server/scenarios/realistic.json`).
//! - `concurrent`: 1,000 jobs at once (median 8 s, p95 20 s: VM deploys) followed by one batch
//!   `watch` vs one wait (or poll loop) per job, each on a server of its own, all at the same time.
//! - `throttled`: 10,000 jobs of one account (median 15 s, p95 30 s, so they are still running
//!   when the watch starts) followed by one `watch` with the server's throttling at CloudStack's
//!   default, 25 requests per second.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jobwire::engine::{LISTING_PAGE_SIZE, ONE_REQUEST_MAX_JOBS};
use jobwire::protocol::{JobSnapshot, JobState};
use jobwire::{ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, JobClient, SubmittedJob};
use jobwire_e2e::bench::{percentile, Server};
use jobwire_e2e::{demo, ids};
use jobwire_server::throttle::Throttling;
use jobwire_server::Config;
use serde_json::json;
use tokio::runtime::Handle;

fn config(median_ms: u64, p95_ms: u64, seed: u64) -> Config {
    Config { job_duration_ms: median_ms, job_duration_p95_ms: Some(p95_ms), seed, ..Config::default() }
}

/// Starts a server on the servers' runtime (its own threads); the clients run on this one.
async fn start(servers: &Handle, config: Config, throttling: Option<Throttling>) -> Arc<Server> {
    let server = servers.spawn(async move { Server::start(&config, throttling).await });
    Arc::new(server.await.expect("server task").expect("server starts"))
}

fn cloudstack(api: &str, long_poll_secs: Option<u32>) -> JobClient {
    cloudstack_sharing(api, long_poll_secs, true)
}

/// A client whose concurrent waits share listings (the default) or not (each polls its job).
fn cloudstack_sharing(api: &str, long_poll_secs: Option<u32>, share_listings: bool) -> JobClient {
    let credentials =
        Credentials::ApiKey(ApiKeyCredentials { api_key: demo::API_KEY.into(), secret_key: demo::SECRET_KEY.into() });
    let config = ClientConfig { credentials, long_poll_secs, share_listings, ..ClientConfig::new(api) };
    JobClient::new(config).unwrap_or_else(|e| panic!("client for {api}: {e}"))
}

async fn deploy(client: &JobClient) -> jobwire::Result<SubmittedJob> {
    let params = [("zoneid", ids::ZONE), ("serviceofferingid", ids::SMALL), ("templateid", ids::TEMPLATE)]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    client.submit("deployVirtualMachine", &params).await
}

/// Submits `n` deploys, `parallel` at a time.
async fn submit_many(client: &JobClient, n: usize, parallel: usize) -> Vec<SubmittedJob> {
    let next = Arc::new(AtomicUsize::new(0));
    let jobs = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let (client, next, jobs) = (client.clone(), Arc::clone(&next), Arc::clone(&jobs));
        workers.spawn_local(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                match deploy(&client).await {
                    Ok(job) => jobs.lock().unwrap_or_else(|p| p.into_inner()).push(job),
                    Err(error) => eprintln!("bench: submit failed: {error}"),
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let jobs = std::mem::take(&mut *jobs.lock().unwrap_or_else(|p| p.into_inner()));
    jobs
}

/// Milliseconds between two instants, negative when `b` is before `a`.
fn ms_between(a: Instant, b: Instant) -> f64 {
    match b.checked_duration_since(a) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(a.duration_since(b).as_secs_f64() * 1000.0),
    }
}

fn fmt_ms(value: Option<f64>) -> String {
    match value {
        Some(ms) if ms >= 10_000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) if ms >= 1000.0 => format!("{:.2} s", ms / 1000.0),
        Some(ms) if ms >= 10.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{ms:.1} ms"),
        None => "–".into(),
    }
}

// --- per job ------------------------------------------------------------------------------

/// How one job is waited for.
#[derive(Clone, Copy)]
enum Way {
    LongPoll,
    Backoff,
    ClmRun,
    Fixed(u64),
    /// `@azure/core-lro`'s poller with its defaults, in Node (tests/bench/peer/corelro.mjs).
    CoreLro,
    /// The npm package in Node (tests/bench/package.mjs), waiting as the given native way does.
    Package(PackageWay),
}

/// How the npm package waits (`JOBWIRE_WAY` of tests/bench/package.mjs).
#[derive(Clone, Copy)]
enum PackageWay {
    LongPoll,
    Backoff,
    ClmRun,
}

impl PackageWay {
    fn name(self) -> &'static str {
        match self {
            PackageWay::LongPoll => "long-poll",
            PackageWay::Backoff => "backoff",
            PackageWay::ClmRun => "clm-run",
        }
    }
}

impl Way {
    fn label(self) -> String {
        match self {
            Way::LongPoll => "Jobwire CloudStack `wait()`, long-poll (`Prefer: wait=20`)".into(),
            Way::Backoff => {
                "Jobwire CloudStack `wait()`, no long-poll (shared listings, ETA from progress, learned window, backoff)"
                    .into()
            }
            Way::ClmRun => "Jobwire CLM `run()` (operation held, `timeout` 30 s)".into(),
            Way::Fixed(ms) => format!("fixed {} s polling (`poll()` loop: cs, cloudmonkey, libcloud)", ms / 1000),
            Way::CoreLro => "`@azure/core-lro` 3.3.1 `createHttpPoller`, defaults (Node, adapted to CloudStack)".into(),
            Way::Package(PackageWay::LongPoll) => "npm package (Node): CloudStack `wait()`, long-poll".into(),
            Way::Package(PackageWay::Backoff) => "npm package (Node): CloudStack `wait()`, no long-poll".into(),
            Way::Package(PackageWay::ClmRun) => "npm package (Node): CLM `run()`".into(),
        }
    }
}

struct PerJob {
    way: Way,
    jobs: usize,
    requests: u64,
    lags: Vec<f64>,
    failures: usize,
}

async fn wait_one(way: Way, client: &JobClient, job: &SubmittedJob) -> jobwire::Result<JobSnapshot> {
    match way {
        Way::Fixed(ms) => loop {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let snapshot = client.poll(&job.job_id).await?;
            if snapshot.state.is_terminal() {
                return Ok(snapshot);
            }
        },
        _ => client.wait_job(job, |_| {}).await,
    }
}

/// `node <script>` in `dir` (under tests/bench), told the reference server's addresses and the
/// demo credentials.
fn node(dir: &str, script: &str, server: &Server) -> std::process::Command {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench");
    let mut command = std::process::Command::new("node");
    command
        .arg(script)
        .current_dir(bench.join(dir))
        .env("JOBWIRE_API", &server.api)
        .env("JOBWIRE_BASE", &server.base)
        .env("JOBWIRE_API_KEY", demo::API_KEY)
        .env("JOBWIRE_SECRET_KEY", demo::SECRET_KEY)
        .env("JOBWIRE_USERNAME", demo::USERNAME)
        .env("JOBWIRE_PASSWORD", demo::PASSWORD);
    command
}

/// Runs a Node bench script and reads the JSON line it prints, with the clock anchor that maps
/// its wall-clock times (Unix ms) to this process's `Instant`s; `None` when it failed.
async fn run_node(mut command: std::process::Command, what: String) -> Option<(serde_json::Value, Anchor)> {
    let anchor = Anchor::now();
    let output = match tokio::task::spawn_blocking(move || command.output()).await {
        Ok(Ok(output)) if output.status.success() => output,
        other => {
            eprintln!("jobwire-bench: {what} failed: {other:?}");
            return None;
        }
    };
    match serde_json::from_slice(&output.stdout) {
        Ok(report) => Some((report, anchor)),
        Err(error) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            eprintln!("jobwire-bench: {what} printed no report ({error}); stderr: {stderr}");
            None
        }
    }
}

/// One moment on both clocks: Node reports wall-clock times, the server's finishes are `Instant`s.
#[derive(Clone, Copy)]
struct Anchor {
    instant: Instant,
    unix_ms: f64,
}

impl Anchor {
    fn now() -> Self {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Anchor { instant: Instant::now(), unix_ms: since_epoch.as_secs_f64() * 1000.0 }
    }

    fn unix_ms(self, at: Instant) -> f64 {
        self.unix_ms + ms_between(self.instant, at)
    }

    fn instant(self, unix_ms: f64) -> Instant {
        let offset = Duration::from_secs_f64(((unix_ms - self.unix_ms) / 1000.0).abs().min(1e9));
        if unix_ms >= self.unix_ms {
            self.instant + offset
        } else {
            self.instant.checked_sub(offset).unwrap_or(self.instant)
        }
    }
}

/// The npm package's bench script is there to run: `$JOBWIRE_PKG` names the package.
fn package_dir() -> Option<std::ffi::OsString> {
    let pkg = std::env::var_os("JOBWIRE_PKG");
    if pkg.is_none() {
        eprintln!("jobwire-bench: no npm package rows (JOBWIRE_PKG is not set)");
    }
    pkg
}

/// A row measured in Node: `@azure/core-lro` (tests/bench/peer/corelro.mjs) or the npm package
/// (tests/bench/package.mjs) waiting for `n` jobs; `None` when Node, the peer packages (`npm ci`
/// in tests/bench/peer) or the package are missing.
async fn per_job_node(server: Arc<Server>, way: Way, n: usize) -> Option<PerJob> {
    let mut command = match way {
        Way::Package(package_way) => {
            let mut command = node(".", "package.mjs", &server);
            command.env("JOBWIRE_PKG", package_dir()?).env("JOBWIRE_WAY", package_way.name());
            command
        }
        _ => {
            let peer = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/peer");
            if !peer.join("node_modules/@azure/core-lro").is_dir() {
                eprintln!("jobwire-bench: no core-lro row ({} has no node_modules; npm ci there)", peer.display());
                return None;
            }
            node("peer", "corelro.mjs", &server)
        }
    };
    let deploy = format!("zoneid={}&serviceofferingid={}&templateid={}", ids::ZONE, ids::SMALL, ids::TEMPLATE);
    command.env("JOBWIRE_JOBS", n.to_string()).env("JOBWIRE_SPACING_MS", "250").env("JOBWIRE_DEPLOY", deploy);
    let (report, anchor) = run_node(command, way.label()).await?;
    let done = report["jobs"].as_array().into_iter().flatten();
    let lags: Vec<f64> = done
        .filter_map(|job| {
            let finished = server.finished_at(job["jobId"].as_str()?)?;
            Some(job["resolvedAtMs"].as_f64()? - anchor.unix_ms(finished))
        })
        .collect();
    let requests = report["requests"].as_u64().unwrap_or(0);
    Some(PerJob { way, jobs: n, requests, failures: n - lags.len(), lags })
}

/// What the npm package's `watch(jobs)` saw in Node: its terminal reports, and when each request
/// went out.
async fn package_watch(server: &Server, jobs: &[SubmittedJob]) -> Option<(Reports, Vec<Instant>)> {
    let tokens: Vec<serde_json::Value> = jobs
        .iter()
        .map(|job| {
            let submitted = job.submitted_at.and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok());
            json!({ "jobId": job.job_id, "command": job.command, "submittedAt": submitted.map(|d| d.as_millis() as u64) })
        })
        .collect();
    let file = std::env::temp_dir().join(format!("jobwire-bench-watch-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&tokens).ok()?).ok()?;
    let mut command = node(".", "package.mjs", server);
    command.env("JOBWIRE_PKG", package_dir()?).env("JOBWIRE_WAY", "watch").env("JOBWIRE_JOBS_FILE", &file);
    let outcome = run_node(command, "the npm package's watch".into()).await;
    let _ = std::fs::remove_file(&file);
    let (report, anchor) = outcome?;
    let mut reports = Reports::new();
    for seen in report["reports"].as_array().into_iter().flatten() {
        let state = match seen["state"].as_str()? {
            "succeeded" => JobState::Succeeded,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Failed,
        };
        let at = anchor.instant(seen["atMs"].as_f64()?);
        reports.entry(seen["jobId"].as_str()?.to_owned()).or_default().push((state, at));
    }
    let sent = report["requestTimes"].as_array().into_iter().flatten();
    Some((reports, sent.filter_map(|at| Some(anchor.instant(at.as_f64()?))).collect()))
}

async fn per_job_way(server: Arc<Server>, way: Way, n: usize) -> PerJob {
    let long_poll = matches!(way, Way::LongPoll).then_some(20);
    let client = cloudstack(&server.api, long_poll);
    let clm = ClmClient::new(ClmConfig::new(&server.base, demo::USERNAME, demo::PASSWORD))
        .unwrap_or_else(|e| panic!("CLM client: {e}"));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (server, client, clm) = (Arc::clone(&server), client.clone(), clm.clone());
        tasks.spawn_local(async move {
            tokio::time::sleep(Duration::from_millis(250 * i as u64)).await;
            let (id, done) = match way {
                Way::ClmRun => {
                    let body = json!({ "name": format!("bench-{i}") });
                    let snapshot = clm.run("ComputeContainer", body, 30, |_| {}).await.ok()?;
                    let done = Instant::now();
                    // Held to the end: the created object (its guid); else the task id.
                    let guid = snapshot.result.as_ref().and_then(|r| r[0]["guid"].as_str()).map(str::to_owned);
                    (guid.filter(|_| snapshot.job_id.is_empty()).unwrap_or(snapshot.job_id), done)
                }
                _ => {
                    let job = deploy(&client).await.ok()?;
                    wait_one(way, &client, &job).await.ok()?;
                    (job.job_id, Instant::now())
                }
            };
            Some(ms_between(server.finished_at(&id)?, done))
        });
    }
    let mut lags = Vec::new();
    let mut failures = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome {
            Ok(Some(lag)) => lags.push(lag),
            _ => failures += 1,
        }
    }
    let requests = if matches!(way, Way::ClmRun) { clm.requests_sent() } else { client.requests_sent() };
    PerJob { way, jobs: n, requests, lags, failures }
}

async fn per_job(servers: &Handle, n: usize) {
    let server = start(servers, config(4000, 15_000, 7), None).await;
    println!(
        "\n### Per job: requests and detection lag ({n} jobs per row, log-normal durations median 4 s, p95 15 s)\n"
    );
    let started = Instant::now();
    let ways = [Way::LongPoll, Way::Backoff, Way::ClmRun, Way::Fixed(1000), Way::Fixed(2000)];
    let runs = ways.map(|way| tokio::task::spawn_local(per_job_way(Arc::clone(&server), way, n)));
    let in_node = [
        Way::CoreLro,
        Way::Package(PackageWay::LongPoll),
        Way::Package(PackageWay::Backoff),
        Way::Package(PackageWay::ClmRun),
    ]
    .map(|way| tokio::task::spawn_local(per_job_node(Arc::clone(&server), way, n)));
    let mut rows = Vec::new();
    for run in runs {
        rows.push(run.await.expect("bench task"));
    }
    for run in in_node {
        rows.extend(run.await.expect("bench task"));
    }
    println!("| way of waiting | requests/job | lag p50 | lag p95 | jobs failed |");
    println!("|---|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {:.2} | {} | {} | {} |",
            row.way.label(),
            row.requests as f64 / row.jobs as f64,
            fmt_ms(percentile(&row.lags, 50.0)),
            fmt_ms(percentile(&row.lags, 95.0)),
            row.failures
        );
    }
    println!(
        "\n(requests/job counts every request of the row's client: submit, status requests, retries, the CLM login; \
         lag = the instant the future resolved − the instant the server's job runner finished the job; {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    let find = |pick: fn(&Way) -> bool| rows.iter().find(|r| pick(&r.way));
    let p50 = |row: Option<&PerJob>| row.and_then(|r| percentile(&r.lags, 50.0)).unwrap_or(f64::INFINITY);
    let per_job_requests = |row: Option<&PerJob>| row.map_or(f64::INFINITY, |r| r.requests as f64 / r.jobs as f64);
    let one_second = find(|w| matches!(w, Way::Fixed(1000)));
    let cloudstack_waits = [
        ("long-poll", find(|w| matches!(w, Way::LongPoll))),
        ("no long-poll", find(|w| matches!(w, Way::Backoff))),
        ("npm package, long-poll", find(|w| matches!(w, Way::Package(PackageWay::LongPoll)))),
        ("npm package, no long-poll", find(|w| matches!(w, Way::Package(PackageWay::Backoff)))),
    ];
    println!("\n| goal | measured | met |\n|---|---|---|");
    let clms = [
        ("", find(|w| matches!(w, Way::ClmRun))),
        (" (npm package)", find(|w| matches!(w, Way::Package(PackageWay::ClmRun)))),
    ];
    for (label, clm) in clms {
        let clm_met = p50(clm) <= 50.0 && per_job_requests(clm) <= 3.0;
        println!(
            "| CLM{label} p50 lag ≤ 50 ms with ≤ 3 requests/job | {} with {:.2} requests/job | {} |",
            fmt_ms(Some(p50(clm))),
            per_job_requests(clm),
            yes(clm_met)
        );
    }
    for (label, row) in cloudstack_waits {
        let fewer = per_job_requests(one_second) / per_job_requests(row);
        // Every way sends the submit: requests/job cannot go below 1 + one status request, so
        // the status requests alone are shown beside the goal's measure (all requests).
        let fewer_polls = (per_job_requests(one_second) - 1.0) / (per_job_requests(row) - 1.0);
        let met = fewer >= 3.0 && p50(row) <= p50(one_second);
        println!(
            "| CloudStack ({label}): ≥ 3× fewer requests than 1 s polling at equal or lower p50 lag | {fewer:.2}× fewer (status requests alone: {fewer_polls:.1}×), p50 {} vs {} | {} |",
            fmt_ms(Some(p50(row))),
            fmt_ms(Some(p50(one_second))),
            yes(met)
        );
    }
    if let Some(peer) = find(|w| matches!(w, Way::CoreLro)) {
        for (label, row) in cloudstack_waits {
            println!(
                "| (no goal) CloudStack ({label}) vs `@azure/core-lro` defaults | {:.1}× fewer requests, p50 {} vs {} | — |",
                per_job_requests(Some(peer)) / per_job_requests(row),
                fmt_ms(Some(p50(row))),
                fmt_ms(Some(p50(Some(peer))))
            );
        }
    }
}

fn yes(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "**no**"
    }
}

// --- 1,000 at once --------------------------------------------------------------------------

/// How a set of jobs is followed.
#[derive(Clone, Copy)]
enum Follow {
    Watch,
    /// The npm package's `watch(jobs)`, in Node.
    PackageWatch,
    Waits(Option<u32>),
    Polls(u64),
}

impl Follow {
    fn label(self) -> String {
        match self {
            Follow::Watch => format!(
                "batched: one `watch(jobs)` (`listAsyncJobs`, all in one request up to {ONE_REQUEST_MAX_JOBS} jobs, \
                 else {LISTING_PAGE_SIZE} per page)"
            ),
            Follow::PackageWatch => "batched: the npm package's `watch(jobs)` (Node)".into(),
            Follow::Waits(Some(_)) => "per job: `wait()` each, long-poll".into(),
            Follow::Waits(None) => {
                "per job: `wait()` each, no long-poll (ETA, learned window, backoff; listings not shared)".into()
            }
            Follow::Polls(ms) => format!("per job: `poll()` every {} s", ms / 1000),
        }
    }
}

struct Tracked {
    follow: Follow,
    jobs: usize,
    requests: u64,
    took: Duration,
    lags: Vec<f64>,
    correct: usize,
    duplicates: usize,
    already_done: usize,
    throttled: u64,
    /// Requests until half of the jobs had finished, and how long that took: the steady state,
    /// with most jobs running (the whole run's average is dominated by the last few jobs).
    half_way: (u64, Duration),
}

impl Tracked {
    /// Requests per second while at least half of the jobs were running.
    fn rate(&self) -> f64 {
        self.half_way.0 as f64 / self.half_way.1.as_secs_f64().max(0.001)
    }
}

/// Terminal reports seen per job id: (state, when).
type Reports = HashMap<String, Vec<(JobState, Instant)>>;

/// Follows `jobs` on `server` with `client` the way `follow` says; checks every outcome against
/// the server's own record.
async fn track(server: &Server, client: &JobClient, follow: Follow, jobs: Vec<SubmittedJob>) -> Tracked {
    let n = jobs.len();
    let before = client.requests_sent();
    let started = Instant::now();
    let already_done = jobs.iter().filter(|job| server.finished_at(&job.job_id).is_some()).count();
    // Terminal reports per job: (state, when).
    let reports: Arc<Mutex<Reports>> = Arc::default();
    let half_way = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let done = jobs.iter().filter(|job| server.finished_at(&job.job_id).is_some()).count();
            if done * 2 >= n {
                return (client.requests_sent() - before, started.elapsed());
            }
        }
    };
    // When each of the npm package's requests went out (it counts its own, in Node).
    let mut package_requests: Option<Vec<Instant>> = None;
    let following = async {
        match follow {
            Follow::PackageWatch => {
                if let Some((seen, sent)) = package_watch(server, &jobs).await {
                    *reports.lock().unwrap_or_else(|p| p.into_inner()) = seen;
                    package_requests = Some(sent);
                }
            }
            Follow::Watch => {
                let record = Arc::clone(&reports);
                let outcome = client
                    .watch(&jobs, move |snapshot| {
                        if snapshot.state.is_terminal() {
                            let mut reports = record.lock().unwrap_or_else(|p| p.into_inner());
                            reports.entry(snapshot.job_id.clone()).or_default().push((snapshot.state, Instant::now()));
                        }
                    })
                    .await;
                if let Err(error) = outcome {
                    eprintln!("bench: watch failed: {error}");
                }
            }
            Follow::Waits(_) | Follow::Polls(_) => {
                let way = match follow {
                    Follow::Polls(ms) => Way::Fixed(ms),
                    _ => Way::LongPoll,
                };
                let mut tasks = tokio::task::JoinSet::new();
                for job in jobs.iter().cloned() {
                    let (client, record) = (client.clone(), Arc::clone(&reports));
                    tasks.spawn_local(async move {
                        let state = match wait_one(way, &client, &job).await {
                            Ok(snapshot) => snapshot.state,
                            Err(jobwire::Error::JobFailed { .. }) => JobState::Failed,
                            Err(error) => {
                                eprintln!("bench: wait failed: {error}");
                                return;
                            }
                        };
                        let mut reports = record.lock().unwrap_or_else(|p| p.into_inner());
                        reports.entry(job.job_id).or_default().push((state, Instant::now()));
                    });
                }
                while tasks.join_next().await.is_some() {}
            }
        }
    };
    let ((), mut half_way) = tokio::join!(following, half_way);
    let took = started.elapsed();
    let mut requests = client.requests_sent() - before;
    if let Some(sent) = package_requests {
        let half = started + half_way.1;
        requests = sent.len() as u64;
        half_way.0 = sent.iter().filter(|at| **at <= half).count() as u64;
    }
    let reports = std::mem::take(&mut *reports.lock().unwrap_or_else(|p| p.into_inner()));
    let (mut lags, mut correct, mut duplicates) = (Vec::new(), 0, 0);
    for job in &jobs {
        let Some(seen) = reports.get(&job.job_id) else { continue };
        duplicates += seen.len().saturating_sub(1);
        let (state, at) = seen[0];
        let truth = server.state.hub.job(&job.job_id).map(|j| j.is_finished()).unwrap_or(false);
        let server_state = server.state.hub.job(&job.job_id).map(|j| match j.state {
            jobwire_server::model::JobState::Succeeded { .. } => JobState::Succeeded,
            _ => JobState::Failed,
        });
        if truth && server_state == Some(if state == JobState::Cancelled { JobState::Failed } else { state }) {
            correct += 1;
        }
        if let Some(finish) = server.finished_at(&job.job_id) {
            // Jobs that finished before the tracking began have no detection lag to speak of.
            if finish >= started {
                lags.push(ms_between(finish, at));
            }
        }
    }
    Tracked { follow, jobs: n, requests, took, lags, correct, duplicates, already_done, throttled: 0, half_way }
}

fn print_tracked(rows: &[Tracked], baseline: &Tracked) {
    println!(
        "| following | jobs | requests | requests/job | took | requests/s (≥ half running) | vs batched | lag p50 | lag p95 | resolved correctly | reported twice |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let ratio = row.rate() / baseline.rate().max(1e-9);
        println!(
            "| {} | {} | {} | {:.3} | {:.1} s | {:.1} | {} | {} | {} | {}/{} | {} |",
            row.follow.label(),
            row.jobs,
            row.requests,
            row.requests as f64 / row.jobs.max(1) as f64,
            row.took.as_secs_f64(),
            row.rate(),
            if std::ptr::eq(row, baseline) { "1×".into() } else { format!("{ratio:.0}×") },
            fmt_ms(percentile(&row.lags, 50.0)),
            fmt_ms(percentile(&row.lags, 95.0)),
            row.correct,
            row.jobs,
            row.duplicates
        );
    }
}

async fn concurrent(servers: &Handle, n: usize) {
    println!(
        "\n### {n} concurrent CloudStack jobs: batched vs per job (log-normal durations median 8 s, p95 20 s, as deploys)\n"
    );
    let mut follows = vec![Follow::Watch, Follow::Waits(Some(20)), Follow::Waits(None), Follow::Polls(2000)];
    if std::env::var_os("JOBWIRE_PKG").is_some() {
        follows.push(Follow::PackageWatch);
    }
    let runs = follows.into_iter().map(|follow| {
        let servers = servers.clone();
        tokio::task::spawn_local(async move {
            let server = start(&servers, config(8000, 20_000, 11), None).await;
            let long_poll = match follow {
                Follow::Waits(secs) => secs,
                _ => None,
            };
            // Per job means per job here: the waits do not share listings (that is batching).
            let client = cloudstack_sharing(&server.api, long_poll, false);
            let jobs = submit_many(&client, n, 32).await;
            track(&server, &client, follow, jobs).await
        })
    });
    let runs: Vec<_> = runs.collect();
    let mut rows = Vec::new();
    for run in runs {
        rows.push(run.await.expect("bench task"));
    }
    print_tracked(&rows, &rows[0]);
    println!("\n| goal | measured | met |\n|---|---|---|");
    let batched_rows = rows.iter().filter(|row| matches!(row.follow, Follow::Watch | Follow::PackageWatch));
    for batched in batched_rows {
        let who = if matches!(batched.follow, Follow::PackageWatch) { " (npm package)" } else { "" };
        for row in rows.iter().filter(|row| matches!(row.follow, Follow::Waits(_) | Follow::Polls(_))) {
            let fewer = row.rate() / batched.rate().max(1e-9);
            let all_ok = batched.correct == batched.jobs && batched.duplicates == 0;
            println!(
                "| ≥ 100× fewer requests/s batched{who} than {}, every job resolved correctly | {fewer:.0}×, {}/{} correct | {} |",
                row.follow.label().trim_start_matches("per job: "),
                batched.correct,
                batched.jobs,
                yes(fewer >= 100.0 && all_ok)
            );
        }
    }
    println!(
        "\n(each row on a server of its own with the same seeded durations, all rows at the same time; requests/s = requests sent \
         until half of the jobs had finished ÷ that time, the steady state with most of the {n} jobs running; requests/job = all requests \
         until the last job was reported ÷ jobs)"
    );
}

async fn throttled(servers: &Handle, n: usize) {
    println!(
        "\n### {n} concurrent CloudStack jobs of one account, throttling on (25 requests/s, CloudStack's default)\n"
    );
    let mut follows = vec![Follow::Watch];
    if std::env::var_os("JOBWIRE_PKG").is_some() {
        follows.push(Follow::PackageWatch);
    }
    // One after the other, each on a server of its own: the throttle is per server.
    for follow in follows {
        throttled_row(servers, n, follow).await;
    }
}

async fn throttled_row(servers: &Handle, n: usize, follow: Follow) {
    let throttling = Throttling { enabled: true, interval_ms: 1000, max: 25 };
    let server = start(servers, config(15_000, 30_000, 13), Some(throttling)).await;
    let submit_started = Instant::now();
    let jobs = submit_many(&cloudstack(&server.open_api, None), n, 64).await;
    let submitting = submit_started.elapsed();
    let probe = cloudstack(&server.open_api, None);
    let page = [("page", "1"), ("pagesize", "500")].map(|(k, v)| (k.to_owned(), v.to_owned()));
    let page_started = Instant::now();
    let _ = probe.call_value("listAsyncJobs", &page).await;
    let page_took = page_started.elapsed();
    let client = cloudstack(&server.api, None);
    let mut row = track(&server, &client, follow, jobs).await;
    row.throttled = server.throttled();
    print_tracked(std::slice::from_ref(&row), &row);
    let p50 = percentile(&row.lags, 50.0).unwrap_or(f64::INFINITY);
    let everyone = row.correct == row.jobs && row.duplicates == 0;
    let who = if matches!(follow, Follow::PackageWatch) { " (npm package)" } else { "" };
    println!("\n| goal | measured | met |\n|---|---|---|");
    println!(
        "| every job resolves{who} | {}/{} correct, {} reported twice | {} |",
        row.correct,
        row.jobs,
        row.duplicates,
        yes(everyone)
    );
    println!("| no 429 after the first{who} | {} refused in all | {} |", row.throttled, yes(row.throttled <= 1));
    println!("| p50 detection lag ≤ 2 s{who} | {} | {} |", fmt_ms(Some(p50)), yes(p50 <= 2000.0));
    println!(
        "\n(the {n} jobs were submitted in {:.1} s through a second, unthrottled port of the same server (submitting them at 25/s would take {:.0} s); \
         {} of them had finished before the watch began and count for correctness, not for lag; per-job polling every 2 s would need {} requests/s; \
         one page of 500 took {} to fetch and parse before the watch began)\n",
        submitting.as_secs_f64(),
        n as f64 / 25.0,
        row.already_done,
        n / 2,
        fmt_ms(Some(page_took.as_secs_f64() * 1000.0))
    );
}

/// The servers get a runtime of their own (two worker threads, as a deployment would); the
/// clients run on one thread, as in a browser or Node.
fn main() -> ExitCode {
    let runtime = |threads: Option<usize>| {
        let mut builder = match threads {
            Some(n) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
            None => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build().expect("tokio runtime")
    };
    let (servers, clients) = (runtime(Some(2)), runtime(None));
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let sections = std::env::var("JOBWIRE_BENCH_SECTIONS").unwrap_or_else(|_| "per-job,concurrent,throttled".into());
    println!(
        "SDK benchmarks: the SDK's native build (the protocol and engine code of the npm package's wasm core and of its \
         engine's JavaScript twin; reqwest instead of fetch), and the npm package itself in Node (rows marked so), against \
         the reference server in-process on loopback."
    );
    let handle = servers.handle().clone();
    tokio::task::LocalSet::new().block_on(&clients, async {
        for section in sections.split(',').map(str::trim) {
            match section {
                "per-job" => per_job(&handle, env("JOBWIRE_BENCH_JOBS", 40)).await,
                "concurrent" => concurrent(&handle, env("JOBWIRE_BENCH_CONCURRENT", 1000)).await,
                "throttled" => throttled(&handle, env("JOBWIRE_BENCH_THROTTLED", 10_000)).await,
                other => {
                    eprintln!("jobwire-bench: unknown section {other:?} (per-job, concurrent, throttled)");
                    return ExitCode::from(2);
                }
            }
        }
        ExitCode::SUCCESS
    })
}
