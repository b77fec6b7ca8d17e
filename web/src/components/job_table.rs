//! The jobs table: one row per tracked job, live.

use jobwire::time::Instant;
use leptos::prelude::*;

use crate::state::{state_label, JobRow};

#[component]
fn JobRowView(row: JobRow, now: ReadSignal<Instant>, selected: RwSignal<Option<String>>) -> impl IntoView {
    let data = row.data;
    let id = row.id.clone();
    let is_selected = {
        let id = id.clone();
        move || selected.get().as_deref() == Some(id.as_str())
    };
    let select = {
        let id = id.clone();
        move || selected.set(Some(id.clone()))
    };
    let state = move || state_label(data.get().state);
    let progress = move || data.get().progress.unwrap_or(0.0).round() as u32;
    view! {
        <tr
            data-testid="job-row"
            class:selected=is_selected.clone()
            aria-selected=move || is_selected().to_string()
            tabindex="0"
            on:click={
                let select = select.clone();
                move |_| select()
            }
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    select();
                }
            }
        >
            <td class="mono" data-testid="job-id">{row.id.clone()}</td>
            <td>{row.command.clone()}</td>
            <td class="mono">{row.resource_id.clone().unwrap_or_default()}</td>
            <td>
                <span class=move || format!("badge {}", state()) data-testid="job-state">{state}</span>
            </td>
            <td>
                <progress max="100" value=progress aria-label="progress"></progress>
                <span class="pct">{move || format!("{}%", progress())}</span>
            </td>
            <td class="num">{move || format!("{:.1} s", data.get().elapsed_secs(now.get()))}</td>
        </tr>
    }
}

/// The table of `jobs`, newest first.
#[component]
pub fn JobTable(
    jobs: ReadSignal<Vec<JobRow>>,
    now: ReadSignal<Instant>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <table class="jobs" aria-label="Jobs">
            <thead>
                <tr>
                    <th scope="col">"Job"</th>
                    <th scope="col">"Command"</th>
                    <th scope="col">"Resource"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Progress"</th>
                    <th scope="col">"Elapsed"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || jobs.get().into_iter().rev()
                    key=|row| row.id.clone()
                    children=move |row| view! { <JobRowView row now selected /> }
                />
            </tbody>
        </table>
        <Show when=move || jobs.with(Vec::is_empty)>
            <p class="empty">"No jobs yet: deploy a VM to start one."</p>
        </Show>
    }
}
