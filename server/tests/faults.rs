//! Scenario faults, throttling, `/metrics` and the body limit, as a client sees them: through
//! the router without a socket, and over a real socket where the connection itself matters.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope};
use jobwire::protocol::{Format, ProtocolError};
use jobwire_server::scenario::parse_fault_flag;
use jobwire_server::{app, AppState, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

/// A state whose requests get `faults` (`--fault` syntax) at `rate`.
fn with_faults(seed: u64, rate: f64, faults: &[&str]) -> AppState {
    let mut config = Config { job_duration_ms: 0, seed, ..Config::default() };
    config.scenario.fault_rate = Some(rate);
    config.scenario.faults = faults.iter().map(|f| parse_fault_flag(f).expect("fault flag")).collect();
    AppState::new(&config).expect("state")
}

fn plain() -> AppState {
    with_faults(1, 0.0, &[])
}

fn signed(command: &str, params: &[(&str, &str)], format: Format) -> String {
    signed_at(command, params, format, &demo_auth_expiring(Some(600)), unix_now())
}

async fn call_as(state: &AppState, command: &str, params: &[(&str, &str)], format: Format) -> Reply {
    post(state, &signed(command, params, format), None).await
}

async fn call(state: &AppState, command: &str, params: &[(&str, &str)]) -> Reply {
    call_as(state, command, params, Format::Json).await
}

async fn metrics(state: &AppState) -> String {
    let reply = send(state, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    reply.text()
}

/// The value of the sample `series` (name with labels, exactly as exposed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.parse().unwrap())
}

// --- faults ------------------------------------------------------------------------------------

#[tokio::test]
async fn same_seed_same_fault_sequence() {
    let kinds = ["status429:1", "status500", "status502", "status503", "latency:1"];
    let run = |seed| async move {
        let state = with_faults(seed, 0.5, &kinds);
        let mut seen = Vec::new();
        for _ in 0..40 {
            let reply = call(&state, "listZones", &[]).await;
            seen.push((reply.status.as_u16(), reply.header("x-jobwire-fault").map(str::to_owned)));
        }
        seen
    };
    let first = run(11).await;
    assert_eq!(first, run(11).await);
    assert_ne!(first, run(12).await);
    let faulted = first.iter().filter(|(_, fault)| fault.is_some()).count();
    assert!((8..=32).contains(&faulted), "{faulted} of 40 faulted at rate 0.5");
    // Unfaulted requests are answered normally and carry no fault header.
    assert!(first.iter().all(|(status, fault)| fault.is_some() || *status == 200));
}

#[tokio::test]
async fn status429_carries_retry_after_and_cloudstacks_error_body() {
    let state = with_faults(1, 1.0, &["status429:3"]);
    let reply = call(&state, "listZones", &[]).await;
    assert_eq!(reply.status.as_u16(), 429);
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(reply.header("x-jobwire-fault"), Some("status429"));
    let envelope = parse_envelope(&reply.body, Format::Json).unwrap();
    assert_eq!(envelope.name, "listzonesresponse");
    let error = envelope.api_error().unwrap();
    assert_eq!(error.code, 429);
    assert!(error.text.contains("api limit"), "{}", error.text);

    let reply = call_as(&state, "listZones", &[], Format::Xml).await;
    assert_eq!((reply.status.as_u16(), reply.header("content-type")), (429, Some("text/xml; charset=UTF-8")));
    assert_eq!(parse_envelope(&reply.body, Format::Xml).unwrap().api_error().unwrap().code, 429);
}

#[tokio::test]
async fn status5xx_are_proxy_pages_and_nothing_ran() {
    for (kind, status) in [("status500", 500), ("status502", 502), ("status503:7", 503)] {
        let state = with_faults(1, 1.0, &[kind]);
        let reply = call(&state, "deployVirtualMachine", DEPLOY).await;
        assert_eq!(reply.status.as_u16(), status, "{kind}");
        assert_eq!(reply.header("content-type"), Some("text/html"));
        assert!(reply.text().contains(&format!("<h1>{status} ")), "{}", reply.text());
        assert_eq!(reply.header("retry-after"), (status == 503).then_some("7"));
        // Refused before the handler: no job was made.
        assert_eq!(state.hub.job_counts().iter().map(|(_, n)| n).sum::<usize>(), 0, "{kind}");
    }
}

#[tokio::test]
async fn latency_delays_then_answers() {
    let state = with_faults(1, 1.0, &["latency:150"]);
    let started = Instant::now();
    let reply = call(&state, "listZones", &[]).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!((reply.status, reply.header("x-jobwire-fault")), (StatusCode::OK, Some("latency")));
    assert!(parse_envelope(&reply.body, Format::Json).unwrap().api_error().is_none());
}

#[tokio::test]
async fn truncated_and_malformed_bodies_fail_the_parser_with_typed_errors() {
    for kind in ["truncate", "malformed"] {
        let state = with_faults(1, 1.0, &[kind]);
        for format in [Format::Json, Format::Xml] {
            let reply = call_as(&state, "listZones", &[], format).await;
            assert_eq!(reply.status, StatusCode::OK, "{kind}");
            assert_eq!(reply.header("x-jobwire-fault"), Some(kind));
            let error = parse_envelope(&reply.body, format).expect_err(kind);
            assert!(
                matches!(error, ProtocolError::Json(_) | ProtocolError::Xml(_) | ProtocolError::UnexpectedShape(_)),
                "{kind} {format:?}: {error:?}"
            );
        }
    }
    // After the handler: the command ran although its answer is garbage.
    let state = with_faults(1, 1.0, &["truncate"]);
    let reply = call(&state, "deployVirtualMachine", DEPLOY).await;
    assert!(parse_envelope(&reply.body, Format::Json).is_err());
    assert_eq!(state.hub.job_counts().iter().map(|(_, n)| n).sum::<usize>(), 1, "the deploy made its job");
}

// --- dropped connections, over a real socket ---------------------------------------------------

/// Serves `state` on 127.0.0.1:0; returns the address.
async fn serve(state: AppState) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app(state)).await;
    });
    address
}

/// Sends `form` as a POST to `/client/api` on a fresh connection and reads until the server
/// closes it (or 5 s pass: then the test fails, as the connection was kept).
async fn raw_post(address: std::net::SocketAddr, form: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /client/api HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received)).await;
    match read {
        Ok(Ok(_)) => {}
        // A reset is a close too.
        Ok(Err(err)) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
        Err(_) => panic!("the server kept the connection open: {}", String::from_utf8_lossy(&received)),
    }
    received
}

/// Whether `bytes` hold one whole HTTP/1.1 response: a head, and a body as long as its framing says.
fn is_complete_response(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    if !head.starts_with("HTTP/1.1 ") {
        return false;
    }
    let head = head.to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with("0\r\n\r\n");
    }
    match head.lines().find_map(|l| l.strip_prefix("content-length: ")) {
        Some(length) => body.len() >= length.trim().parse::<usize>().unwrap(),
        // Close-delimited: complete at EOF. The server never frames this way, so it would be a bug.
        None => true,
    }
}

#[tokio::test]
async fn drop_closes_the_connection_before_the_command_runs() {
    let state = with_faults(1, 1.0, &["drop"]);
    let address = serve(state.clone()).await;
    let received = raw_post(address, &signed("deployVirtualMachine", DEPLOY, Format::Json)).await;
    assert!(!is_complete_response(&received), "got a whole response: {}", String::from_utf8_lossy(&received));
    assert_eq!(state.hub.job_counts().iter().map(|(_, n)| n).sum::<usize>(), 0, "no job for a dropped request");

    // The same exchange without faults is a whole response on a connection the server keeps.
    let healthy = serve(plain()).await;
    let mut stream = tokio::net::TcpStream::connect(healthy).await.unwrap();
    let form = signed("listZones", &[], Format::Json);
    let request = format!(
        "POST /client/api HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    assert!(is_complete_response(&received), "{}", String::from_utf8_lossy(&received));
}

#[tokio::test]
async fn drop_after_loses_the_response_of_a_command_that_ran() {
    let state = with_faults(1, 1.0, &["drop_after"]);
    let address = serve(state.clone()).await;
    let received = raw_post(address, &signed("deployVirtualMachine", DEPLOY, Format::Json)).await;
    assert!(!is_complete_response(&received), "got a whole response: {}", String::from_utf8_lossy(&received));
    assert_eq!(state.hub.job_counts().iter().map(|(_, n)| n).sum::<usize>(), 1, "the deploy ran");
    let text = metrics(&state).await;
    assert_eq!(sample(&text, "jobwire_http_requests_total{command=\"deployVirtualMachine\",status=\"dropped\"}"), 1.0);
    assert_eq!(sample(&text, "jobwire_faults_injected_total{kind=\"drop_after\"}"), 1.0);
}

// --- throttling --------------------------------------------------------------------------------

#[tokio::test]
async fn throttling_refuses_the_26th_request_in_a_second_then_lets_the_next_window_in() {
    let mut config = Config { job_duration_ms: 0, ..Config::default() };
    config.scenario.throttle_max = Some(25);
    config.scenario.throttle_interval_ms = Some(1000);
    let state = AppState::new(&config).unwrap();
    let started = Instant::now();
    for i in 0..25 {
        let reply = call(&state, "listZones", &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "request {}", i + 1);
    }
    let reply = call(&state, "listZones", &[]).await;
    assert!(started.elapsed() < Duration::from_millis(900), "too slow to test a 1 s window");
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.text());
    assert_eq!(reply.header("retry-after"), Some("1"));
    let error = parse_envelope(&reply.body, Format::Json).unwrap().api_error().unwrap();
    assert_eq!((error.code, error.cs_error_code), (429, Some(9999)));
    assert!(error.text.starts_with("The given user has reached his/her account api limit"), "{}", error.text);
    assert_eq!(reply.header("x-description"), Some(error.text.as_str()));
    assert_eq!(reply.header("x-jobwire-fault"), None, "throttling is no injected fault");

    // Login is not counted (CloudStack throttles known callers).
    let login = jobwire::protocol::cloudstack::session::login_body("demo", "demo-password", "/", Format::Json);
    let request = Request::post("/client/api").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    assert_eq!(send(&state, request.body(Body::from(login)).unwrap()).await.status, StatusCode::OK);

    tokio::time::sleep(Duration::from_millis(1000).saturating_sub(started.elapsed()) + Duration::from_millis(150))
        .await;
    assert_eq!(call(&state, "listZones", &[]).await.status, StatusCode::OK, "a new window");
    assert_eq!(sample(&metrics(&state).await, "jobwire_throttled_total"), 1.0);
}

#[tokio::test]
async fn throttling_is_off_by_default() {
    let state = plain();
    for _ in 0..40 {
        assert_eq!(call(&state, "listZones", &[]).await.status, StatusCode::OK);
    }
}

// --- metrics -----------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_jobs_and_faults() {
    let state = plain();
    let before = metrics(&state).await;
    for family in [
        "jobwire_http_requests_total counter",
        "jobwire_http_request_duration_seconds histogram",
        "jobwire_jobs gauge",
        "jobwire_job_duration_seconds histogram",
        "jobwire_faults_injected_total counter",
        "jobwire_throttled_total counter",
    ] {
        assert!(before.contains(&format!("# TYPE {family}\n")), "{family} in\n{before}");
    }
    let ok = "jobwire_http_requests_total{command=\"listZones\",status=\"200\"}";
    assert_eq!(sample(&before, ok), 0.0);

    call(&state, "listZones", &[]).await;
    call(&state, "listZones", &[]).await;
    call(&state, "frobnicate", &[]).await;
    let reply = call(&state, "deployVirtualMachine", DEPLOY).await;
    let job = parse_async_submit(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    for _ in 0..100 {
        if state.hub.job(&job.job_id).is_some_and(|j| j.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let after = metrics(&state).await;
    assert_eq!(sample(&after, ok), 2.0);
    // Unknown commands share one label, so clients cannot grow the label set.
    assert_eq!(sample(&after, "jobwire_http_requests_total{command=\"other\",status=\"432\"}"), 1.0);
    assert_eq!(sample(&after, "jobwire_http_request_duration_seconds_count{command=\"listZones\"}"), 2.0);
    assert_eq!(sample(&after, "jobwire_jobs{state=\"succeeded\"}"), 1.0);
    assert_eq!(sample(&after, "jobwire_job_duration_seconds_count{command=\"deployVirtualMachine\"}"), 1.0);
    // `/metrics` itself is not an API request.
    assert!(!after.contains("command=\"metrics\""));

    let faulty = with_faults(1, 1.0, &["status502"]);
    call(&faulty, "listZones", &[]).await;
    let text = metrics(&faulty).await;
    assert_eq!(sample(&text, "jobwire_faults_injected_total{kind=\"status502\"}"), 1.0);
    assert_eq!(sample(&text, "jobwire_http_requests_total{command=\"listZones\",status=\"502\"}"), 1.0);
}

#[tokio::test]
async fn faults_spare_metrics_and_the_dashboard() {
    let state = with_faults(1, 1.0, &["status500"]);
    let reply = send(&state, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status, reply.header("x-jobwire-fault")), (StatusCode::OK, None));
    let reply = send(&state, Request::get("/no-such-file.js").body(Body::empty()).unwrap()).await;
    assert_eq!((reply.status, reply.header("x-jobwire-fault")), (StatusCode::NOT_FOUND, None));
}

// --- capacity errors ---------------------------------------------------------------------------

#[tokio::test]
async fn capacity_errors_fail_deploys_with_533() {
    let mut config = Config { job_duration_ms: 0, ..Config::default() };
    config.scenario.capacity_error_rate = Some(1.0);
    let state = AppState::new(&config).unwrap();
    let reply = call(&state, "deployVirtualMachine", DEPLOY).await;
    let job = parse_async_submit(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    for _ in 0..100 {
        if let Some(job) = state.hub.job(&job.job_id).filter(|j| j.is_finished()) {
            let jobwire_server::model::JobState::Failed { code, .. } = job.state else { panic!("{job:?}") };
            assert_eq!(code, 533);
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the job did not finish");
}

// --- body size ---------------------------------------------------------------------------------

#[tokio::test]
async fn oversized_bodies_get_the_apis_own_error() {
    let state = plain();
    let huge = format!("command=listZones&response=json&pad={}", "a".repeat(1_048_576));
    // With Content-Length: refused unread.
    let request = Request::post("/client/api?command=listZones&response=json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, huge.len())
        .body(Body::from(huge.clone()))
        .unwrap();
    let reply = send(&state, request).await;
    assert_eq!(reply.status.as_u16(), 431, "{}", reply.text());
    let error = parse_envelope(&reply.body, Format::Json).unwrap().api_error().unwrap();
    assert_eq!((error.code, error.cs_error_code), (431, Some(4350)));
    assert!(error.text.contains("1048576"), "{}", error.text);
    assert_eq!(parse_envelope(&reply.body, Format::Json).unwrap().name, "listzonesresponse");

    // Without a length (streamed): counted while read; XML as no format was asked in the query.
    let request = Request::post("/client/api")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::new(Chunked { data: huge.into_bytes(), at: 0 }))
        .unwrap();
    let reply = send(&state, request).await;
    assert_eq!(reply.status.as_u16(), 431);
    assert_eq!(parse_envelope(&reply.body, Format::Xml).unwrap().api_error().unwrap().code, 431);

    // Just under the limit goes through to the handler (which checks the signature: 401).
    let under = format!("command=listZones&pad={}", "a".repeat(1_048_576 - 30));
    let request = Request::post("/client/api")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(under))
        .unwrap();
    assert_eq!(send(&state, request).await.status.as_u16(), 401);

    // CLM: its CloudError array, 413.
    let request = Request::post("/csm/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; 2 * 1_048_576]))
        .unwrap();
    let reply = send(&state, request).await;
    assert_eq!(reply.status.as_u16(), 413);
    let parsed = jobwire::protocol::clm::parse_response(&reply.body).unwrap();
    let jobwire::protocol::clm::ClmResponse::Errors(errors) = parsed else { panic!("{parsed:?}") };
    assert_eq!(errors[0].to_api_error().code, 413);
}

/// A body of 64 KiB frames whose length is not known in advance (no `Content-Length`).
struct Chunked {
    data: Vec<u8>,
    at: usize,
}

impl http_body::Body for Chunked {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let end = (self.at + 65_536).min(self.data.len());
        if self.at == end {
            return std::task::Poll::Ready(None);
        }
        let chunk = axum::body::Bytes::copy_from_slice(&self.data[self.at..end]);
        self.at = end;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}
