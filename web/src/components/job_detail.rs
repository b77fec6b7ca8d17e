//! The selected job: state, timeline, failure, result (tree or raw JSON), the raw answer
//! (CloudStack: `queryAsyncJobResult` as XML, fetched on demand; CLM: the Task JSON) and actions.

use jobwire::protocol::cloudstack::Request;
use jobwire::protocol::Format;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Client;
use crate::browser::{clock, copy_text};
use crate::components::result_tree::ResultTree;
use crate::state::{state_label, JobRow, Protocol};

/// The raw answer section: a button that fetches (CloudStack XML) or shows (CLM Task JSON) it,
/// a `<pre>` with it as text, and a copy button.
#[component]
fn RawAnswer(row: JobRow, client: Option<Client>) -> impl IntoView {
    let data = row.data;
    let text = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let copied = RwSignal::new(false);
    let (label, caption) = match row.protocol {
        Protocol::CloudStack => ("Raw XML", "queryAsyncJobResult, response=xml"),
        Protocol::Clm => ("Task JSON", "the task's last status, as the server sent it"),
    };
    let id = row.id.clone();
    let protocol = row.protocol;
    let show = move |_| {
        copied.set(false);
        match (protocol, client.as_ref().and_then(Client::cloudstack)) {
            (Protocol::CloudStack, Some(client)) => {
                let client = client.clone();
                let id = id.clone();
                loading.set(true);
                spawn_local(async move {
                    let answer = client.call_text(&Request::query_async_job_result(&id), Format::Xml).await;
                    let _ = text.try_set(Some(answer.unwrap_or_else(|e| format!("cannot fetch the XML: {e}"))));
                    let _ = loading.try_set(false);
                });
            }
            (Protocol::CloudStack, None) => text.set(Some("not connected".into())),
            (Protocol::Clm, _) => {
                let json = data.with_untracked(|d| d.raw.as_ref().and_then(|r| serde_json::to_string_pretty(r).ok()));
                text.set(Some(json.unwrap_or_else(|| "no status answer yet".into())));
            }
        }
    };
    let copy = move |_| {
        if let Some(t) = text.get_untracked() {
            copy_text(&t);
            copied.set(true);
        }
    };
    view! {
        <h3>"Raw answer"</h3>
        <div class="toggle" role="group" aria-label="Raw answer">
            <button type="button" class="ghost" data-testid="show-raw-answer" disabled=move || loading.get() on:click=show>
                {move || if text.with(Option::is_some) { format!("Refresh {label}") } else { label.to_owned() }}
            </button>
            <Show when=move || text.with(Option::is_some)>
                <button type="button" class="ghost" data-testid="copy-raw-answer" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </Show>
            <span class="muted small">{caption}</span>
        </div>
        {move || text.get().map(|t| view! { <pre data-testid="raw-answer" data-format=protocol.as_str()>{t}</pre> })}
    }
}

/// Details of `row`, with the actions stop tracking, resubmit and copy resume token; `client`
/// is the connection that follows it (for the raw XML).
#[component]
pub fn JobDetail(
    row: JobRow,
    client: Option<Client>,
    on_close: Callback<()>,
    on_stop: Callback<String>,
    on_resubmit: Callback<JobRow>,
    /// The clock the progress bar is carried forward by.
    now_ms: Signal<f64>,
) -> impl IntoView {
    let data = row.data;
    let raw = RwSignal::new(false);
    let copied = RwSignal::new(None::<&'static str>);
    let token = serde_json::to_string(&row.token()).unwrap_or_default();
    let copy_token = {
        let token = token.clone();
        move |_| {
            copy_text(&token);
            copied.set(Some("resume token copied"));
        }
    };
    let copy_json = move |_| {
        let json = data.with_untracked(|d| d.result.as_ref().and_then(|r| serde_json::to_string_pretty(r).ok()));
        if let Some(json) = json {
            copy_text(&json);
            copied.set(Some("result copied"));
        }
    };
    let id = row.id.clone();
    let stop = move |_| on_stop.run(id.clone());
    let resubmit = {
        let row = row.clone();
        move |_| on_resubmit.run(row.clone())
    };
    let can_resubmit = !row.params.is_empty();
    let state = move || data.with(|d| state_label(d.state));
    let progress = move || data.with(|d| d.shown_progress(now_ms.get()).round() as u32);
    view! {
        <section class="detail" aria-labelledby="detail-title" data-testid="job-detail">
            <div class="detail-head">
                <h2 id="detail-title">"Job " <span class="mono">{row.id.clone()}</span></h2>
                <button type="button" class="ghost" data-testid="close-detail" aria-label="Close detail" on:click=move |_| on_close.run(())>
                    "✕"
                </button>
            </div>
            <p class="detail-line">
                <span class=format!("proto {}", row.protocol.as_str()) data-testid="detail-protocol">{row.protocol.label()}</span>
                " "
                <span data-testid="detail-command">{row.command.clone()}</span>
                " · "
                <span class=move || format!("badge {}", state()) data-testid="detail-state">{state}</span>
                " · "
                <progress max="100" value=progress aria-label="progress"></progress>
                <span class="pct">{move || format!("{}%", progress())}</span>
                {row.resource_id.clone().map(|r| view! { " · resource " <span class="mono" data-testid="detail-resource">{r}</span> })}
            </p>
            {move || {
                data.with(|d| d.error.clone())
                    .map(|error| {
                        view! {
                            <div class="failure" role="alert" data-testid="job-failure">
                                <p class="error" data-testid="job-error">{format!("{}: {}", error.code, error.text)}</p>
                                <dl>
                                    <dt>"errorcode"</dt>
                                    <dd data-testid="job-errorcode">{error.code}</dd>
                                    <dt>"cserrorcode"</dt>
                                    <dd data-testid="job-cserrorcode">{error.cs_error_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</dd>
                                    <dt>"errortext"</dt>
                                    <dd data-testid="job-errortext">{error.text.clone()}</dd>
                                </dl>
                            </div>
                        }
                    })
            }}
            <h3>"Timeline"</h3>
            <ol class="timeline" data-testid="timeline">
                {move || {
                    data.with(|d| {
                        d.timeline
                            .iter()
                            .map(|t| {
                                let pct = t.progress.map(|p| format!(" {}%", p.round() as u32)).unwrap_or_default();
                                view! {
                                    <li data-testid="timeline-entry">
                                        <span class="mono">{clock(t.at_ms)}</span>
                                        " "
                                        <span class=format!("badge {}", state_label(t.state))>{state_label(t.state)}</span>
                                        {pct}
                                    </li>
                                }
                            })
                            .collect_view()
                    })
                }}
            </ol>
            {move || {
                data.with(|d| d.result.clone())
                    .map(|result| {
                        let pretty = serde_json::to_string_pretty(&result).unwrap_or_default();
                        view! {
                            <h3>"Result"</h3>
                            <div class="toggle" role="group" aria-label="Result view">
                                <button type="button" class="ghost" aria-pressed=move || (!raw.get()).to_string() data-testid="show-tree" on:click=move |_| raw.set(false)>
                                    "Tree"
                                </button>
                                <button type="button" class="ghost" aria-pressed=move || raw.get().to_string() data-testid="show-raw" on:click=move |_| raw.set(true)>
                                    "Raw JSON"
                                </button>
                                <button type="button" class="ghost" data-testid="copy-result" on:click=copy_json>
                                    "Copy JSON"
                                </button>
                            </div>
                            <Show when=move || raw.get() fallback=move || view! { <ResultTree value=result.clone() /> }>
                                <pre data-testid="job-result">{pretty.clone()}</pre>
                            </Show>
                        }
                    })
            }}
            <RawAnswer row=row.clone() client />
            <div class="actions">
                <button type="button" data-testid="copy-token" on:click=copy_token>"Copy resume token"</button>
                <button type="button" data-testid="resubmit" disabled=!can_resubmit on:click=resubmit>"Resubmit"</button>
                <button type="button" class="danger" data-testid="stop-tracking" on:click=stop>"Stop tracking"</button>
                <span class="muted" aria-live="polite">{move || copied.get()}</span>
            </div>
            <p class="muted small">"Resume token: " <code data-testid="resume-token">{token}</code></p>
        </section>
    }
}
