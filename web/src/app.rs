//! The application shell: connection, deploy form, jobs table, detail.

use jobwire::time::{Duration, Instant};
use jobwire::{Error, JobClient};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, Choice};
use crate::components::connect_form::{ConnectForm, Connection};
use crate::components::job_detail::JobDetail;
use crate::components::job_table::JobTable;
use crate::components::submit_form::{DeployRequest, SubmitForm};
use crate::state::{JobData, JobRow};

/// Loads a list command into `target`, reporting failures in `problem`.
fn load_list(
    client: JobClient,
    command: &'static str,
    object: &'static str,
    target: WriteSignal<Vec<Choice>>,
    problem: WriteSignal<Option<String>>,
) {
    spawn_local(async move {
        match api::list_choices(&client, command, object).await {
            Ok(choices) => target.set(choices),
            Err(error) => problem.set(Some(format!("{command}: {error}"))),
        }
    });
}

/// Submits the deploy and tracks the job until it ends.
fn deploy(
    client: JobClient,
    request: DeployRequest,
    jobs: RwSignal<Vec<JobRow>>,
    busy: WriteSignal<bool>,
    problem: WriteSignal<Option<String>>,
) {
    busy.set(true);
    spawn_local(async move {
        let mut params = vec![
            ("zoneid".to_owned(), request.zone_id),
            ("serviceofferingid".to_owned(), request.offering_id),
            ("templateid".to_owned(), request.template_id),
        ];
        if !request.name.is_empty() {
            params.push(("name".to_owned(), request.name));
        }
        let submitted = client.submit("deployVirtualMachine", &params).await;
        busy.set(false);
        let job = match submitted {
            Ok(job) => job,
            Err(error) => return problem.set(Some(format!("deployVirtualMachine: {error}"))),
        };
        problem.set(None);
        let data = RwSignal::new(JobData::submitted(Instant::now()));
        jobs.update(|rows| {
            rows.push(JobRow {
                id: job.job_id.clone(),
                command: job.command.clone(),
                resource_id: job.resource_id.clone(),
                data,
            })
        });
        let outcome = client
            .wait(&job.job_id, |status| data.update(|d| d.observe(status.state, status.progress, Instant::now())))
            .await;
        data.update(|d| match outcome {
            Ok(done) => {
                d.observe(done.state, None, Instant::now());
                d.result = done.result.and_then(|r| serde_json::to_string_pretty(&r).ok());
            }
            Err(Error::JobFailed { error, .. }) => {
                d.error = Some(format!("{}: {}", error.code, error.text));
            }
            Err(other) => d.error = Some(other.to_string()),
        });
    });
}

/// The dashboard: a connect form until logged in, then the deploy form, jobs and detail.
#[component]
pub fn App() -> impl IntoView {
    let (problem, set_problem) = signal(None::<String>);
    let (zones, set_zones) = signal(Vec::<Choice>::new());
    let (offerings, set_offerings) = signal(Vec::<Choice>::new());
    let (templates, set_templates) = signal(Vec::<Choice>::new());
    let (busy, set_busy) = signal(false);
    let client = RwSignal::new(None::<JobClient>);
    let jobs = RwSignal::new(Vec::<JobRow>::new());
    let selected = RwSignal::new(None::<String>);
    let (now, set_now) = signal(Instant::now());
    // Elapsed times tick while the page is open.
    let _ = set_interval_with_handle(move || set_now.set(Instant::now()), Duration::from_millis(250));

    let on_connect = Callback::new(move |connection: Connection| {
        set_busy.set(true);
        spawn_local(async move {
            let endpoint = connection.endpoint.clone();
            match api::connect(connection).await {
                Ok(connected) => {
                    set_problem.set(None);
                    load_list(connected.clone(), "listZones", "zone", set_zones, set_problem);
                    load_list(connected.clone(), "listServiceOfferings", "serviceoffering", set_offerings, set_problem);
                    load_list(connected.clone(), "listTemplates", "template", set_templates, set_problem);
                    client.set(Some(connected));
                }
                Err(error) => set_problem.set(Some(format!("Cannot log in to {endpoint}: {error}"))),
            }
            set_busy.set(false);
        });
    });
    let on_deploy = Callback::new(move |request: DeployRequest| {
        if let Some(connected) = client.get_untracked() {
            deploy(connected, request, jobs, set_busy, set_problem);
        }
    });
    let endpoint_label = move || client.with(|c| c.as_ref().map(|c| c.config().endpoint.clone())).unwrap_or_default();

    view! {
        <header>
            <h1>"Jobwire"</h1>
            <span class="endpoint mono" title="API endpoint">{endpoint_label}</span>
        </header>
        <main>
            {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="problem">{p}</p> })}
            <Show
                when=move || client.with(Option::is_some)
                fallback=move || view! { <ConnectForm endpoint=api::endpoint() busy=busy on_connect=on_connect /> }
            >
                <SubmitForm zones=zones offerings=offerings templates=templates busy=busy on_deploy=on_deploy />
                <JobTable jobs=jobs.read_only() now=now selected=selected />
                <JobDetail jobs=jobs.read_only() selected=selected />
            </Show>
        </main>
    }
}
