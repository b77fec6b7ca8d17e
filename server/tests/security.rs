//! Security as a client and an operator see it: what the running binary writes (its output at
//! trace level, its database), requests that are tampered with, replayed after they expired or
//! sent with the wrong kind of credential, users reaching for each other's things, CORS for
//! unlisted origins, the dashboard's Content-Security-Policy, and two requests racing with one
//! `customjobid`. (Unsigned, tampered-parameter, wrong-secret and expired requests, another
//! user's job and CORS preflights are in `api.rs`; another user's CLM tasks in `clm.rs`.)

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use jobwire::engine::PollPolicy;
use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope, Auth};
use jobwire::protocol::Format;
use jobwire::transport::{self, HttpRequest, Method};
use jobwire::{
    ApiKeyCredentials, ClientConfig, ClmClient, ClmConfig, Credentials, Error, JobClient, SessionCredentials,
};
use jobwire_server::model::User;
use jobwire_server::Config;
use serde_json::json;

mod support;
use support::*;

const API_KEY: &str = "security-test-api-key";
const SECRET_KEY: &str = "SECRET-KEY-7d2c9a41e0b5";
const PASSWORD: &str = "PASSWORD-c83f10e6a2";

fn policy() -> PollPolicy {
    PollPolicy {
        first_delay: Duration::from_millis(50),
        min_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(100),
        ..PollPolicy::default()
    }
}

fn deploy_params() -> Vec<(String, String)> {
    DEPLOY.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Every text value of `table` (`SELECT *`), one string per row.
fn table_text(db: &std::path::Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let mut statement = conn.prepare(&format!("SELECT * FROM {table}")).expect("select");
    let columns = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            let mut text = String::new();
            for i in 0..columns {
                if let Ok(value) = row.get::<_, String>(i) {
                    text.push_str(&value);
                    text.push('\t');
                }
            }
            Ok(text)
        })
        .expect("rows");
    rows.map(|row| row.expect("row")).collect()
}

/// The binary with the test's own demo credentials (from the environment, as an operator would
/// set them), at trace level; a run of every kind of call, good and bad; then its output and
/// database are scanned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_and_database_of_a_run_hold_no_client_secret() {
    let dir = std::env::temp_dir().join(format!("jobwire-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (db, out_path, err_path) = (dir.join("state.db"), dir.join("stdout.log"), dir.join("stderr.log"));
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_jobwire-server"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--job-duration-ms", "200"])
        .arg("--db")
        .arg(&db)
        .env("RUST_LOG", "trace")
        .env("JOBWIRE_DEMO_API_KEY", API_KEY)
        .env("JOBWIRE_DEMO_SECRET_KEY", SECRET_KEY)
        .env("JOBWIRE_DEMO_PASSWORD", PASSWORD)
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .expect("server starts");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let base = format!("http://127.0.0.1:{port}");
    let endpoint = format!("{base}/client/api");

    // API keys, JSON and XML; a wrong secret; an unknown command.
    for format in [Format::Json, Format::Xml] {
        let credentials =
            Credentials::ApiKey(ApiKeyCredentials { api_key: API_KEY.into(), secret_key: SECRET_KEY.into() });
        let client =
            JobClient::new(ClientConfig { credentials, format, policy: policy(), ..ClientConfig::new(&endpoint) })
                .unwrap();
        let job = client.submit("deployVirtualMachine", &deploy_params()).await.unwrap();
        client.wait(&job.job_id, |_| {}).await.unwrap();
        assert!(client.call_value("frobnicate", &[]).await.is_err());
    }
    let wrong = Credentials::ApiKey(ApiKeyCredentials { api_key: API_KEY.into(), secret_key: "nope".into() });
    let client = JobClient::new(ClientConfig { credentials: wrong, ..ClientConfig::new(&endpoint) }).unwrap();
    assert!(matches!(client.call_value("listZones", &[]).await, Err(Error::Api(e)) if e.code == 401));
    // A login sent as a GET, password in the query string: refused (405), and not logged.
    let url = format!("{endpoint}?command=login&username=demo&password={PASSWORD}&response=json");
    let response = transport::send(HttpRequest {
        method: Method::Get,
        url,
        headers: vec![],
        body: None,
        timeout: Some(Duration::from_secs(10)),
    })
    .await;
    assert_eq!(response.unwrap().status, 405);

    // A session and a CLM token, both live while the sessions table is read.
    let session = |password: &str| {
        Credentials::Session(SessionCredentials {
            username: "demo".into(),
            password: password.into(),
            domain: String::new(),
        })
    };
    let cs = JobClient::new(ClientConfig {
        credentials: session(PASSWORD),
        policy: policy(),
        ..ClientConfig::new(&endpoint)
    })
    .unwrap();
    let job = cs.submit("deployVirtualMachine", &deploy_params()).await.unwrap();
    cs.wait(&job.job_id, |_| {}).await.unwrap();
    let clm =
        ClmClient::new(ClmConfig { policy: policy(), long_poll_secs: None, ..ClmConfig::new(&base, "demo", PASSWORD) })
            .unwrap();
    clm.run("ComputeContainer", json!({"name": "secrets"}), 5, |_| {}).await.unwrap();
    let task = clm.submit("ComputeContainer", json!({"name": "secrets-2"})).await.unwrap();
    clm.wait(&task.job_id, |_| {}).await.unwrap();
    let session_keys: Vec<String> =
        table_text(&db, "sessions").iter().map(|row| row.split('\t').next().unwrap_or_default().to_owned()).collect();
    assert_eq!(session_keys.len(), 2, "a CloudStack session and a CLM token");
    cs.logout().await.unwrap();
    clm.logout().await.unwrap();
    let refused = JobClient::new(ClientConfig { credentials: session("WRONG-pw"), ..ClientConfig::new(&endpoint) });
    assert!(matches!(refused.unwrap().call_value("listZones", &[]).await, Err(Error::LoginFailed(_))));
    let refused = ClmClient::new(ClmConfig::new(&base, "demo", "WRONG-pw")).unwrap();
    assert!(matches!(refused.login().await, Err(Error::LoginFailed(_))));

    server.kill().unwrap();
    server.wait().unwrap();
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    let output = format!("{stdout}\n{stderr}");
    assert!(output.contains("deployVirtualMachine") && output.contains("/csm/"), "the log is the run's:\n{output}");
    assert!(stdout.contains("secretKey=(set, not shown)"), "{stdout}");
    assert!(!output.contains("panicked"), "{output}");
    for secret in
        [SECRET_KEY, PASSWORD, "WRONG-pw", "signature="].into_iter().chain(session_keys.iter().map(String::as_str))
    {
        assert!(!output.contains(secret), "the server's output shows {secret}");
    }

    // The database: the users table is the server's own credential store (it must know the
    // secret key to check signatures); no other table holds a client credential.
    assert!(table_text(&db, "users").iter().any(|row| row.contains(SECRET_KEY)), "the scan finds what is there");
    for table in ["jobs", "resources", "sessions"] {
        let rows = table_text(&db, table);
        assert!(!rows.is_empty() || table == "sessions", "{table} has rows");
        for row in rows {
            for secret in [SECRET_KEY, PASSWORD, "WRONG-pw", API_KEY] {
                assert!(!row.contains(secret), "table {table} holds {secret}: {row}");
            }
            if table != "sessions" {
                for key in &session_keys {
                    assert!(!row.contains(key.as_str()), "table {table} holds a session key: {row}");
                }
                assert!(!row.contains("\"signature\""), "table {table} holds a signature: {row}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// --- through the router ------------------------------------------------------------------------

fn demo_auth(expires_in_secs: Option<u64>) -> Auth {
    demo_auth_expiring(expires_in_secs)
}

fn signed(command: &str, params: &[(&str, &str)], auth: &Auth, now: u64) -> String {
    signed_at(command, params, Format::Json, auth, now)
}

fn mallory() -> User {
    User {
        id: "mallory-id".into(),
        account_id: "mallory-account".into(),
        username: "mallory".into(),
        password: "mallory-pw".into(),
        account: "mallory".into(),
        domain: "/".into(),
        domain_id: "d".into(),
        api_key: "mallory-key".into(),
        secret_key: "mallory-secret".into(),
    }
}

fn mallory_auth() -> Auth {
    Auth::ApiKey { api_key: "mallory-key".into(), secret_key: "mallory-secret".into(), expires_in_secs: Some(600) }
}

#[tokio::test]
async fn a_captured_request_works_until_it_expires_and_no_edit_of_it_passes() {
    let state = state_with(Config { job_duration_ms: 0, ..Config::default() });
    state.hub.put_user(mallory()).unwrap();
    // Signed to expire one second from now: a replay inside that second passes, later ones not.
    let captured = signed("listZones", &[("keyword", "zurich")], &demo_auth(Some(1)), unix_now());
    assert_eq!(post(&state, &captured, None).await.status, StatusCode::OK);
    assert_eq!(post(&state, &captured, None).await.status, StatusCode::OK, "a replay before expiry is valid");

    let edits = [
        // Another parameter appended, the expiry pushed out, the version dropped, the key swapped
        // for another user's, the signature moved to another command.
        format!("{captured}&listall=true"),
        captured.replace("expires=", "expires=2099"),
        captured.replace("signatureVersion=3&", ""),
        captured.replace(&format!("apiKey={}", Config::default().demo.api_key), "apiKey=mallory-key"),
        captured.replace("command=listZones", "command=listVirtualMachines"),
        captured.split("&signature=").next().unwrap().to_owned(),
        format!("{captured}&signature=forged"),
    ];
    for edit in &edits {
        let reply = post(&state, edit, None).await;
        assert_eq!(reply.status.as_u16(), 401, "{edit}: {}", String::from_utf8_lossy(&reply.body));
    }

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = post(&state, &captured, None).await;
    assert_eq!(reply.status.as_u16(), 401, "replayed after expiry");
    assert_eq!(
        reply.json()["listzonesresponse"]["errortext"],
        "unable to verify user credentials and/or request signature"
    );
}

#[tokio::test]
async fn enforced_timestamps_refuse_far_expiries_and_unversioned_signatures() {
    let state = state_with(Config { job_duration_ms: 0, enforce_timestamps: true, ..Config::default() });
    let now = unix_now();
    assert_eq!(post(&state, &signed("listZones", &[], &demo_auth(Some(600)), now), None).await.status, StatusCode::OK);
    let far = signed("listZones", &[], &demo_auth(Some(3600)), now);
    assert_eq!(post(&state, &far, None).await.status.as_u16(), 401, "expires over 15 minutes ahead");
    let unversioned = signed("listZones", &[], &demo_auth(None), now);
    assert_eq!(post(&state, &unversioned, None).await.status.as_u16(), 401, "no signatureVersion=3");
}

/// Logs in (CloudStack) as `user`/`password`: the session key and the cookie header.
#[tokio::test]
async fn credentials_do_not_cross_users_or_protocols() {
    let state = state_with(Config { job_duration_ms: 0, ..Config::default() });
    state.hub.put_user(mallory()).unwrap();
    let demo = Config::default().demo;
    let (demo_key, demo_cookies) = session_login(&state, &demo.username, &demo.password).await;
    let (mallory_key, mallory_cookies) = session_login(&state, "mallory", "mallory-pw").await;
    let call = |key: &str| format!("command=listZones&sessionkey={key}&response=json");
    assert_eq!(post(&state, &call(&demo_key), Some(&demo_cookies)).await.status, StatusCode::OK);
    // One user's session key with another's cookies, and the other way round.
    assert_eq!(post(&state, &call(&demo_key), Some(&mallory_cookies)).await.status.as_u16(), 401);
    assert_eq!(post(&state, &call(&mallory_key), Some(&demo_cookies)).await.status.as_u16(), 401);

    // A CloudStack session key is no CLM token, and a CLM token no CloudStack session.
    let clm_status = |token: &str| {
        Request::get("/csm/task/00000000-0000-4000-8000-000000000000/status")
            .header("authentication-token", token)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&state, clm_status(&demo_key)).await.status.as_u16(), 401);
    let request = Request::post("/csm/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"username": demo.username, "password": demo.password}).to_string()))
        .unwrap();
    let token = send(&state, request).await.header("authentication-token").unwrap().to_owned();
    assert_eq!(send(&state, clm_status(&token)).await.status.as_u16(), 404, "a valid token, an unknown task");
    assert_eq!(post(&state, &call(&token), None).await.status.as_u16(), 401);
    let cookie = format!("JSESSIONID=x; sessionkey={token}");
    assert_eq!(post(&state, &call(&token), Some(&cookie)).await.status.as_u16(), 401);
}

#[tokio::test]
async fn another_users_vms_volumes_and_jobs_are_off_limits() {
    let state = state_with(Config { job_duration_ms: 0, ..Config::default() });
    state.hub.put_user(mallory()).unwrap();
    let now = unix_now();
    let demo = demo_auth(Some(600));
    let custom = "4f1b0c1e-0000-4000-8000-00000000c0de";
    let mut params = DEPLOY.to_vec();
    params.push(("customjobid", custom));
    let reply = post(&state, &signed("deployVirtualMachine", &params, &demo, now), None).await;
    let submit = parse_async_submit(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    let vm = submit.resource_id.unwrap();
    let created =
        post(&state, &signed("createVolume", &[("name", "data"), ("zoneid", ZONE), ("size", "5")], &demo, now), None)
            .await
            .json();
    let volume = created["createvolumeresponse"]["id"].as_str().unwrap().to_owned();

    let as_mallory = |command: &str, params: &[(&str, &str)]| signed(command, params, &mallory_auth(), now);
    // Lists show none of it, by id or not.
    for (command, params, field) in [
        ("listVirtualMachines", vec![], "listvirtualmachinesresponse"),
        ("listVirtualMachines", vec![("id", vm.as_str())], "listvirtualmachinesresponse"),
        ("listVolumes", vec![("id", volume.as_str())], "listvolumesresponse"),
        ("listAsyncJobs", vec![("listall", "true")], "listasyncjobsresponse"),
    ] {
        let reply = post(&state, &as_mallory(command, &params), None).await;
        assert_eq!((reply.status, &reply.json()[field]), (StatusCode::OK, &json!({})), "{command} {params:?}");
    }
    // Acting on them is refused as if they did not exist.
    for (command, params) in [
        ("stopVirtualMachine", vec![("id", vm.as_str())]),
        ("destroyVirtualMachine", vec![("id", vm.as_str()), ("expunge", "true")]),
        ("attachVolume", vec![("id", volume.as_str()), ("virtualmachineid", vm.as_str())]),
        ("deleteVolume", vec![("id", volume.as_str())]),
        ("createSnapshot", vec![("volumeid", volume.as_str())]),
    ] {
        let reply = post(&state, &as_mallory(command, &params), None).await;
        assert_eq!(reply.status.as_u16(), 431, "{command}: {}", String::from_utf8_lossy(&reply.body));
    }
    // The job by its (caller-chosen) id: 531; reusing the id makes no second job.
    assert_eq!(post(&state, &as_mallory("queryAsyncJobResult", &[("jobid", custom)]), None).await.status.as_u16(), 531);
    let reply = post(&state, &as_mallory("deployVirtualMachine", &params), None).await;
    assert_eq!(reply.status.as_u16(), 431);
    assert_eq!(state.hub.jobs_where(|_| true).len(), 2, "the deploy and the volume, nothing of mallory's");
    let vm_state = state.hub.resource(&vm).unwrap();
    assert_eq!(vm_state.owner, Config::default().demo.to_user().id);
}

#[tokio::test]
async fn concurrent_submits_with_one_customjobid_make_one_job() {
    // Through the hub: the id check and the insert are one step.
    let state = state_with(Config { job_duration_ms: 60_000, ..Config::default() });
    let job = |resource: &str| jobwire_server::model::Job {
        id: "4f1b0c1e-0000-4000-8000-0000000000aa".into(),
        owner: "u".into(),
        protocol: jobwire_server::model::Protocol::CloudStack,
        command: "deployVirtualMachine".into(),
        cmd_class: "x".into(),
        instance: Some(("VirtualMachine".into(), resource.into())),
        created_ms: 0,
        finish_at_ms: u64::MAX / 2,
        completed_ms: None,
        plan: jobwire_server::model::Plan::Succeed,
        state: jobwire_server::model::JobState::Pending,
        params: json!({}),
        callback_url: None,
        reports_progress: true,
    };
    let vm = |id: &str| jobwire_server::model::Resource {
        id: id.into(),
        kind: "virtualmachine".into(),
        owner: "u".into(),
        object: json!({"id": id}),
        removed: false,
    };
    state.hub.submit(job("vm-1"), vec![vm("vm-1")]).unwrap();
    let second = state.hub.submit(job("vm-2"), vec![vm("vm-2")]);
    assert!(matches!(second, Err(jobwire_server::store::StoreError::DuplicateJob(_))), "{second:?}");
    assert!(state.hub.resource("vm-2").is_none(), "the refused submit left nothing behind");
    assert_eq!(state.hub.jobs_where(|_| true).len(), 1);

    // Through the API: 16 identical deploys at once make one job and one VM; the rest are 431.
    let state = state_with(Config { job_duration_ms: 60_000, ..Config::default() });
    let mut params = DEPLOY.to_vec();
    params.push(("customjobid", "4f1b0c1e-0000-4000-8000-0000000000bb"));
    let form = signed("deployVirtualMachine", &params, &demo_auth(Some(600)), unix_now());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (state, form) = (state.clone(), form.clone());
        tasks.spawn(async move { post(&state, &form, None).await.status.as_u16() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 431), "{statuses:?}");
    assert_eq!(state.hub.jobs_where(|_| true).len(), 1);
    assert_eq!(state.hub.resources_where(|r| r.kind == "virtualmachine").len(), 1, "one VM");
}

#[tokio::test]
async fn cors_answers_unlisted_origins_without_allowing_them() {
    let state = state_with(Config { cors_origins: vec!["https://ops.example.com".into()], ..Config::default() });
    let signed_get = format!("/client/api?{}", signed("listZones", &[], &demo_auth(Some(600)), unix_now()));
    for path in [signed_get.as_str(), "/csm/task/x/status", "/metrics", "/"] {
        for (origin, allowed) in [
            ("https://ops.example.com", true),
            ("http://localhost:5173", true),
            ("http://evil.example", false),
            ("null", false),
            ("http://localhost.evil.example", false),
            ("http://127.0.0.1.nip.io", false),
            ("https://ops.example.com.evil.example", false),
        ] {
            let request = Request::get(path).header(header::ORIGIN, origin).body(Body::empty()).unwrap();
            let reply = send(&state, request).await;
            let echoed = reply.header("access-control-allow-origin");
            if allowed {
                assert_eq!(echoed, Some(origin), "{path} from {origin}");
                assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
            } else {
                // (tower-http sends `allow-credentials` regardless; without a matching
                // `allow-origin` a browser shows the answer to no script.)
                assert_eq!(echoed, None, "{path} from {origin}");
            }
            // Answers differ by origin: caches must keep them apart.
            assert!(reply.header("vary").is_some_and(|v| v.to_ascii_lowercase().contains("origin")), "{path}");
        }
    }
}

#[tokio::test]
async fn dashboard_files_carry_a_csp_that_forbids_inline_script() {
    let dist = std::env::temp_dir().join(format!("jobwire-csp-{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!DOCTYPE html><title>x</title>").unwrap();
    std::fs::write(dist.join("app.js"), "export {}").unwrap();
    let state = state_with(Config { dist: dist.clone(), ..Config::default() });
    for path in ["/", "/index.html", "/app.js", "/missing.css"] {
        let reply = send(&state, Request::get(path).body(Body::empty()).unwrap()).await;
        let csp = reply.header("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
        let directive = |name: &str| csp.split(';').map(str::trim).find(|d| d.starts_with(&format!("{name} ")));
        assert_eq!(directive("script-src"), Some("script-src 'self' 'wasm-unsafe-eval'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert_eq!(directive("object-src"), Some("object-src 'none'"));
        assert_eq!(directive("frame-ancestors"), Some("frame-ancestors 'none'"));
    }
    // The API answers are no documents: no CSP needed there.
    let reply = send(&state, Request::get("/client/api?command=listZones").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.header("content-security-policy"), None);
    // index.html's meta policy (if the dashboard has one) allows no more script than the header.
    if let Ok(index) = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../index.html")) {
        if let Some(meta) = index.split("Content-Security-Policy").nth(1) {
            assert!(meta.contains("script-src 'self' 'wasm-unsafe-eval';"), "index.html's meta policy: {meta}");
        }
    }
    let _ = std::fs::remove_dir_all(&dist);
}

#[tokio::test]
async fn a_hostile_command_name_cannot_shape_the_answer() {
    // Found by fuzzing (server/fuzz): the name of the answer's root element came from `command`.
    let state = state_with(Config::default());
    for command in ["x><script>alert(1)</script", "logponse=xml\nresponse", "a b", "\u{e9}t\u{e9}", "<"] {
        for format in [Format::Xml, Format::Json] {
            let query = serde_urlencoded::to_string([("command", command), ("response", format.as_param())]).unwrap();
            let reply = send(&state, Request::get(format!("/client/api?{query}")).body(Body::empty()).unwrap()).await;
            assert_eq!(reply.status.as_u16(), 401, "{command:?}");
            let envelope = parse_envelope(&reply.body, format)
                .unwrap_or_else(|e| panic!("{command:?} {format:?}: {e}: {}", String::from_utf8_lossy(&reply.body)));
            assert_eq!(envelope.name, "errorresponse", "{command:?} {format:?}");
            assert!(!String::from_utf8_lossy(&reply.body).contains("<script"), "{command:?}");
        }
    }
    // Real command names keep CloudStack's `<command>response`.
    let reply =
        send(&state, Request::get("/client/api?command=listZones&response=xml").body(Body::empty()).unwrap()).await;
    assert_eq!(parse_envelope(&reply.body, Format::Xml).unwrap().name, "listzonesresponse");
}
