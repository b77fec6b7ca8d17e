//! Answers the SDK cannot trust, from a hostile or broken server (a raw TCP server standing in
//! for one): oversized (endless, or announcing a gigabyte), deeply nested, malformed, and an
//! answer lost after an operation that has no idempotency key, no answer at all. Each ends in a typed error,
//! promptly, the SDK holding at most `MAX_BODY_BYTES` (+ 1) of any answer; nothing that could
//! act twice is sent twice.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jobwire::engine::DelayReason;
use jobwire::protocol::{Format, ProtocolError, MAX_BODY_BYTES};
use jobwire::transport::TransportError;
use jobwire::{ClientConfig, ClmClient, ClmConfig, Error, JobClient, SubmittedJob, WaitEvent};
use jobwire_e2e::{demo, fast_policy};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the hostile server does with one request.
#[derive(Clone)]
enum Answer {
    /// This status, content type and body (with its length).
    Whole(u16, &'static str, Vec<u8>),
    /// 200 JSON, `Content-Length` announcing 1 GiB, then this prefix and `a`s until the client
    /// hangs up.
    Announced(&'static str),
    /// 200 JSON, chunked, this prefix and then `a`s forever.
    Endless(&'static str),
    /// Close the connection without a word.
    Hangup,
    /// Never answer (a hung backend, a black-holed proxy): hold the connection until the client
    /// hangs up.
    Silence,
}

/// The server: `answer(method, path)` per request; counts requests and body bytes sent.
struct Hostile {
    base: String,
    requests: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
}

async fn hostile(answer: fn(&str, &str) -> Answer) -> Hostile {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (requests, sent) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicU64::new(0)));
    let (counter, bytes) = (requests.clone(), sent.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (counter, bytes) = (counter.clone(), bytes.clone());
            tokio::spawn(async move {
                let _ = serve_one(stream, answer, &counter, &bytes).await;
            });
        }
    });
    Hostile { base, requests, sent }
}

async fn serve_one(
    mut stream: TcpStream,
    answer: fn(&str, &str) -> Answer,
    requests: &AtomicUsize,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    requests.fetch_add(1, Ordering::Relaxed);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let filler = vec![b'a'; 64 * 1024];
    match answer(method, path) {
        Answer::Whole(status, content_type, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nAuthentication-Token: t0ken\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Answer::Announced(prefix) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(prefix.as_bytes()).await?;
            loop {
                stream.write_all(&filler).await?;
                sent.fetch_add(filler.len() as u64, Ordering::Relaxed);
            }
        }
        Answer::Endless(prefix) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(format!("{:x}\r\n{prefix}\r\n", prefix.len()).as_bytes()).await?;
            loop {
                stream.write_all(format!("{:x}\r\n", filler.len()).as_bytes()).await?;
                stream.write_all(&filler).await?;
                stream.write_all(b"\r\n").await?;
                sent.fetch_add(filler.len() as u64, Ordering::Relaxed);
            }
        }
        Answer::Hangup => {}
        Answer::Silence => while stream.read(&mut byte).await? > 0 {},
    }
    stream.shutdown().await
}

fn client(endpoint: &str, format: Format) -> JobClient {
    let config = ClientConfig { format, max_retries: 3, ..ClientConfig::new(format!("{endpoint}/client/api")) };
    JobClient::new(config).expect("config")
}

#[tokio::test]
async fn oversized_answers_are_cut_at_the_limit_and_not_asked_again() {
    for answer in [
        (|_: &str, _: &str| Answer::Endless(r#"{"listzonesresponse":{"zone":[{"name":""#)) as fn(&str, &str) -> Answer,
        |_, _| Answer::Announced(r#"{"listzonesresponse":{"zone":[{"name":""#),
    ] {
        let server = hostile(answer).await;
        let client = client(&server.base, Format::Json);
        let call = client.call_value("listZones", &[]);
        let result = tokio::time::timeout(Duration::from_secs(60), call).await.expect("refused promptly");
        match result {
            Err(Error::Protocol(ProtocolError::TooLarge { size, limit })) => {
                assert_eq!((size, limit), (MAX_BODY_BYTES + 1, MAX_BODY_BYTES));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(server.requests.load(Ordering::Relaxed), 1, "an oversized answer is not asked for again");
        // The client hung up soon after the limit (what else was sent sat in socket buffers).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = server.sent.load(Ordering::Relaxed);
        assert!(sent < (MAX_BODY_BYTES as u64) * 3, "{sent} bytes sent before the client hung up");
    }
}

#[tokio::test]
async fn deeply_nested_and_malformed_answers_are_typed_errors() {
    fn deep_json(_: &str, _: &str) -> Answer {
        let body = format!("{{\"listzonesresponse\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        Answer::Whole(200, "application/json", body.into_bytes())
    }
    fn deep_xml(_: &str, _: &str) -> Answer {
        let body = format!("<listzonesresponse>{}{}</listzonesresponse>", "<a>".repeat(10_000), "</a>".repeat(10_000));
        Answer::Whole(200, "text/xml", body.into_bytes())
    }
    fn garbage(_: &str, _: &str) -> Answer {
        Answer::Whole(200, "application/json", vec![0xff, 0xfe, b'{', 0, 1, 2])
    }
    fn not_an_envelope(_: &str, _: &str) -> Answer {
        Answer::Whole(200, "application/json", b"[1, 2, 3]".to_vec())
    }
    fn html_page(_: &str, _: &str) -> Answer {
        Answer::Whole(404, "text/html", b"<html><body>Not Found</body></html>".to_vec())
    }
    type MakeAnswer = fn(&str, &str) -> Answer;
    let cases: [(MakeAnswer, Format, usize); 5] = [
        (deep_json, Format::Json, 4),
        (deep_xml, Format::Xml, 4),
        (garbage, Format::Json, 4),
        (not_an_envelope, Format::Json, 4),
        (html_page, Format::Json, 1),
    ];
    for (index, (answer, format, requests)) in cases.into_iter().enumerate() {
        let server = hostile(answer).await;
        let error = client(&server.base, format).call_value("listZones", &[]).await.unwrap_err();
        let typed = match (index, &error) {
            (0, Error::Protocol(ProtocolError::Json(text))) => text.contains("recursion limit"),
            (1, Error::Protocol(ProtocolError::TooDeep(64))) => true,
            (2, Error::Protocol(ProtocolError::Json(_))) => true,
            (3, Error::Protocol(ProtocolError::UnexpectedShape(_))) => true,
            (4, Error::Transport(jobwire::transport::TransportError::Status { status: 404, .. })) => true,
            _ => false,
        };
        assert!(typed, "case {index}: {error:?}");
        // Damaged answers are retried within the budget (3); a plain 404 page is final.
        assert_eq!(server.requests.load(Ordering::Relaxed), requests, "case {index}");
    }
}

#[tokio::test]
async fn a_lost_answer_to_a_clm_operation_is_not_sent_again() {
    // CLM has no idempotency key: an operation whose answer is lost may have run, so the SDK
    // reports it instead of resending it (reads are resent freely).
    fn answer(method: &str, path: &str) -> Answer {
        match (method, path) {
            ("POST", "/csm/login") => Answer::Whole(200, "application/json", b"[]".to_vec()),
            _ => Answer::Hangup,
        }
    }
    let server = hostile(answer).await;
    let clm = ClmClient::new(ClmConfig::new(&server.base, "demo", "pw")).expect("config");
    let error = clm.submit("ComputeContainer", json!({"name": "once"})).await.unwrap_err();
    assert!(matches!(error, Error::Transport(jobwire::transport::TransportError::Network(_))), "{error:?}");
    assert_eq!(server.requests.load(Ordering::Relaxed), 2, "the login and the operation, once");
    // A read is resent after the same loss, within the budget.
    let before = server.requests.load(Ordering::Relaxed);
    let clm = ClmClient::new(ClmConfig { max_retries: 2, ..ClmConfig::new(&server.base, "demo", "pw") }).unwrap();
    assert!(clm.poll("4f1b0c1e-0000-4000-8000-000000000001").await.is_err());
    assert_eq!(server.requests.load(Ordering::Relaxed) - before, 1 + 3, "a login, then the read three times");
}

/// Asserts `outcome` (bounded here, so a client that waits forever fails the test instead of
/// hanging it) is a network error that says it timed out.
async fn expect_timed_out<T: std::fmt::Debug>(outcome: impl std::future::Future<Output = Result<T, Error>>) {
    match tokio::time::timeout(Duration::from_secs(10), outcome).await.expect("gave up in time") {
        Err(Error::Transport(TransportError::Network(text))) => assert!(text.contains("timed out"), "{text}"),
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_network_error_after_the_request_timeout() {
    let server = hostile(|_, _| Answer::Silence).await;
    let config = ClientConfig {
        request_timeout: jobwire::time::Duration::from_millis(200),
        max_retries: 2,
        policy: fast_policy(),
        long_poll_secs: None,
        ..ClientConfig::new(format!("{}/client/api", server.base))
    };
    let client = JobClient::new(config).expect("config");
    let started = std::time::Instant::now();
    let mut delays = Vec::new();
    let job = SubmittedJob {
        job_id: "j-1".into(),
        resource_id: None,
        command: "deployVirtualMachine".into(),
        submitted_at: None,
    };
    expect_timed_out(client.wait_job(&job, |event| {
        if let WaitEvent::Delay { reason, retries, .. } = event {
            delays.push((reason, retries));
        }
    }))
    .await;
    // The first try and two retries, each given up after 200 ms.
    assert_eq!(server.requests.load(Ordering::Relaxed), 3);
    assert_eq!(delays.iter().filter(|(reason, _)| *reason == DelayReason::Retry).count(), 2, "{delays:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_clm_server_that_never_answers_is_a_network_error_after_the_request_timeout() {
    let server = hostile(|_, _| Answer::Silence).await;
    let config = ClmConfig {
        request_timeout: jobwire::time::Duration::from_millis(200),
        max_retries: 2,
        ..ClmConfig::new(&server.base, demo::USERNAME, demo::PASSWORD)
    };
    let client = ClmClient::new(config).expect("config");
    let started = std::time::Instant::now();
    // The login is a safe read to repeat: three tries, each given up after 200 ms.
    expect_timed_out(client.login()).await;
    assert_eq!(server.requests.load(Ordering::Relaxed), 3);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
