//! CloudStack's API throttling (`api.throttling.enabled` / `.interval` / `.max`, the
//! `ApiRateLimitService`): each account may make `max` requests per window of `interval`; the
//! window starts at the account's first request (CloudStack keeps a counter per account that
//! expires `interval` after it was created) and further requests in it are refused with 429
//! (`API_LIMIT_EXCEED`). Off by default, as in CloudStack; the scenario or flags turn it on.
//!
//! CloudStack checks the limit once the caller is known, so `login` and refused credentials are
//! not counted; the API handler calls [`refuse`] right after authentication. CloudStack itself
//! sends no `Retry-After`; we add one (seconds until the window resets), as HTTP's 429 invites.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::cloudstack::{ApiFailure, Format};
use crate::scenario::ScenarioError;
use crate::AppState;

/// Accounts tracked before expired windows are swept (CloudStack's `api.throttling.cachesize`).
const MAX_TRACKED: usize = 10_000;

/// Throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttling {
    /// `api.throttling.enabled`.
    pub enabled: bool,
    /// `api.throttling.interval`, here in ms (CloudStack's is in seconds).
    pub interval_ms: u64,
    /// `api.throttling.max`.
    pub max: u32,
}

impl Throttling {
    /// CloudStack's default interval: 1 s.
    pub const DEFAULT_INTERVAL_MS: u64 = 1000;
    /// CloudStack's default limit: 25 requests.
    pub const DEFAULT_MAX: u32 = 25;

    /// Settings with a usable interval.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] for a zero interval.
    pub fn checked(enabled: bool, interval_ms: u64, max: u32) -> Result<Self, ScenarioError> {
        if interval_ms == 0 {
            return Err(ScenarioError::Invalid("throttling.interval_ms must be at least 1".into()));
        }
        Ok(Throttling { enabled, interval_ms, max })
    }
}

impl Default for Throttling {
    fn default() -> Self {
        Throttling { enabled: false, interval_ms: Self::DEFAULT_INTERVAL_MS, max: Self::DEFAULT_MAX }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// The per-account counters.
#[derive(Debug)]
pub struct Throttle {
    settings: Throttling,
    windows: Mutex<HashMap<String, Window>>,
}

impl Throttle {
    /// A throttle with these settings.
    pub fn new(settings: Throttling) -> Self {
        Throttle { settings, windows: Mutex::new(HashMap::new()) }
    }

    /// The settings.
    pub fn settings(&self) -> Throttling {
        self.settings
    }

    /// Counts one request by `account` at `now`: `Err(ms)` until the window resets when it is
    /// over the limit. Always `Ok` when throttling is off.
    pub fn admit(&self, account: &str, now: Instant) -> Result<(), u64> {
        if !self.settings.enabled {
            return Ok(());
        }
        let interval = Duration::from_millis(self.settings.interval_ms.max(1));
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| now.saturating_duration_since(w.started) < interval);
        }
        let window = windows.entry(account.to_owned()).or_insert(Window { started: now, count: 0 });
        if now.saturating_duration_since(window.started) >= interval {
            *window = Window { started: now, count: 0 };
        }
        window.count = window.count.saturating_add(1);
        if window.count <= self.settings.max {
            return Ok(());
        }
        let left = interval.saturating_sub(now.saturating_duration_since(window.started));
        Err(u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1))
    }
}

/// CloudStack's refusal of an account over its limit: 429 with the `RequestLimitException`
/// message. `cserrorcode` is 9999: CloudStack rethrows it as a bare
/// `ServerApiException(API_LIMIT_EXCEED, message)`, which carries its own code, not 4545.
pub fn limit_failure(wait_ms: u64) -> ApiFailure {
    ApiFailure {
        code: 429,
        cs_code: 9999,
        text: format!("The given user has reached his/her account api limit, please retry after [{wait_ms}] ms."),
    }
}

/// `Retry-After` seconds for a wait: rounded up, at least 1 (0 would invite an instant retry).
pub fn retry_after_secs(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(1000).max(1)
}

/// Counts this request of `account_id`; the 429 response when it is over the limit. Called by
/// the CloudStack API handler right after authentication.
pub fn refuse(state: &AppState, account_id: &str, format: Format, name: &str) -> Option<Response> {
    let wait_ms = state.throttle.admit(account_id, Instant::now()).err()?;
    state.metrics.record_throttled();
    let mut response = limit_failure(wait_ms).render(format, name);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(wait_ms)));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(max: u32, interval_ms: u64) -> Throttle {
        Throttle::new(Throttling { enabled: true, interval_ms, max })
    }

    #[test]
    fn off_admits_everything() {
        let throttle = Throttle::new(Throttling::default());
        let now = Instant::now();
        assert!((0..1000).all(|_| throttle.admit("a", now).is_ok()));
    }

    #[test]
    fn limit_per_account_per_window() {
        let throttle = on(25, 1000);
        let start = Instant::now();
        assert!((0..25).all(|_| throttle.admit("a", start).is_ok()));
        assert_eq!(throttle.admit("a", start + Duration::from_millis(400)), Err(600));
        // Another account has its own count.
        assert!(throttle.admit("b", start).is_ok());
        // The window resets `interval` after its first request.
        assert!(throttle.admit("a", start + Duration::from_millis(1000)).is_ok());
        assert!((1..25).all(|_| throttle.admit("a", start + Duration::from_millis(1001)).is_ok()));
        assert!(throttle.admit("a", start + Duration::from_millis(1002)).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!((retry_after_secs(1), retry_after_secs(1000), retry_after_secs(1001)), (1, 1, 2));
        assert_eq!(retry_after_secs(0), 1);
    }

    #[test]
    fn zero_interval_is_refused() {
        assert!(Throttling::checked(true, 0, 25).is_err());
        assert_eq!(Throttling::checked(true, 5, 1).map(|t| t.max).ok(), Some(1));
    }
}
