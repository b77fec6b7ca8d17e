//! Virtual machines: deploy, start, stop, reboot, destroy, list.

use serde_json::{json, Map, Value};

use super::{invalid_value, matches_keyword, owned_resource, paged, submit_job, NewJob};
use crate::cloudstack::{ApiFailure, Caller, Params};
use crate::model::{Plan, Resource};
use crate::seed;
use crate::AppState;

/// `deployVirtualMachine`: the VM exists at once (state `Starting`); the job runs it, or fails
/// with 533 when the offering exceeds every host's capacity.
pub fn deploy(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    const COMMAND: &str = "deployVirtualMachine";
    let lookup = |name: &str, items: &'static [seed::Item]| {
        let id = params.required(COMMAND, name)?;
        seed::find(items, id).ok_or_else(|| invalid_value(COMMAND, name, id))
    };
    let (_, zone) = lookup("zoneid", seed::ZONES)?;
    let (offering_index, offering) = lookup("serviceofferingid", seed::SERVICE_OFFERINGS)?;
    let template_id = params.required(COMMAND, "templateid")?;
    let template = seed::template_object(state, caller, template_id)
        .ok_or_else(|| invalid_value(COMMAND, "templateid", template_id))?;
    let vm_id = uuid::Uuid::new_v4().to_string();
    let name = params.get("name").map(str::to_owned).unwrap_or_else(|| format!("VM-{vm_id}"));
    if name.len() > 63 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || name.starts_with('-') {
        return Err(ApiFailure::param(format!(
            "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with \"-\" and can't start with digit: {name}"
        )));
    }
    let display_name = params.get("displayname").unwrap_or(&name).to_owned();
    let (cpus, memory) = seed::OFFERING_SIZES.get(offering_index).copied().unwrap_or((1, 1024));
    let plan = if cpus > seed::HOST_CPUS {
        Plan::Fail {
            code: 533,
            text: format!(
                "Unable to create a deployment for VM[User|{name}]: insufficient capacity in zone {}",
                zone.name
            ),
        }
    } else {
        Plan::Succeed
    };
    let nic_byte = vm_id.as_bytes().first().copied().unwrap_or(0);
    let object = json!({
        "id": vm_id, "name": name, "displayname": display_name,
        "account": caller.user.account, "domainid": caller.user.domain_id, "domain": "ROOT",
        "created": jobwire::protocol::cloudstack::signing::format_date(crate::model::unix_ms() / 1000),
        "state": "Starting", "haenable": false,
        "zoneid": zone.id, "zonename": zone.name,
        "templateid": template["id"], "templatename": template["name"], "templatedisplaytext": template["displaytext"],
        "serviceofferingid": offering.id, "serviceofferingname": offering.name,
        "cpunumber": cpus, "memory": memory, "hypervisor": "KVM",
        "nic": [{"id": uuid::Uuid::new_v4().to_string(), "isdefault": true, "traffictype": "Guest", "type": "Isolated",
                 "ipaddress": format!("10.1.1.{}", 2 + nic_byte % 250), "netmask": "255.255.255.0", "gateway": "10.1.1.1"}],
    });
    let resource = Resource {
        id: vm_id.clone(),
        kind: "virtualmachine".into(),
        owner: caller.user.id.clone(),
        object,
        removed: false,
    };
    let new = NewJob {
        command: COMMAND,
        cmd_class: "org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
        instance: Some(("VirtualMachine", &vm_id)),
        plan,
        created: vec![resource],
    };
    submit_job(state, caller, params, new)
}

/// start / stop / reboot / destroy: checks the VM's state now (CloudStack refuses e.g. stopping
/// a VM that is not running with 431), marks the transition, and lets the job finish it.
pub fn change_state(
    state: &AppState,
    caller: &Caller,
    command: &str,
    params: &Params,
) -> Result<Map<String, Value>, ApiFailure> {
    let vm = owned_resource(state, caller, command, params, "id", "virtualmachine")?;
    let current = vm.state().to_owned();
    let (allowed, transient, class): (&[&str], &str, &str) = match command {
        "startVirtualMachine" => (&["Stopped"], "Starting", "StartVMCmd"),
        "stopVirtualMachine" => (&["Running"], "Stopping", "StopVMCmd"),
        "rebootVirtualMachine" => (&["Running"], "Running", "RebootVMCmd"),
        _ => (&["Running", "Stopped", "Error"], "Destroying", "DestroyVMCmd"),
    };
    if !allowed.contains(&current.as_str()) {
        return Err(ApiFailure::param(format!(
            "VM {} is in state {current}; {command} needs it {}",
            vm.id,
            allowed.join(" or ")
        )));
    }
    let updated = state.hub.update_resource(&vm.id, |r| {
        if let Some(object) = r.object.as_object_mut() {
            object.insert("previousstate".into(), json!(current));
            object.insert("state".into(), json!(transient));
        }
    });
    updated.map_err(|err| {
        tracing::error!(%err, "cannot save resource");
        ApiFailure::internal()
    })?;
    let class = format!("org.apache.cloudstack.api.command.user.vm.{class}");
    let new = NewJob {
        command,
        cmd_class: &class,
        instance: Some(("VirtualMachine", &vm.id)),
        plan: Plan::Succeed,
        created: Vec::new(),
    };
    submit_job(state, caller, params, new)
}

/// `listVirtualMachines`: the caller's VMs (not expunged), filtered by id, state and keyword.
pub fn list(state: &AppState, caller: &Caller, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let vms = state.hub.resources_where(|r| {
        r.kind == "virtualmachine"
            && r.owner == caller.user.id
            && !r.removed
            && params.get("id").is_none_or(|id| id == r.id)
            && params.get("state").is_none_or(|s| s.eq_ignore_ascii_case(r.state()))
    });
    let items = vms.into_iter().map(|r| r.object).filter(|o| matches_keyword(o, params)).collect();
    paged("virtualmachine", items, params)
}
