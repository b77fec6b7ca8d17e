//! Volumes, snapshots and templates.

use serde_json::{json, Map, Value};

use super::{invalid_value, matches_keyword, owned_resource, paged, submit_job, NewJob};
use crate::cloudstack::{ApiFailure, Caller, Params};
use crate::model::{unix_ms, Plan, Resource};
use crate::seed;
use crate::AppState;

fn now_date() -> String {
    jobwire::protocol::cloudstack::signing::format_date(unix_ms() / 1000)
}

fn internal(err: crate::store::StoreError) -> ApiFailure {
    tracing::error!(%err, "cannot save resource");
    ApiFailure::internal()
}

/// `createVolume`: from a disk offering, or a custom size in GB (1–16384).
pub fn create_volume(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    const COMMAND: &str = "createVolume";
    let zone_id = params.required(COMMAND, "zoneid")?;
    let (_, zone) = seed::find(seed::ZONES, zone_id).ok_or_else(|| invalid_value(COMMAND, "zoneid", zone_id))?;
    let size_gb = match (params.get("diskofferingid"), params.get("size")) {
        (Some(id), _) => {
            let (index, _) =
                seed::find(seed::DISK_OFFERINGS, id).ok_or_else(|| invalid_value(COMMAND, "diskofferingid", id))?;
            seed::DISK_SIZES_GB.get(index).copied().unwrap_or(10)
        }
        (None, Some(size)) => size
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=16_384).contains(s))
            .ok_or_else(|| invalid_value(COMMAND, "size", size))?,
        (None, None) => return Err(ApiFailure::param("Either disk offering id or size must be specified".into())),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let object = json!({
        "id": id, "name": params.required(COMMAND, "name")?, "zoneid": zone.id, "zonename": zone.name,
        "type": "DATADISK", "size": size_gb * 1024 * 1024 * 1024, "state": "Allocating",
        "account": caller.user.account, "created": now_date(),
    });
    let resource =
        Resource { id: id.clone(), kind: "volume".into(), owner: caller.user.id.clone(), object, removed: false };
    let new = NewJob {
        command: COMMAND,
        cmd_class: "org.apache.cloudstack.api.command.user.volume.CreateVolumeCmd",
        instance: Some(("Volume", &id)),
        plan: Plan::Succeed,
        created: vec![resource],
    };
    submit_job(state, caller, params, new)
}

/// `attachVolume` / `detachVolume`.
pub fn attach_detach(
    state: &AppState,
    caller: &Caller,
    command: &str,
    params: &Params,
) -> Result<Map<String, Value>, ApiFailure> {
    let volume = owned_resource(state, caller, command, params, "id", "volume")?;
    let attached = volume.object.get("virtualmachineid").is_some();
    let class = if command == "attachVolume" {
        owned_resource(state, caller, command, params, "virtualmachineid", "virtualmachine")?;
        if attached {
            return Err(ApiFailure::param(format!("Volume {} is already attached to a virtual machine", volume.id)));
        }
        "AttachVolumeCmd"
    } else {
        if !attached {
            return Err(ApiFailure::param(format!("Volume {} is not attached to a virtual machine", volume.id)));
        }
        "DetachVolumeCmd"
    };
    let class = format!("org.apache.cloudstack.api.command.user.volume.{class}");
    let new = NewJob {
        command,
        cmd_class: &class,
        instance: Some(("Volume", &volume.id)),
        plan: Plan::Succeed,
        created: Vec::new(),
    };
    submit_job(state, caller, params, new)
}

/// `deleteVolume` (synchronous): only a detached volume.
pub fn delete_volume(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let volume = owned_resource(state, caller, "deleteVolume", params, "id", "volume")?;
    if volume.object.get("virtualmachineid").is_some() {
        return Err(ApiFailure::param(format!(
            "Please specify a volume that is not attached to any VM: {}",
            volume.id
        )));
    }
    state.hub.update_resource(&volume.id, |r| r.removed = true).map_err(internal)?;
    Ok(crate::cloudstack::render::object(json!({"success": true})))
}

/// `listVolumes`.
pub fn list_volumes(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let items = state
        .hub
        .resources_where(|r| {
            r.kind == "volume"
                && r.owner == caller.user.id
                && !r.removed
                && params.get("id").is_none_or(|id| id == r.id)
                && params
                    .get("virtualmachineid")
                    .is_none_or(|vm| r.object.get("virtualmachineid").and_then(Value::as_str) == Some(vm))
        })
        .into_iter()
        .map(|r| r.object)
        .filter(|o| matches_keyword(o, params))
        .collect();
    paged("volume", items, params)
}

/// `createSnapshot` of one of the caller's volumes.
pub fn create_snapshot(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    const COMMAND: &str = "createSnapshot";
    let volume = owned_resource(state, caller, COMMAND, params, "volumeid", "volume")?;
    let id = uuid::Uuid::new_v4().to_string();
    let volume_name = volume.object.get("name").and_then(Value::as_str).unwrap_or("volume");
    let name = params.get("name").map_or_else(|| format!("{volume_name}_{}", &id[..8]), str::to_owned);
    let object = json!({
        "id": id, "name": name, "volumeid": volume.id, "volumename": volume_name, "volumetype": volume.object.get("type"),
        "intervaltype": "MANUAL", "snapshottype": "MANUAL", "state": "Creating", "account": caller.user.account, "created": now_date(),
    });
    let resource =
        Resource { id: id.clone(), kind: "snapshot".into(), owner: caller.user.id.clone(), object, removed: false };
    let new = NewJob {
        command: COMMAND,
        cmd_class: "org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd",
        instance: Some(("Snapshot", &id)),
        plan: Plan::Succeed,
        created: vec![resource],
    };
    submit_job(state, caller, params, new)
}

/// `deleteSnapshot`.
pub fn delete_snapshot(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let snapshot = owned_resource(state, caller, "deleteSnapshot", params, "id", "snapshot")?;
    let new = NewJob {
        command: "deleteSnapshot",
        cmd_class: "org.apache.cloudstack.api.command.user.snapshot.DeleteSnapshotCmd",
        instance: Some(("Snapshot", &snapshot.id)),
        plan: Plan::Succeed,
        created: Vec::new(),
    };
    submit_job(state, caller, params, new)
}

/// `listSnapshots`.
pub fn list_snapshots(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let items = state
        .hub
        .resources_where(|r| {
            r.kind == "snapshot"
                && r.owner == caller.user.id
                && !r.removed
                && params.get("id").is_none_or(|id| id == r.id)
                && params.get("volumeid").is_none_or(|v| r.object.get("volumeid").and_then(Value::as_str) == Some(v))
        })
        .into_iter()
        .map(|r| r.object)
        .filter(|o| matches_keyword(o, params))
        .collect();
    paged("snapshot", items, params)
}

/// `createTemplate` from a volume or a snapshot of the caller's.
pub fn create_template(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    const COMMAND: &str = "createTemplate";
    let source = match (params.get("volumeid"), params.get("snapshotid")) {
        (Some(_), None) => owned_resource(state, caller, COMMAND, params, "volumeid", "volume")?,
        (None, Some(_)) => owned_resource(state, caller, COMMAND, params, "snapshotid", "snapshot")?,
        _ => return Err(ApiFailure::param("Specify either volumeid or snapshotid, not both".into())),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let object = json!({
        "id": id, "name": params.required(COMMAND, "name")?, "displaytext": params.required(COMMAND, "displaytext")?,
        "isready": false, "ispublic": false, "isfeatured": false, "format": "QCOW2", "templatetype": "USER",
        "state": "Creating", "sourceid": source.id, "account": caller.user.account, "created": now_date(),
    });
    let resource =
        Resource { id: id.clone(), kind: "template".into(), owner: caller.user.id.clone(), object, removed: false };
    let new = NewJob {
        command: COMMAND,
        cmd_class: "org.apache.cloudstack.api.command.user.template.CreateTemplateCmd",
        instance: Some(("Template", &id)),
        plan: Plan::Succeed,
        created: vec![resource],
    };
    submit_job(state, caller, params, new)
}

/// `listTemplates`: featured (seeded) ones and the caller's own, by `templatefilter`.
pub fn list_templates(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let filter = params.get("templatefilter").unwrap_or("executable").to_ascii_lowercase();
    let (featured, own) = match filter.as_str() {
        "featured" => (true, false),
        "self" | "selfexecutable" => (false, true),
        "executable" | "all" | "community" | "sharedexecutable" => (true, true),
        other => return Err(ApiFailure::param(format!("Invalid parameter templatefilter value={other}"))),
    };
    let mut items: Vec<Value> =
        if featured { seed::TEMPLATES.iter().map(seed::template_json).collect() } else { Vec::new() };
    if own {
        let owned = state.hub.resources_where(|r| r.kind == "template" && r.owner == caller.user.id && !r.removed);
        items.extend(owned.into_iter().map(|r| r.object));
    }
    let items = items
        .into_iter()
        .filter(|t| params.get("id").is_none_or(|id| t.get("id").and_then(Value::as_str) == Some(id)))
        .filter(|t| matches_keyword(t, params))
        .collect();
    paged("template", items, params)
}
