//! The CloudStack API as a client sees it, through the router without a socket.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope, parse_job_status};
use jobwire::protocol::{Format, JobState};
use jobwire_server::{app, AppState, Config};
use serde_json::Value;
use tower::ServiceExt;

const ZONE: &str = "a1f2c3d4-0000-4000-8000-000000000001";
const SMALL: &str = "b1f2c3d4-0000-4000-8000-000000000001";
const HUGE: &str = "b1f2c3d4-0000-4000-8000-000000000003";
const TEMPLATE: &str = "c1f2c3d4-0000-4000-8000-000000000001";

fn state(job_duration_ms: u64) -> AppState {
    AppState::new(&Config { job_duration_ms, ..Config::default() })
}

struct Reply {
    status: StatusCode,
    content_type: String,
    description: Option<String>,
    body: Vec<u8>,
}

async fn call(state: &AppState, request: Request<Body>) -> Reply {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let header = |name| response.headers().get(name).map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned());
    let content_type = header(header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let description = header("x-description");
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, content_type, description, body }
}

async fn get(state: &AppState, query: &str) -> Reply {
    call(state, Request::get(format!("/client/api?{query}")).body(Body::empty()).unwrap()).await
}

async fn post(state: &AppState, form: &str) -> Reply {
    let request = Request::post("/client/api")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    call(state, request).await
}

fn deploy_query(offering: &str, format: &str) -> String {
    format!("command=deployVirtualMachine&zoneid={ZONE}&serviceofferingid={offering}&templateid={TEMPLATE}&response={format}")
}

#[tokio::test]
async fn unknown_command_is_432_in_json_and_xml() {
    let state = state(0);
    let reply = get(&state, "command=frobnicate&response=json").await;
    assert_eq!(reply.status.as_u16(), 432);
    assert_eq!(reply.content_type, "application/json; charset=UTF-8");
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["errorresponse"]["errorcode"], 432);
    assert_eq!(body["errorresponse"]["errortext"], "Unknown API command: frobnicate");
    assert_eq!(reply.description.as_deref(), Some("Unknown API command: frobnicate"));

    let reply = get(&state, "command=frobnicate").await;
    assert_eq!(reply.status.as_u16(), 432);
    assert_eq!(reply.content_type, "text/xml; charset=UTF-8");
    let envelope = parse_envelope(&reply.body, Format::Xml).unwrap();
    assert_eq!(envelope.name, "errorresponse");
    assert_eq!(envelope.api_error().unwrap().code, 432);
}

#[tokio::test]
async fn missing_command_and_malformed_params_are_errors_not_panics() {
    let state = state(0);
    let reply = get(&state, "response=json").await;
    assert_eq!(reply.status.as_u16(), 432);
    // Broken percent-escapes decode leniently (as literal text), so this is an unknown command.
    let reply = get(&state, "command=%ZZ%FF&response=json").await;
    assert_eq!(reply.status.as_u16(), 432);
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    assert!(body["errorresponse"]["errortext"].as_str().unwrap().starts_with("Unknown API command: %ZZ"));
}

#[tokio::test]
async fn missing_and_invalid_parameters_are_431() {
    let state = state(0);
    let reply = get(&state, "command=deployVirtualMachine&response=json").await;
    assert_eq!(reply.status.as_u16(), 431);
    let envelope = parse_envelope(&reply.body, Format::Json).unwrap();
    assert_eq!(envelope.name, "deployvirtualmachineresponse");
    assert_eq!(
        envelope.api_error().unwrap().text,
        "Unable to execute API command deployvirtualmachine due to missing parameter zoneid"
    );
    let reply = get(&state, &deploy_query("no-such-offering", "json")).await;
    assert_eq!(reply.status.as_u16(), 431);
    let reply = get(&state, "command=queryAsyncJobResult&jobid=nope&response=json").await;
    assert_eq!(reply.status.as_u16(), 431);
}

#[tokio::test]
async fn deployed_job_is_pending_then_succeeds_with_its_vm() {
    let state = state(300);
    let reply = post(&state, &deploy_query(SMALL, "json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let submit = parse_async_submit(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    let vm_id = submit.resource_id.clone().unwrap();

    let query = format!("command=queryAsyncJobResult&jobId={}&response=json", submit.job_id);
    let pending = parse_job_status(&parse_envelope(&get(&state, &query).await.body, Format::Json).unwrap()).unwrap();
    assert_eq!(pending.state, JobState::Pending);
    assert_eq!(pending.result, None);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let done = parse_job_status(&parse_envelope(&get(&state, &query).await.body, Format::Json).unwrap()).unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    let vm = &done.result.unwrap()["virtualmachine"];
    assert_eq!(vm["id"], vm_id.as_str());
    assert_eq!(vm["zoneid"], ZONE);
    assert_eq!(vm["state"], "Running");
    assert_eq!(done.raw["jobinstanceid"], vm_id.as_str());
}

#[tokio::test]
async fn xml_answers_parse_like_json_ones() {
    let state = state(0);
    let reply = get(&state, &deploy_query(SMALL, "xml")).await;
    assert_eq!(reply.content_type, "text/xml; charset=UTF-8");
    assert!(String::from_utf8_lossy(&reply.body).contains("cloud-stack-version=\"4.19.0.0\""));
    let submit = parse_async_submit(&parse_envelope(&reply.body, Format::Xml).unwrap()).unwrap();
    let reply = get(&state, &format!("command=queryAsyncJobResult&jobid={}", submit.job_id)).await;
    let done = parse_job_status(&parse_envelope(&reply.body, Format::Xml).unwrap()).unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result.unwrap()["virtualmachine"]["id"], submit.resource_id.unwrap().as_str());
}

#[tokio::test]
async fn oversized_offering_fails_with_capacity_error() {
    let state = state(0);
    let submit = parse_async_submit(
        &parse_envelope(&get(&state, &deploy_query(HUGE, "json")).await.body, Format::Json).unwrap(),
    )
    .unwrap();
    let reply = get(&state, &format!("command=queryAsyncJobResult&jobid={}&response=json", submit.job_id)).await;
    let done = parse_job_status(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.error.unwrap().code, 533);
}

#[tokio::test]
async fn cors_allows_loopback_origins_with_credentials_and_refuses_others() {
    let state = state(0);
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/client/api")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let response = app(state.clone()).oneshot(preflight("http://127.0.0.1:5555")).await.unwrap();
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://127.0.0.1:5555");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");

    let response = app(state).oneshot(preflight("http://evil.example")).await.unwrap();
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
