//! Session login (`command=login`, a form POST) and logout.
//!
//! The `sessionkey` comes from the login response body (browsers cannot read the HttpOnly
//! cookie) and goes as a parameter on every later call; the `JSESSIONID` cookie rides along
//! (browsers: `credentials: "include"`, natively: the client's cookie jar).

use super::request::{Auth, Request};
use super::response::Envelope;
use crate::protocol::{ApiError, Format, ProtocolError};

/// Builds the `login` request. It must be sent as a POST body: CloudStack refuses a GET
/// login with 405, and a password does not belong in a URL.
pub fn login_request(username: &str, password: &str, domain: &str) -> Request {
    let request = Request::new("login").param("username", username).param("password", password);
    // An empty domain means ROOT; CloudStack normalises the path itself.
    if domain.is_empty() {
        request
    } else {
        request.param("domain", domain)
    }
}

/// The form body of a login (unsigned: login is how credentials are proven).
pub fn login_body(username: &str, password: &str, domain: &str, format: Format) -> String {
    login_request(username, password, domain).encode(format, &Auth::None, 0)
}

/// What a successful login returns.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// `sessionkey`, sent as a parameter on every later call.
    pub session_key: String,
    /// Session inactivity timeout in seconds (`timeout`), when given.
    pub timeout_secs: Option<u64>,
    /// `userid`.
    pub user_id: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `account`.
    pub account: Option<String>,
    /// `domainid`.
    pub domain_id: Option<String>,
}

impl std::fmt::Debug for LoginSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSession")
            .field("session_key", &"<redacted>")
            .field("timeout_secs", &self.timeout_secs)
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("account", &self.account)
            .field("domain_id", &self.domain_id)
            .finish()
    }
}

/// Why a login did not produce a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// The server refused the credentials (531, or 401 on older servers) or the request.
    #[error("login refused: {0}")]
    Refused(ApiError),
    /// The answer is not a login response.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Reads a `loginresponse` envelope.
///
/// # Errors
/// [`LoginError::Refused`] for an error body, [`LoginError::Protocol`] when `sessionkey` is
/// missing or the body is not a login response.
pub fn parse_login(envelope: &Envelope) -> Result<LoginSession, LoginError> {
    if let Some(error) = envelope.api_error() {
        return Err(LoginError::Refused(error));
    }
    let text = |name: &str| -> Option<String> {
        match envelope.body.get(name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(crate::protocol::json::number_text(n)),
            _ => None,
        }
    };
    let session_key = text("sessionkey").filter(|k| !k.is_empty()).ok_or(ProtocolError::MissingField("sessionkey"))?;
    Ok(LoginSession {
        session_key,
        timeout_secs: text("timeout").and_then(|t| t.trim().parse().ok()),
        user_id: text("userid"),
        username: text("username"),
        account: text("account"),
        domain_id: text("domainid"),
    })
}

/// The `logout` request (send with the session's `sessionkey`).
pub fn logout_request() -> Request {
    Request::new("logout")
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use crate::protocol::cloudstack::parse_envelope;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn login_body_is_form_encoded_without_credentials_params() {
        assert_eq!(
            login_body("admin", "p@ss w~rd", "/", Format::Json),
            "username=admin&password=p%40ss%20w%7Erd&domain=%2F&command=login&response=json"
        );
        assert_eq!(login_body("a", "b", "", Format::Xml), "username=a&password=b&command=login&response=xml");
    }

    #[test]
    fn successful_login_gives_the_session_key() {
        let body = br#"{"loginresponse":{"timeout":"1800","username":"admin","userid":"u-1","domainid":"d-1","account":"admin","type":"1","sessionkey":"abc_DEF-123","registered":"false"}}"#;
        let session = parse_login(&parse_envelope(body, Format::Json).unwrap()).unwrap();
        assert_eq!(session.session_key, "abc_DEF-123");
        assert_eq!(session.timeout_secs, Some(1800));
        assert_eq!(session.user_id.as_deref(), Some("u-1"));
        assert!(!format!("{session:?}").contains("abc_DEF"), "session key must not reach logs");
        // `timeout` may be a number too.
        let body = br#"{"loginresponse":{"timeout":600,"sessionkey":"k"}}"#;
        assert_eq!(parse_login(&parse_envelope(body, Format::Json).unwrap()).unwrap().timeout_secs, Some(600));
    }

    #[test]
    fn refused_login_is_typed() {
        let body = br#"{"loginresponse":{"uuidList":[],"errorcode":531,"errortext":"Failed to authenticate user admin in domain 1; please provide valid credentials"}}"#;
        match parse_login(&parse_envelope(body, Format::Json).unwrap()) {
            Err(LoginError::Refused(error)) => assert_eq!(error.code, 531),
            other => panic!("expected Refused, got {other:?}"),
        }
        #[cfg(feature = "xml")]
        assert_eq!(
            parse_login(
                &parse_envelope(b"<loginresponse><username>x</username></loginresponse>", Format::Xml).unwrap()
            ),
            Err(LoginError::Protocol(ProtocolError::MissingField("sessionkey")))
        );
    }
}
