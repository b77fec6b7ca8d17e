//! The connections side by side: one chip per connection (protocol, endpoint, user, polling
//! mode) to make it the active one (the submit form targets it) or to disconnect it, and the
//! button that opens the connect form for one more.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{ApiSpec, Choice};
use crate::state::Protocol;
use crate::tracker::Dashboard;

/// One open connection: its dashboard (client, tracker) and, for CloudStack, what `listApis`
/// and the list commands answered.
#[derive(Clone)]
pub struct Conn {
    /// Its key in the page (never reused).
    pub id: u32,
    /// What the chip says: protocol, host, user.
    pub label: String,
    /// The protocol.
    pub protocol: Protocol,
    /// Client and tracked jobs.
    pub dash: Dashboard,
    /// CloudStack: the async commands.
    pub apis: RwSignal<Vec<ApiSpec>>,
    /// CloudStack: loaded pick lists, by list command.
    pub lists: RwSignal<HashMap<String, Vec<Choice>>>,
}

/// The chips; `active` is the connection the submit form targets.
#[component]
pub fn ConnectionBar(
    connections: Signal<Vec<Conn>>,
    active: RwSignal<Option<u32>>,
    adding: RwSignal<bool>,
    on_disconnect: Callback<u32>,
) -> impl IntoView {
    view! {
        <nav class="connections" aria-label="Connections">
            <ul>
                <For
                    each=move || connections.get()
                    key=|conn| conn.id
                    children=move |conn| {
                        let id = conn.id;
                        let dash = conn.dash;
                        let is_active = move || active.get() == Some(id);
                        view! {
                            <li class="conn" class:active=is_active data-testid="connection" data-protocol=conn.protocol.as_str()>
                                <button
                                    type="button"
                                    class="ghost conn-pick"
                                    aria-pressed=move || is_active().to_string()
                                    title="Submit to this connection"
                                    on:click=move |_| active.set(Some(id))
                                >
                                    <span class=format!("proto {}", conn.protocol.as_str())>{conn.protocol.label()}</span>
                                    " "
                                    <span class="conn-label" data-testid="connection-label">{conn.label.clone()}</span>
                                    " "
                                    <span class="muted small">{move || dash.mode.get().label()}</span>
                                </button>
                                <button
                                    type="button"
                                    class="ghost conn-close"
                                    data-testid="disconnect"
                                    aria-label=format!("Disconnect {}", conn.label)
                                    on:click=move |_| on_disconnect.run(id)
                                >
                                    "✕"
                                </button>
                            </li>
                        }
                    }
                />
                <li>
                    <button
                        type="button"
                        class="ghost"
                        data-testid="add-connection"
                        aria-expanded=move || adding.get().to_string()
                        on:click=move |_| adding.update(|a| *a = !*a)
                    >
                        "+ Connection"
                    </button>
                </li>
            </ul>
        </nav>
    }
}
