//! The SDK under CloudStack's API throttling (the reference server's `ApiRateLimitService`):
//! after one 429 the client spaces its requests by what it learned, so a batch `watch` whose
//! listings outrun the limit is refused once, not once per window, and still sees every job.

use std::time::Duration;

use jobwire::engine::PollPolicy;
use jobwire::protocol::JobState;
use jobwire::{ClientConfig, JobClient, SubmittedJob};
use jobwire_e2e::bench::Server;
use jobwire_e2e::{demo_api_key, deploy_params, ids, ticking_policy};
use jobwire_server::throttle::Throttling;
use jobwire_server::Config;

fn client(api: &str, policy: PollPolicy) -> JobClient {
    JobClient::new(ClientConfig { credentials: demo_api_key(), policy, ..ClientConfig::new(api) })
        .expect("valid config")
}

async fn deploy(client: &JobClient) -> SubmittedJob {
    client.submit("deployVirtualMachine", &deploy_params(ids::SMALL)).await.expect("submit")
}

/// Jobs watched: more than a listing asks for in one request, so five pages per listing.
const JOBS: usize = jobwire::engine::ONE_REQUEST_MAX_JOBS as usize + 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_watch_is_refused_once_then_paced() {
    // Two requests per second, and every listing of the 2,001 jobs is five pages (500 a page)
    // sent back to back: each listing outruns the limit unless the client paces it. (Ticks are
    // few: the watch lists no sooner than the jobs' progress lets one finish.)
    let throttling = Throttling { enabled: true, interval_ms: 1000, max: 2 };
    let config = Config { job_duration_ms: 4000, ..Config::default() };
    let server = Server::start(&config, Some(throttling)).await.expect("server starts");
    // The jobs are created through the unthrottled door; only the watch counts.
    let submitter = client(&server.open_api, PollPolicy::default());
    let mut jobs = Vec::new();
    for _ in 0..JOBS {
        jobs.push(deploy(&submitter).await);
    }
    let watcher = client(&server.api, ticking_policy(100));
    let mut terminal = 0;
    let finals = tokio::time::timeout(
        Duration::from_secs(60),
        watcher.watch(&jobs, |snapshot| terminal += usize::from(snapshot.state.is_terminal())),
    )
    .await
    .expect("the watch ends")
    .expect("the watch succeeds");
    assert_eq!((finals.len(), terminal), (JOBS, JOBS), "every job reported finished exactly once");
    assert!(finals.iter().all(|s| s.state == JobState::Succeeded));
    assert_eq!(server.throttled(), 1, "one refusal, then the learned pace");
    assert!(watcher.requests_sent() >= 6, "the watch listed more than once: {}", watcher.requests_sent());
}
