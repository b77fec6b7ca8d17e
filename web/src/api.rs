//! The dashboard's calls, plain async functions over the SDK that know nothing of signals.

use jobwire::{ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, JobClient, SessionCredentials};
use serde_json::{Map, Value};

use crate::components::connect_form::{Connection, Login};
use crate::state::Protocol;

/// The page's origin (`http://host:port`).
fn origin() -> String {
    leptos::prelude::window().location().origin().unwrap_or_default()
}

/// The API endpoint: `?endpoint=` in the page URL, else `/client/api` on the page's origin
/// (where the reference server serves both).
pub fn endpoint() -> String {
    let location = leptos::prelude::window().location();
    let from_query = location
        .search()
        .ok()
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("endpoint"));
    from_query.unwrap_or_else(|| format!("{}/client/api", origin()))
}

/// Where a new connection of `protocol` points at first: CloudStack's API URL, or the CLM
/// server root (`/csm/...` is below it) on the page's origin.
pub fn default_endpoint(protocol: Protocol) -> String {
    match protocol {
        Protocol::CloudStack => endpoint(),
        Protocol::Clm => origin(),
    }
}

/// A connected client of either protocol.
#[derive(Debug, Clone)]
pub enum Client {
    /// A CloudStack client (session or API keys).
    CloudStack(JobClient),
    /// A CLM client (token login).
    Clm(ClmClient),
}

impl Client {
    /// The protocol it speaks.
    pub fn protocol(&self) -> Protocol {
        match self {
            Client::CloudStack(_) => Protocol::CloudStack,
            Client::Clm(_) => Protocol::Clm,
        }
    }

    /// The URL it talks to.
    pub fn endpoint(&self) -> String {
        match self {
            Client::CloudStack(c) => c.config().endpoint.clone(),
            Client::Clm(c) => c.config().base_url.clone(),
        }
    }

    /// The key its jobs are saved under (and that tags its rows): the CloudStack endpoint, or
    /// `clm:` and the CLM base URL.
    pub fn key(&self) -> String {
        match self {
            Client::CloudStack(c) => c.config().endpoint.clone(),
            Client::Clm(c) => format!("clm:{}", c.config().base_url),
        }
    }

    /// HTTP requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        match self {
            Client::CloudStack(c) => c.requests_sent(),
            Client::Clm(c) => c.requests_sent(),
        }
    }

    /// The CloudStack client, if it is one.
    pub fn cloudstack(&self) -> Option<&JobClient> {
        match self {
            Client::CloudStack(c) => Some(c),
            Client::Clm(_) => None,
        }
    }
}

/// Logs in (CloudStack session or CLM token) or checks the API keys, and returns the client.
pub async fn connect(connection: Connection) -> Result<Client, String> {
    let Connection { protocol, endpoint, login, .. } = connection;
    match protocol {
        Protocol::CloudStack => {
            let credentials = match login {
                Login::Session { username, password, domain } => {
                    Credentials::Session(SessionCredentials { username, password, domain })
                }
                Login::ApiKey { api_key, secret_key } => Credentials::ApiKey(ApiKeyCredentials { api_key, secret_key }),
            };
            let keys = matches!(credentials, Credentials::ApiKey(_));
            let client = JobClient::new(ClientConfig { credentials, ..ClientConfig::new(endpoint) })
                .map_err(|e| e.to_string())?;
            if keys {
                // Signed requests need no login: one cheap call proves the keys.
                client.call_value("listZones", &[]).await.map_err(|e| e.to_string())?;
            } else {
                client.login().await.map_err(|e| e.to_string())?;
            }
            Ok(Client::CloudStack(client))
        }
        Protocol::Clm => {
            let (username, password) = match login {
                Login::Session { username, password, .. } => (username, password),
                Login::ApiKey { .. } => return Err("CLM logs in with a user name and password".into()),
            };
            let client = ClmClient::new(ClmConfig::new(endpoint, username, password)).map_err(|e| e.to_string())?;
            client.login().await.map_err(|e| e.to_string())?;
            Ok(Client::Clm(client))
        }
    }
}

/// A CLM operation the dashboard can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClmOperation {
    /// Its value in forms and in a job's saved parameters (`operation`).
    pub id: &'static str,
    /// What the user sees.
    pub label: &'static str,
    /// The fields it takes (besides `timeout`, which the SDK sets).
    pub fields: &'static [&'static str],
}

/// The operations of the reference server's CLM (`server/src/clm`).
pub const CLM_OPERATIONS: [ClmOperation; 4] = [
    ClmOperation { id: "create", label: "ComputeContainer: create a server", fields: &["name", "description"] },
    ClmOperation { id: "start", label: "ComputeContainer: start", fields: &["guid"] },
    ClmOperation { id: "stop", label: "ComputeContainer: stop", fields: &["guid"] },
    ClmOperation { id: "search", label: "staticpool/search", fields: &["pageNo", "pageSize"] },
];

/// The operation path and JSON body of a CLM job from its saved parameters (`operation` and
/// the operation's fields; empty fields left out).
pub fn clm_request(params: &[(String, String)]) -> Result<(String, Value), String> {
    let get =
        |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    let operation = get("operation").ok_or("no CLM operation chosen")?;
    let mut body = Map::new();
    let path = match operation.as_str() {
        "create" => {
            for field in ["name", "description"] {
                if let Some(value) = get(field) {
                    body.insert(field.into(), Value::String(value));
                }
            }
            "ComputeContainer".to_owned()
        }
        "start" | "stop" => {
            let guid = get("guid").ok_or("the ComputeContainer guid is required")?;
            if !guid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!("not a guid: {guid}"));
            }
            format!("ComputeContainer/{guid}/{operation}")
        }
        "search" => {
            for field in ["pageNo", "pageSize"] {
                if let Some(value) = get(field) {
                    let n: u32 = value.parse().map_err(|_| format!("{field} must be a whole number ≥ 0"))?;
                    body.insert(field.into(), Value::from(n));
                }
            }
            "staticpool/search".to_owned()
        }
        other => return Err(format!("unknown CLM operation {other}")),
    };
    Ok((path, Value::Object(body)))
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

    #[test]
    fn clm_requests_from_form_values() {
        let p = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let (path, body) =
            clm_request(&p(&[("operation", "create"), ("name", " web-1 "), ("description", "")])).unwrap();
        assert_eq!((path.as_str(), body), ("ComputeContainer", serde_json::json!({"name": "web-1"})));
        let (path, _) = clm_request(&p(&[("operation", "stop"), ("guid", "ab-12")])).unwrap();
        assert_eq!(path, "ComputeContainer/ab-12/stop");
        let (_, body) = clm_request(&p(&[("operation", "search"), ("pageSize", "2")])).unwrap();
        assert_eq!(body, serde_json::json!({"pageSize": 2}));
        assert!(clm_request(&p(&[("operation", "start")])).is_err());
        assert!(clm_request(&p(&[("operation", "start"), ("guid", "../x")])).is_err());
        assert!(clm_request(&p(&[("operation", "search"), ("pageNo", "-1")])).is_err());
        assert!(clm_request(&p(&[])).is_err());
    }
}
