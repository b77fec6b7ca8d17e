//! CLM login and authentication: `POST /csm/login` answers a token in the `Authentication-Token`
//! header; every other call sends it back in the same header (the [`Caller`] extractor).
//!
//! Tokens are hub sessions, so they are written through to the store and survive a restart. A
//! CLM session has an empty `JSESSIONID` (CLM has no cookies); that is how a CloudStack session
//! key, which always comes with one, is told apart and refused here. Each authenticated call
//! moves the expiry `session_timeout_secs` ahead: CLM tokens end after inactivity, not at a fixed
//! time.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use jobwire::protocol::clm::auth::AUTH_TOKEN_HEADER;

use super::{read_object, render, string_field, ClmError};
use crate::model::{unix_ms, User};
use crate::AppState;

/// The `JSESSIONID` recorded with CLM tokens (see the module doc).
const CLM_SESSION_MARK: &str = "";

/// An authenticated CLM caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user the token belongs to.
    pub user: User,
    /// The token itself (for logout).
    pub token: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ClmError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTH_TOKEN_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ClmError::unauthorized("The Authentication-Token header is missing; log in with POST /csm/login")
            })?;
        let now = unix_ms();
        let idle_timeout_ms = state.session_timeout_secs.saturating_mul(1000);
        let user = match state.hub.session(token, now, idle_timeout_ms) {
            Some((user, jsessionid)) if jsessionid == CLM_SESSION_MARK => user,
            _ => return Err(ClmError::unauthorized("The Authentication-Token is invalid or has expired")),
        };
        Ok(Caller { user, token: token.to_owned() })
    }
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new token: two v4 UUIDs (244 bits from the OS random source), hex.
fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// `POST /csm/login` `{"username","password"}`: `200` with `Authentication-Token` and body `[]`,
/// or 401 for unknown users and wrong passwords alike (users of the ROOT domain).
pub async fn login(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ClmError> {
    let body = read_object(body)?;
    let (Some(username), Some(password)) = (string_field(&body, "username")?, string_field(&body, "password")?) else {
        return Err(ClmError::bad_request("Login needs the fields username and password"));
    };
    let user = state
        .hub
        .user_by_name(username, "/")
        .filter(|user| constant_time_eq(user.password.as_bytes(), password.as_bytes()))
        .ok_or_else(|| ClmError::unauthorized("Invalid username or password"))?;
    let token = new_token();
    let expires = unix_ms().saturating_add(state.session_timeout_secs.saturating_mul(1000));
    state.hub.put_session(&token, &user.id, CLM_SESSION_MARK, expires).map_err(|err| {
        tracing::error!(%err, "cannot save a CLM token");
        ClmError::internal()
    })?;
    let mut response = render::ok(Vec::new());
    // A hex token is always a valid header value; the check only avoids an unwrap.
    let value = HeaderValue::from_str(&token).map_err(|_| ClmError::internal())?;
    response.headers_mut().insert(HeaderName::from_static("authentication-token"), value);
    Ok(response)
}

/// `POST /csm/logout`: ends the caller's token; `[]`.
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ClmError> {
    state.hub.end_session(&caller.token).map_err(|err| {
        tracing::error!(%err, "cannot delete a CLM token");
        ClmError::internal()
    })?;
    Ok(render::ok(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_hex_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"pw", b"pw"));
        assert!(!constant_time_eq(b"pw", b"pW"));
        assert!(!constant_time_eq(b"pw", b"p"));
    }
}
