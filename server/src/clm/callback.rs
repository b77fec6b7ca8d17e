//! CLM callbacks: when a task submitted with a `callbackURL` finishes, its final `[Task]` is
//! POSTed there (`Content-Type: application/json;charset=UTF-8`, `BMC-Transaction-ID` of the
//! submitting request, no credentials: CLM sends none, the URL carries the client's token).
//!
//! Delivery runs in its own tokio task, so the hub never waits on a client: up to
//! [`BACKOFF`]`.len() + 1` attempts, any 2xx ends them, redirects are not followed, proxy
//! variables are ignored (callbacks go straight to the client). Deliveries under way are not
//! persisted (a restart drops them); tasks that finish after a restart are delivered. The URL is
//! never logged, as it holds that token.
//!
//! The HTTP client is built without TLS (as the workspace's `reqwest` is), so `https` callback
//! URLs are accepted but their delivery fails and is logged.

use std::time::Duration;

use axum::http::header;
use serde_json::Value;

use super::render;
use super::tasks::{task_json, TaskMeta};
use crate::hub::Hub;
use crate::model::{unix_ms, Job, Protocol};

/// Waits before the 2nd, 3rd and 4th attempt.
pub const BACKOFF: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];

/// Longest a single attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Registers the hook that delivers callbacks of finished CLM tasks on `hub`. Call once, before
/// jobs are resumed, so that resumed tasks call back too.
pub fn register(hub: &Hub) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "CLM callbacks disabled: cannot build an HTTP client");
            return;
        }
    };
    hub.on_finish(Box::new(move |job: &Job| {
        let (Protocol::Clm, Some(url)) = (job.protocol, job.callback_url.clone()) else { return };
        let meta = TaskMeta::of(job);
        let body = Value::Array(vec![task_json(job, &meta.base_url, unix_ms())]).to_string();
        // The hub finishes jobs from its runner tasks, so a runtime is there; if one ever is
        // not, the callback is dropped with a log line rather than blocking or panicking.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(task = %job.id, "CLM callback dropped: no async runtime");
            return;
        };
        let delivery = Delivery {
            client: client.clone(),
            url,
            body,
            task_id: job.id.clone(),
            transaction_id: meta.transaction_id,
        };
        runtime.spawn(delivery.run());
    }));
}

/// One callback to deliver.
struct Delivery {
    client: reqwest::Client,
    url: String,
    body: String,
    task_id: String,
    transaction_id: String,
}

impl Delivery {
    /// Tries until a 2xx or the attempts run out; true when delivered.
    async fn run(self) -> bool {
        let attempts = BACKOFF.len() + 1;
        for attempt in 1..=attempts {
            if let Some(pause) = attempt.checked_sub(2).and_then(|i| BACKOFF.get(i)) {
                tokio::time::sleep(*pause).await;
            }
            let mut request =
                self.client.post(&self.url).header(header::CONTENT_TYPE, render::CONTENT_TYPE).body(self.body.clone());
            if !self.transaction_id.is_empty() {
                request = request.header("BMC-Transaction-ID", &self.transaction_id);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(task = %self.task_id, attempt, "CLM callback delivered");
                    return true;
                }
                Ok(response) => {
                    tracing::warn!(task = %self.task_id, attempt, status = %response.status(), "CLM callback refused");
                }
                Err(err) => {
                    // `without_url`: the URL carries the client's secret token.
                    tracing::warn!(task = %self.task_id, attempt, err = %err.without_url(), "CLM callback failed");
                }
            }
        }
        tracing::error!(task = %self.task_id, attempts, "CLM callback not delivered; giving up");
        false
    }
}
