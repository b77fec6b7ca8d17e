//! CloudStack's `/client/api`: parameters from the query string and the form body,
//! authentication (API-key signature or session), dispatch by `command` (case-sensitive, as
//! CloudStack's API names are), JSON or XML answers.

pub mod auth;
mod commands;
mod render;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;

use crate::model::User;
use crate::AppState;
pub use commands::api_names;
pub(crate) use commands::preferred_wait;
pub use render::{ApiFailure, Format};

/// Parameters that authenticate a request rather than describe the command (lower-case): never
/// stored with a job. The signature and the session key are replayable credentials.
pub const CREDENTIAL_PARAMS: &[&str] =
    &["apikey", "signature", "signatureversion", "expires", "sessionkey", "password", "secretkey"];

/// Request parameters: as sent (for the signature) and by lower-cased name (for dispatch, as
/// CloudStack's `ParamUnpackWorker` lower-cases them).
#[derive(Debug, Default)]
pub struct Params {
    raw: Vec<(String, String)>,
    by_name: HashMap<String, String>,
}

impl Params {
    /// Parses query string and form body; the body wins for a name present in both.
    fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, ApiFailure> {
        let malformed = |e: serde_urlencoded::de::Error| ApiFailure::malformed(&e.to_string());
        let mut raw: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).map_err(malformed)?;
        raw.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map_err(malformed)?);
        let by_name = raw.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.clone())).collect();
        Ok(Params { raw, by_name })
    }

    /// The value of `name` (lower-case), if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The value of a required parameter, or CloudStack's 431 for `command`.
    pub fn required(&self, command: &str, name: &str) -> Result<&str, ApiFailure> {
        self.get(name).ok_or_else(|| {
            ApiFailure::param(format!(
                "Unable to execute API command {} due to missing parameter {name}",
                command.to_lowercase()
            ))
        })
    }

    /// A boolean parameter (`true`/`false`, any case); absent is `false`.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Every parameter by lower-case name, as JSON (kept with jobs for their effects), except
    /// the credentials ([`CREDENTIAL_PARAMS`]): they must not end up in the jobs table.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.by_name
                .iter()
                .filter(|(k, _)| !CREDENTIAL_PARAMS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect(),
        )
    }
}

/// Who is calling, once authenticated.
pub struct Caller {
    /// The user.
    pub user: User,
}

/// `GET|POST /client/api`.
pub async fn api(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::parse(query.as_deref(), &body) {
        Ok(params) => params,
        // The format cannot be known from unparsable parameters: CloudStack's default is XML.
        Err(failure) => return failure.render(Format::Xml, "errorresponse"),
    };
    let format = Format::from_param(params.get("response"));
    let Some(command) = params.get("command").map(str::to_owned) else {
        return ApiFailure::unsupported("Invalid request, no command sent").render(format, "errorresponse");
    };
    let name = render::response_name(&command);
    match command.as_str() {
        "login" if method != Method::POST => {
            return ApiFailure::method_not_allowed("Please use HTTP POST to authenticate using this API")
                .render(format, &name);
        }
        "login" => return auth::login(&state, &params, format),
        "logout" => return auth::logout(&state, &params, &headers, format),
        _ => {}
    }
    let caller = match auth::authenticate(&state, &params, &headers) {
        Ok(user) => Caller { user },
        Err(failure) => return failure.render(format, &name),
    };
    // CloudStack's api.throttling counts per account once the caller is known.
    if let Some(refused) = crate::throttle::refuse(&state, &caller.user.account_id, format, &name) {
        return refused;
    }
    match commands::dispatch(&state, &caller, &command, &params, &headers).await {
        Some(Ok(reply)) => {
            let mut response = render::success(format, &name, reply.body);
            for (header, value) in reply.headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(HeaderName::from_static(header), value);
                }
            }
            response
        }
        Some(Err(failure)) => failure.render(format, &name),
        None => ApiFailure::unsupported(&format!("Unknown API command: {command}")).render(format, "errorresponse"),
    }
}
