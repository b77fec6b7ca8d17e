//! The application shell: connection, submit form, overview, filters, jobs table and detail.

use std::collections::HashMap;

use futures::StreamExt;
use jobwire::time::Duration;
use jobwire::JobClient;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiSpec, Choice};
use crate::browser::{filters_from_url, load_jobs, now_ms, query_param, write_url};
use crate::components::connect_form::{ConnectForm, Connection};
use crate::components::filter_bar::FilterBar;
use crate::components::job_detail::JobDetail;
use crate::components::job_table::JobTable;
use crate::components::overview::Overview;
use crate::components::status_bar::StatusBar;
use crate::components::submit_form::{SubmitForm, SubmitRequest};
use crate::state::{JobRow, ResumeToken};
use crate::tracker::Dashboard;

/// Submits in flight at once for "submit N".
const SUBMIT_CONCURRENCY: usize = 8;

/// Submits `request.count` jobs, adding each to the dashboard as soon as it is accepted.
fn submit_jobs(dash: Dashboard, client: JobClient, request: SubmitRequest, busy: RwSignal<bool>) {
    busy.set(true);
    spawn_local(async move {
        let SubmitRequest { command, params, count } = request;
        let mut failures = 0_usize;
        let mut last_error = None;
        let mut answers = futures::stream::iter(0..count)
            .map(|_| client.submit(&command, &params))
            .buffer_unordered(SUBMIT_CONCURRENCY);
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(job) => {
                    let token = ResumeToken { job_id: job.job_id, resource_id: job.resource_id, command: job.command };
                    dash.add(vec![JobRow::new(token, params.clone(), now_ms())]);
                }
                Err(error) => {
                    failures += 1;
                    last_error = Some(error.to_string());
                }
            }
        }
        dash.problem.set(last_error.map(|e| {
            if failures > 1 {
                format!("{command}: {failures} of {count} submits failed, last: {e}")
            } else {
                format!("{command}: {e}")
            }
        }));
        busy.set(false);
        dash.flush();
    });
}

/// The dashboard: a connect form until logged in, then submit, overview, jobs and detail.
/// `?bench=N` shows N fabricated jobs without a server (for `./dev bench`).
#[component]
pub fn App() -> impl IntoView {
    let dash = Dashboard::new();
    dash.start(Duration::from_millis(200));
    let (initial_filters, initial_job) = filters_from_url();
    let filters = RwSignal::new(initial_filters);
    let selected = RwSignal::new(initial_job);
    Effect::new(move |_| {
        let f = filters.get();
        write_url(&f, selected.get().as_deref());
    });
    let busy = RwSignal::new(false);
    let apis = RwSignal::new(Vec::<ApiSpec>::new());
    let lists = RwSignal::new(HashMap::<String, Vec<Choice>>::new());
    let bench = query_param("bench").and_then(|n| n.parse::<usize>().ok());
    let connected = RwSignal::new(bench.is_some());
    if let Some(n) = bench {
        crate::bench::start(dash, n);
    }

    let on_connect = Callback::new(move |connection: Connection| {
        busy.set(true);
        spawn_local(async move {
            let endpoint = connection.endpoint.clone();
            match api::connect(connection).await {
                Ok(client) => {
                    dash.problem.set(None);
                    dash.client.set(Some(client.clone()));
                    connected.set(true);
                    // Jobs tracked before a reload resume.
                    let restored: Vec<JobRow> = load_jobs(&endpoint)
                        .into_iter()
                        .map(|stored| {
                            let started = if stored.started_ms > 0.0 { stored.started_ms } else { now_ms() };
                            JobRow::new(stored.token, stored.params, started)
                        })
                        .collect();
                    if !restored.is_empty() {
                        dash.add(restored);
                        dash.flush();
                    }
                    match api::list_apis(&client).await {
                        Ok(list) => apis.set(list),
                        Err(error) => dash.problem.set(Some(format!("listApis: {error}"))),
                    }
                }
                Err(error) => dash.problem.set(Some(format!("Cannot log in to {endpoint}: {error}"))),
            }
            busy.set(false);
        });
    });
    let on_need_list = Callback::new(move |list: &'static str| {
        let Some(client) = dash.client.get_untracked() else { return };
        spawn_local(async move {
            match api::list_choices(&client, list, api::list_object(list)).await {
                Ok(choices) => lists.update(|l| drop(l.insert(list.to_owned(), choices))),
                Err(error) => dash.problem.set(Some(format!("{list}: {error}"))),
            }
        });
    });
    let on_submit = Callback::new(move |request: SubmitRequest| {
        if let Some(client) = dash.client.get_untracked() {
            submit_jobs(dash, client, request, busy);
        }
    });
    let on_resubmit = Callback::new(move |row: JobRow| {
        if let Some(client) = dash.client.get_untracked() {
            submit_jobs(dash, client, SubmitRequest { command: row.command, params: row.params, count: 1 }, busy);
        }
    });
    let on_stop = Callback::new(move |id: String| {
        dash.remove(&id);
        if selected.get_untracked().as_deref() == Some(id.as_str()) {
            selected.set(None);
        }
    });
    let on_close = Callback::new(move |()| selected.set(None));
    let jobs: Signal<Vec<JobRow>> = dash.jobs.into();
    let revision: Signal<u64> = dash.revision.into();
    let now: Signal<f64> = dash.now_ms.into();
    let selected_row = Memo::new(move |_| {
        let id = selected.get()?;
        jobs.with(|rows| rows.iter().find(|row| row.id == id).cloned())
    });
    let endpoint_label =
        move || dash.client.with(|c| c.as_ref().map(|c| c.config().endpoint.clone())).unwrap_or_default();

    view! {
        <header>
            <h1>"Jobwire"</h1>
            <span class="endpoint mono" title="API endpoint">{endpoint_label}</span>
            <Show when=move || connected.get()>
                <StatusBar dash />
            </Show>
        </header>
        <main>
            {move || dash.problem.get().map(|p| view! { <p class="error" role="alert" data-testid="problem">{p}</p> })}
            <Show
                when=move || connected.get()
                fallback=move || view! { <ConnectForm endpoint=api::endpoint() busy=busy.read_only() on_connect=on_connect /> }
            >
                <Show when=move || bench.is_none()>
                    <SubmitForm
                        apis=Signal::from(apis)
                        lists=Signal::from(lists)
                        on_need_list
                        busy=Signal::from(busy)
                        on_submit
                    />
                </Show>
                <Overview jobs revision now_ms=now />
                <FilterBar jobs filters revision />
                <JobTable jobs filters revision now_ms=now selected />
                {move || {
                    selected_row
                        .get()
                        .map(|row| {
                            view! { <JobDetail row on_close on_stop on_resubmit /> }
                        })
                }}
            </Show>
        </main>
    }
}
