//! The reference server in-process for the SDK benchmarks (`jobwire-bench`) and the throttling
//! tests: real HTTP on loopback ports, plus what only the process can see — the instant each job
//! finished (the job runner's finish hook, on the same monotonic clock as the client) and the
//! server's throttling counter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::serve;
use jobwire_server::throttle::{Throttle, Throttling};
use jobwire_server::{app, AppState, Config};

/// A running server.
pub struct Server {
    /// The CloudStack API URL clients use (throttled when asked for).
    pub api: String,
    /// The server root (CLM paths are below it).
    pub base: String,
    /// An API URL of the same server that is never throttled: to create many jobs of the
    /// throttled account quickly before the measured part begins.
    pub open_api: String,
    /// The shared state (jobs, metrics).
    pub state: AppState,
    finished: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Server {
    /// Starts `config`'s server on two loopback ports: [`Server::api`] with `throttling` (if
    /// any), [`Server::open_api`] without. Needs a tokio runtime.
    ///
    /// # Errors
    /// When a port cannot be bound or the state not created.
    pub async fn start(config: &Config, throttling: Option<Throttling>) -> std::io::Result<Server> {
        let state = AppState::new(config).map_err(std::io::Error::other)?;
        let finished: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let record = Arc::clone(&finished);
        state.hub.on_finish(Box::new(move |job| {
            let now = Instant::now();
            let mut finished = record.lock().unwrap_or_else(|p| p.into_inner());
            finished.insert(job.id.clone(), now);
            // CLM: a run held to the end answers the object, not the task; find it by its id.
            if let Some((_, instance)) = &job.instance {
                finished.entry(instance.clone()).or_insert(now);
            }
        }));
        let open = serve(app(state.clone())).await?;
        let throttled = match throttling {
            Some(settings) => {
                let mut limited = state.clone();
                limited.throttle = Arc::new(Throttle::new(settings));
                serve(app(limited)).await?
            }
            None => open.clone(),
        };
        Ok(Server {
            api: format!("{throttled}/client/api"),
            base: throttled,
            open_api: format!("{open}/client/api"),
            state,
            finished,
        })
    }

    /// When the job (or the CLM object a task created) with `id` finished, if it has.
    pub fn finished_at(&self, id: &str) -> Option<Instant> {
        self.finished.lock().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    /// Requests the server refused with 429 so far.
    pub fn throttled(&self) -> u64 {
        self.state
            .metrics
            .render(&[])
            .lines()
            .find_map(|line| line.strip_prefix("jobwire_throttled_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// The `p`-th percentile (0–100) of `values` by nearest rank; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 95.0), Some(95.0));
        assert_eq!(percentile(&[3.0], 95.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
