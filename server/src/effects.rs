//! What finishing a job does to the resources it acts on, command by command, and the result
//! object it reports. Runs under the hub's lock, so it is plain and quick.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::model::{Job, JobState, Plan, Resource};

/// Applies `job`'s planned outcome: returns the job's final state and the ids of the resources
/// it changed (to be saved).
pub fn complete(job: &Job, resources: &mut HashMap<String, Resource>) -> (JobState, Vec<String>) {
    let target = job.instance.as_ref().map(|(_, id)| id.clone());
    match &job.plan {
        Plan::Fail { code, text } => {
            let mut touched = Vec::new();
            if let Some(id) = &target {
                if let Some(resource) = resources.get_mut(id) {
                    if let Some(state) = failed_state(&job.command, resource) {
                        set_state(resource, &state);
                        touched.push(id.clone());
                    }
                }
            }
            (JobState::Failed { code: *code, text: text.clone() }, touched)
        }
        Plan::Succeed => {
            let Some(id) = target else {
                return (JobState::Succeeded { result: json!({"success": true}) }, Vec::new());
            };
            let Some(resource) = resources.get_mut(&id) else {
                // The resource vanished (removed by another job): report it as CloudStack would.
                return (
                    JobState::Failed { code: 431, text: format!("Unable to find resource with id {id}") },
                    Vec::new(),
                );
            };
            let result = succeed(job, resource);
            (JobState::Succeeded { result }, vec![id])
        }
    }
}

fn set_state(resource: &mut Resource, state: &str) {
    if let Some(object) = resource.object.as_object_mut() {
        object.insert("state".into(), Value::String(state.into()));
    }
}

fn set_field(resource: &mut Resource, name: &str, value: Value) {
    if let Some(object) = resource.object.as_object_mut() {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.into(), value);
        }
    }
}

/// The state a resource is left in when its job fails; `None` leaves it as it is.
fn failed_state(command: &str, resource: &Resource) -> Option<String> {
    match command {
        "deployVirtualMachine" | "createServer" => Some("Error".into()),
        "startVirtualMachine" | "startServer" => Some("Stopped".into()),
        "stopVirtualMachine" | "stopServer" | "rebootVirtualMachine" => Some("Running".into()),
        "destroyVirtualMachine" => {
            Some(resource.object.get("previousstate").and_then(Value::as_str).unwrap_or("Stopped").into())
        }
        "createVolume" | "createSnapshot" | "createTemplate" => Some("Error".into()),
        _ => None,
    }
}

/// Applies a successful job to its resource and returns the job's result object.
fn succeed(job: &Job, resource: &mut Resource) -> Value {
    let param = |name: &str| job.params.get(name).and_then(Value::as_str).map(str::to_owned);
    match job.command.as_str() {
        "deployVirtualMachine" | "startVirtualMachine" | "rebootVirtualMachine" | "createServer" | "startServer" => {
            set_state(resource, "Running")
        }
        "stopVirtualMachine" | "stopServer" => set_state(resource, "Stopped"),
        "destroyVirtualMachine" => {
            let expunge = param("expunge").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            set_state(resource, if expunge { "Expunging" } else { "Destroyed" });
            resource.removed = expunge;
        }
        "createVolume" => set_state(resource, "Allocated"),
        "attachVolume" => {
            set_state(resource, "Ready");
            set_field(resource, "virtualmachineid", param("virtualmachineid").map_or(Value::Null, Value::String));
        }
        "detachVolume" => {
            set_state(resource, "Ready");
            set_field(resource, "virtualmachineid", Value::Null);
        }
        "createSnapshot" => set_state(resource, "BackedUp"),
        "createTemplate" => {
            set_state(resource, "Ready");
            set_field(resource, "isready", Value::Bool(true));
        }
        "deleteSnapshot" => {
            set_state(resource, "Destroyed");
            resource.removed = true;
            return json!({"success": true});
        }
        _ => return json!({"success": true}),
    }
    json!({ resource.kind.clone(): resource.object })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    fn job(command: &str, plan: Plan) -> Job {
        Job {
            id: "j".into(),
            owner: "u".into(),
            protocol: Protocol::CloudStack,
            command: command.into(),
            cmd_class: "C".into(),
            instance: Some(("VirtualMachine".into(), "vm".into())),
            created_ms: 0,
            finish_at_ms: 10,
            completed_ms: None,
            plan,
            state: JobState::Pending,
            params: json!({}),
            callback_url: None,
            reports_progress: true,
        }
    }

    fn vm(state: &str) -> HashMap<String, Resource> {
        let resource = Resource {
            id: "vm".into(),
            kind: "virtualmachine".into(),
            owner: "u".into(),
            object: json!({"id": "vm", "state": state}),
            removed: false,
        };
        HashMap::from([("vm".to_owned(), resource)])
    }

    #[test]
    fn deploy_success_runs_the_vm_and_reports_it() {
        let mut resources = vm("Starting");
        let (state, touched) = complete(&job("deployVirtualMachine", Plan::Succeed), &mut resources);
        assert_eq!(state, JobState::Succeeded { result: json!({"virtualmachine": {"id": "vm", "state": "Running"}}) });
        assert_eq!(touched, vec!["vm".to_owned()]);
    }

    #[test]
    fn failures_leave_the_resource_in_a_true_state() {
        let mut resources = vm("Starting");
        let plan = Plan::Fail { code: 533, text: "no capacity".into() };
        let (state, _) = complete(&job("deployVirtualMachine", plan.clone()), &mut resources);
        assert_eq!(state, JobState::Failed { code: 533, text: "no capacity".into() });
        assert_eq!(resources["vm"].state(), "Error");
        let mut resources = vm("Stopping");
        complete(&job("stopVirtualMachine", plan), &mut resources);
        assert_eq!(resources["vm"].state(), "Running");
    }

    #[test]
    fn stop_then_missing_resource() {
        let mut resources = vm("Stopping");
        complete(&job("stopVirtualMachine", Plan::Succeed), &mut resources);
        assert_eq!(resources["vm"].state(), "Stopped");
        let (state, _) = complete(&job("startVirtualMachine", Plan::Succeed), &mut HashMap::new());
        assert!(matches!(state, JobState::Failed { code: 431, .. }));
    }
}
