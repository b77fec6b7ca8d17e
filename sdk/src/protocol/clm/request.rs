//! CLM requests: operation bodies with their `timeout` mode, and the task status/result URLs.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::protocol::{excerpt, ProtocolError};

/// The `timeout` body field, which picks CLM's sync or async mode for POST and DELETE calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// `0`: answer at once with a Task (BMC's recommendation, and what the SDK submits with).
    Async,
    /// `-1`: wait up to the server's default timeout (what the server assumes when `timeout` is
    /// omitted); a Task still comes back if the operation runs longer.
    SyncDefault,
    /// `N`: wait up to `N` seconds, then answer with a Task if not done. `SyncFor(0)` is sent as
    /// `0` and so means [`Timeout::Async`] to the server.
    SyncFor(u32),
}

impl Timeout {
    /// The value sent in the body.
    pub fn as_i64(self) -> i64 {
        match self {
            Timeout::Async => 0,
            Timeout::SyncDefault => -1,
            Timeout::SyncFor(seconds) => i64::from(seconds),
        }
    }

    /// The mode a `timeout` value selects: 0 async, -1 server default, `1..` seconds; `None` for
    /// other negatives or values beyond `u32`.
    pub fn from_i64(value: i64) -> Option<Timeout> {
        match value {
            0 => Some(Timeout::Async),
            -1 => Some(Timeout::SyncDefault),
            n => u32::try_from(n).ok().map(Timeout::SyncFor),
        }
    }
}

impl Serialize for Timeout {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.as_i64())
    }
}

/// The JSON name of the callback URL field.
///
/// BMC's docs say only that "an HTTP request contains a callback URL"; the field's exact name
/// is not confirmed by any page found (protocols.md §5.2, §6.7). `callbackURL` follows the
/// naming of CLM's other fields (`taskStatusURI`, `transactionID`) and is what the reference
/// server reads.
pub const CALLBACK_URL_FIELD: &str = "callbackURL";

/// The JSON name of the timeout field.
pub const TIMEOUT_FIELD: &str = "timeout";

/// The body of a CLM operation (POST/DELETE): the caller's fields plus `timeout` and, optionally,
/// the callback URL.
///
/// The caller's fields are kept; `timeout` is always this body's own (the SDK's handling of the
/// answer depends on it) and the callback field is set only when a callback URL is given.
#[derive(Clone, PartialEq)]
pub struct OperationBody {
    fields: Map<String, Value>,
    timeout: Timeout,
    callback_url: Option<String>,
}

// Hand-written because the callback URL carries the caller's unguessable token (CLM sends no
// credentials with callbacks), which must not reach a log through `{:?}`.
impl std::fmt::Debug for OperationBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationBody")
            .field("fields", &self.fields)
            .field("timeout", &self.timeout)
            .field("callback_url", &self.callback_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl OperationBody {
    /// An empty body in `timeout` mode.
    pub fn new(timeout: Timeout) -> Self {
        OperationBody { fields: Map::new(), timeout, callback_url: None }
    }

    /// A body from the caller's JSON object (`null` counts as empty).
    ///
    /// # Errors
    /// [`ProtocolError::InvalidField`] (field `body`) when `fields` is not an object.
    pub fn from_json(fields: Value, timeout: Timeout) -> Result<Self, ProtocolError> {
        match fields {
            Value::Object(fields) => Ok(OperationBody { fields, timeout, callback_url: None }),
            Value::Null => Ok(OperationBody::new(timeout)),
            other => Err(ProtocolError::InvalidField { field: "body", value: excerpt(&other) }),
        }
    }

    /// Adds or replaces one field. A `timeout` field set here is still replaced by the mode.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.insert(name.into(), value);
        self
    }

    /// Asks CLM to POST to `url` when the task finishes.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidField`] (field `callbackURL`) unless `url` is an absolute
    /// `http`/`https` URL without whitespace or control characters.
    pub fn callback_url(mut self, url: impl Into<String>) -> Result<Self, ProtocolError> {
        let url = url.into();
        if split_absolute_url(&url).is_none() {
            return Err(ProtocolError::InvalidField {
                field: CALLBACK_URL_FIELD,
                value: "not an absolute http(s) URL".into(),
            });
        }
        self.callback_url = Some(url);
        Ok(self)
    }

    /// The mode this body selects.
    pub fn timeout(&self) -> Timeout {
        self.timeout
    }

    /// The JSON object to send.
    pub fn to_json(&self) -> Value {
        let mut fields = self.fields.clone();
        fields.insert(TIMEOUT_FIELD.into(), Value::from(self.timeout.as_i64()));
        if let Some(url) = &self.callback_url {
            fields.insert(CALLBACK_URL_FIELD.into(), Value::String(url.clone()));
        }
        Value::Object(fields)
    }

    /// The body's bytes (`Content-Type: application/json;charset=UTF-8`).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::protocol::json::to_text(&self.to_json()).into_bytes()
    }
}

/// The path of the login call, relative to the server root.
pub const LOGIN_PATH: &str = "csm/login";

/// Longest task id accepted; UUIDs have 36 characters, the margin is for other id schemes.
const MAX_ID_LEN: usize = 128;

/// Checks that a task id can go into a URL path as one segment, unchanged.
///
/// Ids come from server bodies; one holding `/`, `..`, `?`, `#` or `%` could make the SDK send
/// its token to another path. Only RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`) are
/// accepted, which covers UUIDs and numeric ids, and never `..`.
///
/// # Errors
/// [`ProtocolError::InvalidField`] (field `taskInternalUUID`) for an empty, too long or unsafe id.
pub fn validate_task_id(id: &str) -> Result<&str, ProtocolError> {
    let safe = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.contains("..")
        && id != "."
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if safe {
        Ok(id)
    } else {
        Err(ProtocolError::InvalidField { field: "taskInternalUUID", value: excerpt(&Value::String(id.to_owned())) })
    }
}

/// `csm/task/{id}/status`, relative to the server root.
///
/// # Errors
/// As [`validate_task_id`].
pub fn status_path(task_internal_uuid: &str) -> Result<String, ProtocolError> {
    Ok(format!("csm/task/{}/status", validate_task_id(task_internal_uuid)?))
}

/// `csm/task/{id}/result`, relative to the server root.
///
/// # Errors
/// As [`validate_task_id`].
pub fn result_path(task_internal_uuid: &str) -> Result<String, ProtocolError> {
    Ok(format!("csm/task/{}/result", validate_task_id(task_internal_uuid)?))
}

/// `csm/Task/{guid}` (the Task get request, by the task object's `guid`), relative to the root.
///
/// # Errors
/// As [`validate_task_id`].
pub fn task_get_path(guid: &str) -> Result<String, ProtocolError> {
    Ok(format!("csm/Task/{}", validate_task_id(guid)?))
}

/// Splits an absolute `http`/`https` URL into `scheme://authority` and its path (query and
/// fragment dropped). `None` for anything else, or a URL with whitespace or control characters.
fn split_absolute_url(url: &str) -> Option<(&str, &str)> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let scheme_end = url.find("://")?;
    if !["http", "https"].iter().any(|s| s.eq_ignore_ascii_case(&url[..scheme_end])) {
        return None;
    }
    let after_scheme = scheme_end + 3;
    let authority_len = url[after_scheme..].find(['/', '?', '#']).unwrap_or(url.len() - after_scheme);
    if authority_len == 0 {
        return None;
    }
    let (origin, rest) = url.split_at(after_scheme + authority_len);
    let path = rest.find(['?', '#']).map_or(rest, |end| &rest[..end]);
    Some((origin, path))
}

/// Resolves a relative path (such as [`status_path`]'s) against `base` as RFC 3986 §5.2 does
/// for a path without dot segments: the base's last segment is replaced.
///
/// So pass the server root, with or without a trailing slash (`http://host:8080`,
/// `https://gw/clm/`): `https://gw/clm/` + `csm/login` is `https://gw/clm/csm/login`, while a
/// base of `https://gw/clm` (no trailing slash) gives `https://gw/csm/login`.
///
/// # Errors
/// [`ProtocolError::InvalidField`] (field `baseUrl`) when `base` is not an absolute `http`/`https`
/// URL; (field `path`) when `relative` is absolute, empty or not a plain relative path.
pub fn resolve(base: &str, relative: &str) -> Result<String, ProtocolError> {
    let (origin, path) = split_absolute_url(base)
        .ok_or_else(|| ProtocolError::InvalidField { field: "baseUrl", value: excerpt(&Value::String(base.into())) })?;
    let plain = !relative.is_empty()
        && !relative.starts_with('/')
        && !relative.contains(['?', '#', ':', '\\'])
        && !relative.split('/').any(|segment| segment == "." || segment == "..")
        && !relative.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plain {
        return Err(ProtocolError::InvalidField { field: "path", value: excerpt(&Value::String(relative.into())) });
    }
    let directory = path.rfind('/').map_or("/", |slash| &path[..=slash]);
    Ok(format!("{origin}{directory}{relative}"))
}

/// The absolute status URL of a task under `base` (see [`resolve`]).
///
/// # Errors
/// As [`validate_task_id`] and [`resolve`].
pub fn status_url(base: &str, task_internal_uuid: &str) -> Result<String, ProtocolError> {
    resolve(base, &status_path(task_internal_uuid)?)
}

/// The absolute result URL of a task under `base` (see [`resolve`]).
///
/// # Errors
/// As [`validate_task_id`] and [`resolve`].
pub fn result_url(base: &str, task_internal_uuid: &str) -> Result<String, ProtocolError> {
    resolve(base, &result_path(task_internal_uuid)?)
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const ID: &str = "46c723fa-48e0-41fd-86d5-47caa2318488";

    #[test]
    fn timeout_values() {
        assert_eq!([Timeout::Async, Timeout::SyncDefault, Timeout::SyncFor(30)].map(Timeout::as_i64), [0, -1, 30]);
        assert_eq!(serde_json::to_value(Timeout::SyncDefault).ok(), Some(json!(-1)));
        assert_eq!(Timeout::from_i64(0), Some(Timeout::Async));
        assert_eq!(Timeout::from_i64(-1), Some(Timeout::SyncDefault));
        assert_eq!(Timeout::from_i64(90), Some(Timeout::SyncFor(90)));
        assert_eq!(Timeout::from_i64(-2), None);
        assert_eq!(Timeout::from_i64(i64::from(u32::MAX) + 1), None);
    }

    #[test]
    fn body_keeps_caller_fields_and_sets_timeout() {
        let caller = json!({"name": "vm1", "operationParams": [{"name": "p", "value": 1}], "timeout": 99});
        let body =
            OperationBody::from_json(caller, Timeout::Async).and_then(|b| b.callback_url("https://me/cb/s3cret"));
        let Ok(body) = body else { panic!("{body:?}") };
        assert_eq!(
            body.to_json(),
            json!({"name": "vm1", "operationParams": [{"name": "p", "value": 1}], "timeout": 0,
                   "callbackURL": "https://me/cb/s3cret"})
        );
        let bytes = body.to_bytes();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).ok(), Some(body.to_json()));
        assert!(!format!("{body:?}").contains("s3cret"), "callback token leaked into Debug");

        let plain = OperationBody::new(Timeout::SyncFor(5)).field("preCallout", json!(""));
        assert_eq!(plain.to_json(), json!({"preCallout": "", "timeout": 5}));
        let untouched = OperationBody::from_json(json!({"callbackURL": "http://mine"}), Timeout::Async);
        assert_eq!(untouched.map(|b| b.to_json()), Ok(json!({"callbackURL": "http://mine", "timeout": 0})));
        assert_eq!(
            OperationBody::from_json(Value::Null, Timeout::Async).map(|b| b.to_json()),
            Ok(json!({"timeout": 0}))
        );
    }

    #[test]
    fn bad_bodies_and_callbacks_are_rejected() {
        assert!(matches!(
            OperationBody::from_json(json!([1]), Timeout::Async),
            Err(ProtocolError::InvalidField { field: "body", .. })
        ));
        for url in ["/relative", "ftp://x/y", "http://", "http://a b/", "https://x/\ny", "javascript:alert(1)"] {
            assert!(
                matches!(
                    OperationBody::new(Timeout::Async).callback_url(url),
                    Err(ProtocolError::InvalidField { field: "callbackURL", .. })
                ),
                "{url:?}"
            );
        }
    }

    #[test]
    fn task_paths_and_urls() {
        assert_eq!(status_path(ID), Ok(format!("csm/task/{ID}/status")));
        assert_eq!(result_path(ID), Ok(format!("csm/task/{ID}/result")));
        assert_eq!(task_get_path("g-1"), Ok("csm/Task/g-1".into()));
        assert_eq!(
            status_url("http://172.22.174.37:8080", ID),
            Ok(format!("http://172.22.174.37:8080/csm/task/{ID}/status"))
        );
        assert_eq!(result_url("https://gw/clm/?x=1#f", "7"), Ok("https://gw/clm/csm/task/7/result".into()));
        assert_eq!(resolve("http://h:8080/csm/login", LOGIN_PATH), Ok("http://h:8080/csm/csm/login".into()));
        assert_eq!(resolve("HTTP://h:8080/", LOGIN_PATH), Ok("HTTP://h:8080/csm/login".into()));
        assert_eq!(resolve("http://h:8080/prefix", LOGIN_PATH), Ok("http://h:8080/csm/login".into()));
    }

    #[test]
    fn unsafe_ids_are_rejected() {
        for id in
            ["", "a/b", "a?b", "a#b", "..", "a..b", ".", " a", "a b", "a\tb", "a%2Fb", "a\\b", "é", &"x".repeat(129)]
        {
            assert!(
                matches!(status_path(id), Err(ProtocolError::InvalidField { field: "taskInternalUUID", .. })),
                "{id:?}"
            );
            assert!(result_url("http://h", id).is_err(), "{id:?}");
        }
        assert_eq!(validate_task_id("12345"), Ok("12345"));
        assert_eq!(validate_task_id("a.b_c~d"), Ok("a.b_c~d"));
    }

    #[test]
    fn bad_bases_and_paths_are_rejected() {
        for base in ["", "h:8080", "/csm", "ftp://h/", "http:///x", "http://h /", "file:///etc"] {
            assert!(
                matches!(resolve(base, LOGIN_PATH), Err(ProtocolError::InvalidField { field: "baseUrl", .. })),
                "{base:?}"
            );
        }
        for path in ["", "/csm", "../x", "a/./b", "http://evil/", "a?b", "a b"] {
            assert!(
                matches!(resolve("http://h/", path), Err(ProtocolError::InvalidField { field: "path", .. })),
                "{path:?}"
            );
        }
    }
}
