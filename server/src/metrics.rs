//! `GET /metrics` in Prometheus' text format (0.0.4): API requests by command and status, their
//! durations, jobs by state and how long finished jobs took, injected faults and throttled
//! requests. Kept in plain maps and atomics — a handful of series, no metrics crate needed.
//! Labels come from fixed sets (known commands, fault kinds, status codes), so a client cannot
//! grow them without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::edge::command_label;
use crate::faults::Fault;
use crate::hub::Hub;
use crate::model::Job;
use crate::AppState;

/// Upper bounds (s) of the request-duration buckets: fast reads up to long-polls (`Prefer: wait`).
const REQUEST_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Upper bounds (s) of the job-duration buckets: seconds to minutes, as provisioning takes.
const JOB_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    /// Per bucket, not cumulative (summed when rendered).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram { bounds, counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    fn observe(&mut self, value: f64) {
        if let Some(index) = self.bounds.iter().position(|bound| value <= *bound) {
            self.counts[index] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String), u64>>,
    request_durations: Mutex<BTreeMap<&'static str, Histogram>>,
    job_durations: Mutex<BTreeMap<&'static str, Histogram>>,
    faults: Mutex<BTreeMap<&'static str, u64>>,
    throttled: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Mutex::default(),
            request_durations: Mutex::default(),
            job_durations: Mutex::default(),
            // Every kind from the start, so a rate can be computed from the first scrape on.
            faults: Mutex::new(Fault::NAMES.into_iter().map(|name| (name, 0)).collect()),
            throttled: AtomicU64::new(0),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts an API request: `command` label, `status` (code, or `dropped`), duration in seconds.
    pub fn record_request(&self, command: &'static str, status: &str, seconds: f64) {
        *lock(&self.requests).entry((command, status.to_owned())).or_insert(0) += 1;
        lock(&self.request_durations)
            .entry(command)
            .or_insert_with(|| Histogram::new(REQUEST_BUCKETS))
            .observe(seconds);
    }

    /// Counts an injected fault of `kind`.
    pub fn record_fault(&self, kind: &'static str) {
        *lock(&self.faults).entry(kind).or_insert(0) += 1;
    }

    /// Counts a request refused by throttling.
    pub fn record_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long a finished job took, by command.
    pub fn record_job(&self, job: &Job) {
        let Some(completed_ms) = job.completed_ms else { return };
        let seconds = completed_ms.saturating_sub(job.created_ms) as f64 / 1000.0;
        let command = command_label(Some(&job.command));
        lock(&self.job_durations).entry(command).or_insert_with(|| Histogram::new(JOB_BUCKETS)).observe(seconds);
    }

    /// Records every job `hub` finishes from now on.
    pub fn watch(self: &Arc<Self>, hub: &Hub) {
        let metrics = Arc::clone(self);
        hub.on_finish(Box::new(move |job| metrics.record_job(job)));
    }

    /// The text exposition, with `jobs` (state, count) as the jobs gauge.
    pub fn render(&self, jobs: &[(&str, usize)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP jobwire_http_requests_total API requests by command and HTTP status.\n");
        out.push_str("# TYPE jobwire_http_requests_total counter\n");
        for ((command, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "jobwire_http_requests_total{{command=\"{}\",status=\"{}\"}} {count}",
                escape(command),
                escape(status)
            );
        }
        out.push_str("# HELP jobwire_http_request_duration_seconds Time to answer an API request, by command.\n");
        out.push_str("# TYPE jobwire_http_request_duration_seconds histogram\n");
        for (command, histogram) in lock(&self.request_durations).iter() {
            let labels = format!("command=\"{}\"", escape(command));
            histogram.render(&mut out, "jobwire_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP jobwire_jobs Jobs by state.\n");
        out.push_str("# TYPE jobwire_jobs gauge\n");
        for (state, count) in jobs {
            let _ = writeln!(out, "jobwire_jobs{{state=\"{}\"}} {count}", escape(state));
        }
        out.push_str(
            "# HELP jobwire_job_duration_seconds Time from submission to completion of finished jobs, by command.\n",
        );
        out.push_str("# TYPE jobwire_job_duration_seconds histogram\n");
        for (command, histogram) in lock(&self.job_durations).iter() {
            let labels = format!("command=\"{}\"", escape(command));
            histogram.render(&mut out, "jobwire_job_duration_seconds", &labels);
        }
        out.push_str("# HELP jobwire_faults_injected_total Faults injected into API requests, by kind.\n");
        out.push_str("# TYPE jobwire_faults_injected_total counter\n");
        for (kind, count) in lock(&self.faults).iter() {
            let _ = writeln!(out, "jobwire_faults_injected_total{{kind=\"{}\"}} {count}", escape(kind));
        }
        out.push_str("# HELP jobwire_throttled_total API requests refused by throttling (429).\n");
        out.push_str("# TYPE jobwire_throttled_total counter\n");
        let _ = writeln!(out, "jobwire_throttled_total {}", self.throttled.load(Ordering::Relaxed));
        out
    }
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state.hub.job_counts());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.5, 0.7, 5.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.1\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"1\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 6.25\n"), "{out}");
    }

    #[test]
    fn exposition_has_every_family() {
        let metrics = Metrics::default();
        metrics.record_request("listZones", "200", 0.002);
        metrics.record_request("listZones", "200", 0.2);
        metrics.record_request("other", "dropped", 0.0);
        metrics.record_fault("drop");
        metrics.record_throttled();
        let text = metrics.render(&[("pending", 2), ("succeeded", 1), ("failed", 0)]);
        for line in [
            "# TYPE jobwire_http_requests_total counter",
            "jobwire_http_requests_total{command=\"listZones\",status=\"200\"} 2",
            "jobwire_http_requests_total{command=\"other\",status=\"dropped\"} 1",
            "# TYPE jobwire_http_request_duration_seconds histogram",
            "jobwire_http_request_duration_seconds_count{command=\"listZones\"} 2",
            "jobwire_jobs{state=\"pending\"} 2",
            "jobwire_faults_injected_total{kind=\"drop\"} 1",
            "jobwire_faults_injected_total{kind=\"truncate\"} 0",
            "jobwire_throttled_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Every sample line belongs to a family with HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
