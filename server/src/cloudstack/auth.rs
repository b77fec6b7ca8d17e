//! Authentication as CloudStack's `ApiServlet` does it: `login`/`logout`, a session (the
//! `sessionkey` parameter plus the session cookies), or an API key with a signature verified
//! exactly like `ApiServer.verifyRequest` (signatureVersion 3 with `expires` included).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use base64::Engine as _;
use jobwire::protocol::cloudstack::signing::sign;
use jobwire::protocol::date::parse_cloudstack_date;
use serde_json::json;

use super::render::{self, ApiFailure, Format};
use super::Params;
use crate::model::{unix_ms, User};
use crate::AppState;

/// Which session credentials must be presented (CloudStack's `api.sessionkey.check.locations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionKeyCheck {
    /// The `sessionkey` parameter and the `sessionkey` and `JSESSIONID` cookies (CloudStack's default).
    CookieAndParameter,
    /// The `sessionkey` parameter; cookies, when sent, must match.
    ParameterOnly,
}

const BAD_SIGNATURE: &str = "unable to verify user credentials and/or request signature";
const BAD_SESSION: &str = "unable to verify user credentials";

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user making this (non-login) request, or CloudStack's 401.
pub fn authenticate(state: &AppState, params: &Params, headers: &HeaderMap) -> Result<User, ApiFailure> {
    if params.get("sessionkey").is_some() || cookie(headers, "JSESSIONID").is_some() && params.get("apikey").is_none() {
        return session_user(state, params, headers);
    }
    verify_signature(state, params)
}

fn session_user(state: &AppState, params: &Params, headers: &HeaderMap) -> Result<User, ApiFailure> {
    let refuse = || ApiFailure::unauthorized(BAD_SESSION);
    let key = params.get("sessionkey").ok_or_else(refuse)?;
    let now = unix_ms();
    let idle_timeout_ms = state.session_timeout_secs.saturating_mul(1000);
    let (user, jsessionid) = state.hub.session(key, now, idle_timeout_ms).ok_or_else(refuse)?;
    let cookie_key = cookie(headers, "sessionkey");
    let cookie_session = cookie(headers, "JSESSIONID");
    let cookies_match = cookie_key.is_none_or(|k| constant_time_eq(k.as_bytes(), key.as_bytes()))
        && cookie_session.is_none_or(|s| s == jsessionid);
    let cookies_present = cookie_key.is_some() && cookie_session.is_some();
    match state.session_check {
        SessionKeyCheck::CookieAndParameter if cookies_present && cookies_match => Ok(user),
        SessionKeyCheck::ParameterOnly if cookies_match => Ok(user),
        _ => Err(refuse()),
    }
}

fn verify_signature(state: &AppState, params: &Params) -> Result<User, ApiFailure> {
    let refuse = || ApiFailure::unauthorized(BAD_SIGNATURE);
    let api_key = params.get("apikey").ok_or_else(refuse)?;
    let signature = params.get("signature").ok_or_else(refuse)?;
    let user = state.hub.user_by_api_key(api_key).ok_or_else(refuse)?;
    if params.get("signatureversion") == Some("3") {
        let expires = params.get("expires").and_then(parse_cloudstack_date).ok_or_else(refuse)?;
        let now = i64::try_from(unix_ms() / 1000).unwrap_or(i64::MAX);
        if expires < now || (state.enforce_timestamps && expires > now + 15 * 60) {
            return Err(refuse());
        }
    } else if state.enforce_timestamps {
        return Err(refuse());
    }
    let signed = params.raw.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let expected = sign(signed, &user.secret_key);
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(user)
    } else {
        Err(refuse())
    }
}

fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    raw.iter_mut().for_each(|b| *b = fastrand::u8(..));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// `login`: must be a POST form; answers the session key in the body and sets the session
/// cookies, or 531 for bad credentials.
pub fn login(state: &AppState, params: &Params, format: Format) -> Response {
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return ApiFailure::param(
            "Unable to execute API command login due to missing parameter username/password".into(),
        )
        .render(format, "loginresponse");
    };
    let domain = normalise_domain(params.get("domain").unwrap_or("/"));
    let user = state
        .hub
        .user_by_name(username, &domain)
        .filter(|u| constant_time_eq(u.password.as_bytes(), password.as_bytes()));
    let Some(user) = user else {
        return ApiFailure::account(&format!(
            "Failed to authenticate user {username} in domain {domain}; please provide valid credentials"
        ))
        .render(format, "loginresponse");
    };
    let session_key = random_token(20);
    let jsessionid = format!("{}.node0", random_token(16));
    let timeout_secs = state.session_timeout_secs;
    if let Err(err) = state.hub.put_session(&session_key, &user.id, &jsessionid, unix_ms() + timeout_secs * 1000) {
        tracing::error!(%err, "cannot save session");
        return ApiFailure::internal().render(format, "loginresponse");
    }
    let body = json!({
        "timeout": timeout_secs.to_string(), "username": user.username, "userid": user.id,
        "domainid": user.domain_id, "account": user.account, "type": "0", "timezone": "UTC",
        "timezoneoffset": "0.0", "registered": "false", "sessionkey": session_key,
    });
    let mut response = render::success(format, "loginresponse", render::object(body));
    for cookie in [
        format!("JSESSIONID={jsessionid}; Path=/client; HttpOnly; SameSite=Lax"),
        format!("sessionkey={session_key}; Path=/client; HttpOnly; SameSite=Lax"),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `logout`: ends the session and expires every cookie received.
pub fn logout(state: &AppState, params: &Params, headers: &HeaderMap, format: Format) -> Response {
    let key = params.get("sessionkey").or_else(|| cookie(headers, "sessionkey"));
    if let Some(key) = key {
        if let Err(err) = state.hub.end_session(key) {
            tracing::error!(%err, "cannot delete session");
        }
    }
    let mut response = render::success(format, "logoutresponse", render::object(json!({"description": "success"})));
    for name in ["JSESSIONID", "sessionkey"] {
        if let Ok(value) = HeaderValue::from_str(&format!("{name}=; Path=/client; Max-Age=0")) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// CloudStack's domain path form: `ROOT` and empty are `/`; others start and end with `/`.
fn normalise_domain(domain: &str) -> String {
    let trimmed = domain.trim().trim_matches('/');
    if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("ROOT") {
        return "/".into();
    }
    let trimmed = trimmed.strip_prefix("ROOT/").unwrap_or(trimmed);
    format!("/{trimmed}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_normalise() {
        assert_eq!(normalise_domain(""), "/");
        assert_eq!(normalise_domain("ROOT"), "/");
        assert_eq!(normalise_domain("/"), "/");
        assert_eq!(normalise_domain("sales"), "/sales/");
        assert_eq!(normalise_domain("/ROOT/sales/"), "/sales/");
    }

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; JSESSIONID=abc.node0; sessionkey=k"));
        assert_eq!(cookie(&headers, "JSESSIONID"), Some("abc.node0"));
        assert_eq!(cookie(&headers, "sessionkey"), Some("k"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
