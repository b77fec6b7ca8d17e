//! Which failures are worth another try, how many tries, and how long a server asks to wait.

use crate::protocol::date::unix_seconds;
use crate::time::Duration;

/// What went wrong with one request, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// No response (connection refused or dropped, DNS, timeout).
    Network,
    /// An HTTP status without a protocol error body (a proxy's page, say).
    HttpStatus(u16),
    /// A protocol error body with this code (CloudStack `errorcode`).
    ApiCode(i64),
    /// A 2xx answer whose body does not parse (truncated or damaged on the way).
    MalformedBody,
}

/// The verdict on a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Try again (after the server's `Retry-After`, if it gave one).
    Transient,
    /// Trying again cannot help (401, 431, 432, 530, …): fail at once.
    Permanent,
}

/// Classifies a failure of an idempotent request (status polls; submits are made idempotent
/// with `customjobid`, see the client). Network errors, throttling (429), gateway and
/// availability errors (500 without a protocol body, 502, 503, 504) and damaged bodies are
/// transient; every protocol error the server chose to send is permanent, except throttling
/// and "server unavailable".
pub fn classify(observed: Observed) -> Failure {
    match observed {
        Observed::Network | Observed::MalformedBody => Failure::Transient,
        Observed::HttpStatus(408 | 425 | 429 | 500 | 502 | 503 | 504) => Failure::Transient,
        Observed::HttpStatus(_) => Failure::Permanent,
        Observed::ApiCode(429 | 503) => Failure::Transient,
        Observed::ApiCode(_) => Failure::Permanent,
    }
}

/// How many transient failures in a row are tolerated before giving up (a success resets it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    max_consecutive: u32,
    used: u32,
}

impl RetryBudget {
    /// A budget of `max_consecutive` retries in a row (exoscale `cs` uses 10).
    pub fn new(max_consecutive: u32) -> Self {
        RetryBudget { max_consecutive, used: 0 }
    }

    /// Takes one retry; `false` when the budget is spent.
    pub fn take(&mut self) -> bool {
        if self.used >= self.max_consecutive {
            return false;
        }
        self.used += 1;
        true
    }

    /// Retries taken since the last success.
    pub fn used(&self) -> u32 {
        self.used
    }

    /// A success: the next failure starts a fresh run.
    pub fn reset(&mut self) {
        self.used = 0;
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(10)
    }
}

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate,
/// obsolete RFC 850 and asctime forms) relative to `now_unix`. A date in the past means "now";
/// anything unparsable is `None` (the caller keeps its own delay).
pub fn parse_retry_after(value: &str, now_unix: u64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(value)?;
    let now = i64::try_from(now_unix).ok()?;
    Some(Duration::from_secs(u64::try_from(at - now).unwrap_or(0)))
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name)).and_then(|i| u32::try_from(i + 1).ok())
}

fn parse_hms(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(':').map(|p| p.parse::<u32>().ok());
    let hms = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(hms)
}

/// Unix seconds of an HTTP-date in any of its three forms.
fn parse_http_date(text: &str) -> Option<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, month, year, time, "GMT"] => {
            unix_seconds((year.parse().ok()?, month_number(month)?, day.parse().ok()?), parse_hms(time)?, 0)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: RFC 9110 says interpret
        // within 50 years of now; 70–99 → 19xx is the common reading)
        [_, date, time, "GMT"] => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            let year: i64 = year.parse().ok()?;
            let year = if year < 70 {
                2000 + year
            } else if year < 100 {
                1900 + year
            } else {
                year
            };
            unix_seconds((year, month_number(month)?, day.parse().ok()?), parse_hms(time)?, 0)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_, month, day, time, year] => {
            unix_seconds((year.parse().ok()?, month_number(month)?, day.parse().ok()?), parse_hms(time)?, 0)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NOV_6_1994: u64 = 784_111_777; // 1994-11-06T08:49:37Z

    #[test]
    fn retry_after_seconds_and_all_date_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        let now = NOV_6_1994 - 30;
        for form in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(parse_retry_after(form, now), Some(Duration::from_secs(30)), "{form}");
        }
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOV_6_1994 + 99), Some(Duration::ZERO));
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn transient_and_permanent_failures() {
        for transient in [
            Observed::Network,
            Observed::MalformedBody,
            Observed::HttpStatus(429),
            Observed::HttpStatus(502),
            Observed::HttpStatus(503),
            Observed::HttpStatus(504),
            Observed::HttpStatus(500),
            Observed::ApiCode(429),
        ] {
            assert_eq!(classify(transient), Failure::Transient, "{transient:?}");
        }
        for permanent in [
            Observed::ApiCode(401),
            Observed::ApiCode(431),
            Observed::ApiCode(432),
            Observed::ApiCode(530),
            Observed::HttpStatus(404),
            Observed::HttpStatus(401),
        ] {
            assert_eq!(classify(permanent), Failure::Permanent, "{permanent:?}");
        }
    }

    #[test]
    fn budget_counts_consecutive_retries() {
        let mut budget = RetryBudget::new(2);
        assert!(budget.take() && budget.take());
        assert!(!budget.take());
        budget.reset();
        assert!(budget.take());
        assert_eq!(budget.used(), 1);
    }
}
