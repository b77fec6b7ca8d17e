//! The selected job: state, and its result or failure as text.

use leptos::prelude::*;

use crate::state::{state_label, JobRow};

/// Details of the job whose id is `selected`.
#[component]
pub fn JobDetail(jobs: ReadSignal<Vec<JobRow>>, selected: RwSignal<Option<String>>) -> impl IntoView {
    let row = move || {
        let id = selected.get()?;
        jobs.with(|rows| rows.iter().find(|row| row.id == id).cloned())
    };
    move || {
        row().map(|row| {
            let data = row.data;
            view! {
                <section class="detail" aria-label="Job detail" data-testid="job-detail">
                    <h2>"Job " <span class="mono">{row.id.clone()}</span></h2>
                    <p>
                        {row.command.clone()} " — "
                        <span data-testid="detail-state">{move || state_label(data.get().state)}</span>
                    </p>
                    {move || data.get().error.map(|error| view! { <p class="error" data-testid="job-error">{error}</p> })}
                    {move || data.get().result.map(|result| view! { <pre data-testid="job-result">{result}</pre> })}
                </section>
            }
        })
    }
}
