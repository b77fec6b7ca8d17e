//! The fault soak's driver, shared by `tests/tests/soak.rs` (in-process server, 1,000 jobs in
//! `./dev test`, 10,000 in `./dev bench`) and `server/tests/soak_restart.rs` (the real binary,
//! SIGKILLed and restarted mid-run; included there with `#[path]`, so it uses only `jobwire`,
//! `tokio` and `std`).
//!
//! Jobs go out in batches of [`Plan::batch`], each batch's submits at once, on several lanes (one
//! tenant each, so a lane's `listAsyncJobs` shows only its own jobs). Lanes take turns at the
//! three ways to follow jobs: `watch` (one listing per tick), `wait_job` polling, and `wait_job`
//! with long-polls. Every terminal report is counted per job; [`verify`] then compares them with
//! the server's own view through fault-free clients.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobwire::engine::PollPolicy;
use jobwire::protocol::cloudstack::{parse_job_list, Request};
use jobwire::protocol::{Format, JobState};
use jobwire::transport::{self, HttpRequest, Method};
use jobwire::{ApiKeyCredentials, ClientConfig, Credentials, Error, JobClient, SubmittedJob, WaitEvent};
use serde_json::Value;
use tokio::task::{JoinSet, LocalSet};

/// Zone "Zurich-1".
pub const ZONE: &str = "a1f2c3d4-0000-4000-8000-000000000001";
/// "Small Instance": deploys succeed (unless the scenario's failure rate strikes).
pub const SMALL: &str = "b1f2c3d4-0000-4000-8000-000000000001";
/// "Huge Instance": deploys fail with 533.
pub const HUGE: &str = "b1f2c3d4-0000-4000-8000-000000000003";
/// Template "Debian 12".
pub const TEMPLATE: &str = "c1f2c3d4-0000-4000-8000-000000000001";

/// Jobs per `listAsyncJobs` page, as the SDK asks for them.
const PAGE_SIZE: usize = 500;

/// The soak's fault mix, in `--fault` syntax: every kind, the after-handler ones included, 429
/// and 503 with `Retry-After: 1`, and latency — mostly short, sometimes a 1.5 s spike.
pub const FAULTS: &[&str] = &[
    "latency:200@2",
    "latency:1500",
    "status429:1",
    "status500",
    "status502",
    "status503:1",
    "drop",
    "drop_after",
    "truncate",
    "malformed",
];

/// How the soak is run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Jobs in all.
    pub jobs: usize,
    /// Jobs submitted at once per lane.
    pub batch: usize,
    /// Transient failures tolerated in a row per call.
    pub max_retries: u32,
    /// The clients' poll policy.
    pub policy: PollPolicy,
    /// `Prefer: wait` of the long-poll clients.
    pub long_poll_secs: u32,
    /// JSON or XML answers.
    pub format: Format,
}

impl Plan {
    /// `jobs` jobs in batches of 50, 10 retries, a quick poll policy with a 2-minute deadline.
    pub fn new(jobs: usize) -> Self {
        Plan {
            jobs,
            batch: 50,
            max_retries: 10,
            policy: PollPolicy {
                first_delay: Duration::from_millis(100),
                min_interval: Duration::from_millis(50),
                max_interval: Duration::from_millis(400),
                multiplier: 1.6,
                deadline: Some(Duration::from_secs(120)),
            },
            long_poll_secs: 10,
            format: Format::Json,
        }
    }
}

/// One tenant (user) and how its clients sign in.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Who it is (lanes with the same name share the user and its listing).
    pub name: String,
    /// API key or session credentials.
    pub credentials: Credentials,
}

impl Tenant {
    /// A tenant signing with an API key.
    pub fn api_key(api_key: &str, secret_key: &str) -> Self {
        let credentials =
            Credentials::ApiKey(ApiKeyCredentials { api_key: api_key.into(), secret_key: secret_key.into() });
        Tenant { name: api_key.into(), credentials }
    }
}

/// How a batch's jobs are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `JobClient::watch`: one `listAsyncJobs` listing per tick for the whole batch.
    Watch,
    /// `JobClient::wait_job` per job, polling on the policy.
    Poll,
    /// `JobClient::wait_job` per job with `Prefer: wait` long-polls.
    LongPoll,
}

/// One job as the soak saw it.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Its lane (tenant).
    pub lane: usize,
    /// What `submit` returned.
    pub job: SubmittedJob,
    /// How it was followed.
    pub mode: Mode,
    /// The terminal state the SDK reported.
    pub reported: Option<JobState>,
    /// How many terminal reports it got (must be 1).
    pub terminal_reports: u32,
}

/// What a soak run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every job.
    pub tracked: Vec<Tracked>,
    /// Upper bound of answered (not faulted) tracking requests the poll policy allows for the
    /// waits as long as they took: per `wait_job`, 2 + ⌈t / min_interval⌉; per `watch`,
    /// (2 + ⌈t / min_interval⌉) × pages of the lane's listing.
    pub tracking_bound: u64,
    /// Requests every soak client sent (`requests_sent`), retries included.
    pub requests: u64,
    /// Wall time.
    pub elapsed: Duration,
}

fn client(endpoint: &str, tenant: &Tenant, plan: &Plan, long_poll: bool) -> JobClient {
    let config = ClientConfig {
        credentials: tenant.credentials.clone(),
        format: plan.format,
        policy: plan.policy.clone(),
        long_poll_secs: long_poll.then_some(plan.long_poll_secs),
        max_retries: plan.max_retries,
        ..ClientConfig::new(endpoint)
    };
    JobClient::new(config).expect("valid client config")
}

/// A client of `endpoint` for `tenant` (e.g. a fault-free observer).
pub fn observer(endpoint: &str, tenant: &Tenant) -> JobClient {
    client(endpoint, tenant, &Plan::new(0), false)
}

fn deploy_params(index: usize) -> Vec<(String, String)> {
    // Every 10th job cannot be placed (533); the scenario's failure rate fails a few more.
    let offering = if index % 10 == 9 { HUGE } else { SMALL };
    [("zoneid", ZONE), ("serviceofferingid", offering), ("templateid", TEMPLATE)]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(std::iter::once(("name".to_owned(), format!("soak-{index}"))))
        .collect()
}

fn ticks(elapsed: Duration, policy: &PollPolicy) -> u64 {
    let min = policy.min_interval.as_secs_f64().max(0.001);
    2 + (elapsed.as_secs_f64() / min).ceil() as u64
}

/// Runs the soak against `endpoint` on one lane per tenant; `progress` counts accepted submits
/// (for a test that wants to act mid-run). Fails on the first SDK error: with the retry budget
/// large enough for the faults, there must be none.
///
/// The clients run on a thread of their own, on a `LocalSet` of a current-thread runtime (one
/// thread, as in a browser or Node): like a separate process, they share no worker thread with
/// an in-process server.
pub async fn run(
    endpoint: &str,
    tenants: &[Tenant],
    plan: &Plan,
    progress: Arc<AtomicUsize>,
) -> Result<Outcome, String> {
    let (endpoint, tenants, plan) = (endpoint.to_owned(), tenants.to_vec(), plan.clone());
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("client runtime: {e}"))?;
        runtime.block_on(LocalSet::new().run_until(run_lanes(&endpoint, &tenants, &plan, progress)))
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| format!("soak thread: {e}"))?
        .map_err(|_| "the soak thread panicked".to_owned())?
}

async fn run_lanes(
    endpoint: &str,
    tenants: &[Tenant],
    plan: &Plan,
    progress: Arc<AtomicUsize>,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let lanes = tenants.len().max(1);
    let mut set = JoinSet::new();
    // A lane's listing shows its tenant's jobs: all jobs when tenants repeat.
    let distinct: HashSet<&str> = tenants.iter().map(|t| t.name.as_str()).collect();
    for (lane, tenant) in tenants.iter().enumerate() {
        // Lane `lane` gets jobs lane, lane + lanes, … (global indices).
        let indices: Vec<usize> = (lane..plan.jobs).step_by(lanes).collect();
        let listed = if distinct.len() == tenants.len() { indices.len() } else { plan.jobs };
        let pages = listed.div_ceil(PAGE_SIZE).max(1) as u64;
        let lane_run =
            run_lane(lane, endpoint.to_owned(), tenant.clone(), indices, pages, plan.clone(), progress.clone());
        set.spawn_local(lane_run);
    }
    let mut outcome = Outcome::default();
    while let Some(joined) = set.join_next().await {
        let (tracked, bound, requests) = joined.map_err(|e| format!("lane task: {e}"))??;
        outcome.tracked.extend(tracked);
        outcome.tracking_bound += bound;
        outcome.requests += requests;
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// One lane: its batches one after the other, through one long-lived client, each followed the
/// lane's way (`lane % 3`: `watch`, polled `wait_job`, long-polled `wait_job`). Answers the
/// jobs, the batches' tracking bound and the client's requests.
async fn run_lane(
    lane: usize,
    endpoint: String,
    tenant: Tenant,
    indices: Vec<usize>,
    pages: u64,
    plan: Plan,
    progress: Arc<AtomicUsize>,
) -> Result<(Vec<Tracked>, u64, u64), String> {
    let mode = [Mode::Watch, Mode::Poll, Mode::LongPoll][lane % 3];
    let client = client(&endpoint, &tenant, &plan, mode == Mode::LongPoll);
    let mut tracked = Vec::new();
    let mut bound = 0;
    for batch in indices.chunks(plan.batch.max(1)) {
        let mut submits = JoinSet::new();
        for (slot, index) in batch.iter().copied().enumerate() {
            let client = client.clone();
            submits.spawn_local(async move {
                (slot, index, client.submit("deployVirtualMachine", &deploy_params(index)).await)
            });
        }
        let mut jobs: Vec<Option<SubmittedJob>> = vec![None; batch.len()];
        while let Some(joined) = submits.join_next().await {
            let (slot, index, result) = joined.map_err(|e| format!("submit task: {e}"))?;
            jobs[slot] = Some(result.map_err(|e| format!("lane {lane}: submit of job {index} failed: {e}"))?);
            progress.fetch_add(1, Ordering::Relaxed);
        }
        let jobs: Vec<SubmittedJob> = jobs.into_iter().flatten().collect();
        let (reports, batch_bound) = match mode {
            Mode::Watch => watch_batch(&client, &jobs, &plan, pages).await?,
            Mode::Poll | Mode::LongPoll => wait_batch(&client, &jobs, &plan).await?,
        };
        bound += batch_bound;
        for job in jobs {
            let (terminal_reports, reported) = reports.get(&job.job_id).copied().unwrap_or((0, None));
            tracked.push(Tracked { lane, job, mode, reported, terminal_reports });
        }
    }
    Ok((tracked, bound, client.requests_sent()))
}

type Reports = HashMap<String, (u32, Option<JobState>)>;

async fn watch_batch(
    client: &JobClient,
    jobs: &[SubmittedJob],
    plan: &Plan,
    pages: u64,
) -> Result<(Reports, u64), String> {
    let mut reports = Reports::new();
    let started = Instant::now();
    let finals = client
        .watch(jobs, |status| {
            if status.state.is_terminal() {
                let entry = reports.entry(status.job_id.clone()).or_default();
                entry.0 += 1;
                entry.1 = Some(status.state);
            }
        })
        .await
        .map_err(|e| format!("watch failed: {e}"))?;
    if finals.len() != jobs.len() {
        return Err(format!("watch resolved {} of {} jobs", finals.len(), jobs.len()));
    }
    Ok((reports, ticks(started.elapsed(), &plan.policy) * pages))
}

async fn wait_batch(client: &JobClient, jobs: &[SubmittedJob], plan: &Plan) -> Result<(Reports, u64), String> {
    let reports = Rc::new(RefCell::new(Reports::new()));
    let mut waits = JoinSet::new();
    for job in jobs.iter().cloned() {
        let (client, reports, policy) = (client.clone(), reports.clone(), plan.policy.clone());
        waits.spawn_local(async move {
            let started = Instant::now();
            let mut terminal = (0, None);
            let result = client
                .wait_job(&job, |event| {
                    if let WaitEvent::Status(status) = event {
                        if status.state.is_terminal() {
                            terminal = (terminal.0 + 1, Some(status.state));
                        }
                    }
                })
                .await;
            match result {
                Ok(_) | Err(Error::JobFailed { .. }) => {}
                Err(error) => return Err(format!("wait for {} failed: {error}", job.job_id)),
            }
            reports.borrow_mut().insert(job.job_id.clone(), terminal);
            Ok(ticks(started.elapsed(), &policy))
        });
    }
    let mut bound = 0;
    while let Some(joined) = waits.join_next().await {
        bound += joined.map_err(|e| format!("wait task: {e}"))??;
    }
    let reports = reports.borrow().clone();
    Ok((reports, bound))
}

/// What the server's own view agreed with.
#[derive(Debug, Default)]
pub struct Verified {
    /// Jobs that succeeded.
    pub succeeded: usize,
    /// Jobs that failed (533 capacity, 530 random).
    pub failed: usize,
    /// Requests the checking clients sent.
    pub requests: u64,
}

async fn list_all(client: &JobClient, command: &str, field: &str) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    for page in 1.. {
        let request = Request::new(command).param("page", page.to_string()).param("pagesize", PAGE_SIZE.to_string());
        let envelope = client.call(&request).await.map_err(|e| format!("{command}: {e}"))?;
        let items = envelope.body.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
        let got = items.len();
        all.extend(items);
        if got < PAGE_SIZE {
            break;
        }
    }
    Ok(all)
}

/// Checks `outcome` against what fault-free clients of `endpoint` list, one per tenant: every
/// job exists exactly once (none submitted twice, none lost), finished in the state the SDK
/// reported, which it reported exactly once; every deploy made exactly one VM, the one `submit`
/// named.
pub async fn verify(endpoint: &str, tenants: &[Tenant], outcome: &Outcome) -> Result<Verified, String> {
    let mut verified = Verified::default();
    let ids: HashSet<&str> = outcome.tracked.iter().map(|t| t.job.job_id.as_str()).collect();
    if ids.len() != outcome.tracked.len() {
        return Err(format!("{} submits returned only {} distinct job ids", outcome.tracked.len(), ids.len()));
    }
    for (lane, tenant) in tenants.iter().enumerate() {
        if tenants[..lane].iter().any(|t| t.name == tenant.name) {
            continue;
        }
        let observer = observer(endpoint, tenant);
        let mine: Vec<&Tracked> =
            outcome.tracked.iter().filter(|t| tenants.get(t.lane).is_some_and(|l| l.name == tenant.name)).collect();
        let result = verify_tenant(&observer, lane, &mine, &mut verified).await;
        verified.requests += observer.requests_sent();
        result?;
    }
    Ok(verified)
}

async fn verify_tenant(
    observer: &JobClient,
    lane: usize,
    mine: &[&Tracked],
    verified: &mut Verified,
) -> Result<(), String> {
    let envelope_jobs = list_all(observer, "listAsyncJobs", "asyncjobs").await?;
    let listing = parse_job_list(&jobwire::protocol::cloudstack::Envelope {
        name: "listasyncjobsresponse".into(),
        body: serde_json::json!({"count": envelope_jobs.len(), "asyncjobs": envelope_jobs})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    })
    .map_err(|e| format!("listing: {e}"))?;
    if listing.jobs.len() != mine.len() {
        return Err(format!("lane {lane}: the server has {} jobs, {} were submitted", listing.jobs.len(), mine.len()));
    }
    let server: HashMap<&str, &jobwire::JobSnapshot> =
        listing.jobs.iter().map(|job| (job.job_id.as_str(), job)).collect();
    for tracked in mine {
        let Some(job) = server.get(tracked.job.job_id.as_str()) else {
            return Err(format!("lane {lane}: job {} is not on the server", tracked.job.job_id));
        };
        if !job.state.is_terminal() || tracked.reported != Some(job.state) {
            return Err(format!(
                "job {} ({:?}): reported {:?}, the server says {:?}",
                tracked.job.job_id, tracked.mode, tracked.reported, job.state
            ));
        }
        if tracked.terminal_reports != 1 {
            return Err(format!(
                "job {} ({:?}) was reported finished {} times",
                tracked.job.job_id, tracked.mode, tracked.terminal_reports
            ));
        }
        let instance = job.raw.get("jobinstanceid").and_then(Value::as_str);
        if instance.is_none() || instance != tracked.job.resource_id.as_deref() {
            return Err(format!(
                "job {}: submit named VM {:?}, the job acts on {instance:?}",
                tracked.job.job_id, tracked.job.resource_id
            ));
        }
        match job.state {
            JobState::Succeeded => verified.succeeded += 1,
            _ => verified.failed += 1,
        }
    }
    let vms = list_all(observer, "listVirtualMachines", "virtualmachine").await?;
    let vm_ids: HashSet<&str> = vms.iter().filter_map(|vm| vm["id"].as_str()).collect();
    let named: HashSet<&str> = mine.iter().filter_map(|t| t.job.resource_id.as_deref()).collect();
    if vms.len() != mine.len() || vm_ids != named {
        return Err(format!(
            "lane {lane}: {} VMs ({} distinct) for {} deploys ({} named)",
            vms.len(),
            vm_ids.len(),
            mine.len(),
            named.len()
        ));
    }
    Ok(())
}

/// The server's `/metrics` as `series → value` (series with labels, exactly as exposed).
pub async fn metrics(base_url: &str) -> Result<HashMap<String, f64>, String> {
    let request = HttpRequest {
        method: Method::Get,
        url: format!("{base_url}/metrics"),
        headers: vec![],
        body: None,
        timeout: Some(Duration::from_secs(10)),
    };
    let response = transport::send(request).await.map_err(|e| format!("/metrics: {e}"))?;
    let text = String::from_utf8_lossy(&response.body);
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(series, value)| Some((series.to_owned(), value.parse().ok()?)))
        .collect())
}

/// The sum of every series of metric `name` whose labels contain `label` (empty: all).
pub fn sum(metrics: &HashMap<String, f64>, name: &str, label: &str) -> f64 {
    metrics
        .iter()
        .filter(|(series, _)| series.starts_with(&format!("{name}{{")) && series.contains(label))
        .map(|(_, value)| value)
        .sum()
}
