//! The connect form: protocol (CloudStack or CLM), endpoint and credentials — a session login
//! by default, or (CloudStack) an API key and secret key. Only API keys can be remembered, and
//! only when the user ticks "remember"; passwords never leave memory.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::state::Protocol;

/// How a connection proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Login {
    /// CloudStack `login` or CLM token login.
    Session {
        /// User name.
        username: String,
        /// Password (kept in memory only).
        password: String,
        /// CloudStack domain path, empty for ROOT (CLM ignores it).
        domain: String,
    },
    /// CloudStack signed requests.
    ApiKey {
        /// The API key.
        api_key: String,
        /// The secret key (kept in memory unless the user asks to remember it).
        secret_key: String,
    },
}

// Hand-written so no secret reaches a log through `{:?}`.
impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Session { username, domain, .. } => {
                f.debug_struct("Session").field("username", username).field("domain", domain).finish_non_exhaustive()
            }
            Login::ApiKey { api_key, .. } => f.debug_struct("ApiKey").field("api_key", api_key).finish_non_exhaustive(),
        }
    }
}

/// What the user connects with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The protocol.
    pub protocol: Protocol,
    /// CloudStack API URL, or the CLM server root.
    pub endpoint: String,
    /// Credentials.
    pub login: Login,
    /// Whether the user ticked "remember" (honoured for API keys only).
    pub remember: bool,
}

/// What localStorage keeps of a remembered connection: a CloudStack endpoint and its API keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remembered {
    /// The CloudStack API URL.
    pub endpoint: String,
    /// The API key.
    pub api_key: String,
    /// The secret key.
    pub secret_key: String,
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembered")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// What may be written to storage for this connection: only API keys, only when the user
    /// ticked "remember"; never anything of a session login (no password, ever).
    pub fn remembered(&self) -> Option<Remembered> {
        match (&self.login, self.protocol, self.remember) {
            (Login::ApiKey { api_key, secret_key }, Protocol::CloudStack, true) => Some(Remembered {
                endpoint: self.endpoint.clone(),
                api_key: api_key.clone(),
                secret_key: secret_key.clone(),
            }),
            _ => None,
        }
    }
}

impl Remembered {
    /// The connection to make again.
    pub fn connection(&self) -> Connection {
        Connection {
            protocol: Protocol::CloudStack,
            endpoint: self.endpoint.clone(),
            login: Login::ApiKey { api_key: self.api_key.clone(), secret_key: self.secret_key.clone() },
            remember: true,
        }
    }
}

/// The form; `on_connect` gets the filled-in connection, `busy` disables it while logging in.
/// `default_endpoint` gives the endpoint a protocol starts with. The fields start with the
/// reference server's demo user, which `jobwire-server` prints.
#[component]
pub fn ConnectForm(
    default_endpoint: Callback<Protocol, String>,
    busy: Signal<bool>,
    on_connect: Callback<Connection>,
) -> impl IntoView {
    let protocol = RwSignal::new(Protocol::CloudStack);
    let endpoint = RwSignal::new(default_endpoint.run(Protocol::CloudStack));
    let use_keys = RwSignal::new(false);
    let username = RwSignal::new("demo".to_owned());
    let password = RwSignal::new("demo-password".to_owned());
    let domain = RwSignal::new(String::new());
    let api_key = RwSignal::new(String::new());
    let secret_key = RwSignal::new(String::new());
    let remember = RwSignal::new(false);
    let keys = move || use_keys.get() && protocol.get() == Protocol::CloudStack;
    let set_protocol = move |ev: leptos::ev::Event| {
        let Some(new) = Protocol::parse(&event_target_value(&ev)) else { return };
        let old = protocol.get_untracked();
        // Follow the protocol's default endpoint unless the user typed another one.
        if endpoint.get_untracked().trim() == default_endpoint.run(old) {
            endpoint.set(default_endpoint.run(new));
        }
        protocol.set(new);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let login = if keys() {
            Login::ApiKey {
                api_key: api_key.get_untracked().trim().to_owned(),
                secret_key: secret_key.get_untracked().trim().to_owned(),
            }
        } else {
            Login::Session {
                username: username.get_untracked().trim().to_owned(),
                password: password.get_untracked(),
                domain: domain.get_untracked().trim().to_owned(),
            }
        };
        on_connect.run(Connection {
            protocol: protocol.get_untracked(),
            endpoint: endpoint.get_untracked().trim().to_owned(),
            login,
            remember: keys() && remember.get_untracked(),
        });
    };
    let field = |label: &'static str, test_id: &'static str, kind: &'static str, value: RwSignal<String>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    type=kind
                    data-testid=test_id
                    autocomplete="off"
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </label>
        }
    };
    view! {
        <form class="deploy connect" on:submit=submit aria-label="Connect to a cloud" data-testid="connect-form">
            <label class="field">
                <span>"Protocol"</span>
                <select data-testid="protocol" prop:value=move || protocol.get().as_str() on:change=set_protocol>
                    <option value="cloudstack">"CloudStack"</option>
                    <option value="clm">"BMC CLM"</option>
                </select>
            </label>
            {field("Endpoint", "endpoint", "url", endpoint)}
            <Show when=move || protocol.get() == Protocol::CloudStack>
                <fieldset class="field auth" data-testid="auth-choice">
                    <legend>"Credentials"</legend>
                    <label>
                        <input type="radio" name="auth" data-testid="auth-session" prop:checked=move || !use_keys.get() on:change=move |_| use_keys.set(false) />
                        " session login"
                    </label>
                    <label>
                        <input type="radio" name="auth" data-testid="auth-apikey" prop:checked=move || use_keys.get() on:change=move |_| use_keys.set(true) />
                        " API key"
                    </label>
                </fieldset>
            </Show>
            <Show
                when=keys
                fallback=move || {
                    view! {
                        {field("User", "username", "text", username)}
                        {field("Password", "password", "password", password)}
                        <Show when=move || protocol.get() == Protocol::CloudStack>
                            {field("Domain", "domain", "text", domain)}
                        </Show>
                    }
                }
            >
                {field("API key", "api-key", "text", api_key)}
                {field("Secret key", "secret-key", "password", secret_key)}
                <label class="field check">
                    <span>"Remember on this device"</span>
                    <span>
                        <input type="checkbox" data-testid="remember" prop:checked=move || remember.get() on:change=move |ev| remember.set(event_target_checked(&ev)) />
                        " keys in localStorage"
                    </span>
                </label>
            </Show>
            <button type="submit" data-testid="connect" disabled=move || busy.get()>
                "Log in"
            </button>
        </form>
    }
}
