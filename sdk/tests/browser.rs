//! The SDK in headless Chromium, against the reference server on another origin (CORS):
//! `./dev test` starts the server and sets `JOBWIRE_TEST_ENDPOINT`.
#![cfg(target_arch = "wasm32")]

use jobwire::js::JobClient as JsJobClient;
use jobwire::{ApiKeyCredentials, ClientConfig, Credentials, Error, JobClient, JobState};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ENDPOINT: &str = match option_env!("JOBWIRE_TEST_ENDPOINT") {
    Some(endpoint) => endpoint,
    None => "http://127.0.0.1:18080/client/api",
};
const ZONE: &str = "a1f2c3d4-0000-4000-8000-000000000001";
const SMALL: &str = "b1f2c3d4-0000-4000-8000-000000000001";
const HUGE: &str = "b1f2c3d4-0000-4000-8000-000000000003";
const TEMPLATE: &str = "c1f2c3d4-0000-4000-8000-000000000001";

// The reference server's demo user.
const API_KEY: &str = "demo-api-key-0123456789abcdef";
const SECRET_KEY: &str = "demo-secret-key-do-not-use-in-production";
const USERNAME: &str = "demo";
const PASSWORD: &str = "demo-password";

fn signed_client() -> JobClient {
    let credentials = Credentials::ApiKey(ApiKeyCredentials { api_key: API_KEY.into(), secret_key: SECRET_KEY.into() });
    JobClient::new(ClientConfig { credentials, long_poll_secs: None, ..ClientConfig::new(ENDPOINT) }).unwrap()
}

fn params(offering: &str) -> Vec<(String, String)> {
    vec![
        ("zoneid".into(), ZONE.into()),
        ("serviceofferingid".into(), offering.into()),
        ("templateid".into(), TEMPLATE.into()),
    ]
}

#[wasm_bindgen_test]
async fn rust_api_tracks_a_job_to_success_across_origins() {
    let client = signed_client();
    let job = client.submit("deployVirtualMachine", &params(SMALL)).await.unwrap();
    let mut states = Vec::new();
    let done = client.wait(&job.job_id, |s| states.push(s.state)).await.unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(states.first(), Some(&JobState::Pending));
    assert_eq!(done.result.unwrap()["virtualmachine"]["id"], job.resource_id.unwrap().as_str());
}

#[wasm_bindgen_test]
async fn rust_api_reports_a_failed_job() {
    let client = signed_client();
    let job = client.submit("deployVirtualMachine", &params(HUGE)).await.unwrap();
    match client.wait(&job.job_id, |_| {}).await {
        Err(Error::JobFailed { error, .. }) => assert_eq!(error.code, 533),
        other => panic!("expected JobFailed, got {other:?}"),
    }
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn js_params(offering: &str) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in params(offering) {
        Reflect::set(&object, &name.into(), &value.into()).unwrap();
    }
    object.into()
}

/// `{ endpoint, ...extra }` as a JS object.
fn js_options(endpoint: &str, extra: &[(&str, &str)]) -> JsValue {
    let options = js_sys::Object::new();
    Reflect::set(&options, &"endpoint".into(), &endpoint.into()).unwrap();
    for (key, value) in extra {
        Reflect::set(&options, &(*key).into(), &(*value).into()).unwrap();
    }
    options.into()
}

/// Calls `target.method(...args)` as JavaScript would and awaits the returned Promise.
async fn call_method(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: js_sys::Function = get(target, method).dyn_into().unwrap();
    let promise: js_sys::Promise = function.apply(target, &args.iter().collect::<js_sys::Array>())?.dyn_into()?;
    JsFuture::from(promise).await
}

/// The JS API with a session login: the browser keeps the HttpOnly session cookies
/// (`credentials: "include"`, cross-origin with CORS credentials) and long-polls are used.
#[wasm_bindgen_test]
async fn js_api_promises_resolve_and_reject_with_named_errors() {
    let client = JsValue::from(
        JsJobClient::new(js_options(ENDPOINT, &[("username", USERNAME), ("password", PASSWORD)])).unwrap(),
    );
    let job = call_method(&client, "submit", &["deployVirtualMachine".into(), js_params(SMALL)]).await.unwrap();
    let job_id = get(&job, "id").as_string().unwrap();
    assert!(!job_id.is_empty());
    // wait() resolves with the job's result.
    let result = call_method(&job, "wait", &[]).await.unwrap();
    assert_eq!(get(&get(&result, "virtualmachine"), "id"), get(&job, "resourceId"));
    // The resume token is the job's JSON form.
    let token = js_sys::JSON::stringify(&job).unwrap().as_string().unwrap();
    assert!(token.contains(&job_id), "{token}");

    let failed = call_method(&client, "submit", &["deployVirtualMachine".into(), js_params(HUGE)]).await.unwrap();
    let error = call_method(&failed, "wait", &[]).await.unwrap_err();
    assert_eq!(get(&error, "name"), "JobFailedError");
    assert_eq!(get(&error, "code"), 533);
    assert!(error.is_instance_of::<js_sys::Error>());

    let error = call_method(&client, "submit", &["frobnicate".into(), JsValue::UNDEFINED]).await.unwrap_err();
    assert_eq!(get(&error, "name"), "ApiError");
    assert_eq!(get(&error, "code"), 432);

    let refused = JsValue::from(
        JsJobClient::new(js_options(ENDPOINT, &[("username", USERNAME), ("password", "wrong")])).unwrap(),
    );
    let error = call_method(&refused, "call", &["listZones".into()]).await.unwrap_err();
    assert_eq!(get(&error, "name"), "LoginError");
    assert_eq!(get(&error, "code"), 531);
}

#[wasm_bindgen_test]
fn js_api_rejects_bad_options_with_type_error() {
    let error = JsJobClient::new(js_options("not a url", &[])).err().unwrap();
    assert_eq!(get(&error, "name"), "TypeError");
    let error = JsJobClient::new(js_options(ENDPOINT, &[("apiKey", "k"), ("username", "u")])).err().unwrap();
    assert_eq!(get(&error, "name"), "TypeError");
    let error = JsJobClient::new(JsValue::from(3)).err().unwrap();
    assert!(error.is_instance_of::<js_sys::TypeError>());
}

/// `{ signal?, timeoutMs?, onProgress?, onDelay? }`.
fn wait_options(
    signal: Option<&web_sys::AbortSignal>,
    timeout_ms: Option<f64>,
    on_delay: Option<&js_sys::Function>,
) -> JsValue {
    let options = js_sys::Object::new();
    if let Some(signal) = signal {
        Reflect::set(&options, &"signal".into(), signal).unwrap();
    }
    if let Some(ms) = timeout_ms {
        Reflect::set(&options, &"timeoutMs".into(), &ms.into()).unwrap();
    }
    if let Some(callback) = on_delay {
        Reflect::set(&options, &"onDelay".into(), callback).unwrap();
    }
    options.into()
}

/// A JS client signing with the demo keys; `long_poll_secs` 0 turns long-polls off.
fn signed_js_client(long_poll_secs: Option<u32>) -> JsValue {
    let options = js_options(ENDPOINT, &[("apiKey", API_KEY), ("secretKey", SECRET_KEY)]);
    if let Some(secs) = long_poll_secs {
        Reflect::set(&options, &"longPollSecs".into(), &secs.into()).unwrap();
    }
    JsValue::from(JsJobClient::new(options).unwrap())
}

/// Stopping to wait (abort, timeout) is not the job failing: the rejection says so, and the
/// handle keeps working afterwards.
#[wasm_bindgen_test]
async fn abort_and_timeout_stop_waiting_without_touching_the_job() {
    let client = signed_js_client(None);
    let job = call_method(&client, "submit", &["deployVirtualMachine".into(), js_params(SMALL)]).await.unwrap();

    let controller = web_sys::AbortController::new().unwrap();
    controller.abort();
    let error = call_method(&job, "wait", &[wait_options(Some(&controller.signal()), None, None)]).await.unwrap_err();
    assert_eq!(get(&error, "name"), "AbortError");

    let error = call_method(&job, "wait", &[wait_options(None, Some(50.0), None)]).await.unwrap_err();
    assert_eq!(get(&error, "name"), "TimeoutError");
    assert_eq!(get(&error, "jobId"), get(&job, "id"));

    // Abort in the middle of a long-poll.
    let controller = web_sys::AbortController::new().unwrap();
    let options = [wait_options(Some(&controller.signal()), None, None)];
    let waiting = call_method(&job, "wait", &options);
    let abort_soon = async {
        jobwire::transport::sleep(jobwire::time::Duration::from_millis(100)).await;
        controller.abort();
    };
    let (result, ()) = futures_join(waiting, abort_soon).await;
    assert_eq!(get(&result.unwrap_err(), "name"), "AbortError");

    let result = call_method(&job, "wait", &[JsValue::UNDEFINED]).await.unwrap();
    assert_eq!(get(&get(&result, "virtualmachine"), "id"), get(&job, "resourceId"));
}

/// Runs two futures to completion together (no extra crate for one test).
async fn futures_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    std::future::poll_fn(|cx| {
        if out_a.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        if out_a.is_some() && out_b.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (out_a.unwrap(), out_b.unwrap())
}

#[wasm_bindgen_test]
async fn run_resume_and_observable_delays() {
    // Without long-polls the client spaces its polls and says why.
    let client = signed_js_client(Some(0));
    let reasons = js_sys::Array::new();
    let record = {
        let reasons = reasons.clone();
        wasm_bindgen::closure::Closure::<dyn Fn(JsValue)>::new(move |info: JsValue| {
            reasons.push(&get(&info, "reason"));
        })
    };
    let on_delay: &js_sys::Function = record.as_ref().unchecked_ref();
    let result = call_method(
        &client,
        "run",
        &["deployVirtualMachine".into(), js_params(SMALL), wait_options(None, None, Some(on_delay))],
    )
    .await
    .unwrap();
    assert!(get(&get(&result, "virtualmachine"), "id").is_string());
    let seen: Vec<String> = reasons.iter().filter_map(|r| r.as_string()).collect();
    assert_eq!(seen.first().map(String::as_str), Some("first-poll"), "{seen:?}");
    // The reference server reports progress: later polls go by the finish it lets estimate.
    assert!(seen.iter().skip(1).all(|r| r == "backoff" || r == "eta"), "{seen:?}");

    // The second job of the same command starts from the learned duration.
    reasons.set_length(0);
    call_method(
        &client,
        "run",
        &["deployVirtualMachine".into(), js_params(SMALL), wait_options(None, None, Some(on_delay))],
    )
    .await
    .unwrap();
    assert_eq!(reasons.get(0).as_string().as_deref(), Some("learned-duration"));

    // A resume token brings a job back in a new client.
    let job = call_method(&client, "submit", &["deployVirtualMachine".into(), js_params(SMALL)]).await.unwrap();
    let token = js_sys::JSON::parse(&js_sys::JSON::stringify(&job).unwrap().as_string().unwrap()).unwrap();
    let other = signed_js_client(None);
    let resume: js_sys::Function = get(&other, "resume").dyn_into().unwrap();
    let resumed = resume.call1(&other, &token).unwrap();
    assert_eq!(get(&resumed, "id"), get(&job, "id"));
    assert_eq!(get(&resumed, "command"), "deployVirtualMachine");
    let result = call_method(&resumed, "wait", &[JsValue::UNDEFINED]).await.unwrap();
    assert_eq!(get(&get(&result, "virtualmachine"), "id"), get(&job, "resourceId"));
    assert!(resume.call1(&other, &JsValue::from("nonsense")).is_err());
}

/// Two `job.wait()`s of one job share one wait: both see the same statuses; aborting one leaves
/// the other waiting. A configured initial delay places the first poll and says so.
#[wasm_bindgen_test]
async fn concurrent_js_waits_share_one_wait_and_initial_delays_are_observable() {
    let options = js_options(ENDPOINT, &[("apiKey", API_KEY), ("secretKey", SECRET_KEY)]);
    Reflect::set(&options, &"longPollSecs".into(), &0.into()).unwrap();
    let delays = js_sys::Object::new();
    Reflect::set(&delays, &"deployVirtualMachine".into(), &300.into()).unwrap();
    Reflect::set(&options, &"initialDelayMs".into(), &delays).unwrap();
    let client = JsValue::from(JsJobClient::new(options).unwrap());
    let job = call_method(&client, "submit", &["deployVirtualMachine".into(), js_params(SMALL)]).await.unwrap();

    let reasons = js_sys::Array::new();
    let record = {
        let reasons = reasons.clone();
        wasm_bindgen::closure::Closure::<dyn Fn(JsValue)>::new(move |info: JsValue| {
            reasons.push(&get(&info, "reason"));
        })
    };
    let on_delay: &js_sys::Function = record.as_ref().unchecked_ref();
    let controller = web_sys::AbortController::new().unwrap();
    let stopping_options = [wait_options(Some(&controller.signal()), None, Some(on_delay))];
    let staying_options = [JsValue::UNDEFINED];
    let stopping = call_method(&job, "wait", &stopping_options);
    let staying = call_method(&job, "wait", &staying_options);
    let abort_soon = async {
        jobwire::transport::sleep(jobwire::time::Duration::from_millis(150)).await;
        controller.abort();
    };
    let ((stopped, stayed), ()) = futures_join(futures_join(stopping, staying), abort_soon).await;
    assert_eq!(get(&stopped.unwrap_err(), "name"), "AbortError");
    assert_eq!(get(&get(&stayed.unwrap(), "virtualmachine"), "id"), get(&job, "resourceId"));
    assert_eq!(reasons.get(0).as_string().as_deref(), Some("initial-delay"));

    let bad = js_options(ENDPOINT, &[("apiKey", API_KEY), ("secretKey", SECRET_KEY)]);
    Reflect::set(&bad, &"initialDelayMs".into(), &"soon".into()).unwrap();
    assert_eq!(get(&JsJobClient::new(bad).err().unwrap(), "name"), "TypeError");
}
