//! CloudStack response rendering: the `<command>response` envelope, JSON or XML, errors with
//! HTTP status = `errorcode` and `X-Description`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use jobwire::protocol::cloudstack::serialize::CLOUDSTACK_VERSION;

/// The response format a request asked for (`response=json|xml`, XML otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON.
    Json,
    /// XML (CloudStack's default).
    Xml,
}

impl Format {
    /// From the `response` parameter: `json` means JSON, anything else XML.
    pub fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Xml,
        }
    }
}

/// CloudStack's response name for a command: lower-cased name + `response`.
pub fn response_name(command: &str) -> String {
    format!("{}response", command.to_lowercase())
}

/// The object inside a JSON value (an empty map for anything else).
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Renders `body` in the `name` envelope.
pub fn success(format: Format, name: &str, body: Map<String, Value>) -> Response {
    render(format, StatusCode::OK, name, Value::Object(body))
}

fn render(format: Format, status: StatusCode, name: &str, body: Value) -> Response {
    // The name comes from the client's `command` (`<command>response`): anything but a plain
    // ASCII name would break, or inject into, the XML answer.
    let name = if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()) { name } else { "errorresponse" };
    match format {
        Format::Json => {
            let text = json!({ name: body }).to_string();
            (status, [(header::CONTENT_TYPE, "application/json; charset=UTF-8")], text).into_response()
        }
        Format::Xml => {
            let text = jobwire::protocol::xml::write(name, &[("cloud-stack-version", CLOUDSTACK_VERSION)], &body);
            (status, [(header::CONTENT_TYPE, "text/xml; charset=UTF-8")], text).into_response()
        }
    }
}

/// A refused request: CloudStack's `errorcode`, `cserrorcode` and `errortext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// `errorcode`, also the HTTP status.
    pub code: u16,
    /// `cserrorcode`.
    pub cs_code: u32,
    /// `errortext`.
    pub text: String,
}

impl ApiFailure {
    /// 401: credentials or signature not accepted (CloudStack says no more than that).
    pub fn unauthorized(text: &str) -> Self {
        ApiFailure { code: 401, cs_code: 9999, text: text.into() }
    }

    /// 405: e.g. `login` by GET.
    pub fn method_not_allowed(text: &str) -> Self {
        ApiFailure { code: 405, cs_code: 9999, text: text.into() }
    }

    /// 531: permission denied or failed login.
    pub fn account(text: &str) -> Self {
        ApiFailure { code: 531, cs_code: 4365, text: text.into() }
    }

    /// 530: the server failed (its storage); details go to the log, not to the caller.
    pub fn internal() -> Self {
        ApiFailure {
            code: 530,
            cs_code: 4250,
            text: "Internal error executing command, please contact your system administrator".into(),
        }
    }

    /// 431: a missing or invalid parameter.
    pub fn param(text: String) -> Self {
        ApiFailure { code: 431, cs_code: 4350, text }
    }

    /// 430: parameters that cannot be parsed at all.
    pub fn malformed(detail: &str) -> Self {
        ApiFailure { code: 430, cs_code: 9999, text: format!("Malformed request parameters: {detail}") }
    }

    /// 432: an unknown or unavailable command.
    pub fn unsupported(text: &str) -> Self {
        ApiFailure { code: 432, cs_code: 9999, text: text.into() }
    }

    /// The error response in the `name` envelope.
    pub fn render(self, format: Format, name: &str) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"uuidList": [], "errorcode": self.code, "cserrorcode": self.cs_code, "errortext": self.text});
        let mut response = render(format, status, name, body);
        // X-Description mirrors errortext; header values must be visible ASCII.
        let ascii: String = self.text.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
        if let Ok(value) = HeaderValue::from_str(&ascii) {
            response.headers_mut().insert("x-description", value);
        }
        response
    }
}
