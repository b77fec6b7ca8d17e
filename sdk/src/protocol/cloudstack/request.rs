//! CloudStack requests: a command with its parameters, encoded for the wire with the chosen
//! authentication.

use super::signing::{format_date, java_url_encode, sign};
use crate::protocol::Format;

/// How a request proves who sends it.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (a server that runs every call as one user, like the integration port).
    None,
    /// API key and secret key: every request is signed; `expires_in_secs` adds
    /// `signatureVersion=3` with an `expires` that many seconds after the request is built.
    ApiKey {
        /// The public API key.
        api_key: String,
        /// The secret key; used only to sign, never sent.
        secret_key: String,
        /// Lifetime of a signed request, `None` for no `expires`.
        expires_in_secs: Option<u64>,
    },
    /// A session from `login`: the `sessionkey` goes as a parameter (the cookie rides along).
    Session {
        /// The `sessionkey` from the login response body.
        session_key: String,
    },
}

// Hand-written so a secret key never reaches a log through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::ApiKey { api_key, expires_in_secs, .. } => f
                .debug_struct("ApiKey")
                .field("api_key", api_key)
                .field("secret_key", &"<redacted>")
                .field("expires_in_secs", expires_in_secs)
                .finish(),
            Auth::Session { .. } => f.debug_struct("Session").field("session_key", &"<redacted>").finish(),
        }
    }
}

/// One API call: `command` plus its arguments, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    command: String,
    params: Vec<(String, String)>,
}

impl Request {
    /// A call of `command` (case-sensitive API name, e.g. `deployVirtualMachine`).
    pub fn new(command: impl Into<String>) -> Self {
        Request { command: command.into(), params: Vec::new() }
    }

    /// `queryAsyncJobResult` for `job_id` (names sent lower-case, as signing prefers).
    pub fn query_async_job_result(job_id: &str) -> Self {
        Request::new("queryAsyncJobResult").param("jobid", job_id)
    }

    /// Adds an argument; a later value for the same name replaces the earlier one, since the
    /// server would use only one of them.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        match self.params.iter_mut().find(|(existing, _)| *existing == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
        self
    }

    /// The command's name.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The arguments, without `command`, `response` or credentials.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The full parameter list as sent: arguments, `command`, `response` and credentials (but
    /// not `signature`). `now_unix` is needed for `expires`.
    fn wire_params(&self, format: Format, auth: &Auth, now_unix: u64) -> Vec<(String, String)> {
        let reserved = ["command", "response", "apikey", "signature", "signatureversion", "expires", "sessionkey"];
        let mut params: Vec<(String, String)> = self
            .params
            .iter()
            .filter(|(name, _)| !reserved.contains(&name.to_ascii_lowercase().as_str()))
            .cloned()
            .collect();
        params.push(("command".into(), self.command.clone()));
        params.push(("response".into(), format.as_param().into()));
        match auth {
            Auth::None => {}
            Auth::ApiKey { api_key, expires_in_secs, .. } => {
                params.push(("apiKey".into(), api_key.clone()));
                if let Some(lifetime) = expires_in_secs {
                    params.push(("signatureVersion".into(), "3".into()));
                    params.push(("expires".into(), format_date(now_unix.saturating_add(*lifetime))));
                }
            }
            Auth::Session { session_key } => params.push(("sessionkey".into(), session_key.clone())),
        }
        params
    }

    /// The `application/x-www-form-urlencoded` string to send (as a query string or a POST
    /// body), signed when `auth` is an API key. Credentials given as arguments are dropped.
    pub fn encode(&self, format: Format, auth: &Auth, now_unix: u64) -> String {
        let params = self.wire_params(format, auth, now_unix);
        let mut query = params
            .iter()
            .map(|(name, value)| format!("{}={}", java_url_encode(name), java_url_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        if let Auth::ApiKey { secret_key, .. } = auth {
            let signature = sign(params.iter().map(|(n, v)| (n.as_str(), v.as_str())), secret_key);
            query.push_str("&signature=");
            query.push_str(&java_url_encode(&signature));
        }
        query
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn unsigned_request_encodes_names_and_values() {
        let request = Request::new("deployVirtualMachine").param("zoneid", "z 1").param("details[0].cpu", "2");
        assert_eq!(
            request.encode(Format::Json, &Auth::None, 0),
            "zoneid=z%201&details%5B0%5D.cpu=2&command=deployVirtualMachine&response=json"
        );
    }

    #[test]
    fn signed_request_matches_the_docs_vector() {
        let auth = Auth::ApiKey {
            api_key: "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg".into(),
            secret_key: "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ".into(),
            expires_in_secs: None,
        };
        let query = Request::new("listUsers").encode(Format::Json, &auth, 0);
        assert!(query.ends_with("&signature=TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D"), "{query}");
        assert!(!query.contains("VDaACYb0"), "secret key leaked into the query");
    }

    #[test]
    fn expires_is_added_for_signature_version_3() {
        let auth = Auth::ApiKey { api_key: "K".into(), secret_key: "S".into(), expires_in_secs: Some(600) };
        let query = Request::new("listZones").encode(Format::Xml, &auth, 1_738_324_200);
        assert!(query.contains("signatureVersion=3&expires=2025-01-31T12%3A00%3A00%2B0000"), "{query}");
    }

    #[test]
    fn credentials_smuggled_as_arguments_are_dropped() {
        let request = Request::new("listZones").param("signature", "forged").param("apikey", "other");
        assert_eq!(request.encode(Format::Json, &Auth::None, 0), "command=listZones&response=json");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let auth = Auth::ApiKey { api_key: "K".into(), secret_key: "TOPSECRET".into(), expires_in_secs: None };
        assert!(!format!("{auth:?}").contains("TOPSECRET"));
    }
}
