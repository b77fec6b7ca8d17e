//! CloudStack's `/client/api`: parameters from the query string and the form body, dispatch
//! by `command` (case-sensitive, as CloudStack's API names are), JSON or XML answers.

mod commands;
mod render;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;

use crate::AppState;
pub use render::{ApiFailure, Format};

/// Request parameters with names lower-cased, as CloudStack's dispatcher sees them.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses query string and form body; the body wins for a name present in both.
    fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, ApiFailure> {
        let mut params = HashMap::new();
        let malformed = |e: serde_urlencoded::de::Error| ApiFailure::malformed(&e.to_string());
        let from_query: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).map_err(malformed)?;
        let from_body: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(malformed)?;
        for (name, value) in from_query.into_iter().chain(from_body) {
            params.insert(name.to_ascii_lowercase(), value);
        }
        Ok(Params(params))
    }

    /// The value of `name` (lower-case), if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
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
}

/// `GET|POST /client/api`.
pub async fn api(State(state): State<AppState>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let params = match Params::parse(query.as_deref(), &body) {
        Ok(params) => params,
        // The format cannot be known from unparsable parameters: CloudStack's default is XML.
        Err(failure) => return failure.render(Format::Xml, "errorresponse"),
    };
    let format = Format::from_param(params.get("response"));
    let Some(command) = params.get("command").map(str::to_owned) else {
        return ApiFailure::unsupported("Invalid request, no command sent").render(format, "errorresponse");
    };
    match commands::dispatch(&state, &command, &params) {
        Ok(Some(body)) => render::success(format, &render::response_name(&command), body),
        Ok(None) => ApiFailure::unsupported(&format!("Unknown API command: {command}")).render(format, "errorresponse"),
        Err(failure) => failure.render(format, &render::response_name(&command)),
    }
}
