//! Secrets on the SDK's side, proven by scanning what it produces: every request it sends and
//! every answer it gets (recorded by a layer in front of the in-process server), the `{:?}` of
//! its configurations, clients and errors, and the text of its errors. The secret key may only
//! ever sign (signatures yes, the key no); passwords go only in login bodies; session keys and
//! CLM tokens only in bodies, cookies and headers — never in a URL.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use jobwire::protocol::Format;
use jobwire::{
    ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, Error, JobClient, SessionCredentials,
};
use jobwire_e2e::{deploy_params, fast_policy, ids, serve};
use jobwire_server::seed::DemoUser;
use jobwire_server::{app, AppState, Config};
use serde_json::json;

const API_KEY: &str = "secrets-test-api-key";
const SECRET_KEY: &str = "SECRET-KEY-b2f1c7e0d9a84f3c";
const PASSWORD: &str = "PASSWORD-4e6a9d1f0c";

/// One exchange as it crossed the wire.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    uri: String,
    request_headers: Vec<(String, String)>,
    request_body: String,
    response_headers: Vec<(String, String)>,
    response_body: String,
}

impl Exchange {
    fn request_text(&self) -> String {
        let headers: Vec<String> = self.request_headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!("{} {}\n{}\n\n{}", self.method, self.uri, headers.join("\n"), self.request_body)
    }
    fn response_text(&self) -> String {
        let headers: Vec<String> = self.response_headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!("{}\n\n{}", headers.join("\n"), self.response_body)
    }
    fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Exchange>>>;

fn headers_of(map: &axum::http::HeaderMap) -> Vec<(String, String)> {
    map.iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

async fn record(log: Log, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let request_body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        request_headers: headers_of(&parts.headers),
        request_body: String::from_utf8_lossy(&request_body).into_owned(),
        response_headers: Vec::new(),
        response_body: String::new(),
    };
    let response = next.run(Request::from_parts(parts, Body::from(request_body))).await;
    let (parts, body) = response.into_parts();
    let response_body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    exchange.response_headers = headers_of(&parts.headers);
    exchange.response_body = String::from_utf8_lossy(&response_body).into_owned();
    log.lock().unwrap().push(exchange);
    Response::from_parts(parts, Body::from(response_body))
}

/// The server with the test's demo credentials behind a recording layer: its root URL.
async fn recorded_server(log: Log) -> String {
    let demo = DemoUser {
        username: "demo".into(),
        password: PASSWORD.into(),
        api_key: API_KEY.into(),
        secret_key: SECRET_KEY.into(),
    };
    let state = AppState::new(&Config { job_duration_ms: 200, demo, ..Config::default() }).expect("state");
    let router = app(state).layer(middleware::from_fn(move |request, next| record(log.clone(), request, next)));
    serve(router).await.expect("server starts")
}

fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} shows a secret ({secret}): {text}");
    }
}

#[tokio::test]
async fn what_the_sdk_sends_shows_and_reports_carries_no_secret() {
    let log: Log = Arc::default();
    let base = recorded_server(log.clone()).await;
    let endpoint = format!("{base}/client/api");
    let mut shown: Vec<String> = Vec::new(); // every Debug and Display text the SDK produced

    // API keys, JSON and XML: submit, wait, watch, a synchronous call.
    for format in [Format::Json, Format::Xml] {
        let credentials =
            Credentials::ApiKey(ApiKeyCredentials { api_key: API_KEY.into(), secret_key: SECRET_KEY.into() });
        let config = ClientConfig { credentials, format, policy: fast_policy(), ..ClientConfig::new(&endpoint) };
        shown.push(format!("{config:?}"));
        let client = JobClient::new(config).unwrap();
        let job = client.submit("deployVirtualMachine", &deploy_params(ids::SMALL)).await.unwrap();
        client.wait(&job.job_id, |s| shown.push(format!("{s:?}"))).await.unwrap();
        client.watch(std::slice::from_ref(&job), |_| {}).await.unwrap();
        client.call_value("listZones", &[]).await.unwrap();
        shown.push(format!("{client:?} {job:?}"));
    }
    // A wrong secret: the error names neither secret.
    let wrong =
        Credentials::ApiKey(ApiKeyCredentials { api_key: API_KEY.into(), secret_key: "WRONG-SECRET-x1".into() });
    let client = JobClient::new(ClientConfig { credentials: wrong, ..ClientConfig::new(&endpoint) }).unwrap();
    let error = client.call_value("listZones", &[]).await.unwrap_err();
    assert!(matches!(&error, Error::Api(e) if e.code == 401), "{error:?}");
    shown.push(format!("{error} {error:?} {client:?}"));

    // A session: login, submit, wait, logout; then a refused login.
    let session = |password: &str| {
        Credentials::Session(SessionCredentials {
            username: "demo".into(),
            password: password.into(),
            domain: String::new(),
        })
    };
    let config = ClientConfig { credentials: session(PASSWORD), policy: fast_policy(), ..ClientConfig::new(&endpoint) };
    shown.push(format!("{config:?}"));
    let client = JobClient::new(config).unwrap();
    let job = client.submit("deployVirtualMachine", &deploy_params(ids::SMALL)).await.unwrap();
    client.wait(&job.job_id, |_| {}).await.unwrap();
    shown.push(format!("{client:?}")); // logged in: session key and cookies held
    client.logout().await.unwrap();
    let refused =
        JobClient::new(ClientConfig { credentials: session("WRONG-PASSWORD-y2"), ..ClientConfig::new(&endpoint) });
    let error = refused.unwrap().call_value("listZones", &[]).await.unwrap_err();
    assert!(matches!(&error, Error::LoginFailed(e) if e.code == 531), "{error:?}");
    shown.push(format!("{error} {error:?}"));

    // CLM: token login, a held operation, an async one, its result; then a refused login.
    let config = ClmConfig { policy: fast_policy(), long_poll_secs: None, ..ClmConfig::new(&base, "demo", PASSWORD) };
    shown.push(format!("{config:?}"));
    let clm = ClmClient::new(config).unwrap();
    clm.run("ComputeContainer", json!({"name": "secret-test"}), 5, |_| {}).await.unwrap();
    let task = clm.submit("ComputeContainer", json!({"name": "secret-test-2"})).await.unwrap();
    clm.wait(&task.job_id, |_| {}).await.unwrap();
    clm.result(&task.job_id, None).await.unwrap();
    shown.push(format!("{clm:?}"));
    clm.logout().await.unwrap();
    let refused = ClmClient::new(ClmConfig::new(&base, "demo", "WRONG-PASSWORD-z3")).unwrap();
    let error = refused.login().await.unwrap_err();
    assert!(matches!(&error, Error::LoginFailed(e) if e.code == 401), "{error:?}");
    shown.push(format!("{error} {error:?} {refused:?}"));

    let exchanges = log.lock().unwrap().clone();
    // The credentials the server handed out: CloudStack session keys and CLM tokens.
    let mut session_keys: Vec<String> = Vec::new();
    for exchange in &exchanges {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&exchange.response_body) {
            if let Some(key) = value["loginresponse"]["sessionkey"].as_str() {
                session_keys.push(key.to_owned());
            }
        }
        if let Some(token) = exchange.response_header("authentication-token") {
            session_keys.push(token.to_owned());
        }
    }
    session_keys.sort();
    session_keys.dedup();
    assert_eq!(session_keys.len(), 2, "one CloudStack login, one CLM login");
    let tokens: Vec<&str> = session_keys.iter().map(String::as_str).collect();

    let mut logins = 0;
    for exchange in &exchanges {
        let what = format!("{} {}", exchange.method, exchange.uri);
        // No secret key anywhere on the wire, either way.
        assert_clean(&what, &exchange.request_text(), &[SECRET_KEY]);
        assert_clean(&what, &exchange.response_text(), &[SECRET_KEY, PASSWORD]);
        // URLs carry no credentials at all (CloudStack calls are POST forms).
        assert_clean(&what, &exchange.uri, &[PASSWORD, "signature", "sessionkey", "apikey", "apiKey"]);
        assert_clean(&what, &exchange.uri, &tokens);
        let is_login = exchange.request_body.contains("command=login") || exchange.uri.ends_with("/csm/login");
        if exchange.request_text().contains(PASSWORD) {
            assert!(is_login && exchange.method == "POST", "password outside a login POST body: {what}");
            assert!(exchange.request_body.contains(PASSWORD), "password outside the body: {what}");
            logins += 1;
        }
        if exchange.uri.starts_with("/client/api") && exchange.request_body.contains(&format!("apiKey={API_KEY}")) {
            assert!(exchange.request_body.contains("&signature="), "signed request without a signature: {what}");
        }
    }
    assert_eq!(logins, 2, "the password went out once per successful login");

    // Nothing the SDK showed or reported holds a secret.
    for text in &shown {
        assert_clean("SDK output", text, &[SECRET_KEY, PASSWORD, "WRONG-SECRET-x1", "WRONG-PASSWORD-y2"]);
        assert_clean("SDK output", text, &["WRONG-PASSWORD-z3"]);
        assert_clean("SDK output", text, &tokens);
    }
}
