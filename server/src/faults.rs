//! Fault injection: with the scenario's seeded random source, a share of API requests
//! (`/client/api`, `/csm/…`) meet what a real network and proxy chain produce — latency, 429
//! with `Retry-After`, 5xx pages from a proxy, dropped connections, cut or garbled bodies — so
//! clients' retry and error paths get exercised and runs repeat.
//!
//! When a fault strikes matters for clients' retries, so it is fixed per kind:
//!
//! | kind | when | handler runs? | what the client sees |
//! |---|---|---|---|
//! | `latency` | before | yes, after the delay | the normal response, late |
//! | `status429` | before | no | CloudStack's 429 error body (CLM: `CloudError`), `Retry-After` |
//! | `status500` / `502` / `503` | before | no | a proxy's HTML error page (503: optional `Retry-After`) |
//! | `drop` | before | no | the connection closes without a (complete) response |
//! | `drop_after` | after | yes | the same, but the command took effect: a lost response |
//! | `truncate` | after | yes | the response with its body cut in half |
//! | `malformed` | after | yes | the response with its body replaced by garbage |
//!
//! So a refused request (429, 5xx, `drop`) never changed anything and is safe to retry; the
//! after-kinds simulate a response lost on the way back — the command ran, and a client that
//! retries a non-idempotent command blindly does it twice (CloudStack's `customjobid` or a
//! `listAsyncJobs` look-up are the ways to find out). Every injected response carries
//! `X-Jobwire-Fault: <kind>` for debugging (a dropped one has none to carry it).

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::edge::ApiCall;
use crate::AppState;

/// The response header naming an injected fault.
pub const FAULT_HEADER: &str = "x-jobwire-fault";

/// Largest handler response the after-faults buffer to damage it (bigger ones are dropped).
const MAX_DAMAGED_BODY: usize = 64 * 1024 * 1024;

/// One kind of fault, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Waits `ms`, then handles the request normally.
    Latency {
        /// Delay, ms.
        ms: u64,
    },
    /// CloudStack's 429 (`API_LIMIT_EXCEED`) with `Retry-After`.
    Status429 {
        /// `Retry-After`, seconds.
        retry_after_secs: u64,
    },
    /// A proxy's 500 page.
    Status500,
    /// A proxy's 502 page.
    Status502,
    /// A proxy's 503 page.
    Status503 {
        /// `Retry-After`, seconds, if any.
        retry_after_secs: Option<u64>,
    },
    /// The connection closes before the handler runs.
    Drop,
    /// The connection closes after the handler ran.
    DropAfter,
    /// The handler's body cut in half.
    Truncate,
    /// The handler's body replaced by garbage.
    Malformed,
}

impl Fault {
    /// Every kind's name, in the order metrics list them.
    pub const NAMES: [&'static str; 9] =
        ["latency", "status429", "status500", "status502", "status503", "drop", "drop_after", "truncate", "malformed"];

    /// The kind's name, as the scenario file spells it (metric label, `X-Jobwire-Fault`).
    pub fn name(self) -> &'static str {
        match self {
            Fault::Latency { .. } => "latency",
            Fault::Status429 { .. } => "status429",
            Fault::Status500 => "status500",
            Fault::Status502 => "status502",
            Fault::Status503 { .. } => "status503",
            Fault::Drop => "drop",
            Fault::DropAfter => "drop_after",
            Fault::Truncate => "truncate",
            Fault::Malformed => "malformed",
        }
    }

    /// Whether the handler runs despite the fault, so a state-changing command takes effect
    /// (latency: after the delay; the others: before the response is lost or damaged).
    pub fn handler_runs(self) -> bool {
        matches!(self, Fault::Latency { .. } | Fault::DropAfter | Fault::Truncate | Fault::Malformed)
    }
}

/// A fault kind and its weight among the configured kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultChoice {
    /// The fault.
    pub fault: Fault,
    /// Relative weight (0 never picks it).
    pub weight: u32,
}

impl FaultChoice {
    /// Every kind once, weight 1 (latency 1 s, `Retry-After: 1`): used when only a rate is given.
    pub fn all_kinds() -> Vec<FaultChoice> {
        [
            Fault::Latency { ms: 1000 },
            Fault::Status429 { retry_after_secs: 1 },
            Fault::Status500,
            Fault::Status502,
            Fault::Status503 { retry_after_secs: Some(1) },
            Fault::Drop,
            Fault::DropAfter,
            Fault::Truncate,
            Fault::Malformed,
        ]
        .into_iter()
        .map(|fault| FaultChoice { fault, weight: 1 })
        .collect()
    }
}

/// The fault injector: rate, kinds, and its own seeded random source (its own, so turning faults
/// on does not change the job runner's durations and failures).
#[derive(Debug)]
pub struct Faults {
    rate: f64,
    choices: Vec<FaultChoice>,
    total_weight: u64,
    rng: Mutex<fastrand::Rng>,
}

impl Faults {
    /// `rate` (0–1) of requests get one of `choices`, picked by weight.
    pub fn new(seed: u64, rate: f64, choices: Vec<FaultChoice>) -> Self {
        let total_weight = choices.iter().map(|c| u64::from(c.weight)).sum();
        Faults {
            rate: if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) },
            choices,
            total_weight,
            // A different stream from the scenario's, derived from the same seed.
            rng: Mutex::new(fastrand::Rng::with_seed(seed ^ 0x9E37_79B9_7F4A_7C15)),
        }
    }

    /// No faults at all.
    pub fn none() -> Self {
        Faults::new(0, 0.0, Vec::new())
    }

    /// Whether any request can get a fault.
    pub fn enabled(&self) -> bool {
        self.rate > 0.0 && self.total_weight > 0
    }

    /// The fault for the next request, if any. Draws nothing when disabled.
    pub fn pick(&self) -> Option<Fault> {
        if !self.enabled() {
            return None;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if rng.f64() >= self.rate {
            return None;
        }
        let mut ticket = rng.u64(0..self.total_weight);
        for choice in &self.choices {
            let weight = u64::from(choice.weight);
            if ticket < weight {
                return Some(choice.fault);
            }
            ticket -= weight;
        }
        None
    }
}

/// Marks a response that carries an injected fault (read by the request log and metrics).
#[derive(Debug, Clone, Copy)]
pub struct InjectedFault(pub Fault);

/// A body that fails at its first poll: hyper then aborts the connection instead of finishing
/// the response, which is what a client sees when a peer or proxy vanishes.
struct AbortBody;

impl axum::body::HttpBody for AbortBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "injected fault: drop"))))
    }
}

fn mark(mut response: Response, fault: Fault) -> Response {
    response.headers_mut().insert(FAULT_HEADER, HeaderValue::from_static(fault.name()));
    response.extensions_mut().insert(InjectedFault(fault));
    response
}

/// The page nginx answers when it has no good answer from upstream.
fn proxy_page(status: StatusCode) -> Response {
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("Error"));
    let html = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], html).into_response()
}

fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Garbage of `len` bytes (at least 32): not UTF-8 from the first byte on, so no JSON or XML
/// parser can take it for a document. Derived from the length so a run repeats.
fn garbage(len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(len as u64);
    let mut bytes = vec![0xFF, 0xFE, b'<', b'{'];
    bytes.extend((4..len.max(32)).map(|_| rng.u8(..)));
    bytes
}

/// The handler's response with its body replaced by `damage(body)` (or dropped when the body
/// cannot be read).
async fn damage(response: Response, fault: Fault, damage: impl FnOnce(Bytes) -> Bytes) -> Response {
    let (mut parts, body) = response.into_parts();
    // The length changes; hyper recomputes it from the new body.
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match axum::body::to_bytes(body, MAX_DAMAGED_BODY).await {
        Ok(bytes) => Body::from(damage(bytes)),
        Err(_) => Body::new(AbortBody),
    };
    mark(Response::from_parts(parts, body), fault)
}

/// Middleware: picks this request's fault (if any) and injects it. Applied to the API paths only;
/// [`crate::edge`] puts the [`ApiCall`] in the request first (to answer 429 in the right shape).
pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(call) = request.extensions().get::<ApiCall>().cloned() else {
        return next.run(request).await;
    };
    let Some(fault) = state.faults.pick() else {
        return next.run(request).await;
    };
    match fault {
        Fault::Latency { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            mark(next.run(request).await, fault)
        }
        Fault::Status429 { retry_after_secs } => {
            let failure = crate::throttle::limit_failure(retry_after_secs.saturating_mul(1000));
            mark(with_retry_after(call.error(failure), retry_after_secs), fault)
        }
        Fault::Status500 => mark(proxy_page(StatusCode::INTERNAL_SERVER_ERROR), fault),
        Fault::Status502 => mark(proxy_page(StatusCode::BAD_GATEWAY), fault),
        Fault::Status503 { retry_after_secs } => {
            let page = proxy_page(StatusCode::SERVICE_UNAVAILABLE);
            let page = match retry_after_secs {
                Some(secs) => with_retry_after(page, secs),
                None => page,
            };
            mark(page, fault)
        }
        Fault::Drop => mark(Response::new(Body::new(AbortBody)), fault),
        Fault::DropAfter => {
            let (mut parts, _) = next.run(request).await.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            mark(Response::from_parts(parts, Body::new(AbortBody)), fault)
        }
        Fault::Truncate => {
            let response = next.run(request).await;
            damage(response, fault, |bytes| bytes.slice(..bytes.len() / 2)).await
        }
        Fault::Malformed => {
            let response = next.run(request).await;
            damage(response, fault, |bytes| Bytes::from(garbage(bytes.len()))).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix() -> Vec<FaultChoice> {
        FaultChoice::all_kinds()
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let faults = Faults::new(seed, 0.5, mix());
            (0..200).map(|_| faults.pick()).collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn rate_and_weights_are_respected() {
        let faults = Faults::new(
            1,
            0.2,
            vec![
                FaultChoice { fault: Fault::Drop, weight: 3 },
                FaultChoice { fault: Fault::Truncate, weight: 1 },
                FaultChoice { fault: Fault::Malformed, weight: 0 },
            ],
        );
        let picks: Vec<Fault> = (0..10_000).filter_map(|_| faults.pick()).collect();
        assert!((1700..2300).contains(&picks.len()), "{}", picks.len());
        let drops = picks.iter().filter(|f| **f == Fault::Drop).count();
        assert!((0.7..0.8).contains(&(drops as f64 / picks.len() as f64)), "{drops}");
        assert!(!picks.contains(&Fault::Malformed));
    }

    #[test]
    fn disabled_injects_nothing() {
        assert!(!Faults::none().enabled());
        assert_eq!(Faults::new(1, 0.0, mix()).pick(), None);
        assert_eq!(Faults::new(1, 1.0, Vec::new()).pick(), None);
        assert_eq!(Faults::new(1, f64::NAN, mix()).pick(), None);
    }

    #[test]
    fn only_latency_and_after_kinds_run_the_handler() {
        let running: Vec<&str> = mix().iter().filter(|c| c.fault.handler_runs()).map(|c| c.fault.name()).collect();
        assert_eq!(running, ["latency", "drop_after", "truncate", "malformed"]);
    }

    #[test]
    fn names_match_the_list() {
        let names: Vec<&str> = mix().iter().map(|c| c.fault.name()).collect();
        assert_eq!(names, Fault::NAMES);
    }

    #[test]
    fn garbage_is_no_document() {
        let bytes = garbage(10);
        assert_eq!(bytes.len(), 32);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(garbage(100), garbage(100));
    }
}
