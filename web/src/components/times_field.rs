//! The "Times" field of the submit forms: how many to start at once (for load).

use leptos::prelude::*;

use crate::components::submit_form::MAX_COUNT;

/// A number input bound to `count` (1 to [`MAX_COUNT`]; what does not parse counts as 1).
#[component]
pub fn TimesField(count: RwSignal<usize>, test_id: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <label class="field times">
            <span>"Times"</span>
            <input
                type="number"
                min="1"
                max=MAX_COUNT.to_string()
                data-testid=test_id
                aria-label=label
                prop:value=move || count.get().to_string()
                on:input=move |ev| count.set(event_target_value(&ev).trim().parse().unwrap_or(1))
            />
        </label>
    }
}
