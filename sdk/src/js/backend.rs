//! One JS `JobClient` over either protocol: the CloudStack client or the CLM client.
//!
//! Every operation answers a boxed future and takes a `dyn` callback: each protocol's code is
//! compiled once, not once more inside every JS method that awaits it (the package's size).

use std::future::Future;
use std::pin::Pin;

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

/// A future of this module: boxed, not `Send` (JS values are not).
pub(super) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

impl Backend {
    /// Submits `command` (CloudStack API name, or CLM operation path such as `ComputeContainer`)
    /// with `params` (CloudStack arguments, or the CLM request body).
    pub(super) fn submit<'a>(
        &'a self,
        command: &'a str,
        params: Option<JsValue>,
    ) -> Boxed<'a, Result<SubmittedJob, JsValue>> {
        Box::pin(async move {
            match self {
                Backend::CloudStack(client) => {
                    let params = params_from_js(params)?;
                    client.submit(command, &params).await.map_err(|e| error_to_js(&e))
                }
                Backend::Clm(client) => client.submit(command, clm_body(params)?).await.map_err(|e| error_to_js(&e)),
            }
        })
    }

    /// A synchronous call: a CloudStack command's response object, or a CLM GET of `command`.
    pub(super) fn call<'a>(&'a self, command: &'a str, params: Option<JsValue>) -> Boxed<'a, Result<Value, JsValue>> {
        Box::pin(async move {
            match self {
                Backend::CloudStack(client) => {
                    let params = params_from_js(params)?;
                    client.call_value(command, &params).await.map_err(|e| error_to_js(&e))
                }
                Backend::Clm(client) => client.get(command).await.map(Value::Array).map_err(|e| error_to_js(&e)),
            }
        })
    }

    /// One status request.
    pub(super) fn poll<'a>(&'a self, job_id: &'a str) -> Boxed<'a, Result<JobSnapshot>> {
        match self {
            Backend::CloudStack(client) => Box::pin(client.poll(job_id)),
            Backend::Clm(client) => Box::pin(client.poll(job_id)),
        }
    }

    /// Waits for `job`, reporting statuses and delays.
    pub(super) fn wait_job<'a>(
        &'a self,
        job: &'a SubmittedJob,
        on_event: &'a mut dyn FnMut(WaitEvent<'_>),
    ) -> Boxed<'a, Result<JobSnapshot>> {
        match self {
            Backend::CloudStack(client) => Box::pin(client.wait_job(job, on_event)),
            Backend::Clm(client) => Box::pin(client.wait_job(job, on_event)),
        }
    }
}

/// A CLM request body: a plain object (`undefined` is `{}`).
pub(super) fn clm_body(params: Option<JsValue>) -> Result<Value, JsValue> {
    let Some(params) = super::convert::given(params) else {
        return Ok(Value::Object(serde_json::Map::new()));
    };
    match super::convert::json_from_js(&params) {
        Some(body @ Value::Object(_)) => Ok(body),
        _ => Err(type_error("a CLM operation body must be a plain object")),
    }
}
