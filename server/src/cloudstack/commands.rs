//! The commands the server knows. Each returns the object inside its response envelope.

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::{ApiFailure, Params};
use crate::jobs::{Job, Outcome};
use crate::seed::{self, Item};
use crate::AppState;

/// Runs `command`; `Ok(None)` when the command does not exist.
pub fn dispatch(state: &AppState, command: &str, params: &Params) -> Result<Option<Map<String, Value>>, ApiFailure> {
    let body = match command {
        "deployVirtualMachine" => deploy_virtual_machine(state, command, params)?,
        "queryAsyncJobResult" => query_async_job_result(state, command, params)?,
        "listZones" => list("zone", seed::ZONES),
        "listServiceOfferings" => list("serviceoffering", seed::SERVICE_OFFERINGS),
        "listTemplates" => list("template", seed::TEMPLATES),
        _ => return Ok(None),
    };
    Ok(Some(body))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn list(object_name: &str, items: &[Item]) -> Map<String, Value> {
    object(json!({"count": items.len(), object_name: items.iter().map(seed::item_json).collect::<Vec<_>>()}))
}

/// Looks up a required id parameter among `items`, or answers 431 as CloudStack does.
fn lookup<'a>(command: &str, params: &Params, name: &str, items: &'a [Item]) -> Result<(usize, &'a Item), ApiFailure> {
    let id = params.required(command, name)?;
    seed::find(items, id).ok_or_else(|| {
        ApiFailure::param(format!(
                "Unable to execute API command {} due to invalid value. Invalid parameter {name} value={id} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.",
                command.to_lowercase()
            ),
        )
    })
}

/// `deployVirtualMachine` (async, create): answers `id` + `jobid` at once; the job ends with
/// the VM, or with 533 when the offering exceeds capacity.
fn deploy_virtual_machine(state: &AppState, command: &str, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let (_, zone) = lookup(command, params, "zoneid", seed::ZONES)?;
    let (offering_index, offering) = lookup(command, params, "serviceofferingid", seed::SERVICE_OFFERINGS)?;
    let (_, template) = lookup(command, params, "templateid", seed::TEMPLATES)?;
    let vm_id = uuid::Uuid::new_v4().to_string();
    let name = params.get("name").map(str::to_owned).unwrap_or_else(|| format!("VM-{}", &vm_id[..8]));
    let display_name = params.get("displayname").unwrap_or(&name).to_owned();
    let (cpus, memory) = seed::OFFERING_SIZES.get(offering_index).copied().unwrap_or((1, 1024));
    let outcome = if cpus > 64 {
        Outcome::Failure {
            code: 533,
            text: format!(
                "Unable to create a deployment for VM[User|{name}]: insufficient capacity in zone {}",
                zone.name
            ),
        }
    } else {
        Outcome::Success(json!({"virtualmachine": {
            "id": vm_id, "name": name, "displayname": display_name, "account": "demo", "domain": "ROOT",
            "state": "Running", "haenable": false,
            "zoneid": zone.id, "zonename": zone.name,
            "templateid": template.id, "templatename": template.name, "templatedisplaytext": template.display,
            "serviceofferingid": offering.id, "serviceofferingname": offering.name,
            "cpunumber": cpus, "memory": memory,
            "nic": [{"id": uuid::Uuid::new_v4().to_string(), "isdefault": true, "traffictype": "Guest", "type": "Isolated",
                     "ipaddress": format!("10.1.1.{}", 2 + vm_id.as_bytes()[0] % 250)}],
        }}))
    };
    let job = Job::new(
        "org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
        Some(("VirtualMachine", vm_id.clone())),
        state.job_duration,
        outcome,
    );
    let job_id = state.jobs.insert(job);
    Ok(object(json!({"id": vm_id, "jobid": job_id})))
}

/// `queryAsyncJobResult`: the job's status now; 431 for an unknown id.
fn query_async_job_result(state: &AppState, command: &str, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let job_id = params.required(command, "jobid")?;
    state.jobs.view(job_id, Instant::now()).ok_or_else(|| {
        ApiFailure::param(format!("Unable to execute API command queryasyncjobresult due to invalid value. Invalid parameter jobid value={job_id} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class."),
        )
    })
}
