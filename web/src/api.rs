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
    Ok(as_list(body.get(object_name))
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

/// One parameter of a command, as `listApis` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// Parameter name.
    pub name: String,
    /// Whether the command needs it.
    pub required: bool,
    /// `uuid`, `string`, `boolean`, `long`, …
    pub kind: String,
    /// Help text.
    pub description: String,
}

/// An async command the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSpec {
    /// Command name.
    pub name: String,
    /// Help text.
    pub description: String,
    /// Its parameters.
    pub params: Vec<ParamSpec>,
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn as_list(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()], // XML shows a one-item list as an object
        _ => Vec::new(),
    }
}

/// The async commands of a `listApis` answer, sorted by name (`customjobid` left out: the SDK
/// sets it).
pub fn parse_apis(body: &Value) -> Vec<ApiSpec> {
    let mut apis: Vec<ApiSpec> = as_list(body.get("api"))
        .iter()
        .filter(|api| truthy(api.get("isasync")))
        .filter_map(|api| {
            let name = api.get("name")?.as_str()?.to_owned();
            let params = as_list(api.get("params"))
                .iter()
                .filter_map(|p| {
                    let name = p.get("name")?.as_str()?.to_owned();
                    (!name.eq_ignore_ascii_case("customjobid")).then(|| ParamSpec {
                        name,
                        required: truthy(p.get("required")),
                        kind: text(p.get("type")),
                        description: text(p.get("description")),
                    })
                })
                .collect();
            Some(ApiSpec { name, description: text(api.get("description")), params })
        })
        .collect();
    apis.sort_by(|a, b| a.name.cmp(&b.name));
    apis
}

/// The async commands the server lists.
pub async fn list_apis(client: &JobClient) -> Result<Vec<ApiSpec>, String> {
    let body = client.call_value("listApis", &[]).await.map_err(|e| e.to_string())?;
    Ok(parse_apis(&body))
}

/// The list command (and its object name) that fills a picker for `param` of `command`.
pub fn picker_source(command: &str, param: &str) -> Option<(&'static str, &'static str)> {
    let vms = ("listVirtualMachines", "virtualmachine");
    let volumes = ("listVolumes", "volume");
    let snapshots = ("listSnapshots", "snapshot");
    match param.to_ascii_lowercase().as_str() {
        "zoneid" => Some(("listZones", "zone")),
        "serviceofferingid" => Some(("listServiceOfferings", "serviceoffering")),
        "templateid" => Some(("listTemplates", "template")),
        "diskofferingid" => Some(("listDiskOfferings", "diskoffering")),
        "virtualmachineid" => Some(vms),
        "volumeid" => Some(volumes),
        "snapshotid" => Some(snapshots),
        "id" if command.ends_with("VirtualMachine") => Some(vms),
        "id" if command.ends_with("Volume") => Some(volumes),
        "id" if command.ends_with("Snapshot") => Some(snapshots),
        _ => None,
    }
}

/// The object name in a list command's answer (`listZones` → `zone`).
pub fn list_object(list: &str) -> &'static str {
    match list {
        "listZones" => "zone",
        "listServiceOfferings" => "serviceoffering",
        "listTemplates" => "template",
        "listDiskOfferings" => "diskoffering",
        "listVirtualMachines" => "virtualmachine",
        "listVolumes" => "volume",
        "listSnapshots" => "snapshot",
        _ => "item",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_commands_and_pickers() {
        let body = serde_json::json!({"api": [
            {"name": "listZones", "isasync": false, "params": []},
            {"name": "deployVirtualMachine", "isasync": true, "params": [
                {"name": "zoneid", "required": true, "type": "uuid"},
                {"name": "customjobid", "required": false, "type": "string"},
                {"name": "name", "required": "false", "type": "string", "description": "host name"}]},
            {"name": "attachVolume", "isasync": "true", "params": {"name": "id", "required": "true"}}
        ]});
        let apis = parse_apis(&body);
        assert_eq!(apis.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["attachVolume", "deployVirtualMachine"]);
        assert_eq!(apis[1].params.len(), 2);
        assert!(apis[1].params[0].required && !apis[1].params[1].required);
        assert!(apis[0].params[0].required);
        assert_eq!(picker_source("attachVolume", "id"), Some(("listVolumes", "volume")));
        assert_eq!(picker_source("stopVirtualMachine", "id"), Some(("listVirtualMachines", "virtualmachine")));
        assert_eq!(picker_source("createVolume", "name"), None);
    }
}
