//! Component tests in headless Chromium: the virtualized table, filters and sort, the connect
//! form's remember rule, remembered keys in localStorage, toasts, the overview's counts after a
//! finish, and the result tree's text-only rendering.
#![cfg(target_arch = "wasm32")]

use jobwire::time::Duration;
use jobwire::JobState;
use jobwire_web::components::filter_bar::FilterBar;
use jobwire_web::components::job_table::JobTable;
use jobwire_web::components::result_tree::ResultTree;
use jobwire_web::state::{Filters, JobRow, ResumeToken};
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

/// A fresh container in the page, with the one style the table's window depends on (a fixed
/// scroll height; the app gets it from style.css).
fn container() -> web_sys::HtmlElement {
    let doc = document();
    if doc.get_element_by_id("test-style").is_none() {
        let style = doc.create_element("style").expect("style");
        style.set_id("test-style");
        style.set_text_content(Some(".table-scroll{height:400px;overflow:auto} .jobs td{height:36px;padding:0}"));
        doc.head().expect("head").append_child(&style).expect("append");
    }
    let div = doc.create_element("div").expect("div");
    doc.body().expect("body").append_child(&div).expect("append");
    div.unchecked_into()
}

async fn settle() {
    jobwire::transport::sleep(Duration::from_millis(50)).await;
}

fn row(i: usize, command: &str, state: JobState) -> JobRow {
    let token =
        ResumeToken { job_id: format!("job-{i:05}"), resource_id: Some(format!("vm-{i}")), command: command.into() };
    let row = JobRow::new(token, vec![], 1_000.0 + i as f64);
    row.data.update(|d| {
        d.observe(state, Some(50.0), 2_000.0 + i as f64);
    });
    row
}

fn rows_in(root: &web_sys::HtmlElement) -> Vec<String> {
    let list = root.query_selector_all("[data-testid=job-id]").expect("query");
    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.text_content()).collect()
}

fn select_value(root: &web_sys::HtmlElement, test_id: &str, value: &str) {
    let select: web_sys::HtmlSelectElement =
        root.query_selector(&format!("[data-testid={test_id}]")).ok().flatten().expect("select").unchecked_into();
    select.set_value(value);
    let event = web_sys::Event::new_with_event_init_dict("change", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .expect("event");
    select.dispatch_event(&event).expect("dispatch");
}

#[wasm_bindgen_test]
async fn ten_thousand_rows_render_only_a_window() {
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), || {
        let jobs =
            RwSignal::new((0..10_000).map(|i| row(i, "deployVirtualMachine", JobState::Pending)).collect::<Vec<_>>());
        let filters = RwSignal::new(Filters::default());
        view! {
            <JobTable
                jobs=jobs.into()
                filters
                revision=Signal::derive(|| 0)
                now_ms=Signal::derive(|| 5_000.0)
                selected=RwSignal::new(None)
            />
        }
    });
    settle().await;
    let count = root.query_selector_all("[data-testid=job-row]").expect("rows").length();
    assert!(count > 5 && count < 40, "{count} rows in the DOM for 10,000 jobs");
    let ids = rows_in(&root);
    assert_eq!(ids.first().map(String::as_str), Some("job-09999"), "newest first");
    // The spacers give the scroll area the height of all rows.
    let scroller = root.query_selector("[data-testid=job-table]").ok().flatten().expect("scroller");
    assert!(scroller.scroll_height() >= 10_000 * 36, "scroll height {}", scroller.scroll_height());
    // Scrolling to the middle shows the rows there, still only a window of them.
    scroller.set_scroll_top(5_000 * 36);
    scroller.dispatch_event(&web_sys::Event::new("scroll").expect("event")).expect("dispatch");
    settle().await;
    let ids = rows_in(&root);
    assert!(ids.len() < 40, "{} rows after scrolling", ids.len());
    assert!(ids.iter().any(|id| id == "job-04999"), "the middle rows are shown: {ids:?}");
    drop(handle);
}

#[wasm_bindgen_test]
async fn filters_and_sort_change_the_rows() {
    let root = container();
    let filters = RwSignal::new(Filters::default());
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let jobs: Signal<Vec<JobRow>> = RwSignal::new(vec![
            row(1, "deployVirtualMachine", JobState::Succeeded),
            row(2, "createVolume", JobState::Pending),
            row(3, "deployVirtualMachine", JobState::Failed),
            row(4, "attachVolume", JobState::Pending),
        ])
        .into();
        let revision = Signal::derive(|| 0);
        view! {
            <FilterBar jobs filters revision />
            <JobTable jobs filters revision now_ms=Signal::derive(|| 5_000.0) selected=RwSignal::new(None) />
        }
    });
    settle().await;
    assert_eq!(rows_in(&root), ["job-00004", "job-00003", "job-00002", "job-00001"]);
    select_value(&root, "filter-state", "pending");
    settle().await;
    assert_eq!(rows_in(&root), ["job-00004", "job-00002"]);
    assert_eq!(filters.get_untracked().state, Some(JobState::Pending));
    select_value(&root, "filter-state", "all");
    select_value(&root, "filter-command", "deployVirtualMachine");
    settle().await;
    assert_eq!(rows_in(&root), ["job-00003", "job-00001"]);
    select_value(&root, "filter-command", "");
    // Sort by command: descending first, a second click ascending.
    let sort: web_sys::HtmlElement =
        root.query_selector("[data-testid=sort-command]").ok().flatten().expect("sort").unchecked_into();
    sort.click();
    sort.click();
    settle().await;
    assert_eq!(rows_in(&root), ["job-00004", "job-00002", "job-00001", "job-00003"]);
    let shown = root.query_selector("[data-testid=shown-count]").ok().flatten().and_then(|e| e.text_content());
    assert_eq!(shown.as_deref(), Some("4 of 4 jobs"));
    // Text search.
    filters.update(|f| f.search = "VM-3".into());
    settle().await;
    assert_eq!(rows_in(&root), ["job-00003"]);
    drop(handle);
}

#[wasm_bindgen_test]
async fn result_tree_renders_markup_as_text() {
    let root = container();
    let payload = r#"<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"#;
    let value = serde_json::json!({"virtualmachine": {"displayname": payload, "nics": [{"ip": "10.0.0.1"}], "n": 3}});
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <ResultTree value=value.clone() /> });
    settle().await;
    assert_eq!(root.query_selector_all("img, script").expect("query").length(), 0, "no element made from text");
    let values = root.query_selector_all("[data-testid=tree-value]").expect("values");
    let texts: Vec<String> =
        (0..values.length()).filter_map(|i| values.item(i)).filter_map(|n| n.text_content()).collect();
    assert!(texts.iter().any(|t| t == payload), "{texts:?}");
    assert!(texts.iter().any(|t| t == "10.0.0.1") && texts.iter().any(|t| t == "3"));
    let window = web_sys::window().expect("window");
    let xss = js_sys::Reflect::get(&window, &"__xss".into()).expect("get");
    assert!(xss.is_undefined(), "nothing ran");
    // Objects are collapsible <details>.
    assert!(root.query_selector_all("details").expect("details").length() >= 3);
    drop(handle);
}

fn input(root: &web_sys::HtmlElement, test_id: &str) -> web_sys::HtmlInputElement {
    root.query_selector(&format!("[data-testid={test_id}]")).ok().flatten().expect(test_id).unchecked_into()
}

fn fire(target: &web_sys::EventTarget, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).expect("event");
    target.dispatch_event(&event).expect("dispatch");
}

fn type_into(root: &web_sys::HtmlElement, test_id: &str, text: &str) {
    let field = input(root, test_id);
    field.set_value(text);
    fire(&field, "input");
}

#[wasm_bindgen_test]
async fn connect_form_remembers_only_ticked_api_keys_and_never_passwords() {
    use jobwire_web::components::connect_form::{ConnectForm, Connection, Login};
    use jobwire_web::state::Protocol;

    let root = container();
    let sent = RwSignal::new(Vec::<Connection>::new());
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let default_endpoint = Callback::new(|p: Protocol| match p {
            Protocol::CloudStack => "http://cloud.example/client/api".to_owned(),
            Protocol::Clm => "http://cloud.example".to_owned(),
        });
        let on_connect = Callback::new(move |c: Connection| sent.update(|s| s.push(c)));
        view! { <ConnectForm default_endpoint busy=Signal::derive(|| false) on_connect /> }
    });
    settle().await;
    let submit = || input(&root, "connect").click();
    // The default: a session login, which is never remembered.
    submit();
    settle().await;
    let session = sent.with_untracked(|s| s[0].clone());
    assert!(
        matches!(&session.login, Login::Session { username, password, .. } if username == "demo" && password == "demo-password")
    );
    assert_eq!(session.endpoint, "http://cloud.example/client/api");
    assert_eq!(session.remembered(), None);
    assert!(!format!("{session:?}").contains("demo-password"), "Debug shows no password");
    assert!(root.query_selector("[data-testid=remember]").ok().flatten().is_none(), "no remember box for sessions");

    // API keys, unticked: nothing to remember.
    let keys = input(&root, "auth-apikey");
    keys.set_checked(true);
    fire(&keys, "change");
    settle().await;
    type_into(&root, "api-key", "key-1");
    type_into(&root, "secret-key", "secret-1");
    submit();
    settle().await;
    let unticked = sent.with_untracked(|s| s[1].clone());
    assert_eq!(unticked.login, Login::ApiKey { api_key: "key-1".into(), secret_key: "secret-1".into() });
    assert!(!unticked.remember && unticked.remembered().is_none());
    assert!(!format!("{unticked:?}").contains("secret-1"), "Debug shows no secret");

    // Ticked: the keys (and only they) are what storage gets.
    let remember = input(&root, "remember");
    remember.set_checked(true);
    fire(&remember, "change");
    submit();
    settle().await;
    let ticked = sent.with_untracked(|s| s[2].remembered()).expect("remembered");
    assert_eq!(
        (ticked.endpoint.as_str(), ticked.api_key.as_str(), ticked.secret_key.as_str()),
        ("http://cloud.example/client/api", "key-1", "secret-1")
    );
    assert_eq!(ticked.connection().remembered(), Some(ticked.clone()));

    // CLM: its own endpoint, user and password only, never remembered.
    let protocol: web_sys::HtmlSelectElement =
        root.query_selector("[data-testid=protocol]").ok().flatten().expect("protocol").unchecked_into();
    protocol.set_value("clm");
    fire(&protocol, "change");
    settle().await;
    assert_eq!(input(&root, "endpoint").value(), "http://cloud.example");
    assert!(root.query_selector("[data-testid=auth-apikey]").ok().flatten().is_none());
    submit();
    settle().await;
    let clm = sent.with_untracked(|s| s[3].clone());
    assert_eq!(clm.protocol, Protocol::Clm);
    assert!(matches!(clm.login, Login::Session { .. }) && clm.remembered().is_none());
    drop(handle);
}

#[wasm_bindgen_test]
fn remembered_keys_round_trip_through_local_storage() {
    use jobwire_web::browser::{forget, load_remembered, remember};
    use jobwire_web::components::connect_form::Remembered;

    let entry = |endpoint: &str, key: &str| Remembered {
        endpoint: endpoint.into(),
        api_key: key.into(),
        secret_key: format!("secret-{key}"),
    };
    remember(&entry("http://a/client/api", "1"));
    remember(&entry("http://b/client/api", "2"));
    remember(&entry("http://a/client/api", "3"));
    let list = load_remembered();
    assert_eq!(list.iter().map(|r| r.api_key.as_str()).collect::<Vec<_>>(), ["2", "3"], "one entry per endpoint");
    forget("http://a/client/api");
    forget("http://b/client/api");
    assert!(load_remembered().is_empty());
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten()).expect("storage");
    assert_eq!(storage.get_item("jobwire.remembered").ok().flatten(), None, "nothing left behind");
}

#[wasm_bindgen_test]
async fn finished_jobs_become_toasts_as_text() {
    use jobwire_web::components::notifications::{Notifier, Toasts};
    use jobwire_web::tracker::Finished;

    let root = container();
    let notifier = Notifier::new();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Toasts notifier /> });
    let payload = "<img src=x onerror=\"window.__toast=1\">";
    notifier
        .job_finished("demo@host", &Finished { id: "job-1".into(), command: payload.into(), state: JobState::Failed });
    notifier
        .job_finished("", &Finished { id: "job-2".into(), command: "createVolume".into(), state: JobState::Succeeded });
    settle().await;
    let toasts = root.query_selector_all("[data-testid=toast]").expect("toasts");
    let texts: Vec<String> =
        (0..toasts.length()).filter_map(|i| toasts.item(i)).filter_map(|n| n.text_content()).collect();
    assert_eq!(texts.len(), 2);
    assert!(texts[0].starts_with(&format!("demo@host: {payload} job job-1 failed")), "{texts:?}");
    assert!(texts[1].starts_with("createVolume job job-2 succeeded"), "{texts:?}");
    assert_eq!(root.query_selector_all("img").expect("query").length(), 0, "no element made from text");
    let region = root.query_selector("[data-testid=toasts]").ok().flatten().expect("region");
    assert_eq!(region.get_attribute("aria-live").as_deref(), Some("polite"));
    drop(handle);
}

#[wasm_bindgen_test]
async fn a_finish_is_counted_at_once_not_at_the_next_periodic_flush() {
    use jobwire::JobSnapshot;
    use jobwire_web::components::overview::Overview;
    use jobwire_web::tracker::Dashboard;

    let root = container();
    // Not started: no periodic flush, so only what a finish itself does can update the counts.
    let dash = Dashboard::new();
    dash.add_now(vec![row(1, "deployVirtualMachine", JobState::Pending)]);
    let (jobs, revision, now_ms) = (dash.jobs, dash.revision, dash.now_ms);
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <Overview jobs=jobs.into() revision=revision.into() now_ms=now_ms.into() /> }
    });
    let count = |label: &str| {
        let found = root.query_selector(&format!("[data-testid=count-{label}]")).ok().flatten();
        found.and_then(|n| n.text_content()).unwrap_or_default()
    };
    settle().await;
    assert_eq!((count("pending"), count("succeeded")), ("1".into(), "0".into()));
    dash.on_snapshot(&JobSnapshot {
        job_id: "job-00001".into(),
        state: JobState::Succeeded,
        progress: None,
        result_code: Some(0),
        result: None,
        error: None,
        command: None,
        created: None,
        completed: None,
        raw: serde_json::Value::Null,
    });
    settle().await;
    assert_eq!((count("pending"), count("succeeded")), ("0".into(), "1".into()));
    drop(handle);
}
