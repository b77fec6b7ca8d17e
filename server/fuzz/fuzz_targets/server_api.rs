//! The reference server's request handling on hostile input: up to four HTTP requests per input,
//! written as text, through the whole router (`jobwire_server::app`: CORS, request log, body
//! limit, faults, CloudStack at `/client/api`, CLM under `/csm`, `/metrics`, the dashboard's
//! files), each against a fresh in-memory server. Errors are fine; a panic, or a JSON/XML answer
//! that does not parse, is a bug.
//!
//! Input (see `corpus/server_api/`): optional first lines `#fault KIND[:PARAM]` (every API
//! request then gets that fault) and `#throttle N`; then requests separated by a line `===`:
//!
//! ```text
//! POST /client/api?response=json
//! x-fuzz-auth: sign
//! content-type: application/x-www-form-urlencoded
//!
//! command=deployVirtualMachine&zoneid=…
//! ```
//!
//! `x-fuzz-auth` (not forwarded) lets inputs past authentication: `sign` signs the CloudStack
//! parameters (query and form body) with the demo user's API key, `session` adds a live session
//! key and its cookies, `clm` a live CLM `Authentication-Token`. `@job`, `@vm`, `@task` and
//! `@guid` are replaced by the last job id, resource id, CLM task id and guid answered before.
//! CLM `callbackURL`s are pointed at a closed local port, so no input reaches the network.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::BodyExt;
use jobwire::protocol::cloudstack::{parse_envelope, Auth};
use jobwire::protocol::Format;
use jobwire_server::scenario::parse_fault_flag;
use jobwire_server::{app, AppState, Config};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;

const SESSION_KEY: &str = "fuzz-session-key";
const JSESSIONID: &str = "fuzz-jsessionid.node0";
const CLM_TOKEN: &str = "fuzzclmtoken0123456789abcdef";

struct Harness {
    runtime: tokio::runtime::Runtime,
    dist: PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a tokio runtime");
        let dist = std::env::temp_dir().join(format!("jobwire-fuzz-dist-{}", std::process::id()));
        std::fs::create_dir_all(&dist).expect("dist dir");
        std::fs::write(dist.join("index.html"), "<!DOCTYPE html><title>Jobwire</title>").expect("index.html");
        Harness { runtime, dist }
    })
}

/// One request of an input, as written.
struct Written<'a> {
    head: String,
    body: &'a [u8],
}

/// The scenario lines and the requests of an input.
fn split(data: &[u8]) -> (Vec<String>, Vec<Written<'_>>) {
    let mut directives = Vec::new();
    let mut rest = data;
    while rest.first() == Some(&b'#') {
        let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        directives.push(String::from_utf8_lossy(&rest[1..end]).trim().to_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    let mut requests = Vec::new();
    for part in split_on(rest, b"\n===\n").into_iter().take(4) {
        let (head, body) = match find(part, b"\n\n") {
            Some(at) => (&part[..at], &part[at + 2..]),
            None => (part, &b""[..]),
        };
        requests.push(Written { head: String::from_utf8_lossy(head).replace('\r', ""), body });
    }
    (directives, requests)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_on<'a>(mut data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(data, separator) {
        parts.push(&data[..at]);
        data = &data[at + separator.len()..];
    }
    parts.push(data);
    parts
}

/// Ids answered so far, for `@job` and friends.
#[derive(Default)]
struct Seen {
    job: Option<String>,
    vm: Option<String>,
    task: Option<String>,
    guid: Option<String>,
}

impl Seen {
    fn substitute(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (marker, value) in [("@job", &self.job), ("@vm", &self.vm), ("@task", &self.task), ("@guid", &self.guid)] {
            if let Some(value) = value {
                text = text.replace(marker, value);
            }
        }
        text
    }

    fn learn(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Object(map) if depth < 5 => {
                for (key, item) in map {
                    let slot = match key.as_str() {
                        "jobid" => &mut self.job,
                        "id" => &mut self.vm,
                        "taskInternalUUID" => &mut self.task,
                        "guid" => &mut self.guid,
                        _ => {
                            self.learn(item, depth + 1);
                            continue;
                        }
                    };
                    if let Value::String(text) = item {
                        *slot = Some(text.clone());
                    }
                }
            }
            Value::Array(items) if depth < 5 => items.iter().for_each(|item| self.learn(item, depth + 1)),
            _ => {}
        }
    }
}

fn new_state(directives: &[String]) -> AppState {
    let harness = harness();
    let mut config = Config { job_duration_ms: 50, dist: harness.dist.clone(), ..Config::default() };
    for directive in directives {
        if let Some(kind) = directive.strip_prefix("fault ") {
            if let Ok(fault) = parse_fault_flag(kind.trim()) {
                config.scenario.fault_rate = Some(1.0);
                config.scenario.faults = vec![fault];
            }
        } else if let Some(max) = directive.strip_prefix("throttle ") {
            config.scenario.throttle_max = max.trim().parse().ok();
        }
    }
    let state = AppState::new(&config).expect("in-memory state");
    let user = config.demo.to_user();
    let far = u64::MAX / 4;
    state.hub.put_session(SESSION_KEY, &user.id, JSESSIONID, far).expect("session");
    state.hub.put_session(CLM_TOKEN, &user.id, "", far).expect("CLM token");
    state
}

/// The CloudStack parameters of a query string and a form body, if both parse.
fn form_params(query: &str, body: &[u8]) -> Option<Vec<(String, String)>> {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    params.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).ok()?);
    Some(params)
}

/// Signs `params` as the demo user would; the format comes from their `response`.
fn signed(params: Vec<(String, String)>) -> String {
    let demo = Config::default().demo;
    let find = |name: &str| params.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let format =
        if find("response").is_some_and(|r| r.eq_ignore_ascii_case("xml")) { Format::Xml } else { Format::Json };
    let mut request = jobwire::protocol::cloudstack::Request::new(find("command").unwrap_or_default());
    for (name, value) in params.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("command")) {
        request = request.param(name, value);
    }
    let auth = Auth::ApiKey { api_key: demo.api_key, secret_key: demo.secret_key, expires_in_secs: Some(600) };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    request.encode(format, &auth, now)
}

/// A CLM body with its `callbackURL` (if any) pointed at a closed port.
fn defuse_callback(body: Vec<u8>) -> Vec<u8> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut map)) if map.contains_key("callbackURL") => {
            if map.get("callbackURL").is_some_and(Value::is_string) {
                map.insert("callbackURL".into(), Value::String("http://127.0.0.1:9/callback".into()));
            }
            serde_json::to_vec(&Value::Object(map)).unwrap_or(body)
        }
        _ => body,
    }
}

/// The HTTP request `written` describes, or `None` when its first line is no method and URI.
fn build(written: &Written<'_>, seen: &Seen) -> Option<Request<Body>> {
    let head = seen.substitute(&written.head);
    let mut lines = head.lines();
    let (method, target) = lines.next()?.trim().split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let uri = Uri::try_from(target.trim()).ok()?;
    let mut body = match std::str::from_utf8(written.body) {
        Ok(text) => seen.substitute(text).into_bytes(),
        Err(_) => written.body.to_vec(),
    };
    let mut headers = Vec::new();
    let mut auth = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("x-fuzz-auth") {
            auth = Some(value.to_ascii_lowercase());
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.push((name, value));
        }
    }
    let mut uri = uri;
    match auth.as_deref() {
        Some("sign") => {
            if let Some(params) = form_params(uri.query().unwrap_or(""), &body) {
                let encoded = signed(params);
                if method == Method::POST {
                    body = encoded.into_bytes();
                    uri = Uri::try_from(uri.path()).ok()?;
                } else {
                    body.clear();
                    uri = Uri::try_from(format!("{}?{encoded}", uri.path())).ok()?;
                }
            }
        }
        Some("session") => {
            let query = match uri.query() {
                Some(query) => format!("{query}&sessionkey={SESSION_KEY}"),
                None => format!("sessionkey={SESSION_KEY}"),
            };
            uri = Uri::try_from(format!("{}?{query}", uri.path())).ok()?;
            let cookies = format!("JSESSIONID={JSESSIONID}; sessionkey={SESSION_KEY}");
            headers.push((header::COOKIE, HeaderValue::from_str(&cookies).ok()?));
        }
        Some("clm") => {
            headers.push((HeaderName::from_static("authentication-token"), HeaderValue::from_static(CLM_TOKEN)))
        }
        _ => {}
    }
    if uri.path().starts_with("/csm") {
        body = defuse_callback(body);
    }
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(Body::from(body)).ok()
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let (directives, requests) = split(data);
    let faulty = directives.iter().any(|d| d.starts_with("fault "));
    harness.runtime.block_on(async {
        let state = new_state(&directives);
        let mut seen = Seen::default();
        for written in &requests {
            let Some(request) = build(written, &seen) else { continue };
            let path = request.uri().path().to_owned();
            let response = app(state.clone()).oneshot(request).await.expect("the router is infallible");
            let content_type =
                response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            // A dropped connection (fault `drop`, `drop_after`) is a body that errors.
            let Ok(collected) = response.into_body().collect().await else { continue };
            let body = collected.to_bytes();
            if faulty || body.is_empty() {
                continue;
            }
            if content_type.contains("json") {
                let value: Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{path}: JSON answer does not parse ({e}): {body:?}"));
                if path == "/client/api" {
                    parse_envelope(&body, Format::Json)
                        .unwrap_or_else(|e| panic!("{path}: no CloudStack envelope ({e}): {body:?}"));
                }
                seen.learn(&value, 0);
            } else if content_type.contains("xml") {
                parse_envelope(&body, Format::Xml)
                    .unwrap_or_else(|e| panic!("{path}: XML answer does not parse ({e}): {body:?}"));
            }
        }
        // Let job runners and callback deliveries finish (the paused clock jumps ahead).
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
});
