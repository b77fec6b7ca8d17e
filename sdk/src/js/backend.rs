//! One JS `JobClient` over either protocol: the CloudStack client or the CLM client.

use serde_json::Value;
use wasm_bindgen::JsValue;

use super::convert::{error_to_js, params_from_js, type_error};
use crate::client::{ClmClient, JobClient, SubmittedJob, WaitEvent};
use crate::error::Result;
use crate::protocol::JobSnapshot;

/// How long `run` lets a CLM server hold the operation (its `timeout` field) before polling.
pub(super) const CLM_RUN_HOLD_SECS: u32 = 30;

/// The protocol client behind a JS `JobClient`.
#[derive(Clone)]
pub(super) enum Backend {
    /// Apache CloudStack.
    CloudStack(JobClient),
    /// BMC Cloud Lifecycle Management.
    Clm(ClmClient),
}

impl Backend {
    /// Submits `command` (CloudStack API name, or CLM operation path such as `ComputeContainer`)
    /// with `params` (CloudStack arguments, or the CLM request body).
    pub(super) async fn submit(&self, command: &str, params: JsValue) -> Result<SubmittedJob, JsValue> {
        match self {
            Backend::CloudStack(client) => {
                let params = params_from_js(params)?;
                client.submit(command, &params).await.map_err(|e| error_to_js(&e))
            }
            Backend::Clm(client) => client.submit(command, clm_body(params)?).await.map_err(|e| error_to_js(&e)),
        }
    }

    /// A synchronous call: a CloudStack command's response object, or a CLM GET of `command`.
    pub(super) async fn call(&self, command: &str, params: JsValue) -> Result<Value, JsValue> {
        match self {
            Backend::CloudStack(client) => {
                let params = params_from_js(params)?;
                client.call_value(command, &params).await.map_err(|e| error_to_js(&e))
            }
            Backend::Clm(client) => client.get(command).await.map(Value::Array).map_err(|e| error_to_js(&e)),
        }
    }

    /// One status request.
    pub(super) async fn poll(&self, job_id: &str) -> Result<JobSnapshot> {
        match self {
            Backend::CloudStack(client) => client.poll(job_id).await,
            Backend::Clm(client) => client.poll(job_id).await,
        }
    }

    /// Waits for `job`, reporting statuses and delays.
    pub(super) async fn wait_job(
        &self,
        job: &SubmittedJob,
        on_event: impl FnMut(WaitEvent<'_>),
    ) -> Result<JobSnapshot> {
        match self {
            Backend::CloudStack(client) => client.wait_job(job, on_event).await,
            Backend::Clm(client) => client.wait_job(job, on_event).await,
        }
    }
}

/// A CLM request body: a plain object (`undefined` is `{}`).
pub(super) fn clm_body(params: JsValue) -> Result<Value, JsValue> {
    if params.is_undefined() || params.is_null() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match super::convert::json_from_js(&params) {
        Some(body @ Value::Object(_)) => Ok(body),
        _ => Err(type_error("a CLM operation body must be a plain object")),
    }
}
