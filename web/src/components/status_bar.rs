//! Polling mode, "last updated" age and request count.

use leptos::prelude::*;

use crate::tracker::Dashboard;

/// The status line of `dash`.
#[component]
pub fn StatusBar(dash: Dashboard) -> impl IntoView {
    let age = move || match dash.last_update_ms.get() {
        Some(at) => format!("updated {:.0} s ago", ((dash.now_ms.get() - at) / 1000.0).max(0.0).floor()),
        None => "not updated yet".to_owned(),
    };
    view! {
        <p class="status" role="status" aria-live="off">
            <span class=move || format!("mode {:?}", dash.mode.get()).to_lowercase() data-testid="poll-mode">
                {move || dash.mode.get().label()}
            </span>
            " · "
            <span data-testid="last-updated">{age}</span>
        </p>
    }
}
