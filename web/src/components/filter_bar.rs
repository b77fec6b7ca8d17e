//! Filters above the jobs table: state, command, text search, and how many rows match.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::browser::state_option;
use crate::state::{parse_state, Filters, JobRow, ALL_STATES};

/// The filter controls, bound to `filters`.
#[component]
pub fn FilterBar(jobs: Signal<Vec<JobRow>>, filters: RwSignal<Filters>, revision: Signal<u64>) -> impl IntoView {
    let commands = Memo::new(move |_| {
        let mut names: BTreeSet<String> = jobs.with(|jobs| jobs.iter().map(|r| r.command.clone()).collect());
        // Keep a command from the URL selectable before its jobs are loaded.
        if let Some(command) = filters.with(|f| f.command.clone()) {
            names.insert(command);
        }
        names.into_iter().collect::<Vec<_>>()
    });
    let shown = Memo::new(move |_| {
        revision.track();
        let f = filters.get();
        jobs.with(|all| crate::state::view_rows(all, &f).len())
    });
    view! {
        <div class="filters" role="search" aria-label="Filter jobs">
            <label class="field">
                <span>"State"</span>
                <select
                    data-testid="filter-state"
                    prop:value=move || state_option(filters.with(|f| f.state))
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        filters.update(|f| f.state = parse_state(&value));
                    }
                >
                    <option value="all">"all"</option>
                    {ALL_STATES
                        .into_iter()
                        .map(|s| {
                            let label = state_option(Some(s));
                            let is_chosen = move || filters.with(|f| f.state == Some(s));
                            view! {
                                <option value=label prop:selected=is_chosen>
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Command"</span>
                <select
                    data-testid="filter-command"
                    prop:value=move || filters.with(|f| f.command.clone().unwrap_or_default())
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        filters.update(|f| f.command = (!value.is_empty()).then_some(value));
                    }
                >
                    <option value="">"all"</option>
                    <For
                        each=move || commands.get()
                        key=|name| name.clone()
                        children=move |name| {
                            let is_chosen = {
                                let name = name.clone();
                                move || filters.with(|f| f.command.as_deref() == Some(name.as_str()))
                            };
                            view! {
                                <option value=name.clone() prop:selected=is_chosen>
                                    {name.clone()}
                                </option>
                            }
                        }
                    />
                </select>
            </label>
            <label class="field grow">
                <span>"Search"</span>
                <input
                    type="search"
                    placeholder="job id, command or resource"
                    data-testid="filter-search"
                    prop:value=move || filters.with(|f| f.search.clone())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        filters.update(|f| f.search = value);
                    }
                />
            </label>
            <p class="shown" data-testid="shown-count" aria-live="polite">
                {move || format!("{} of {} jobs", shown.get(), jobs.with(Vec::len))}
            </p>
        </div>
    }
}
