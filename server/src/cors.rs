//! CORS: a real CloudStack sends none, so browsers on other origins reach clouds through us.
//! Origins are echoed only when allowed (localhost on any port, plus configured ones), with
//! credentials, so session cookies work and `*` is never sent.

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether `origin` is a loopback origin (`http://localhost:5173`, `http://127.0.0.1`, `http://[::1]:80`).
fn is_loopback(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    let host = if rest.starts_with('[') {
        rest.split_inclusive(']').next().unwrap_or(rest)
    } else {
        rest.split(':').next().unwrap_or(rest)
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// The CORS layer for the configured extra origins.
pub fn layer(extra_origins: &[String]) -> CorsLayer {
    let extra: Vec<String> = extra_origins.iter().map(|o| o.trim_end_matches('/').to_owned()).collect();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin.to_str().map(|o| is_loopback(o) || extra.iter().any(|e| e == o)).unwrap_or(false)
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("authentication-token"),
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([
            HeaderName::from_static("x-description"),
            header::RETRY_AFTER,
            header::LOCATION,
            HeaderName::from_static("authentication-token"),
            HeaderName::from_static("bmc-transaction-id"),
            HeaderName::from_static("preference-applied"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_origins() {
        for ok in ["http://localhost", "http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:80"] {
            assert!(is_loopback(ok), "{ok}");
        }
        for bad in ["http://localhost.evil.com", "http://127.0.0.1.nip.io", "null", "http://evil.com", "localhost"] {
            assert!(!is_loopback(bad), "{bad}");
        }
    }
}
