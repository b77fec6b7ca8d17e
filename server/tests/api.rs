//! The CloudStack API as a client sees it, through the router without a socket.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use jobwire::protocol::cloudstack::{parse_async_submit, parse_envelope, parse_job_list, Auth};
use jobwire::protocol::{Format, JobSnapshot, JobState};
use jobwire_server::model::User;
use jobwire_server::{AppState, Config};

mod support;
use support::*;

fn state(job_duration_ms: u64) -> AppState {
    state_with(Config { job_duration_ms, ..Config::default() })
}

fn demo_auth() -> Auth {
    demo_auth_expiring(Some(600))
}

/// A signed query string for `command` with `params`.
fn signed(command: &str, params: &[(&str, &str)], format: Format, auth: &Auth) -> String {
    signed_at(command, params, format, auth, unix_now())
}

async fn get(state: &AppState, query: &str) -> Reply {
    send(state, Request::get(format!("/client/api?{query}")).body(Body::empty()).unwrap()).await
}

async fn call(state: &AppState, command: &str, params: &[(&str, &str)]) -> Reply {
    post(state, &signed(command, params, Format::Json, &demo_auth()), None).await
}

async fn deploy(state: &AppState, offering: &str) -> (String, String) {
    let reply = call(
        state,
        "deployVirtualMachine",
        &[("zoneid", ZONE), ("serviceofferingid", offering), ("templateid", TEMPLATE)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let submit = parse_async_submit(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    (submit.job_id, submit.resource_id.unwrap())
}

async fn wait_job(state: &AppState, job_id: &str) -> JobSnapshot {
    for _ in 0..200 {
        let job = call(state, "queryAsyncJobResult", &[("jobid", job_id)]).await.job(Format::Json);
        if job.state.is_terminal() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {job_id} did not finish");
}

#[tokio::test]
async fn unknown_command_is_432_in_json_and_xml_once_authenticated() {
    let state = state(0);
    let reply = call(&state, "frobnicate", &[]).await;
    assert_eq!(reply.status.as_u16(), 432);
    assert_eq!(reply.header("content-type"), Some("application/json; charset=UTF-8"));
    assert_eq!(reply.json()["errorresponse"]["errortext"], "Unknown API command: frobnicate");
    assert_eq!(reply.header("x-description"), Some("Unknown API command: frobnicate"));

    let reply = post(&state, &signed("frobnicate", &[], Format::Xml, &demo_auth()), None).await;
    assert_eq!(reply.status.as_u16(), 432);
    assert_eq!(reply.header("content-type"), Some("text/xml; charset=UTF-8"));
    let envelope = parse_envelope(&reply.body, Format::Xml).unwrap();
    assert_eq!((envelope.name.as_str(), envelope.api_error().unwrap().code), ("errorresponse", 432));
}

#[tokio::test]
async fn unsigned_tampered_and_expired_requests_get_401() {
    let state = state(0);
    let reply = get(&state, "command=listZones&response=json").await;
    assert_eq!(reply.status.as_u16(), 401);
    assert_eq!(
        reply.json()["listzonesresponse"]["errortext"],
        "unable to verify user credentials and/or request signature"
    );

    let good = signed("listZones", &[("keyword", "zurich")], Format::Json, &demo_auth());
    assert_eq!(post(&state, &good, None).await.status, StatusCode::OK);
    let tampered = good.replace("keyword=zurich", "keyword=frankfurt");
    assert_eq!(post(&state, &tampered, None).await.status.as_u16(), 401);

    let wrong_secret =
        Auth::ApiKey { api_key: Config::default().demo.api_key, secret_key: "nope".into(), expires_in_secs: None };
    assert_eq!(post(&state, &signed("listZones", &[], Format::Json, &wrong_secret), None).await.status.as_u16(), 401);

    let request = jobwire::protocol::cloudstack::Request::new("listZones");
    let expired = request.encode(Format::Json, &demo_auth(), unix_now() - 3600);
    assert_eq!(post(&state, &expired, None).await.status.as_u16(), 401);
    // signatureVersion=3 without expires.
    let no_expiry = expired.split('&').filter(|p| !p.starts_with("expires=")).collect::<Vec<_>>().join("&");
    assert_eq!(post(&state, &no_expiry, None).await.status.as_u16(), 401);
}

#[tokio::test]
async fn missing_and_invalid_parameters_are_431() {
    let state = state(0);
    let reply = call(&state, "deployVirtualMachine", &[]).await;
    assert_eq!(reply.status.as_u16(), 431);
    let envelope = parse_envelope(&reply.body, Format::Json).unwrap();
    assert_eq!(envelope.name, "deployvirtualmachineresponse");
    assert_eq!(
        envelope.api_error().unwrap().text,
        "Unable to execute API command deployvirtualmachine due to missing parameter zoneid"
    );
    let reply = call(
        &state,
        "deployVirtualMachine",
        &[("zoneid", ZONE), ("serviceofferingid", "nope"), ("templateid", TEMPLATE)],
    )
    .await;
    assert_eq!(reply.status.as_u16(), 431);
    assert_eq!(call(&state, "queryAsyncJobResult", &[("jobid", "nope")]).await.status.as_u16(), 431);
    assert_eq!(call(&state, "listVolumes", &[("page", "x"), ("pagesize", "2")]).await.status.as_u16(), 431);
    // As CloudStack: no page beyond `default.page.size` (500), and "unlimited" has no pages.
    for paging in
        [[("page", "1"), ("pagesize", "501")], [("page", "1"), ("pagesize", "-1")], [("page", "0"), ("pagesize", "5")]]
    {
        assert_eq!(call(&state, "listAsyncJobs", &paging).await.status.as_u16(), 431, "{paging:?}");
    }
}

#[tokio::test]
async fn deployed_job_is_pending_then_succeeds_with_its_vm_json_and_xml() {
    let state = state(300);
    let (job_id, vm_id) = deploy(&state, SMALL).await;
    let pending = call(&state, "queryAsyncJobResult", &[("jobid", &job_id)]).await.job(Format::Json);
    assert_eq!((pending.state, pending.result), (JobState::Pending, None));
    let vms = call(&state, "listVirtualMachines", &[("id", &vm_id)]).await.json();
    assert_eq!(vms["listvirtualmachinesresponse"]["virtualmachine"][0]["state"], "Starting");

    let done = wait_job(&state, &job_id).await;
    assert_eq!(done.state, JobState::Succeeded);
    let vm = &done.result.unwrap()["virtualmachine"];
    assert_eq!((vm["id"].as_str(), vm["state"].as_str()), (Some(vm_id.as_str()), Some("Running")));
    assert_eq!(done.raw["jobinstanceid"], vm_id.as_str());

    let xml =
        post(&state, &signed("queryAsyncJobResult", &[("jobid", &job_id)], Format::Xml, &demo_auth()), None).await;
    assert!(String::from_utf8_lossy(&xml.body).contains("cloud-stack-version=\"4.19.0.0\""));
    let from_xml = xml.job(Format::Xml);
    assert_eq!(from_xml.result.unwrap()["virtualmachine"]["id"], vm_id.as_str());
}

#[tokio::test]
async fn capacity_failure_and_vm_lifecycle() {
    let state = state(0);
    let (job_id, vm_id) = deploy(&state, HUGE).await;
    let failed = wait_job(&state, &job_id).await;
    assert_eq!((failed.state, failed.error.unwrap().code), (JobState::Failed, 533));
    let vms = call(&state, "listVirtualMachines", &[("id", &vm_id)]).await.json();
    assert_eq!(vms["listvirtualmachinesresponse"]["virtualmachine"][0]["state"], "Error");

    let (job_id, vm_id) = deploy(&state, SMALL).await;
    wait_job(&state, &job_id).await;
    // Starting a running VM is refused at once; stopping it is a job.
    assert_eq!(call(&state, "startVirtualMachine", &[("id", &vm_id)]).await.status.as_u16(), 431);
    let stop = call(&state, "stopVirtualMachine", &[("id", &vm_id)]).await.json();
    let stopped = wait_job(&state, stop["stopvirtualmachineresponse"]["jobid"].as_str().unwrap()).await;
    assert_eq!(stopped.result.unwrap()["virtualmachine"]["state"], "Stopped");

    // A volume attached to it.
    let created = call(&state, "createVolume", &[("name", "data"), ("zoneid", ZONE), ("size", "10")]).await.json();
    let volume_id = created["createvolumeresponse"]["id"].as_str().unwrap().to_owned();
    wait_job(&state, created["createvolumeresponse"]["jobid"].as_str().unwrap()).await;
    let attach = call(&state, "attachVolume", &[("id", &volume_id), ("virtualmachineid", &vm_id)]).await.json();
    let attached = wait_job(&state, attach["attachvolumeresponse"]["jobid"].as_str().unwrap()).await;
    assert_eq!(attached.result.unwrap()["volume"]["virtualmachineid"], vm_id.as_str());
    assert_eq!(call(&state, "deleteVolume", &[("id", &volume_id)]).await.status.as_u16(), 431);
}

#[tokio::test]
async fn prefer_wait_holds_the_answer_until_the_job_finishes() {
    let state = state(400);
    let (job_id, _) = deploy(&state, SMALL).await;
    let request = Request::post("/client/api")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("prefer", "wait=10")
        .body(Body::from(signed("queryAsyncJobResult", &[("jobid", &job_id)], Format::Json, &demo_auth())))
        .unwrap();
    let started = Instant::now();
    let reply = send(&state, request).await;
    let waited = started.elapsed();
    assert_eq!(reply.job(Format::Json).state, JobState::Succeeded);
    assert_eq!(reply.header("preference-applied"), Some("wait=10"));
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn list_async_jobs_and_list_apis() {
    let state = state(0);
    for _ in 0..3 {
        deploy(&state, SMALL).await;
    }
    let reply = call(&state, "listAsyncJobs", &[("page", "2"), ("pagesize", "2")]).await;
    let list = parse_job_list(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
    assert_eq!((list.count, list.jobs.len()), (3, 1));
    let apis = call(&state, "listApis", &[]).await.json();
    let listed = |reply: Reply| {
        let list = parse_job_list(&parse_envelope(&reply.body, Format::Json).unwrap()).unwrap();
        (list.count, list.jobs.len())
    };
    // CloudStack's BaseListCmd: `pagesize` alone is page 1; -1 (without `page`) is unlimited.
    assert_eq!(listed(call(&state, "listAsyncJobs", &[("pagesize", "2")]).await), (3, 2));
    assert_eq!(listed(call(&state, "listAsyncJobs", &[("pagesize", "-1")]).await), (3, 3));
    assert_eq!(listed(call(&state, "listAsyncJobs", &[("page", "2")]).await), (3, 0));
    let deploy_api = apis["listapisresponse"]["api"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "deployVirtualMachine")
        .unwrap()
        .clone();
    assert_eq!(deploy_api["isasync"], true);
    assert!(deploy_api["params"].as_array().unwrap().iter().any(|p| p["name"] == "zoneid" && p["required"] == true));
}

#[tokio::test]
async fn another_users_job_is_531() {
    let state = state(0);
    let (job_id, _) = deploy(&state, SMALL).await;
    let other = User {
        id: "other-user".into(),
        account_id: "other-account".into(),
        username: "mallory".into(),
        password: "pw".into(),
        account: "mallory".into(),
        domain: "/".into(),
        domain_id: "d".into(),
        api_key: "mallory-key".into(),
        secret_key: "mallory-secret".into(),
    };
    state.hub.put_user(other).unwrap();
    let auth =
        Auth::ApiKey { api_key: "mallory-key".into(), secret_key: "mallory-secret".into(), expires_in_secs: None };
    let reply = post(&state, &signed("queryAsyncJobResult", &[("jobid", &job_id)], Format::Json, &auth), None).await;
    assert_eq!(reply.status.as_u16(), 531);
    let reply = post(&state, &signed("listAsyncJobs", &[], Format::Json, &auth), None).await;
    assert_eq!(reply.json()["listasyncjobsresponse"], serde_json::json!({}));
}

#[tokio::test]
async fn session_login_cookies_and_logout() {
    let state = state(0);
    let demo = Config::default().demo;
    let form = format!("command=login&username={}&password={}&response=json", demo.username, demo.password);
    assert_eq!(get(&state, &form).await.status.as_u16(), 405);
    let bad =
        post(&state, &format!("command=login&username={}&password=wrong&response=json", demo.username), None).await;
    assert_eq!((bad.status.as_u16(), bad.json()["loginresponse"]["errorcode"].as_i64()), (531, Some(531)));

    let login = post(&state, &form, None).await;
    assert_eq!(login.status, StatusCode::OK);
    let key = login.json()["loginresponse"]["sessionkey"].as_str().unwrap().to_owned();
    let cookies: Vec<String> = login
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2);
    let cookie_header = cookies.join("; ");

    let query = format!("command=listZones&sessionkey={key}&response=json");
    assert_eq!(post(&state, &query, Some(&cookie_header)).await.status, StatusCode::OK);
    // CloudStack's default check wants the cookies too.
    assert_eq!(post(&state, &query, None).await.status.as_u16(), 401);
    assert_eq!(
        post(&state, "command=listZones&sessionkey=forged&response=json", Some(&cookie_header)).await.status.as_u16(),
        401
    );

    let logout = post(&state, &format!("command=logout&sessionkey={key}&response=json"), Some(&cookie_header)).await;
    assert_eq!(logout.json()["logoutresponse"]["description"], "success");
    assert_eq!(post(&state, &query, Some(&cookie_header)).await.status.as_u16(), 401);
}

#[tokio::test]
async fn sessions_end_after_inactivity_not_at_a_fixed_time() {
    let state = state_with(Config { session_timeout_secs: 2, ..Config::default() });
    let demo = Config::default().demo;
    let (key, cookie_header) = session_login(&state, &demo.username, &demo.password).await;
    let query = format!("command=listZones&sessionkey={key}&response=json");
    // Busy for 3 s, longer than the 2 s timeout: every call is accepted.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(post(&state, &query, Some(&cookie_header)).await.status, StatusCode::OK);
    }
    // Idle for longer than the timeout: the session is over.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(post(&state, &query, Some(&cookie_header)).await.status.as_u16(), 401);
}

#[tokio::test]
async fn a_restart_on_the_same_database_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("jobwire-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let _ = std::fs::remove_file(&db);
    let config = Config { db: Some(db.clone()), job_duration_ms: 300, ..Config::default() };
    let (job_id, vm_id) = {
        let state = state_with(config.clone());
        deploy(&state, SMALL).await
    };
    // "Restart": a new state on the same file, the old runner gone with its runtime tasks.
    let state = state_with(config);
    let done = wait_job(&state, &job_id).await;
    assert_eq!(done.state, JobState::Succeeded);
    let vms = call(&state, "listVirtualMachines", &[]).await.json();
    let listed = vms["listvirtualmachinesresponse"]["virtualmachine"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "no VM lost or duplicated");
    assert_eq!((listed[0]["id"].as_str(), listed[0]["state"].as_str()), (Some(vm_id.as_str()), Some("Running")));
    let _ = std::fs::remove_dir_all(&dir);
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
    let reply = send(&state, preflight("http://127.0.0.1:5555")).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("http://127.0.0.1:5555"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    let reply = send(&state, preflight("http://evil.example")).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}
