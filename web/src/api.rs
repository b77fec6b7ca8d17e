//! The dashboard's calls, plain async functions over the SDK that know nothing of signals.

use jobwire::{ClientConfig, Credentials, JobClient, SessionCredentials};

use crate::components::connect_form::Connection;
use serde_json::Value;

/// The API endpoint: `?endpoint=` in the page URL, else `/client/api` on the page's origin
/// (where the reference server serves both).
pub fn endpoint() -> String {
    let location = leptos::prelude::window().location();
    let from_query = location
        .search()
        .ok()
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("endpoint"));
    from_query.unwrap_or_else(|| format!("{}/client/api", location.origin().unwrap_or_default()))
}

/// Logs in and returns the connected client.
pub async fn connect(connection: Connection) -> Result<JobClient, String> {
    let credentials = Credentials::Session(SessionCredentials {
        username: connection.username,
        password: connection.password,
        domain: connection.domain,
    });
    let client = JobClient::new(ClientConfig { credentials, ..ClientConfig::new(connection.endpoint) })
        .map_err(|e| e.to_string())?;
    client.login().await.map_err(|e| e.to_string())?;
    Ok(client)
}

/// An entry of a pick list: id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The id sent with commands.
    pub id: String,
    /// What the user sees.
    pub label: String,
}

/// Runs a list command (`listZones`, …) and returns its `object_name` entries as choices.
pub async fn list_choices(client: &JobClient, command: &str, object_name: &str) -> Result<Vec<Choice>, String> {
    let body = client.call_value(command, &[]).await.map_err(|e| e.to_string())?;
    let items = match body.get(object_name) {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()], // XML shows a one-item list as an object
        _ => Vec::new(),
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?.as_str()?.to_owned();
            let name = item.get("name").and_then(Value::as_str).unwrap_or(&id);
            let label = match item.get("displaytext").and_then(Value::as_str) {
                Some(text) if text != name => format!("{name} — {text}"),
                _ => name.to_owned(),
            };
            Some(Choice { id, label })
        })
        .collect())
}
