//! CLM login and headers: `POST csm/login` with `{"username","password"}` answers the session
//! token in the `Authentication-Token` response header, sent back on every later call;
//! `BMC-Transaction-ID` identifies a response for diagnostics.
//!
//! Headers are passed as `&[(String, String)]` pairs, matched case-insensitively (HTTP/2 and
//! `fetch` lower-case names; CLM's Jetty writes them capitalised).

use serde_json::{json, Value};

use crate::protocol::ProtocolError;

/// The header carrying the session token, in the login response and every later request.
pub const AUTH_TOKEN_HEADER: &str = "Authentication-Token";

/// The response header identifying a server transaction (matches a Task's `transactionID`).
pub const TRANSACTION_ID_HEADER: &str = "BMC-Transaction-ID";

/// The `Content-Type` CLM documents for request bodies.
pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// The first value of header `name` (case-insensitive), if any.
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key.trim().eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

/// The body of `POST csm/login`.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// The CLM user name.
    pub username: String,
    /// The password; only ever put in the body.
    pub password: String,
}

// Hand-written so the password never reaches a log through `{:?}`.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

impl LoginRequest {
    /// A login for `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        LoginRequest { username: username.into(), password: password.into() }
    }

    /// `{"username": …, "password": …}`.
    pub fn to_json(&self) -> Value {
        json!({"username": self.username, "password": self.password})
    }

    /// The body's bytes (`Content-Type: application/json;charset=UTF-8`).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::protocol::json::to_text(&self.to_json()).into_bytes()
    }
}

/// A CLM session token (`Authentication-Token`).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

// Hand-written: the token is a bearer credential.
impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

impl AuthToken {
    /// A token from its text, surrounding whitespace trimmed.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidField`] (field `Authentication-Token`) when it is empty or holds
    /// characters a header value cannot carry (control characters, CR/LF, non-ASCII), which would
    /// break or inject headers when sent back.
    pub fn new(token: &str) -> Result<Self, ProtocolError> {
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
            // The value itself is not echoed: it is a credential.
            return Err(ProtocolError::InvalidField {
                field: AUTH_TOKEN_HEADER,
                value: format!("{} bytes, empty or not a valid header value", token.len()),
            });
        }
        Ok(AuthToken(token.to_owned()))
    }

    /// The token text, to send.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The request header that carries it.
    pub fn header(&self) -> (&'static str, &str) {
        (AUTH_TOKEN_HEADER, &self.0)
    }
}

/// Reads the session token from the login response's headers.
///
/// Status handling (a 401 for bad credentials) is the caller's; this only reads the header.
///
/// # Errors
/// [`ProtocolError::MissingField`] when there is no `Authentication-Token` header (also what a
/// browser sees when the server does not list it in `Access-Control-Expose-Headers`);
/// [`ProtocolError::InvalidField`] when its value is empty or not a valid header value.
pub fn read_login_token(headers: &[(String, String)]) -> Result<AuthToken, ProtocolError> {
    let value = header_value(headers, AUTH_TOKEN_HEADER).ok_or(ProtocolError::MissingField(AUTH_TOKEN_HEADER))?;
    AuthToken::new(value)
}

/// The `BMC-Transaction-ID` of a response, for logs and error reports; `None` when absent,
/// blank, or holding control characters (which could forge log lines).
pub fn transaction_id(headers: &[(String, String)]) -> Option<String> {
    let value = header_value(headers, TRANSACTION_ID_HEADER)?.trim();
    (!value.is_empty() && !value.chars().any(char::is_control)).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn login_body_and_redaction() {
        let login = LoginRequest::new("bhu_admin", "hunter2");
        assert_eq!(login.to_json(), json!({"username": "bhu_admin", "password": "hunter2"}));
        assert_eq!(serde_json::from_slice::<Value>(&login.to_bytes()).ok(), Some(login.to_json()));
        let debug = format!("{login:?}");
        assert!(debug.contains("bhu_admin") && !debug.contains("hunter2"), "{debug}");
        // Quotes in credentials are escaped, not spliced.
        let tricky = LoginRequest::new("a\"b", "p\"}");
        assert_eq!(tricky.to_json()["password"], "p\"}");
    }

    #[test]
    fn token_is_read_case_insensitively() {
        let response = headers(&[("content-type", "application/json"), ("authentication-token", " tok-123 ")]);
        let token = read_login_token(&response);
        assert_eq!(token.as_ref().map(AuthToken::as_str), Ok("tok-123"));
        assert_eq!(token.as_ref().map(AuthToken::header), Ok((AUTH_TOKEN_HEADER, "tok-123")));
        assert!(!format!("{token:?}").contains("tok-123"), "token leaked into Debug");
        let capitalised = headers(&[("Authentication-Token", "T")]);
        assert_eq!(read_login_token(&capitalised).map(|t| t.as_str().to_owned()), Ok("T".into()));
    }

    #[test]
    fn missing_or_bad_tokens_are_typed_errors() {
        assert_eq!(read_login_token(&[]), Err(ProtocolError::MissingField(AUTH_TOKEN_HEADER)));
        for bad in ["", "   ", "a\r\nSet-Cookie: x", "tök", "a\0b"] {
            let result = read_login_token(&headers(&[("Authentication-Token", bad)]));
            assert!(
                matches!(&result, Err(ProtocolError::InvalidField { field: AUTH_TOKEN_HEADER, value }) if !value.contains("Set-Cookie")),
                "{bad:?}: {result:?}"
            );
        }
    }

    #[test]
    fn transaction_id_is_read() {
        let response = headers(&[("bmc-transaction-id", "0a444544-8cf0-4d95-bea7-ff226f51bc0c")]);
        assert_eq!(transaction_id(&response).as_deref(), Some("0a444544-8cf0-4d95-bea7-ff226f51bc0c"));
        assert_eq!(transaction_id(&headers(&[("BMC-Transaction-ID", "  ")])), None);
        assert_eq!(transaction_id(&headers(&[("BMC-Transaction-ID", "a\nforged log line")])), None);
        assert_eq!(transaction_id(&[]), None);
    }
}
