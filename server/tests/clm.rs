//! The BMC CLM API as a client sees it, through the router without a socket; every answer is
//! read with the SDK's `jobwire::protocol::clm` parsers, which proves the server speaks what the
//! SDK reads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt;
use jobwire::protocol::clm::{
    parse_response, parse_task_result, parse_task_status, read_login_token, ClmResponse, CloudError, Task, TaskResult,
    TASK_CLASS,
};
use jobwire::protocol::JobState;
use jobwire_server::model::User;
use jobwire_server::{app, AppState, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

mod support;
use support::{state_with, Reply};

const HOST: &str = "clm.test:8080";
const CONTAINER_CLASS: &str = "com.bmc.cloud.model.beans.ComputeContainer";

fn state(job_duration_ms: u64) -> AppState {
    state_with(Config { job_duration_ms, ..Config::default() })
}

/// What a CLM answer holds.
trait ClmReply {
    fn task(&self) -> Task;
    fn status_task(&self) -> Task;
    fn objects(&self) -> Vec<Value>;
    fn error(&self, status: u16) -> CloudError;
}

impl ClmReply for Reply {
    fn task(&self) -> Task {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        match parse_response(&self.body).unwrap() {
            ClmResponse::Task(task) => *task,
            other => panic!("not a Task: {other:?}"),
        }
    }
    fn status_task(&self) -> Task {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        parse_task_status(&self.body).unwrap()
    }
    fn objects(&self) -> Vec<Value> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        match parse_response(&self.body).unwrap() {
            ClmResponse::Objects(objects) => objects,
            other => panic!("not cloud objects: {other:?}"),
        }
    }
    /// The single CloudError of a refusal with `status`.
    fn error(&self, status: u16) -> CloudError {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        match parse_response(&self.body).unwrap() {
            ClmResponse::Errors(mut errors) if errors.len() == 1 => errors.remove(0),
            other => panic!("not one CloudError: {other:?}"),
        }
    }
}

/// Sends `request`; checks what every CLM answer must carry.
async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let reply = support::send(state, request).await;
    let transaction = reply.header("bmc-transaction-id").expect("BMC-Transaction-ID on every answer");
    assert!(uuid::Uuid::parse_str(transaction).is_ok(), "{transaction}");
    assert_eq!(reply.header("content-type"), Some("application/json;charset=UTF-8"));
    assert!(reply.json().is_array(), "not an array: {}", reply.text());
    reply
}

fn request(method: Method, path: &str, token: Option<&str>, body: Option<String>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path).header(header::HOST, HOST);
    if let Some(token) = token {
        builder = builder.header("Authentication-Token", token);
    }
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json;charset=UTF-8");
    }
    builder.body(body.map_or_else(Body::empty, Body::from)).unwrap()
}

async fn post_json(state: &AppState, path: &str, token: Option<&str>, body: Value) -> Reply {
    send(state, request(Method::POST, path, token, Some(body.to_string()))).await
}

async fn get(state: &AppState, path: &str, token: &str) -> Reply {
    send(state, request(Method::GET, path, Some(token), None)).await
}

async fn login_as(state: &AppState, username: &str, password: &str) -> Reply {
    post_json(state, "/csm/login", None, json!({"username": username, "password": password})).await
}

async fn login(state: &AppState) -> String {
    let demo = Config::default().demo;
    let reply = login_as(state, &demo.username, &demo.password).await;
    assert_eq!(reply.status, StatusCode::OK);
    let headers: Vec<(String, String)> =
        reply.headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
    read_login_token(&headers).unwrap().as_str().to_owned()
}

fn status_path(task: &Task) -> String {
    format!("/csm/task/{}/status", task.task_internal_uuid)
}

fn result_path(task: &Task) -> String {
    format!("/csm/task/{}/result", task.task_internal_uuid)
}

/// Polls the task's status until it ends.
async fn wait_task(state: &AppState, token: &str, task: &Task) -> Task {
    for _ in 0..500 {
        let current = get(state, &status_path(task), token).await.status_task();
        if current.state().is_terminal() {
            return current;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {} did not finish", task.task_internal_uuid);
}

async fn create(state: &AppState, token: &str, body: Value) -> Reply {
    post_json(state, "/csm/ComputeContainer", Some(token), body).await
}

fn container_guid(task: &Task) -> String {
    // The inline result of a finished create task is the container.
    let Ok(TaskResult::Objects(entries)) = task.inline_result() else { panic!("no inline result") };
    entries[0].value["guid"].as_str().unwrap().to_owned()
}

fn another_user() -> User {
    User {
        id: "mallory-id".into(),
        account_id: "mallory-account".into(),
        username: "mallory".into(),
        password: "pw".into(),
        account: "mallory".into(),
        domain: "/".into(),
        domain_id: "d".into(),
        api_key: "mallory-key".into(),
        secret_key: "mallory-secret".into(),
    }
}

#[tokio::test]
async fn login_answers_a_token_and_refuses_bad_credentials() {
    let state = state(0);
    let demo = Config::default().demo;
    let reply = login_as(&state, &demo.username, &demo.password).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, b"[]");
    assert!(reply.header("authentication-token").is_some_and(|t| t.len() >= 32));

    let wrong = login_as(&state, &demo.username, "not-the-password").await.error(401);
    assert_eq!(wrong.to_api_error().code, 401);
    assert_eq!(wrong.error_cause.as_deref(), Some("Invalid username or password"));
    assert!(login_as(&state, "nobody", "x").await.error(401).guid.is_some());
    assert!(login_as(&state, &demo.username, "not-the-password").await.header("authentication-token").is_none());
    post_json(&state, "/csm/login", None, json!({"username": demo.username})).await.error(400);
    post_json(&state, "/csm/login", None, json!({"username": 1, "password": 2})).await.error(400);
}

#[tokio::test]
async fn calls_without_a_valid_token_are_401() {
    let state = state(0);
    let body = Some(json!({"timeout": 0}).to_string());
    let reply = send(&state, request(Method::POST, "/csm/ComputeContainer", None, body.clone())).await;
    assert!(reply.error(401).error_cause.unwrap().contains("Authentication-Token"));
    send(&state, request(Method::POST, "/csm/staticpool/search", Some("forged"), body)).await.error(401);
    send(&state, request(Method::GET, "/csm/task/x/status", None, None)).await.error(401);

    // A CloudStack session key is no CLM token.
    let demo = Config::default().demo;
    let form = format!("command=login&username={}&password={}&response=json", demo.username, demo.password);
    let cs = app(state.clone())
        .oneshot(
            Request::post("/client/api")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await
        .unwrap();
    let cs_body: Value = serde_json::from_slice(&cs.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let session_key = cs_body["loginresponse"]["sessionkey"].as_str().unwrap();
    get(&state, "/csm/task/x/status", session_key).await.error(401);

    // Logout ends the token.
    let token = login(&state).await;
    assert_eq!(post_json(&state, "/csm/logout", Some(&token), json!({})).await.status, StatusCode::OK);
    get(&state, "/csm/task/x/status", &token).await.error(401);
}

#[tokio::test]
async fn timeout_zero_answers_a_queued_task_then_status_and_result() {
    let state = state(300);
    let token = login(&state).await;
    let started = Instant::now();
    let submit = create(&state, &token, json!({"timeout": 0, "name": "web-01", "description": "front"})).await;
    let queued = submit.task();
    assert!(started.elapsed() < Duration::from_millis(250), "timeout 0 must not wait");
    assert_eq!(queued.cloud_class, TASK_CLASS);
    assert_eq!((queued.task_state.as_deref(), queued.state()), (Some("QUEUED"), JobState::Pending));
    let id = queued.task_internal_uuid.clone();
    assert!(queued.guid.as_deref().is_some_and(|guid| guid != id), "guid and taskInternalUUID differ");
    assert_eq!(queued.task_status_uri.as_deref(), Some(&*format!("http://{HOST}/csm/task/{id}/status")));
    assert!(queued.created_unix().is_some(), "creationTime {:?}", queued.creation_time);
    assert!(queued.creation_time.as_deref().is_some_and(|t| t.ends_with(" UTC")));
    assert_eq!(queued.command().as_deref(), Some("ComputeContainer.create"));
    assert_eq!(queued.transaction_id.as_deref(), submit.header("bmc-transaction-id"));
    assert_eq!((queued.task_result_uri.as_ref(), queued.completion_time.as_ref()), (None, None));

    let pending = get(&state, &status_path(&queued), &token).await.status_task();
    assert_eq!(pending.state(), JobState::Pending);
    get(&state, &result_path(&queued), &token).await.error(409);

    let done = wait_task(&state, &token, &queued).await;
    assert_eq!(done.state(), JobState::Succeeded);
    assert_eq!(
        (done.task_state.as_deref(), done.task_sub_state.as_deref(), done.is_success, done.is_error),
        (Some("COMPLETED"), Some("task_success"), Some(true), Some(false))
    );
    assert_eq!(done.task_progress, Some(100.0));
    assert!(done.errors.is_empty());
    assert_eq!(done.task_result_uri.as_deref(), Some(&*format!("http://{HOST}/csm/task/{id}/result")));
    assert!(done.completed_unix().unwrap() >= done.created_unix().unwrap());

    let result = get(&state, &result_path(&queued), &token).await;
    let Ok(TaskResult::Objects(entries)) = parse_task_result(&result.body) else { panic!("not objects") };
    let container = &entries[0].value;
    assert_eq!(entries[0].java_class.as_deref(), Some(CONTAINER_CLASS));
    assert_eq!((container["name"].as_str(), container["state"].as_str()), (Some("web-01"), Some("Running")));
    assert_eq!(container["description"], "front");
    let guid = container_guid(&done);
    assert_eq!(container["guid"], guid.as_str());

    // The same task by its own guid.
    let by_guid = get(&state, &format!("/csm/Task/{}", queued.guid.clone().unwrap()), &token).await.task();
    assert_eq!(by_guid.task_internal_uuid, id);

    // Lifecycle: stop, refuse a start while stopping, start again.
    let stop_path = format!("/csm/ComputeContainer/{guid}/stop");
    let stopping = post_json(&state, &stop_path, Some(&token), json!({"timeout": 0})).await.task();
    assert_eq!(stopping.command().as_deref(), Some("ComputeContainer.stop"));
    let start_path = format!("/csm/ComputeContainer/{guid}/start");
    let refused = post_json(&state, &start_path, Some(&token), json!({"timeout": 0})).await.error(409);
    assert!(refused.error_cause.unwrap().contains("Stopping"));
    wait_task(&state, &token, &stopping).await;
    let object = get(&state, &format!("/csm/ComputeContainer/{guid}"), &token).await.objects();
    assert_eq!(object[0]["state"], "Stopped");
    let started = post_json(&state, &start_path, Some(&token), json!({"timeout": 10})).await.objects();
    assert_eq!((started[0]["guid"].as_str(), started[0]["state"].as_str()), (Some(guid.as_str()), Some("Running")));
}

#[tokio::test]
async fn a_timeout_longer_than_the_job_answers_the_cloud_object() {
    let state = state(200);
    let token = login(&state).await;
    let started = Instant::now();
    let objects = create(&state, &token, json!({"timeout": 5, "name": "db-01"})).await.objects();
    assert!(started.elapsed() < Duration::from_secs(4), "answered when the job ended, not at the timeout");
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["cloudClass"], CONTAINER_CLASS);
    assert_eq!((objects[0]["name"].as_str(), objects[0]["state"].as_str()), (Some("db-01"), Some("Running")));

    // Omitted (-1): the server default wait, longer than this job.
    let objects = create(&state, &token, json!({"name": "db-02"})).await.objects();
    assert_eq!(objects[0]["state"], "Running");
    let objects = create(&state, &token, json!({"timeout": -1})).await.objects();
    assert!(objects[0]["name"].as_str().is_some_and(|n| n.starts_with("cc-")));
}

#[tokio::test]
async fn a_timeout_shorter_than_the_job_answers_a_task() {
    let state = state(3000);
    let token = login(&state).await;
    let started = Instant::now();
    let task = create(&state, &token, json!({"timeout": 1})).await.task();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950) && waited < Duration::from_millis(2500), "{waited:?}");
    assert_eq!(task.task_state.as_deref(), Some("RUNNING"));
    assert!(task.task_progress.is_some_and(|p| p > 0.0 && p < 100.0), "{:?}", task.task_progress);
}

#[tokio::test]
async fn failed_tasks_report_their_errors() {
    let state = state_with(Config { job_duration_ms: 50, failure_rate: 1.0, ..Config::default() });
    let token = login(&state).await;
    // Synchronous, but failed: the Task comes back, not the object.
    let failed = create(&state, &token, json!({"timeout": 5})).await.task();
    assert_eq!(
        (failed.state(), failed.task_state.as_deref(), failed.is_error),
        (JobState::Failed, Some("FAILED"), Some(true))
    );
    let error = failed.error().unwrap();
    assert_eq!(error.code, 530);
    assert!(error.text.contains("ComputeContainer.create failed"), "{}", error.text);
    let Ok(TaskResult::Errors(errors)) = parse_task_result(&get(&state, &result_path(&failed), &token).await.body)
    else {
        panic!("a failed task's result is its errors")
    };
    assert_eq!(errors[0].to_api_error().code, 530);
}

#[tokio::test]
async fn search_results_are_paged() {
    let state = state(100);
    let token = login(&state).await;
    let queued = post_json(&state, "/csm/staticpool/search", Some(&token), json!({"timeout": 0})).await.task();
    assert_eq!(queued.command().as_deref(), Some("StaticPool.search"));
    let done = wait_task(&state, &token, &queued).await;
    // Inline, as seed 003 shows it: `SearchResults:{…}` with every row.
    let Ok(TaskResult::Search(inline)) = done.inline_result() else { panic!("inline result is not a search") };
    assert_eq!(
        (inline.page_no, inline.page_size, inline.total_rows, inline.results.len()),
        (Some(0), Some(0), Some(7), 7)
    );

    let page = |query: &'static str| {
        let (state, token, path) = (state.clone(), token.clone(), result_path(&queued));
        async move {
            match parse_task_result(&get(&state, &format!("{path}{query}"), &token).await.body) {
                Ok(TaskResult::Search(page)) => page,
                other => panic!("not a search page: {other:?}"),
            }
        }
    };
    let all = page("").await;
    assert_eq!((all.total_rows, all.results.len()), (Some(7), 7));
    assert_eq!(all.results[0]["cloudClass"], "com.bmc.cloud.model.beans.StaticPool");
    let second = page("?pageNo=1&pageSize=3").await;
    assert_eq!(
        (second.page_no, second.page_size, second.total_rows, second.results.len()),
        (Some(1), Some(3), Some(7), 3)
    );
    assert_eq!(second.results[0], all.results[3]);
    assert_eq!(page("?pageNo=2&pageSize=3").await.results.len(), 1);
    assert_eq!(page("?pageNo=9&pageSize=3").await.results.len(), 0);
    assert_eq!(second.guid, all.guid, "pages of one search share its guid");
    get(&state, &format!("{}?pageSize=-1", result_path(&queued)), &token).await.error(400);
    get(&state, &format!("{}?pageNo=x", result_path(&queued)), &token).await.error(400);

    // Synchronous search: the SearchResults object directly, paged by the body.
    let body = json!({"timeout": 5, "pageNo": 0, "pageSize": 2});
    let reply = post_json(&state, "/csm/staticpool/search", Some(&token), body).await;
    let Ok(TaskResult::Search(sync)) = parse_task_result(&reply.body) else { panic!("not a search") };
    assert_eq!((sync.page_size, sync.total_rows, sync.results.len()), (Some(2), Some(7), 2));
}

/// What the callback listener received: the status it answered, the request's headers and body.
type Hits = Arc<Mutex<Vec<(u16, HeaderMap, String)>>>;

async fn callback_listener() -> (String, Hits) {
    async fn receive(State(hits): State<Hits>, headers: HeaderMap, body: String) -> StatusCode {
        let mut hits = hits.lock().unwrap();
        // The first attempt fails, later ones succeed.
        let status = if hits.is_empty() { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
        hits.push((status.as_u16(), headers, body));
        status
    }
    let hits: Hits = Arc::default();
    let router = Router::new().route("/cb/{token}", post(receive)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}/cb/s3cret-token"), hits)
}

#[tokio::test]
async fn callback_is_retried_until_delivered_once() {
    let state = state(100);
    let token = login(&state).await;
    let (url, hits) = callback_listener().await;
    let queued = create(&state, &token, json!({"timeout": 0, "callbackURL": url})).await.task();
    assert!(!queued.raw.to_string().contains("s3cret"), "the callback URL is not echoed");

    let deadline = Instant::now() + Duration::from_secs(6);
    while hits.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Past the next backoff (2 s): no attempt after the delivered one.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let hits = hits.lock().unwrap();
    let statuses: Vec<u16> = hits.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(statuses, [500, 200]);
    let (_, headers, body) = &hits[1];
    assert!(headers.get("authentication-token").is_none(), "callbacks carry no credentials");
    assert_eq!(headers.get("content-type").unwrap(), "application/json;charset=UTF-8");
    let task = parse_task_status(body.as_bytes()).unwrap();
    assert_eq!(
        (task.task_internal_uuid.as_str(), task.state()),
        (queued.task_internal_uuid.as_str(), JobState::Succeeded)
    );
    assert_eq!(task.task_status_uri, queued.task_status_uri, "absolute URIs of the submitting request's host");
    assert_eq!(headers.get("bmc-transaction-id").unwrap().to_str().unwrap(), queued.transaction_id.unwrap());
}

#[tokio::test]
async fn bad_callback_urls_are_refused_at_submit() {
    let state = state(100);
    let token = login(&state).await;
    for url in [json!("ftp://example/x"), json!("/relative"), json!("http://a b/"), json!(42)] {
        create(&state, &token, json!({"timeout": 0, "callbackURL": url})).await.error(400);
    }
}

#[tokio::test]
async fn prefer_wait_on_status_returns_when_the_task_ends() {
    let state = state(500);
    let token = login(&state).await;
    let queued = create(&state, &token, json!({"timeout": 0})).await.task();
    let started = Instant::now();
    let mut held = request(Method::GET, &status_path(&queued), Some(&token), None);
    held.headers_mut().insert("prefer", "wait=10".parse().unwrap());
    let reply = send(&state, held).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(reply.status_task().state(), JobState::Succeeded);
    assert_eq!(reply.header("preference-applied"), Some("wait=10"));

    // Capped at 30 s; a finished task answers at once.
    let mut held = request(Method::GET, &status_path(&queued), Some(&token), None);
    held.headers_mut().insert("prefer", "wait=600".parse().unwrap());
    let reply = send(&state, held).await;
    assert_eq!(reply.header("preference-applied"), Some("wait=30"));
    assert!(get(&state, &status_path(&queued), &token).await.header("preference-applied").is_none());
}

#[tokio::test]
async fn another_users_tasks_and_servers_are_not_found() {
    let state = state(50);
    let token = login(&state).await;
    let task = create(&state, &token, json!({"timeout": 5})).await;
    let guid = task.objects()[0]["guid"].as_str().unwrap().to_owned();
    let queued = create(&state, &token, json!({"timeout": 0})).await.task();
    state.hub.put_user(another_user()).unwrap();
    let reply = login_as(&state, "mallory", "pw").await;
    let mallory = reply.header("authentication-token").unwrap().to_owned();

    let refused = get(&state, &status_path(&queued), &mallory).await.error(404);
    assert_eq!(refused.error_cause.as_deref(), Some(&*format!("Task {} not found", queued.task_internal_uuid)));
    get(&state, &result_path(&queued), &mallory).await.error(404);
    get(&state, &format!("/csm/Task/{}", queued.guid.clone().unwrap()), &mallory).await.error(404);
    get(&state, &format!("/csm/ComputeContainer/{guid}"), &mallory).await.error(404);
    let stop = format!("/csm/ComputeContainer/{guid}/stop");
    post_json(&state, &stop, Some(&mallory), json!({"timeout": 0})).await.error(404);
    // The owner still sees it, unchanged.
    assert_eq!(get(&state, &format!("/csm/ComputeContainer/{guid}"), &token).await.objects()[0]["state"], "Running");
}

#[tokio::test]
async fn bad_input_gets_cloud_errors_never_a_panic() {
    let state = state(100);
    let token = login(&state).await;
    let raw = |path: &str, body: &str| request(Method::POST, path, Some(&token), Some(body.to_owned()));
    for body in ["{", "[1]", "null", "\"x\"", "{\"timeout\": }", "\u{0}"] {
        let error = send(&state, raw("/csm/ComputeContainer", body)).await.error(400);
        assert!(error.error_cause.is_some(), "{body:?}");
    }
    for body in [
        json!({"timeout": "0"}),
        json!({"timeout": -2}),
        json!({"timeout": 1.5}),
        json!({"timeout": 99_999_999_999_i64}),
        json!({"timeout": 0, "name": 5}),
        json!({"timeout": 0, "name": "   "}),
        json!({"timeout": 0, "name": "x".repeat(300)}),
        json!({"timeout": 0, "description": ["a"]}),
    ] {
        create(&state, &token, body.clone()).await.error(400);
    }
    post_json(&state, "/csm/staticpool/search", Some(&token), json!({"pageSize": -3})).await.error(400);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(200 * 1024));
    let error = send(&state, raw("/csm/ComputeContainer", &huge)).await.error(413);
    assert!(error.error_cause.unwrap().contains("limit"));
    // Past the server-wide limit the edge refuses it, in CLM's shape too.
    let enormous = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    send(&state, raw("/csm/ComputeContainer", &enormous)).await.error(413);
    // An empty body is `{}`: create with the server default wait.
    assert_eq!(send(&state, raw("/csm/ComputeContainer", "")).await.objects().len(), 1);

    for path in ["/csm/task/4f1b0c1e-0000-4000-8000-000000000000/status", "/csm/task/..%2F..%2Fetc/result"] {
        get(&state, path, &token).await.error(404);
    }
    get(&state, "/csm/ComputeContainer/nope", &token).await.error(404);
    post_json(&state, "/csm/ComputeContainer/nope/start", Some(&token), json!({})).await.error(404);
    get(&state, "/csm/nothing/here", &token).await.error(404);
    send(&state, request(Method::GET, "/csm/login", None, None)).await.error(405);
    send(&state, request(Method::DELETE, "/csm/staticpool/search", Some(&token), None)).await.error(405);
}

#[tokio::test]
async fn a_restart_on_the_same_database_keeps_tokens_and_tasks() {
    let dir = std::env::temp_dir().join(format!("jobwire-clm-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let _ = std::fs::remove_file(&db);
    let config = Config { db: Some(db.clone()), job_duration_ms: 300, ..Config::default() };
    let (token, queued) = {
        let state = state_with(config.clone());
        let token = login(&state).await;
        let queued = create(&state, &token, json!({"timeout": 0, "name": "survivor"})).await.task();
        (token, queued)
    };
    let state = state_with(config);
    let mut held = request(Method::GET, &status_path(&queued), Some(&token), None);
    held.headers_mut().insert("prefer", "wait=10".parse().unwrap());
    let done = send(&state, held).await.status_task();
    assert_eq!((done.state(), done.guid.clone()), (JobState::Succeeded, queued.guid.clone()));
    let result = get(&state, &result_path(&queued), &token).await.objects();
    assert_eq!((result[0]["name"].as_str(), result[0]["state"].as_str()), (Some("survivor"), Some("Running")));
    let _ = std::fs::remove_dir_all(&dir);
}
