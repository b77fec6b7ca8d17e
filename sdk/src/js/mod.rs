//! The JavaScript API (the only `#[wasm_bindgen]` code): `JobClient` and `Job` classes whose
//! async methods return Promises. Errors reject with `Error` objects whose `name` tells the
//! kind (`JobFailedError`, `TransportError`, `ProtocolError`, `ApiError`, `TimeoutError`,
//! `TypeError`) and which carry the details as properties.

mod convert;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::client::{
    ApiKeyCredentials, ClientConfig, Credentials, JobClient as CoreClient, SessionCredentials, SubmittedJob,
};
use crate::protocol::Format;
use convert::{error_to_js, params_from_js, to_js};

/// Options of `new JobClient({...})`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientOptions {
    endpoint: String,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    secret_key: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    long_poll_secs: Option<u32>,
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
export interface JobClientOptions {
  protocol?: 'cloudstack';
  /** API URL, e.g. "http://localhost:8080/client/api". */
  endpoint: string;
  /** API-key signing: both or neither. */
  apiKey?: string;
  secretKey?: string;
  /** Session login (CloudStack `login`): username and password, optional domain path. */
  username?: string;
  password?: string;
  domain?: string;
  /** Ask the server to hold status requests up to this many seconds (RFC 7240 `Prefer: wait`); 0 turns it off. Default 20. */
  longPollSecs?: number;
  /** "json" (default) or "xml". */
  response?: 'json' | 'xml';
}
export interface JobStatus {
  jobId: string;
  state: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  progress: number | null;
  resultCode: number | null;
  result: any;
  error: { code: number; csErrorCode: number | null; text: string } | null;
  command: string | null;
  created: string | null;
  completed: string | null;
  raw: any;
}
"#;

/// A client of one endpoint.
#[wasm_bindgen]
pub struct JobClient {
    inner: CoreClient,
}

#[wasm_bindgen]
impl JobClient {
    /// `new JobClient({ endpoint, apiKey?, secretKey?, response? })`; throws `TypeError` on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "JobClientOptions")] options: JsValue,
    ) -> Result<JobClient, JsValue> {
        let options: ClientOptions = serde_wasm_bindgen::from_value(options)
            .map_err(|e| convert::type_error(&format!("invalid JobClient options: {e}")))?;
        let format = match options.response.as_deref() {
            None | Some("json") => Format::Json,
            Some("xml") => Format::Xml,
            Some(other) => {
                return Err(convert::type_error(&format!("response must be \"json\" or \"xml\", got {other:?}")))
            }
        };
        let credentials = match (options.api_key, options.secret_key, options.username, options.password) {
            (Some(api_key), Some(secret_key), None, None) => {
                Credentials::ApiKey(ApiKeyCredentials { api_key, secret_key })
            }
            (None, None, Some(username), Some(password)) => Credentials::Session(SessionCredentials {
                username,
                password,
                domain: options.domain.unwrap_or_default(),
            }),
            (None, None, None, None) => Credentials::None,
            _ => return Err(convert::type_error("give either apiKey with secretKey, or username with password")),
        };
        let mut config = ClientConfig { credentials, format, ..ClientConfig::new(options.endpoint) };
        if let Some(secs) = options.long_poll_secs {
            config.long_poll_secs = (secs > 0).then_some(secs);
        }
        let inner = CoreClient::new(config).map_err(|e| error_to_js(&e))?;
        Ok(JobClient { inner })
    }

    /// Submits an async command; resolves with a `Job` as soon as the server accepts it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Job>")]
    pub fn submit(
        &self,
        command: String,
        #[wasm_bindgen(unchecked_param_type = "Record<string, string | number | boolean>")] params: JsValue,
    ) -> js_sys::Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let params = params_from_js(params)?;
            let submitted = client.submit(&command, &params).await.map_err(|e| error_to_js(&e))?;
            Ok(Job { client, submitted }.into())
        })
    }

    /// Runs a synchronous command (e.g. `listZones`); resolves with the response object.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn call(
        &self,
        command: String,
        #[wasm_bindgen(unchecked_param_type = "Record<string, string | number | boolean> | undefined")] params: JsValue,
    ) -> js_sys::Promise {
        let client = self.inner.clone();
        future_to_promise(async move {
            let params = params_from_js(params)?;
            let value = client.call_value(&command, &params).await.map_err(|e| error_to_js(&e))?;
            to_js(&value)
        })
    }

    /// A `Job` handle for a job id obtained elsewhere.
    pub fn job(&self, #[wasm_bindgen(js_name = jobId)] job_id: String) -> Job {
        let submitted = SubmittedJob { job_id, resource_id: None, command: String::new() };
        Job { client: self.inner.clone(), submitted }
    }
}

/// One submitted job.
#[wasm_bindgen]
pub struct Job {
    client: CoreClient,
    submitted: SubmittedJob,
}

#[wasm_bindgen]
impl Job {
    /// The job id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.submitted.job_id.clone()
    }

    /// The id of the resource the command creates, if any.
    #[wasm_bindgen(getter, js_name = resourceId)]
    pub fn resource_id(&self) -> Option<String> {
        self.submitted.resource_id.clone()
    }

    /// Asks once for the job's status.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobStatus>")]
    pub fn poll(&self) -> js_sys::Promise {
        let client = self.client.clone();
        let job_id = self.submitted.job_id.clone();
        future_to_promise(async move {
            let snapshot = client.poll(&job_id).await.map_err(|e| error_to_js(&e))?;
            to_js(&snapshot)
        })
    }

    /// Polls until the job finishes; resolves with the final status on success, rejects with
    /// `JobFailedError` on failure. `onProgress` (optional) gets every status seen.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobStatus>")]
    pub fn wait(&self, #[wasm_bindgen(js_name = onProgress)] on_progress: Option<js_sys::Function>) -> js_sys::Promise {
        let client = self.client.clone();
        let job_id = self.submitted.job_id.clone();
        future_to_promise(async move {
            let snapshot = client
                .wait(&job_id, |status| {
                    if let (Some(callback), Ok(value)) = (&on_progress, to_js(status)) {
                        // A throwing callback must not stop the wait.
                        let _ = callback.call1(&JsValue::NULL, &value);
                    }
                })
                .await
                .map_err(|e| error_to_js(&e))?;
            to_js(&snapshot)
        })
    }

    /// `JSON.stringify(job)` gives a resume token: `{ jobId, resourceId, command }`.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        to_js(&serde_json::json!({
            "jobId": self.submitted.job_id,
            "resourceId": self.submitted.resource_id,
            "command": self.submitted.command,
        }))
    }
}
