//! The connect form: endpoint and session credentials (CloudStack `login`).

use leptos::prelude::*;

/// What the user connects with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// API URL.
    pub endpoint: String,
    /// User name.
    pub username: String,
    /// Password (kept in memory only).
    pub password: String,
    /// Domain path, empty for ROOT.
    pub domain: String,
}

/// The form; `on_connect` gets the filled-in connection, `busy` disables it while logging in.
/// The fields start with the reference server's demo user, which `jobwire-server` prints.
#[component]
pub fn ConnectForm(endpoint: String, busy: ReadSignal<bool>, on_connect: Callback<Connection>) -> impl IntoView {
    let endpoint = RwSignal::new(endpoint);
    let username = RwSignal::new("demo".to_owned());
    let password = RwSignal::new("demo-password".to_owned());
    let domain = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_connect.run(Connection {
            endpoint: endpoint.get_untracked().trim().to_owned(),
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            domain: domain.get_untracked().trim().to_owned(),
        });
    };
    let field = |label: &'static str, test_id: &'static str, kind: &'static str, value: RwSignal<String>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    type=kind
                    data-testid=test_id
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </label>
        }
    };
    view! {
        <form class="deploy connect" on:submit=submit aria-label="Connect to a cloud">
            {field("Endpoint", "endpoint", "url", endpoint)}
            {field("User", "username", "text", username)}
            {field("Password", "password", "password", password)}
            {field("Domain", "domain", "text", domain)}
            <button type="submit" data-testid="connect" disabled=move || busy.get()>
                "Log in"
            </button>
        </form>
    }
}
