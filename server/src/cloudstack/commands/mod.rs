//! The commands the server knows, with their `listApis` description. Async commands validate
//! their parameters at once (431 etc. come back synchronously, no job is made), create the
//! resource row for create commands, and leave the rest to the job runner.

mod catalog;
mod jobs;
mod storage;
mod vm;

/// RFC 7240 `Prefer: wait=N`, shared with the CLM side's task status.
pub(crate) use jobs::preferred_wait;

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use super::{ApiFailure, Caller, Params};
use crate::model::{unix_ms, Job, JobState, Plan, Protocol, Resource};
use crate::AppState;

/// A parameter in `listApis`.
#[derive(Clone, Copy)]
pub struct ParamSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Whether the command fails without it.
    pub required: bool,
    /// `uuid`, `string`, `boolean`, `integer`, `long`, `date`.
    pub kind: &'static str,
    /// One line.
    pub description: &'static str,
}

/// A command in `listApis`.
pub struct ApiSpec {
    /// API name.
    pub name: &'static str,
    /// Whether it answers with a job id.
    pub is_async: bool,
    /// One line.
    pub description: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
    /// The object name of its response.
    pub response_object: &'static str,
}

const fn req(name: &'static str, kind: &'static str, description: &'static str) -> ParamSpec {
    ParamSpec { name, required: true, kind, description }
}

const fn opt(name: &'static str, kind: &'static str, description: &'static str) -> ParamSpec {
    ParamSpec { name, required: false, kind, description }
}

const PAGING: [ParamSpec; 3] = [
    opt("keyword", "string", "List by keyword"),
    opt("page", "integer", "Page number, from 1"),
    opt("pagesize", "integer", "Entries per page"),
];

/// Every command, in `listApis` order.
pub const APIS: &[ApiSpec] = &[
    ApiSpec {
        name: "deployVirtualMachine",
        is_async: true,
        description: "Creates and automatically starts a virtual machine",
        response_object: "virtualmachine",
        params: &[
            req("zoneid", "uuid", "Availability zone"),
            req("serviceofferingid", "uuid", "Service offering"),
            req("templateid", "uuid", "Template"),
            opt("name", "string", "Host name"),
            opt("displayname", "string", "Display name"),
            opt("customjobid", "string", "Caller-chosen job UUID"),
        ],
    },
    ApiSpec {
        name: "startVirtualMachine",
        is_async: true,
        description: "Starts a virtual machine",
        response_object: "virtualmachine",
        params: &[req("id", "uuid", "Virtual machine")],
    },
    ApiSpec {
        name: "stopVirtualMachine",
        is_async: true,
        description: "Stops a virtual machine",
        response_object: "virtualmachine",
        params: &[req("id", "uuid", "Virtual machine"), opt("forced", "boolean", "Force stop")],
    },
    ApiSpec {
        name: "rebootVirtualMachine",
        is_async: true,
        description: "Reboots a virtual machine",
        response_object: "virtualmachine",
        params: &[req("id", "uuid", "Virtual machine")],
    },
    ApiSpec {
        name: "destroyVirtualMachine",
        is_async: true,
        description: "Destroys a virtual machine",
        response_object: "virtualmachine",
        params: &[req("id", "uuid", "Virtual machine"), opt("expunge", "boolean", "Expunge immediately")],
    },
    ApiSpec {
        name: "createVolume",
        is_async: true,
        description: "Creates a disk volume",
        response_object: "volume",
        params: &[
            req("name", "string", "Volume name"),
            req("zoneid", "uuid", "Availability zone"),
            opt("diskofferingid", "uuid", "Disk offering"),
            opt("size", "long", "Size in GB (custom offerings)"),
        ],
    },
    ApiSpec {
        name: "attachVolume",
        is_async: true,
        description: "Attaches a disk volume to a virtual machine",
        response_object: "volume",
        params: &[req("id", "uuid", "Volume"), req("virtualmachineid", "uuid", "Virtual machine")],
    },
    ApiSpec {
        name: "detachVolume",
        is_async: true,
        description: "Detaches a disk volume from a virtual machine",
        response_object: "volume",
        params: &[req("id", "uuid", "Volume")],
    },
    ApiSpec {
        name: "createSnapshot",
        is_async: true,
        description: "Creates a snapshot of a volume",
        response_object: "snapshot",
        params: &[req("volumeid", "uuid", "Volume"), opt("name", "string", "Snapshot name")],
    },
    ApiSpec {
        name: "deleteSnapshot",
        is_async: true,
        description: "Deletes a snapshot",
        response_object: "success",
        params: &[req("id", "uuid", "Snapshot")],
    },
    ApiSpec {
        name: "createTemplate",
        is_async: true,
        description: "Creates a template from a volume or snapshot",
        response_object: "template",
        params: &[
            req("name", "string", "Template name"),
            req("displaytext", "string", "Display text"),
            opt("volumeid", "uuid", "Source volume"),
            opt("snapshotid", "uuid", "Source snapshot"),
        ],
    },
    ApiSpec {
        name: "deleteVolume",
        is_async: false,
        description: "Deletes a detached disk volume",
        response_object: "success",
        params: &[req("id", "uuid", "Volume")],
    },
    ApiSpec {
        name: "listVirtualMachines",
        is_async: false,
        description: "Lists virtual machines",
        response_object: "virtualmachine",
        params: &[
            opt("id", "uuid", "Virtual machine"),
            opt("state", "string", "State"),
            PAGING[0],
            PAGING[1],
            PAGING[2],
        ],
    },
    ApiSpec {
        name: "listVolumes",
        is_async: false,
        description: "Lists volumes",
        response_object: "volume",
        params: &[
            opt("id", "uuid", "Volume"),
            opt("virtualmachineid", "uuid", "Virtual machine"),
            PAGING[0],
            PAGING[1],
            PAGING[2],
        ],
    },
    ApiSpec {
        name: "listSnapshots",
        is_async: false,
        description: "Lists snapshots",
        response_object: "snapshot",
        params: &[opt("id", "uuid", "Snapshot"), opt("volumeid", "uuid", "Volume"), PAGING[0], PAGING[1], PAGING[2]],
    },
    ApiSpec {
        name: "listZones",
        is_async: false,
        description: "Lists zones",
        response_object: "zone",
        params: &[opt("id", "uuid", "Zone"), PAGING[0], PAGING[1], PAGING[2]],
    },
    ApiSpec {
        name: "listServiceOfferings",
        is_async: false,
        description: "Lists service offerings",
        response_object: "serviceoffering",
        params: &[opt("id", "uuid", "Offering"), PAGING[0], PAGING[1], PAGING[2]],
    },
    ApiSpec {
        name: "listDiskOfferings",
        is_async: false,
        description: "Lists disk offerings",
        response_object: "diskoffering",
        params: &[opt("id", "uuid", "Offering"), PAGING[0], PAGING[1], PAGING[2]],
    },
    ApiSpec {
        name: "listTemplates",
        is_async: false,
        description: "Lists templates",
        response_object: "template",
        params: &[
            opt("templatefilter", "string", "featured, self, executable, all"),
            opt("id", "uuid", "Template"),
            PAGING[0],
            PAGING[1],
            PAGING[2],
        ],
    },
    ApiSpec {
        name: "listApis",
        is_async: false,
        description: "Lists all available APIs",
        response_object: "api",
        params: &[opt("name", "string", "API name")],
    },
    ApiSpec {
        name: "queryAsyncJobResult",
        is_async: false,
        description: "Retrieves the current status of an asynchronous job",
        response_object: "asyncjobs",
        params: &[req("jobid", "uuid", "Job")],
    },
    ApiSpec {
        name: "listAsyncJobs",
        is_async: false,
        description: "Lists all pending asynchronous jobs for the account",
        response_object: "asyncjobs",
        params: &[
            opt("startdate", "date", "Jobs created after this date"),
            opt("listall", "boolean", "All jobs the caller may see"),
            PAGING[0],
            PAGING[1],
            PAGING[2],
        ],
    },
    ApiSpec {
        name: "login",
        is_async: false,
        description: "Logs a user into the CloudStack (POST only)",
        response_object: "login",
        params: &[
            req("username", "string", "User name"),
            req("password", "string", "Password"),
            opt("domain", "string", "Domain path"),
        ],
    },
    ApiSpec {
        name: "logout",
        is_async: false,
        description: "Logs out the user",
        response_object: "logout",
        params: &[],
    },
];

/// Every command name (for metrics labels and the CLM side's reuse).
pub fn api_names() -> impl Iterator<Item = &'static str> {
    APIS.iter().map(|api| api.name)
}

/// A command's answer: the envelope body and extra response headers.
pub struct Reply {
    /// The object inside `<command>response`.
    pub body: Map<String, Value>,
    /// Headers such as `Preference-Applied`.
    pub headers: Vec<(&'static str, String)>,
}

impl From<Map<String, Value>> for Reply {
    fn from(body: Map<String, Value>) -> Self {
        Reply { body, headers: Vec::new() }
    }
}

/// Runs `command` for `caller`; `None` when the command does not exist.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    command: &str,
    params: &Params,
    headers: &HeaderMap,
) -> Option<Result<Reply, ApiFailure>> {
    let spec = APIS.iter().find(|api| api.name == command)?;
    if let Err(failure) =
        spec.params.iter().filter(|p| p.required).try_for_each(|p| params.required(command, p.name).map(drop))
    {
        return Some(Err(failure));
    }
    let result = match command {
        "deployVirtualMachine" => vm::deploy(state, caller, params).map(Reply::from),
        "startVirtualMachine" | "stopVirtualMachine" | "rebootVirtualMachine" | "destroyVirtualMachine" => {
            vm::change_state(state, caller, command, params).map(Reply::from)
        }
        "listVirtualMachines" => vm::list(state, caller, params).map(Reply::from),
        "createVolume" => storage::create_volume(state, caller, params).map(Reply::from),
        "attachVolume" | "detachVolume" => storage::attach_detach(state, caller, command, params).map(Reply::from),
        "deleteVolume" => storage::delete_volume(state, caller, params).map(Reply::from),
        "listVolumes" => storage::list_volumes(state, caller, params).map(Reply::from),
        "createSnapshot" => storage::create_snapshot(state, caller, params).map(Reply::from),
        "deleteSnapshot" => storage::delete_snapshot(state, caller, params).map(Reply::from),
        "listSnapshots" => storage::list_snapshots(state, caller, params).map(Reply::from),
        "createTemplate" => storage::create_template(state, caller, params).map(Reply::from),
        "listTemplates" => storage::list_templates(state, caller, params).map(Reply::from),
        "listZones" | "listServiceOfferings" | "listDiskOfferings" => catalog::list(command, params).map(Reply::from),
        "listApis" => Ok(catalog::list_apis(params).into()),
        "queryAsyncJobResult" => jobs::query(state, caller, params, headers).await,
        "listAsyncJobs" => jobs::list(state, caller, params).map(Reply::from),
        _ => return None,
    };
    Some(result)
}

/// CloudStack's 431 for an id that names nothing the caller may see.
fn invalid_value(command: &str, name: &str, value: &str) -> ApiFailure {
    ApiFailure::param(format!(
        "Unable to execute API command {} due to invalid value. Invalid parameter {name} value={value} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.",
        command.to_lowercase()
    ))
}

/// The caller's live resource of `kind` named by parameter `name`, or 431.
fn owned_resource(
    state: &AppState,
    caller: &Caller,
    command: &str,
    params: &Params,
    name: &str,
    kind: &str,
) -> Result<Resource, ApiFailure> {
    let id = params.required(command, name)?;
    state
        .hub
        .resource(id)
        .filter(|r| r.kind == kind && r.owner == caller.user.id && !r.removed)
        .ok_or_else(|| invalid_value(command, name, id))
}

/// One page of `items` by `page`/`pagesize` (CloudStack's `count` is the total, not the page),
/// or the empty envelope `{}` when nothing matches.
fn paged(object_name: &str, items: Vec<Value>, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let window = page_window(params)?;
    if items.is_empty() {
        return Ok(Map::new());
    }
    let count = items.len();
    let page_items = match window {
        Some((skip, take)) => items.into_iter().skip(skip).take(take).collect(),
        None => items,
    };
    Ok(super::render::object(json!({"count": count, object_name: page_items})))
}

/// CloudStack's `default.page.size`: a listing without `pagesize` shows this many, and no
/// `pagesize` may ask for more, except `-1`.
pub const DEFAULT_PAGE_SIZE: usize = 500;

/// The `page`/`pagesize` window as (items to skip, items to take), as CloudStack's
/// `BaseListCmd` reads it: `pagesize` defaults to [`DEFAULT_PAGE_SIZE`] and may not exceed it,
/// `page` to 1; `pagesize=-1` ("unlimited", without `page`) lists everything (`None`).
fn page_window(params: &Params) -> Result<Option<(usize, usize)>, ApiFailure> {
    let number = |name: &str| -> Result<Option<i64>, ApiFailure> {
        params
            .get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiFailure::param(format!(
                        "Unable to execute API command due to invalid value. Invalid parameter {name} value={v}"
                    ))
                })
            })
            .transpose()
    };
    let (page, size) = (number("page")?, number("pagesize")?);
    if size == Some(-1) {
        return match page {
            Some(_) => Err(ApiFailure::param("Can't specify page parameter when pagesize is -1 (Unlimited)".into())),
            None => Ok(None),
        };
    }
    let size = size.unwrap_or(DEFAULT_PAGE_SIZE as i64);
    if size > DEFAULT_PAGE_SIZE as i64 {
        return Err(ApiFailure::param(format!(
            "Page size can't exceed max allowed page size value: {DEFAULT_PAGE_SIZE}"
        )));
    }
    match (usize::try_from(page.unwrap_or(1)), usize::try_from(size)) {
        // Saturating: a hostile page number must not overflow (a panic in debug builds).
        (Ok(page), Ok(size)) if page >= 1 && size >= 1 => Ok(Some(((page - 1).saturating_mul(size), size))),
        _ => Err(ApiFailure::param("page and pagesize must be at least 1".into())),
    }
}

/// Whether `item`'s name or display text contains `keyword` (case-insensitive).
fn matches_keyword(item: &Value, params: &Params) -> bool {
    let Some(keyword) = params.get("keyword") else { return true };
    let keyword = keyword.to_lowercase();
    ["name", "displayname", "displaytext"]
        .iter()
        .filter_map(|field| item.get(field).and_then(Value::as_str))
        .any(|text| text.to_lowercase().contains(&keyword))
}

/// What an async command asks the runner to do.
struct NewJob<'a> {
    /// API name.
    command: &'a str,
    /// CloudStack's Java command class, shown as `cmd`.
    cmd_class: &'a str,
    /// The entity acted on (`VirtualMachine`, id).
    instance: Option<(&'a str, &'a str)>,
    /// The outcome decided now.
    plan: Plan,
    /// Resources the command creates (their rows exist while the job runs).
    created: Vec<Resource>,
}

/// Makes the job for an async command and hands it to the runner; answers `jobid` (and `id`
/// for create commands).
fn submit_job(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    new: NewJob<'_>,
) -> Result<Map<String, Value>, ApiFailure> {
    let NewJob { command, cmd_class, instance, plan, created } = new;
    let in_use = |custom: &str| {
        ApiFailure::param(format!("Unable to execute API command: customjobid {custom} is already in use"))
    };
    let job_id = match params.get("customjobid") {
        Some(custom) if uuid::Uuid::parse_str(custom).is_err() => {
            return Err(ApiFailure::param(format!("Invalid parameter customjobid value={custom}: not a UUID")));
        }
        Some(custom) if state.hub.job_exists(custom) => return Err(in_use(custom)),
        Some(custom) => custom.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let now = unix_ms();
    let plan = match plan {
        Plan::Succeed if state.scenario.random_failure() => {
            Plan::Fail { code: 530, text: format!("Failed to {command}: internal error in the simulated cloud") }
        }
        Plan::Succeed => state.scenario.capacity_failure(command).unwrap_or(Plan::Succeed),
        plan => plan,
    };
    let is_create = !created.is_empty();
    let job = Job {
        id: job_id.clone(),
        owner: caller.user.id.clone(),
        protocol: Protocol::CloudStack,
        command: command.into(),
        cmd_class: cmd_class.into(),
        instance: instance.map(|(kind, id)| (kind.to_owned(), id.to_owned())),
        created_ms: now,
        finish_at_ms: now + state.scenario.job_duration_ms(command),
        completed_ms: None,
        plan,
        state: JobState::Pending,
        params: params.to_json(),
        callback_url: None,
        reports_progress: state.job_progress,
    };
    state.hub.submit(job, created).map_err(|err| match err {
        // The same id in two requests at once: the check above let both through, the hub one.
        crate::store::StoreError::DuplicateJob(id) => in_use(&id),
        err => {
            tracing::error!(%err, "cannot save job");
            ApiFailure::internal()
        }
    })?;
    let mut body = Map::new();
    if let (true, Some((_, id))) = (is_create, instance) {
        body.insert("id".into(), json!(id));
    }
    body.insert("jobid".into(), json!(job_id));
    Ok(body)
}
