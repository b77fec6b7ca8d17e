//! How the simulated cloud behaves: job durations, random failures and capacity errors, faults
//! injected into API responses and CloudStack's API throttling — all from one seed so a run
//! repeats. Configured by flags and by a scenario file (`--scenario FILE`).
//!
//! # Scenario file
//!
//! JSON, or TOML when the file name ends in `.toml`; every field is optional and unknown fields
//! are refused (a typo must not silently do nothing):
//!
//! ```json
//! {
//!   "seed": 42,
//!   "duration": { "median_ms": 3000, "p95_ms": 12000 },
//!   "durations": {
//!     "deployVirtualMachine": { "median_ms": 8000, "p95_ms": 30000 },
//!     "stopVirtualMachine": { "fixed_ms": 3000 }
//!   },
//!   "failure_rate": 0.02,
//!   "capacity_error_rate": 0.05,
//!   "faults": {
//!     "rate": 0.2,
//!     "kinds": [
//!       { "kind": "latency", "ms": 1500, "weight": 4 },
//!       { "kind": "status429", "retry_after_secs": 2, "weight": 2 },
//!       { "kind": "status503", "retry_after_secs": 1 },
//!       { "kind": "drop" },
//!       { "kind": "truncate" }
//!     ]
//!   },
//!   "throttling": { "enabled": true, "interval_ms": 1000, "max": 25 }
//! }
//! ```
//!
//! - `seed`: seeds every random choice (job durations and failures, faults).
//! - `duration` / `durations.<command>`: a job-duration distribution, `{"fixed_ms": N}` or
//!   log-normal `{"median_ms": N, "p95_ms": M}` (`median_ms` alone is fixed). Command names are
//!   CloudStack's, case-sensitive.
//! - `failure_rate`: share of jobs that fail with 530 (internal error).
//! - `capacity_error_rate`: share of `deployVirtualMachine` / `startVirtualMachine` jobs that fail
//!   with 533 (insufficient capacity).
//! - `faults.rate`: share of API requests (`/client/api`, `/csm/…`) that get a fault; `kinds`
//!   picks which, by `weight` (default 1). Kinds, and when they strike (see [`crate::faults`]):
//!   `latency` (`ms`, before the handler, which then runs), `status429` (`retry_after_secs`,
//!   default 1), `status500`, `status502`, `status503` (optional `retry_after_secs`), `drop`
//!   (connection closed without a response) — all these *before* the handler, which does not
//!   run; `drop_after`, `truncate`, `malformed` — *after* it ran (the response is lost or
//!   damaged, a state-changing command took effect). Without `kinds` every kind has weight 1.
//! - `throttling`: CloudStack's `api.throttling.enabled` / `.interval` (here in ms) / `.max`:
//!   at most `max` requests per account per `interval_ms` window, then 429. Off unless
//!   `enabled`; `interval_ms` defaults to 1000 and `max` to 25 (CloudStack's defaults).
//!
//! Flags given on the command line or in the environment override the file: `--seed`,
//! `--job-duration-ms` / `--job-duration-p95-ms`, `--failure-rate`, `--capacity-error-rate`,
//! `--fault-rate`, `--fault` (replaces the file's kinds), `--throttle`, `--throttle-max`,
//! `--throttle-interval-ms` (the last two turn throttling on).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;

use crate::faults::{Fault, FaultChoice};
use crate::model::Plan;
use crate::throttle::Throttling;
use crate::Config;

/// A job-duration distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Duration {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Log-normal with this median and 95th percentile (ms): most jobs near the median, a long
    /// tail, as real provisioning times are.
    LogNormal {
        /// Median, ms.
        median_ms: u64,
        /// 95th percentile, ms.
        p95_ms: u64,
    },
}

impl Duration {
    fn sample(self, rng: &mut fastrand::Rng) -> u64 {
        match self {
            Duration::Fixed(ms) => ms,
            Duration::LogNormal { median_ms, p95_ms } => {
                let mu = (median_ms.max(1) as f64).ln();
                let sigma = ((p95_ms.max(median_ms).max(1) as f64).ln() - mu) / 1.645;
                // Box–Muller: one standard normal from two uniforms.
                let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (mu + sigma * z).exp().round() as u64
            }
        }
    }
}

/// Commands whose jobs place a VM on a host, so they can run out of capacity.
const CAPACITY_COMMANDS: &[&str] = &["deployVirtualMachine", "startVirtualMachine"];

/// The scenario: durations per command, failure and capacity-error rates, and the seeded random
/// source of the job runner.
#[derive(Debug)]
pub struct Scenario {
    default_duration: Duration,
    durations: HashMap<String, Duration>,
    failure_rate: f64,
    capacity_error_rate: f64,
    rng: Mutex<fastrand::Rng>,
}

impl Scenario {
    /// Every job takes `default_duration`; `failure_rate` of them fail with an internal error.
    pub fn new(seed: u64, default_duration: Duration, failure_rate: f64) -> Self {
        Scenario {
            default_duration,
            durations: HashMap::new(),
            failure_rate: failure_rate.clamp(0.0, 1.0),
            capacity_error_rate: 0.0,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Sets the duration of one command's jobs.
    #[must_use]
    pub fn with_duration(mut self, command: &str, duration: Duration) -> Self {
        self.durations.insert(command.to_owned(), duration);
        self
    }

    /// Sets the share of VM placements (deploy, start) that fail with 533.
    #[must_use]
    pub fn with_capacity_error_rate(mut self, rate: f64) -> Self {
        self.capacity_error_rate = clamp_rate(rate);
        self
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, fastrand::Rng> {
        self.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long the next `command` job runs, ms.
    pub fn job_duration_ms(&self, command: &str) -> u64 {
        let distribution = self.durations.get(command).copied().unwrap_or(self.default_duration);
        distribution.sample(&mut self.rng())
    }

    /// Whether the next job fails at random.
    pub fn random_failure(&self) -> bool {
        self.failure_rate > 0.0 && self.rng().f64() < self.failure_rate
    }

    /// The 533 failure of the next `command` job when the dice say the cloud is out of capacity;
    /// `None` (and no random draw, so other sequences stay as they were) for other commands.
    pub fn capacity_failure(&self, command: &str) -> Option<Plan> {
        let applies = self.capacity_error_rate > 0.0 && CAPACITY_COMMANDS.contains(&command);
        (applies && self.rng().f64() < self.capacity_error_rate).then(|| Plan::Fail {
            code: 533,
            text: format!(
                "Unable to create a deployment for VM ({command}): insufficient capacity, no host has enough free CPU and memory"
            ),
        })
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

// --- the scenario file -------------------------------------------------------------------------

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON / TOML of the scenario's shape.
    #[error("scenario file {path}: {message}")]
    Syntax {
        /// The file (empty for text parsed directly).
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is out of range or a flag is malformed.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

/// A validated scenario file: what it sets (`None` / empty: not set, flags or defaults apply).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScenarioSpec {
    /// `seed`.
    pub seed: Option<u64>,
    /// `duration`: every command's job duration unless `durations` names it.
    pub duration: Option<Duration>,
    /// `durations`: per command.
    pub durations: BTreeMap<String, Duration>,
    /// `failure_rate` (0–1).
    pub failure_rate: Option<f64>,
    /// `capacity_error_rate` (0–1).
    pub capacity_error_rate: Option<f64>,
    /// `faults.rate` (0–1).
    pub fault_rate: Option<f64>,
    /// `faults.kinds`.
    pub faults: Vec<FaultChoice>,
    /// `throttling`.
    pub throttling: Option<Throttling>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    seed: Option<u64>,
    duration: Option<RawDuration>,
    #[serde(default)]
    durations: BTreeMap<String, RawDuration>,
    failure_rate: Option<f64>,
    capacity_error_rate: Option<f64>,
    faults: Option<RawFaults>,
    throttling: Option<RawThrottling>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDuration {
    fixed_ms: Option<u64>,
    median_ms: Option<u64>,
    p95_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    rate: Option<f64>,
    #[serde(default)]
    kinds: Vec<RawFault>,
}

/// The fault kinds' names, as the file and `--fault` spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FaultName {
    Latency,
    Status429,
    Status500,
    Status502,
    Status503,
    Drop,
    DropAfter,
    Truncate,
    Malformed,
}

impl FaultName {
    const ALL: [FaultName; 9] = [
        FaultName::Latency,
        FaultName::Status429,
        FaultName::Status500,
        FaultName::Status502,
        FaultName::Status503,
        FaultName::Drop,
        FaultName::DropAfter,
        FaultName::Truncate,
        FaultName::Malformed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            FaultName::Latency => "latency",
            FaultName::Status429 => "status429",
            FaultName::Status500 => "status500",
            FaultName::Status502 => "status502",
            FaultName::Status503 => "status503",
            FaultName::Drop => "drop",
            FaultName::DropAfter => "drop_after",
            FaultName::Truncate => "truncate",
            FaultName::Malformed => "malformed",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    kind: FaultName,
    weight: Option<u32>,
    ms: Option<u64>,
    retry_after_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThrottling {
    #[serde(default)]
    enabled: bool,
    interval_ms: Option<u64>,
    max: Option<u32>,
}

fn rate(name: &str, value: Option<f64>) -> Result<Option<f64>, ScenarioError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => Err(ScenarioError::Invalid(format!("{name} must be 0–1, not {v}"))),
        other => Ok(other),
    }
}

impl RawDuration {
    fn validate(self, name: &str) -> Result<Duration, ScenarioError> {
        match (self.fixed_ms, self.median_ms, self.p95_ms) {
            (Some(ms), None, None) | (None, Some(ms), None) => Ok(Duration::Fixed(ms)),
            (None, Some(median_ms), Some(p95_ms)) if p95_ms >= median_ms => {
                Ok(Duration::LogNormal { median_ms, p95_ms })
            }
            (None, Some(median), Some(p95)) => {
                Err(ScenarioError::Invalid(format!("{name}: p95_ms {p95} is below median_ms {median}")))
            }
            _ => Err(ScenarioError::Invalid(format!(
                "{name}: give either fixed_ms, or median_ms with an optional p95_ms"
            ))),
        }
    }
}

impl RawFault {
    fn validate(self) -> Result<FaultChoice, ScenarioError> {
        let RawFault { kind, weight, ms, retry_after_secs } = self;
        let unexpected =
            |field: &str| Err(ScenarioError::Invalid(format!("fault kind {} takes no `{field}`", kind.as_str())));
        if ms.is_some() && kind != FaultName::Latency {
            return unexpected("ms");
        }
        if retry_after_secs.is_some() && !matches!(kind, FaultName::Status429 | FaultName::Status503) {
            return unexpected("retry_after_secs");
        }
        let fault = match kind {
            FaultName::Latency => {
                Fault::Latency { ms: ms.ok_or_else(|| ScenarioError::Invalid("fault kind latency needs `ms`".into()))? }
            }
            FaultName::Status429 => Fault::Status429 { retry_after_secs: retry_after_secs.unwrap_or(1) },
            FaultName::Status500 => Fault::Status500,
            FaultName::Status502 => Fault::Status502,
            FaultName::Status503 => Fault::Status503 { retry_after_secs },
            FaultName::Drop => Fault::Drop,
            FaultName::DropAfter => Fault::DropAfter,
            FaultName::Truncate => Fault::Truncate,
            FaultName::Malformed => Fault::Malformed,
        };
        Ok(FaultChoice { fault, weight: weight.unwrap_or(1) })
    }
}

impl RawScenario {
    fn validate(self) -> Result<ScenarioSpec, ScenarioError> {
        let durations = self
            .durations
            .into_iter()
            .map(|(command, raw)| raw.validate(&format!("durations.{command}")).map(|d| (command, d)))
            .collect::<Result<_, _>>()?;
        let (fault_rate, faults) = match self.faults {
            Some(raw) => (
                rate("faults.rate", raw.rate)?,
                raw.kinds.into_iter().map(RawFault::validate).collect::<Result<_, _>>()?,
            ),
            None => (None, Vec::new()),
        };
        let throttling = match self.throttling {
            Some(raw) => Some(Throttling::checked(
                raw.enabled,
                raw.interval_ms.unwrap_or(Throttling::DEFAULT_INTERVAL_MS),
                raw.max.unwrap_or(Throttling::DEFAULT_MAX),
            )?),
            None => None,
        };
        Ok(ScenarioSpec {
            seed: self.seed,
            duration: self.duration.map(|raw| raw.validate("duration")).transpose()?,
            durations,
            failure_rate: rate("failure_rate", self.failure_rate)?,
            capacity_error_rate: rate("capacity_error_rate", self.capacity_error_rate)?,
            fault_rate,
            faults,
            throttling,
        })
    }
}

impl ScenarioSpec {
    /// Parses a JSON scenario.
    ///
    /// # Errors
    /// [`ScenarioError::Syntax`] for malformed JSON or unknown fields, [`ScenarioError::Invalid`]
    /// for values out of range.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        let raw: RawScenario = serde_json::from_str(text)
            .map_err(|e| ScenarioError::Syntax { path: PathBuf::new(), message: e.to_string() })?;
        raw.validate()
    }

    /// Parses a TOML scenario (same fields as JSON).
    ///
    /// # Errors
    /// As [`ScenarioSpec::from_json`].
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let raw: RawScenario =
            toml::from_str(text).map_err(|e| ScenarioError::Syntax { path: PathBuf::new(), message: e.to_string() })?;
        raw.validate()
    }

    /// Reads a scenario file: TOML when its name ends in `.toml`, JSON otherwise.
    ///
    /// # Errors
    /// [`ScenarioError::Read`] when it cannot be read, else as [`ScenarioSpec::from_json`].
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let parsed = if is_toml { Self::from_toml(&text) } else { Self::from_json(&text) };
        parsed.map_err(|err| match err {
            ScenarioError::Syntax { message, .. } => ScenarioError::Syntax { path: path.to_owned(), message },
            other => other,
        })
    }
}

/// Parses a `--fault` value: `KIND[:PARAM][@WEIGHT]`, e.g. `latency:1500@3`, `status429:2`,
/// `status503`, `drop`. PARAM is `ms` for latency and `retry_after_secs` for 429 / 503.
///
/// # Errors
/// A message naming what is wrong (clap shows it).
pub fn parse_fault_flag(text: &str) -> Result<FaultChoice, String> {
    let (spec, weight) = match text.split_once('@') {
        Some((spec, weight)) => (spec, Some(weight.parse::<u32>().map_err(|e| format!("weight {weight:?}: {e}"))?)),
        None => (text, None),
    };
    let (name, param) = match spec.split_once(':') {
        Some((name, param)) => (name, Some(param.parse::<u64>().map_err(|e| format!("parameter {param:?}: {e}"))?)),
        None => (spec, None),
    };
    let kind = FaultName::parse(name).ok_or_else(|| {
        format!("unknown fault kind {name:?} (latency, status429, status500, status502, status503, drop, drop_after, truncate, malformed)")
    })?;
    let (ms, retry_after_secs) = match kind {
        FaultName::Latency => (param, None),
        _ => (None, param),
    };
    RawFault { kind, weight, ms, retry_after_secs }.validate().map_err(|e| e.to_string())
}

/// Which of [`Config`]'s own scenario flags were given explicitly (command line or environment):
/// those override the scenario file; flags left at their defaults do not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Explicit {
    /// `--seed`.
    pub seed: bool,
    /// `--job-duration-ms` or `--job-duration-p95-ms`.
    pub duration: bool,
    /// `--failure-rate`.
    pub failure_rate: bool,
}

/// The scenario flags, flattened into [`Config`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Flags {
    /// Scenario file (JSON, or TOML by its `.toml` extension): durations, failures, faults,
    /// throttling; flags given explicitly override it.
    #[arg(long = "scenario", env = "JOBWIRE_SCENARIO", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Share of VM deploys / starts that fail with 533 insufficient capacity (0–1).
    #[arg(long, env = "JOBWIRE_CAPACITY_ERROR_RATE")]
    pub capacity_error_rate: Option<f64>,
    /// Share of API requests that get an injected fault (0–1).
    #[arg(long, env = "JOBWIRE_FAULT_RATE")]
    pub fault_rate: Option<f64>,
    /// A fault kind to inject, repeatable: `KIND[:PARAM][@WEIGHT]`, e.g. `latency:1500@3`,
    /// `status429:2`, `status503`, `drop`, `drop_after`, `truncate`, `malformed`.
    #[arg(long = "fault", value_name = "KIND[:PARAM][@WEIGHT]", value_parser = parse_fault_flag)]
    pub faults: Vec<FaultChoice>,
    /// Turns on CloudStack's API throttling (`api.throttling.enabled`).
    #[arg(long)]
    pub throttle: bool,
    /// `api.throttling.max`: requests per account per interval (turns throttling on).
    #[arg(long, env = "JOBWIRE_THROTTLE_MAX")]
    pub throttle_max: Option<u32>,
    /// `api.throttling.interval`, in ms (turns throttling on).
    #[arg(long, env = "JOBWIRE_THROTTLE_INTERVAL_MS")]
    pub throttle_interval_ms: Option<u64>,
    /// The scenario file's content: read by [`parse_config`] / [`Flags::resolve`], or set
    /// directly by tests and embedders.
    #[arg(skip)]
    pub spec: Option<ScenarioSpec>,
    /// Which of the older flags were given explicitly (filled by [`Flags::resolve`]).
    #[arg(skip)]
    pub explicit: Explicit,
}

impl Flags {
    /// Reads the scenario file (if any) and notes which flags `matches` got explicitly.
    ///
    /// # Errors
    /// [`ScenarioError`] when the file cannot be read or is invalid, or a flag is out of range.
    pub fn resolve(&mut self, matches: &clap::ArgMatches) -> Result<(), ScenarioError> {
        use clap::parser::ValueSource;
        let given =
            |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        self.explicit = Explicit {
            seed: given("seed"),
            duration: given("job_duration_ms") || given("job_duration_p95_ms"),
            failure_rate: given("failure_rate"),
        };
        rate("--capacity-error-rate", self.capacity_error_rate)?;
        rate("--fault-rate", self.fault_rate)?;
        if self.throttle_interval_ms == Some(0) {
            return Err(ScenarioError::Invalid("--throttle-interval-ms must be at least 1".into()));
        }
        if let Some(path) = &self.file {
            self.spec = Some(ScenarioSpec::load(path)?);
        }
        Ok(())
    }
}

/// Parses flags and environment into a [`Config`] and reads its scenario file. Exits the
/// process (as clap does) on bad flags and `--help`.
///
/// # Errors
/// [`ScenarioError`] when the scenario file cannot be used.
pub fn parse_config() -> Result<Config, ScenarioError> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Config::command().get_matches();
    let mut config = Config::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    config.scenario.resolve(&matches)?;
    Ok(config)
}

/// Everything a server needs from its configuration's scenario: file, flags and defaults merged.
#[derive(Debug)]
pub struct Resolved {
    /// The seed used.
    pub seed: u64,
    /// The job runner's scenario.
    pub scenario: Scenario,
    /// Share of API requests that get a fault.
    pub fault_rate: f64,
    /// Which faults, by weight.
    pub faults: Vec<FaultChoice>,
    /// API throttling.
    pub throttling: Throttling,
}

impl Resolved {
    /// Merges `config`'s flags over its scenario file over the defaults.
    pub fn new(config: &Config) -> Self {
        let flags = &config.scenario;
        let spec = flags.spec.clone().unwrap_or_default();
        let explicit = flags.explicit;
        let seed = if explicit.seed { config.seed } else { spec.seed.unwrap_or(config.seed) };
        let flag_duration = match config.job_duration_p95_ms {
            Some(p95_ms) => Duration::LogNormal { median_ms: config.job_duration_ms, p95_ms },
            None => Duration::Fixed(config.job_duration_ms),
        };
        let duration = if explicit.duration { flag_duration } else { spec.duration.unwrap_or(flag_duration) };
        let failure_rate =
            if explicit.failure_rate { config.failure_rate } else { spec.failure_rate.unwrap_or(config.failure_rate) };
        let capacity_error_rate = flags.capacity_error_rate.or(spec.capacity_error_rate).unwrap_or(0.0);
        let mut scenario = Scenario::new(seed, duration, failure_rate).with_capacity_error_rate(capacity_error_rate);
        for (command, duration) in &spec.durations {
            scenario = scenario.with_duration(command, *duration);
        }
        let fault_rate = clamp_rate(flags.fault_rate.or(spec.fault_rate).unwrap_or(0.0));
        let faults = match (&flags.faults, &spec.faults) {
            (given, _) if !given.is_empty() => given.clone(),
            (_, file) if !file.is_empty() => file.clone(),
            // A rate without kinds: a bit of everything.
            _ => FaultChoice::all_kinds(),
        };
        let mut throttling = spec.throttling.unwrap_or_default();
        if flags.throttle || flags.throttle_max.is_some() || flags.throttle_interval_ms.is_some() {
            throttling.enabled = true;
        }
        if let Some(max) = flags.throttle_max {
            throttling.max = max;
        }
        if let Some(interval_ms) = flags.throttle_interval_ms {
            throttling.interval_ms = interval_ms.max(1);
        }
        tracing::info!(
            seed,
            file = ?flags.file,
            fault_rate,
            throttling = throttling.enabled,
            throttle_max = throttling.max,
            throttle_interval_ms = throttling.interval_ms,
            "scenario"
        );
        Resolved { seed, scenario, fault_rate, faults, throttling }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_run() {
        let make = || Scenario::new(7, Duration::LogNormal { median_ms: 1000, p95_ms: 5000 }, 0.2);
        let (a, b) = (make(), make());
        let run = |s: &Scenario| (0..50).map(|_| (s.job_duration_ms("x"), s.random_failure())).collect::<Vec<_>>();
        assert_eq!(run(&a), run(&b));
    }

    #[test]
    fn lognormal_has_its_median_and_tail() {
        let s = Scenario::new(1, Duration::LogNormal { median_ms: 1000, p95_ms: 5000 }, 0.0);
        let mut samples: Vec<u64> = (0..4000).map(|_| s.job_duration_ms("x")).collect();
        samples.sort_unstable();
        let median = samples[2000];
        let p95 = samples[3800];
        assert!((850..1150).contains(&median), "median {median}");
        assert!((4000..6200).contains(&p95), "p95 {p95}");
        assert!(!s.random_failure());
    }

    #[test]
    fn fixed_durations_per_command() {
        let s = Scenario::new(1, Duration::Fixed(10), 0.0).with_duration("slow", Duration::Fixed(99));
        assert_eq!((s.job_duration_ms("fast"), s.job_duration_ms("slow")), (10, 99));
    }

    #[test]
    fn capacity_errors_only_for_placements() {
        let s = Scenario::new(1, Duration::Fixed(0), 0.0).with_capacity_error_rate(1.0);
        assert!(matches!(s.capacity_failure("deployVirtualMachine"), Some(Plan::Fail { code: 533, .. })));
        assert_eq!(s.capacity_failure("stopVirtualMachine"), None);
        let none = Scenario::new(1, Duration::Fixed(0), 0.0);
        assert_eq!(none.capacity_failure("deployVirtualMachine"), None);
    }

    #[test]
    fn full_file_parses() {
        let spec = ScenarioSpec::from_json(
            r#"{"seed": 9, "duration": {"fixed_ms": 5}, "durations": {"deployVirtualMachine": {"median_ms": 8000, "p95_ms": 30000}},
                "failure_rate": 0.1, "capacity_error_rate": 0.05,
                "faults": {"rate": 0.2, "kinds": [{"kind": "latency", "ms": 50, "weight": 3}, {"kind": "status429"},
                           {"kind": "status503", "retry_after_secs": 4}, {"kind": "drop_after"}]},
                "throttling": {"enabled": true, "max": 3}}"#,
        )
        .unwrap();
        assert_eq!(spec.seed, Some(9));
        assert_eq!(spec.duration, Some(Duration::Fixed(5)));
        assert_eq!(
            spec.durations.get("deployVirtualMachine"),
            Some(&Duration::LogNormal { median_ms: 8000, p95_ms: 30000 })
        );
        assert_eq!(
            spec.faults,
            vec![
                FaultChoice { fault: Fault::Latency { ms: 50 }, weight: 3 },
                FaultChoice { fault: Fault::Status429 { retry_after_secs: 1 }, weight: 1 },
                FaultChoice { fault: Fault::Status503 { retry_after_secs: Some(4) }, weight: 1 },
                FaultChoice { fault: Fault::DropAfter, weight: 1 },
            ]
        );
        assert_eq!(spec.throttling, Some(Throttling { enabled: true, interval_ms: 1000, max: 3 }));
    }

    #[test]
    fn toml_parses_like_json() {
        let toml = "seed = 3\nfailure_rate = 0.5\n[faults]\nrate = 1.0\n[[faults.kinds]]\nkind = \"truncate\"\n";
        let json = r#"{"seed": 3, "failure_rate": 0.5, "faults": {"rate": 1.0, "kinds": [{"kind": "truncate"}]}}"#;
        assert_eq!(ScenarioSpec::from_toml(toml).unwrap(), ScenarioSpec::from_json(json).unwrap());
    }

    #[test]
    fn bad_files_are_typed_errors() {
        for bad in [
            r#"{"sede": 1}"#,
            r#"{"failure_rate": 1.5}"#,
            r#"{"duration": {"median_ms": 10, "p95_ms": 5}}"#,
            r#"{"duration": {"fixed_ms": 10, "median_ms": 5}}"#,
            r#"{"faults": {"kinds": [{"kind": "latency"}]}}"#,
            r#"{"faults": {"kinds": [{"kind": "drop", "ms": 5}]}}"#,
            r#"{"faults": {"kinds": [{"kind": "explode"}]}}"#,
            r#"{"throttling": {"enabled": true, "interval_ms": 0}}"#,
            "[1, 2",
        ] {
            assert!(ScenarioSpec::from_json(bad).is_err(), "{bad}");
        }
        assert!(matches!(ScenarioSpec::load(Path::new("/nonexistent/scenario.json")), Err(ScenarioError::Read { .. })));
    }

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let faulty = ScenarioSpec::load(&dir.join("faulty.json")).unwrap();
        assert_eq!(faulty.fault_rate, Some(0.2));
        assert!(faulty.faults.len() >= 8);
        let realistic = ScenarioSpec::load(&dir.join("realistic.json")).unwrap();
        assert!(realistic.durations.contains_key("deployVirtualMachine"));
    }

    #[test]
    fn fault_flags_parse() {
        assert_eq!(
            parse_fault_flag("latency:1500@3"),
            Ok(FaultChoice { fault: Fault::Latency { ms: 1500 }, weight: 3 })
        );
        assert_eq!(
            parse_fault_flag("status429:2"),
            Ok(FaultChoice { fault: Fault::Status429 { retry_after_secs: 2 }, weight: 1 })
        );
        assert_eq!(parse_fault_flag("drop"), Ok(FaultChoice { fault: Fault::Drop, weight: 1 }));
        for bad in ["latency", "drop:5", "nope", "status500@x", "status429:-1"] {
            assert!(parse_fault_flag(bad).is_err(), "{bad}");
        }
    }

    /// `Config` as `main` builds it from `args`.
    fn config_from(args: &[&str]) -> Result<Config, ScenarioError> {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Config::command().try_get_matches_from(args).unwrap();
        let mut config = Config::from_arg_matches(&matches).unwrap();
        config.scenario.resolve(&matches)?;
        Ok(config)
    }

    #[test]
    fn command_line_and_file() {
        use clap::CommandFactory;
        Config::command().debug_assert();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/faulty.json");
        let file = file.to_str().unwrap();
        let from_file = Resolved::new(&config_from(&["jobwire-server", "--scenario", file]).unwrap());
        assert_eq!((from_file.seed, from_file.fault_rate), (7, 0.2));
        assert_eq!(from_file.throttling, Throttling { enabled: true, interval_ms: 1000, max: 25 });

        let args = ["jobwire-server", "--scenario", file, "--seed", "1", "--fault-rate", "0", "--throttle-max", "5"];
        let overridden = Resolved::new(&config_from(&args).unwrap());
        assert_eq!((overridden.seed, overridden.fault_rate, overridden.throttling.max), (1, 0.0, 5));

        let plain = Resolved::new(&config_from(&["jobwire-server"]).unwrap());
        assert_eq!((plain.fault_rate, plain.throttling.enabled), (0.0, false));
        let faults = config_from(&["jobwire-server", "--fault", "status503:2@4", "--fault", "drop"]).unwrap();
        assert_eq!(faults.scenario.faults.len(), 2);

        assert!(matches!(
            config_from(&["jobwire-server", "--scenario", "/nonexistent.json"]),
            Err(ScenarioError::Read { .. })
        ));
        assert!(matches!(config_from(&["jobwire-server", "--fault-rate", "2"]), Err(ScenarioError::Invalid(_))));
        assert!(config_from(&["jobwire-server", "--throttle-interval-ms", "0"]).is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let spec = ScenarioSpec::from_json(
            r#"{"seed": 9, "failure_rate": 0.3, "duration": {"fixed_ms": 77},
                "faults": {"rate": 0.5, "kinds": [{"kind": "drop"}]}, "throttling": {"enabled": false, "max": 3}}"#,
        )
        .unwrap();
        let mut config = Config::default();
        config.scenario.spec = Some(spec);
        let from_file = Resolved::new(&config);
        assert_eq!((from_file.seed, from_file.fault_rate), (9, 0.5));
        assert_eq!(from_file.scenario.job_duration_ms("x"), 77);
        assert!(!from_file.throttling.enabled);

        config.seed = 4;
        config.job_duration_ms = 12;
        config.scenario.explicit = Explicit { seed: true, duration: true, failure_rate: false };
        config.scenario.fault_rate = Some(0.1);
        config.scenario.faults = vec![FaultChoice { fault: Fault::Truncate, weight: 1 }];
        config.scenario.throttle_max = Some(25);
        let merged = Resolved::new(&config);
        assert_eq!((merged.seed, merged.fault_rate), (4, 0.1));
        assert_eq!(merged.scenario.job_duration_ms("x"), 12);
        assert_eq!(merged.faults, vec![FaultChoice { fault: Fault::Truncate, weight: 1 }]);
        assert_eq!(merged.throttling, Throttling { enabled: true, interval_ms: 1000, max: 25 });
    }
}
