//! Gateway to a real cloud: a real CloudStack management server sends no CORS headers, so a
//! browser app on another origin cannot call it. With `--upstream` (CloudStack API URL) and/or
//! `--upstream-clm` (CLM base URL) the server forwards API requests unchanged — method, query,
//! body, cookies, `Authentication-Token`, `Prefer` — and adds CORS on the way back. It neither
//! stores nor logs credentials: nothing of a request but its method, path and status is logged.

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// Largest response the gateway relays (bodies are buffered).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Where the gateway forwards.
#[derive(Clone)]
pub struct Upstream {
    client: reqwest::Client,
    /// The CloudStack API URL (`http://host:8080/client/api`), requests to `/client/api` go there.
    pub cloudstack: Option<reqwest::Url>,
    /// The CLM base URL (`http://host:8080`), requests to `/csm/...` go below it.
    pub clm: Option<reqwest::Url>,
}

impl Upstream {
    /// A gateway to the given upstreams.
    ///
    /// # Errors
    /// A message when a URL does not parse or is not http(s).
    pub fn new(cloudstack: Option<&str>, clm: Option<&str>) -> Result<Self, String> {
        let parse = |text: &str| -> Result<reqwest::Url, String> {
            let url = reqwest::Url::parse(text).map_err(|e| format!("upstream {text:?}: {e}"))?;
            match url.scheme() {
                "http" | "https" => Ok(url),
                other => Err(format!("upstream {text:?}: scheme {other} is not http(s)")),
            }
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(90))
            // Redirects go back to the browser as they are, not followed here.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Upstream { client, cloudstack: cloudstack.map(parse).transpose()?, clm: clm.map(parse).transpose()? })
    }
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), plus `Host`
/// (the upstream's own) and `Content-Length` (recomputed).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

fn bad_gateway(text: &str) -> Response {
    (StatusCode::BAD_GATEWAY, [("content-type", "text/plain; charset=utf-8")], text.to_owned()).into_response()
}

/// Forwards one request to `target` (with the original query) and relays the answer.
async fn forward(
    upstream: &Upstream,
    mut target: reqwest::Url,
    uri: &axum::http::Uri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    target.set_query(uri.query());
    let mut request = upstream.client.request(method.clone(), target);
    for (name, value) in headers.iter().filter(|(name, _)| !is_hop_by_hop(name)) {
        request = request.header(name, value);
    }
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(err) => {
            tracing::warn!(%method, path = uri.path(), error = %err.without_url(), "upstream unreachable");
            return bad_gateway("the upstream cloud did not answer");
        }
    };
    let status = response.status();
    let mut relayed = HeaderMap::new();
    for (name, value) in response.headers().iter().filter(|(name, _)| !is_hop_by_hop(name)) {
        relayed.append(name.clone(), value.clone());
    }
    if response.content_length().is_some_and(|len| len > MAX_RESPONSE_BYTES as u64) {
        return bad_gateway("the upstream answer is too large");
    }
    let bytes = match response.bytes().await {
        Ok(bytes) if bytes.len() <= MAX_RESPONSE_BYTES => bytes,
        Ok(_) => return bad_gateway("the upstream answer is too large"),
        Err(err) => {
            tracing::warn!(%method, path = uri.path(), error = %err.without_url(), "upstream answer broke off");
            return bad_gateway("the upstream answer broke off");
        }
    };
    tracing::info!(%method, path = uri.path(), status = status.as_u16(), "forwarded");
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = relayed;
    out
}

/// `/client/api` → the CloudStack upstream.
pub async fn cloudstack(
    State(upstream): State<Upstream>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match upstream.cloudstack.clone() {
        Some(target) => forward(&upstream, target, &uri, method, headers, body).await,
        None => (StatusCode::NOT_FOUND, "no CloudStack upstream configured").into_response(),
    }
}

/// `/csm/...` → the same path below the CLM upstream.
pub async fn clm(
    State(upstream): State<Upstream>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(base) = upstream.clm.clone() else {
        return (StatusCode::NOT_FOUND, "no CLM upstream configured").into_response();
    };
    match base.join(uri.path().trim_start_matches('/')) {
        Ok(target) => forward(&upstream, target, &uri, method, headers, body).await,
        Err(_) => (StatusCode::BAD_REQUEST, "bad path").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_must_be_http_urls() {
        assert!(Upstream::new(Some("http://10.0.0.1:8080/client/api"), None).is_ok());
        assert!(Upstream::new(Some("ftp://x"), None).is_err());
        assert!(Upstream::new(None, Some("not a url")).is_err());
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        assert!(is_hop_by_hop(&HeaderName::from_static("connection")));
        assert!(is_hop_by_hop(&HeaderName::from_static("host")));
        assert!(!is_hop_by_hop(&HeaderName::from_static("cookie")));
        assert!(!is_hop_by_hop(&HeaderName::from_static("authentication-token")));
    }
}
