//! The application shell: connections (several side by side, CloudStack and CLM), the submit
//! form of the active one, overview, filters, one jobs table for all of them, the detail, and
//! the notifications of finished jobs.

use std::collections::HashMap;

use futures::StreamExt;
use jobwire::time::Duration;
use jobwire::SubmittedJob;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, clm_request, Client};
use crate::browser::{filters_from_url, forget, load_jobs, load_remembered, now_ms, query_param, remember, write_url};
use crate::components::clm_form::ClmForm;
use crate::components::connect_form::{ConnectForm, Connection, Login};
use crate::components::connections::{Conn, ConnectionBar};
use crate::components::filter_bar::FilterBar;
use crate::components::job_detail::JobDetail;
use crate::components::job_table::JobTable;
use crate::components::notifications::{Notifier, NotifyToggle, Toasts};
use crate::components::overview::Overview;
use crate::components::status_bar::StatusBar;
use crate::components::submit_form::{SubmitForm, SubmitRequest};
use crate::state::{JobRow, Protocol, ResumeToken};
use crate::tracker::{Dashboard, Finished, Shared};

/// Submits in flight at once for "submit N".
const SUBMIT_CONCURRENCY: usize = 8;
/// How often each connection's dashboard flushes.
const FLUSH_PERIOD: Duration = Duration::from_millis(200);

/// One submit through either protocol (CLM: `params` hold the operation and its fields).
async fn submit_one(client: Client, command: String, params: Vec<(String, String)>) -> Result<SubmittedJob, String> {
    match client {
        Client::CloudStack(client) => client.submit(&command, &params).await.map_err(|e| e.to_string()),
        Client::Clm(client) => {
            let (path, body) = clm_request(&params)?;
            client.submit(&path, body).await.map_err(|e| e.to_string())
        }
    }
}

/// Submits `request.count` jobs, adding each to the dashboard as soon as it is accepted.
fn submit_jobs(dash: Dashboard, client: Client, request: SubmitRequest, busy: RwSignal<bool>) {
    busy.set(true);
    spawn_local(async move {
        let SubmitRequest { command, params, count } = request;
        let mut failures = 0_usize;
        let mut last_error = None;
        let mut answers = futures::stream::iter(0..count)
            .map(|_| submit_one(client.clone(), command.clone(), params.clone()))
            .buffer_unordered(SUBMIT_CONCURRENCY);
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(job) => {
                    let token = ResumeToken { job_id: job.job_id, resource_id: job.resource_id, command: job.command };
                    dash.add(vec![JobRow::new(token, params.clone(), now_ms())]);
                }
                Err(error) => {
                    failures += 1;
                    last_error = Some(error);
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

/// What the connection callbacks share (all arena handles).
#[derive(Clone, Copy)]
struct Ctx {
    shared: Shared,
    notifier: Notifier,
    connections: RwSignal<Vec<Conn>>,
    active: RwSignal<Option<u32>>,
    adding: RwSignal<bool>,
    busy: RwSignal<bool>,
    next_id: StoredValue<u32>,
}

impl Ctx {
    fn find(&self, test: impl Fn(&Conn) -> bool) -> Option<Conn> {
        self.connections.with_untracked(|cs| cs.iter().find(|c| test(c)).cloned())
    }

    /// The connection that follows `row`.
    fn of_row(&self, row: &JobRow) -> Option<Conn> {
        self.find(|c| c.dash.key() == row.source)
    }
}

/// The chip label of a connection: who, at which host.
fn label_of(connection: &Connection) -> String {
    let host = connection.endpoint.split("://").nth(1).unwrap_or(&connection.endpoint);
    let host = host.split('/').next().unwrap_or(host);
    let who = match &connection.login {
        Login::Session { username, .. } => username.clone(),
        Login::ApiKey { api_key, .. } => format!("key {}…", api_key.chars().take(8).collect::<String>()),
    };
    format!("{who}@{host}")
}

/// Logs in with `connection` and, when that works, adds it beside the others (resuming its
/// saved jobs); its API keys are remembered only when asked, and forgotten otherwise.
fn open_connection(ctx: Ctx, connection: Connection) {
    ctx.busy.set(true);
    spawn_local(async move {
        let label = label_of(&connection);
        let remembered = connection.remembered();
        let protocol = connection.protocol;
        let endpoint = connection.endpoint.clone();
        let client = match api::connect(connection).await {
            Ok(client) => client,
            Err(error) => {
                ctx.shared.problem.set(Some(format!("Cannot log in to {endpoint}: {error}")));
                ctx.busy.set(false);
                return;
            }
        };
        let key = client.key();
        if ctx.find(|c| c.dash.key() == key).is_some() {
            ctx.shared.problem.set(Some(format!("Already connected to {endpoint} ({})", protocol.label())));
            ctx.busy.set(false);
            return;
        }
        match &remembered {
            Some(entry) => remember(entry),
            None if protocol == Protocol::CloudStack => forget(&endpoint),
            None => {}
        }
        ctx.shared.problem.set(None);
        let dash = Dashboard::shared(ctx.shared);
        dash.connect(client.clone());
        dash.start(FLUSH_PERIOD);
        let toast_label = label.clone();
        let notifier = ctx.notifier;
        dash.set_on_finish(Callback::new(move |job: Finished| notifier.job_finished(&toast_label, &job)));
        let id = ctx.next_id.get_value();
        ctx.next_id.set_value(id + 1);
        let conn =
            Conn { id, label, protocol, dash, apis: RwSignal::new(Vec::new()), lists: RwSignal::new(HashMap::new()) };
        ctx.connections.update(|cs| cs.push(conn.clone()));
        ctx.active.set(Some(id));
        ctx.adding.set(false);
        // Jobs tracked before a reload resume.
        let restored: Vec<JobRow> =
            load_jobs(&key).into_iter().map(|stored| JobRow::restored(stored, now_ms())).collect();
        if !restored.is_empty() {
            dash.add(restored);
            dash.flush();
        }
        ctx.busy.set(false);
        if let Client::CloudStack(client) = client {
            match api::list_apis(&client).await {
                Ok(list) => conn.apis.set(list),
                Err(error) => dash.problem.set(Some(format!("listApis: {error}"))),
            }
        }
    });
}

/// Ends connection `id`: stops following its jobs (they stay saved for the next login),
/// forgets remembered keys, logs out.
fn close_connection(ctx: Ctx, id: u32) {
    let Some(conn) = ctx.find(|c| c.id == id) else { return };
    let client = conn.dash.client.get_untracked();
    conn.dash.stop();
    ctx.connections.update(|cs| cs.retain(|c| c.id != id));
    if ctx.active.get_untracked() == Some(id) {
        ctx.active.set(ctx.connections.with_untracked(|cs| cs.first().map(|c| c.id)));
    }
    if let Some(client) = client {
        if let Some(cloudstack) = client.cloudstack() {
            forget(&cloudstack.config().endpoint);
        }
        spawn_local(async move {
            let _ = match client {
                Client::CloudStack(c) => c.logout().await,
                Client::Clm(c) => c.logout().await,
            };
        });
    }
}

/// The dashboard: a connect form until a connection is open, then the connections, the active
/// one's submit form, overview, jobs and detail. `?bench=N` shows N fabricated jobs without a
/// server (for `./dev bench`).
#[component]
pub fn App() -> impl IntoView {
    let shared = Shared::new();
    let notifier = Notifier::new();
    let (initial_filters, initial_job) = filters_from_url();
    let filters = RwSignal::new(initial_filters);
    let selected = RwSignal::new(initial_job);
    Effect::new(move |_| {
        let f = filters.get();
        write_url(&f, selected.get().as_deref());
    });
    let ctx = Ctx {
        shared,
        notifier,
        connections: RwSignal::new(Vec::new()),
        active: RwSignal::new(None),
        adding: RwSignal::new(false),
        busy: RwSignal::new(false),
        next_id: StoredValue::new(0),
    };
    let bench = query_param("bench").and_then(|n| n.parse::<usize>().ok());
    let bench_dash = bench.map(|n| {
        let dash = Dashboard::shared(shared);
        dash.start(FLUSH_PERIOD);
        crate::bench::start(dash, n);
        dash
    });
    if bench.is_none() {
        // Connections whose API keys the user asked to remember come back by themselves.
        for entry in load_remembered() {
            open_connection(ctx, entry.connection());
        }
    }
    let connected = move || bench.is_some() || ctx.connections.with(|cs| !cs.is_empty());
    let show_form = move || bench.is_none() && (ctx.adding.get() || ctx.connections.with(Vec::is_empty));
    let active_id = Memo::new(move |_| ctx.active.get());
    let active_conn = move || {
        let id = active_id.get()?;
        ctx.find(|c| c.id == id)
    };

    let on_connect = Callback::new(move |connection: Connection| open_connection(ctx, connection));
    let on_disconnect = Callback::new(move |id: u32| close_connection(ctx, id));
    let default_endpoint = Callback::new(api::default_endpoint);
    let on_need_list = Callback::new(move |list: &'static str| {
        // Called from the submit form's effects: read the active connection without tracking it.
        let Some(conn) = active_id.get_untracked().and_then(|id| ctx.find(|c| c.id == id)) else { return };
        let Some(client) = conn.dash.client.with_untracked(|c| c.as_ref().and_then(Client::cloudstack).cloned()) else {
            return;
        };
        spawn_local(async move {
            match api::list_choices(&client, list, api::list_object(list)).await {
                Ok(choices) => conn.lists.update(|l| drop(l.insert(list.to_owned(), choices))),
                Err(error) => conn.dash.problem.set(Some(format!("{list}: {error}"))),
            }
        });
    });
    let on_submit = Callback::new(move |request: SubmitRequest| {
        let Some(conn) = active_conn() else { return };
        if let Some(client) = conn.dash.client.get_untracked() {
            submit_jobs(conn.dash, client, request, ctx.busy);
        }
    });
    let on_resubmit = Callback::new(move |row: JobRow| {
        let Some(conn) = ctx.of_row(&row) else { return };
        if let Some(client) = conn.dash.client.get_untracked() {
            submit_jobs(
                conn.dash,
                client,
                SubmitRequest { command: row.command, params: row.params, count: 1 },
                ctx.busy,
            );
        }
    });
    let jobs: Signal<Vec<JobRow>> = shared.jobs.into();
    let revision: Signal<u64> = shared.revision.into();
    let now: Signal<f64> = shared.now_ms.into();
    let selected_row = Memo::new(move |_| {
        let id = selected.get()?;
        jobs.with(|rows| rows.iter().find(|row| row.id == id).cloned())
    });
    let on_stop = Callback::new(move |id: String| {
        if let Some(conn) = selected_row.get_untracked().and_then(|row| ctx.of_row(&row)) {
            conn.dash.remove(&id);
        }
        if selected.get_untracked().as_deref() == Some(id.as_str()) {
            selected.set(None);
        }
    });
    let on_close = Callback::new(move |()| selected.set(None));
    let endpoint_label = move || active_conn().and_then(|c| c.dash.client.with(|c| c.as_ref().map(Client::endpoint)));
    let status = move || active_conn().map(|c| c.dash).or(bench_dash).map(|dash| view! { <StatusBar dash /> });
    let submit_form = move || {
        let conn = active_conn()?;
        let busy: Signal<bool> = ctx.busy.into();
        Some(match conn.protocol {
            Protocol::CloudStack => view! {
                <SubmitForm apis=conn.apis.into() lists=conn.lists.into() on_need_list busy on_submit />
            }
            .into_any(),
            Protocol::Clm => view! { <ClmForm busy on_submit /> }.into_any(),
        })
    };

    view! {
        <header>
            <h1>"Jobwire"</h1>
            <span class="endpoint mono" title="API endpoint of the active connection">{endpoint_label}</span>
            {status}
        </header>
        <main>
            {move || shared.problem.get().map(|p| view! { <p class="error" role="alert" data-testid="problem">{p}</p> })}
            <div class="bar">
                <Show when=move || bench.is_none() && ctx.connections.with(|cs| !cs.is_empty())>
                    <ConnectionBar connections=ctx.connections.into() active=ctx.active adding=ctx.adding on_disconnect />
                </Show>
                <NotifyToggle notifier />
            </div>
            <Show when=show_form>
                <ConnectForm default_endpoint busy=ctx.busy.into() on_connect />
            </Show>
            <Show when=connected>
                {submit_form}
                <Overview jobs revision now_ms=now />
                <FilterBar jobs filters revision />
                <JobTable jobs filters revision now_ms=now selected />
                {move || {
                    selected_row
                        .get()
                        .map(|row| {
                            let client = ctx.of_row(&row).and_then(|c| c.dash.client.get_untracked());
                            view! { <JobDetail row client on_close on_stop on_resubmit now_ms=now /> }
                        })
                }}
            </Show>
            <Toasts notifier />
        </main>
    }
}
