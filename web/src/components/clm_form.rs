//! The CLM submit form: pick one of the reference server's operations, fill its fields, start
//! it (once or N times) as a Task.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{clm_request, CLM_OPERATIONS};
use crate::components::submit_form::{SubmitRequest, MAX_COUNT};
use crate::components::times_field::TimesField;

fn field_label(name: &str) -> &'static str {
    match name {
        "name" => "Server name",
        "description" => "Description",
        "guid" => "ComputeContainer guid",
        "pageNo" => "Page (from 0)",
        "pageSize" => "Page size (0 = all)",
        _ => "Value",
    }
}

/// The form; `on_submit` gets the operation as a [`SubmitRequest`] whose `command` is the
/// operation id and whose params are `operation` and the filled-in fields (what a CLM job's
/// saved parameters hold, so resubmit works alike).
#[component]
pub fn ClmForm(busy: Signal<bool>, on_submit: Callback<SubmitRequest>) -> impl IntoView {
    let operation = RwSignal::new(CLM_OPERATIONS[0].id.to_owned());
    let values = RwSignal::new(HashMap::<String, String>::new());
    let count = RwSignal::new(1_usize);
    let spec = Memo::new(move |_| operation.with(|id| CLM_OPERATIONS.iter().find(|o| o.id == id).copied()));
    let params = move || {
        let mut params = vec![("operation".to_owned(), operation.get())];
        if let Some(op) = spec.get() {
            values.with(|v| {
                params.extend(
                    op.fields
                        .iter()
                        .filter_map(|f| v.get(*f).map(|value| ((*f).to_owned(), value.trim().to_owned())))
                        .filter(|(_, value)| !value.is_empty()),
                )
            });
        }
        params
    };
    let invalid = move || clm_request(&params()).err();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let params = params();
        if clm_request(&params).is_err() {
            return;
        }
        on_submit.run(SubmitRequest {
            command: operation.get_untracked(),
            params,
            count: count.get_untracked().clamp(1, MAX_COUNT),
        });
    };
    let fields = move || {
        spec.get().map(|op| {
            op.fields
                .iter()
                .map(|name| {
                    let name = *name;
                    let numeric = name.starts_with("page");
                    view! {
                        <label class="field">
                            <span>{field_label(name)}</span>
                            <input
                                type=if numeric { "number" } else { "text" }
                                min="0"
                                data-testid=format!("clm-{name}")
                                placeholder=if name == "guid" { "required" } else { "optional" }
                                prop:value=move || values.with(|v| v.get(name).cloned().unwrap_or_default())
                                on:input=move |ev| values.update(|v| drop(v.insert(name.to_owned(), event_target_value(&ev))))
                            />
                        </label>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <form class="submit" on:submit=submit aria-label="Start a CLM operation" data-testid="clm-form">
            <label class="field">
                <span>"Operation"</span>
                <select
                    data-testid="clm-operation"
                    prop:value=move || operation.get()
                    on:change=move |ev| operation.set(event_target_value(&ev))
                >
                    {CLM_OPERATIONS
                        .iter()
                        .map(|op| view! { <option value=op.id>{op.label}</option> })
                        .collect_view()}
                </select>
            </label>
            {fields}
            <TimesField count test_id="clm-count" label="How many times to start it" />
            <button type="submit" data-testid="clm-submit" disabled=move || busy.get() || invalid().is_some() title=invalid>
                "Start"
            </button>
        </form>
    }
}
