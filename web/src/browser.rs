//! The few browser facilities the dashboard uses: clock, localStorage (resume tokens; API keys
//! only when the user asked to remember them; never passwords), the URL query (filters and the
//! selected job), page visibility and desktop notifications.

use jobwire::JobState;

use crate::components::connect_form::Remembered;
use crate::state::{parse_state, state_label, Filters, SortKey, StoredJob};

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn tokens_key(endpoint: &str) -> String {
    format!("jobwire.jobs:{endpoint}")
}

/// The jobs saved for `endpoint` (empty when none or unreadable).
pub fn load_jobs(endpoint: &str) -> Vec<StoredJob> {
    storage()
        .and_then(|s| s.get_item(&tokens_key(endpoint)).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Saves the tracked jobs of `endpoint` (resume tokens, start times, parameters).
pub fn save_jobs(endpoint: &str, tokens: &[StoredJob]) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(tokens)) {
        let _ = storage.set_item(&tokens_key(endpoint), &text);
    }
}

const REMEMBERED_KEY: &str = "jobwire.remembered";

/// The connections the user asked to remember (API keys), oldest first.
pub fn load_remembered() -> Vec<Remembered> {
    storage()
        .and_then(|s| s.get_item(REMEMBERED_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save_remembered(list: &[Remembered]) {
    let Some(storage) = storage() else { return };
    if list.is_empty() {
        let _ = storage.remove_item(REMEMBERED_KEY);
    } else if let Ok(text) = serde_json::to_string(list) {
        let _ = storage.set_item(REMEMBERED_KEY, &text);
    }
}

/// Remembers `entry` (replacing one for the same endpoint).
pub fn remember(entry: &Remembered) {
    let mut list = load_remembered();
    list.retain(|r| r.endpoint != entry.endpoint);
    list.push(entry.clone());
    save_remembered(&list);
}

/// Forgets whatever is remembered for the CloudStack `endpoint`.
pub fn forget(endpoint: &str) {
    let list = load_remembered();
    if list.iter().any(|r| r.endpoint == endpoint) {
        save_remembered(&list.into_iter().filter(|r| r.endpoint != endpoint).collect::<Vec<_>>());
    }
}

/// Whether the user has allowed desktop notifications.
pub fn notifications_granted() -> bool {
    web_sys::window().is_some()
        && js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false)
        && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

/// Asks the user to allow desktop notifications; resolves with whether they are allowed.
pub async fn request_notifications() -> bool {
    if notifications_granted() {
        return true;
    }
    if !js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false) {
        return false;
    }
    let Ok(promise) = web_sys::Notification::request_permission() else { return false };
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    notifications_granted()
}

/// Shows a desktop notification (text only), when allowed.
pub fn notify_desktop(title: &str, body: &str) {
    if !notifications_granted() {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    let _ = web_sys::Notification::new_with_options(title, &options);
}

fn query() -> Option<web_sys::UrlSearchParams> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

/// One query parameter of the page URL.
pub fn query_param(name: &str) -> Option<String> {
    query()?.get(name).filter(|v| !v.is_empty())
}

/// The filters and selected job the page URL asks for.
pub fn filters_from_url() -> (Filters, Option<String>) {
    let filters = Filters {
        state: query_param("state").as_deref().and_then(parse_state),
        command: query_param("command"),
        search: query_param("q").unwrap_or_default(),
        sort: query_param("sort").as_deref().and_then(SortKey::parse).unwrap_or_default(),
        ascending: query_param("dir").as_deref() == Some("asc"),
    };
    (filters, query_param("job"))
}

/// Writes the filters and selected job into the URL (replacing the history entry), keeping
/// the other parameters (`endpoint`, …).
pub fn write_url(filters: &Filters, job: Option<&str>) {
    let (Some(window), Some(params)) = (web_sys::window(), query()) else { return };
    let set = |name: &str, value: Option<&str>| match value {
        Some(v) if !v.is_empty() => params.set(name, v),
        _ => params.delete(name),
    };
    set("state", filters.state.map(state_label));
    set("command", filters.command.as_deref());
    set("q", Some(filters.search.as_str()));
    set("sort", (filters.sort != SortKey::Started).then(|| filters.sort.as_str()));
    set("dir", filters.ascending.then_some("asc"));
    set("job", job);
    let search: String = params.to_string().into();
    let location = window.location();
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    let url = if search.is_empty() { path } else { format!("{path}?{search}") };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&js_sys::wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Whether the page is hidden (background tab, minimised window).
pub fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

/// Copies `text` to the clipboard (best effort: browsers may refuse without a user gesture).
pub fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// The state filter's label for `state` (`all` for none).
pub fn state_option(state: Option<JobState>) -> &'static str {
    state.map_or("all", state_label)
}

/// `HH:MM:SS` local time of an epoch-ms instant.
pub fn clock(ms: f64) -> String {
    let date = js_sys::Date::new(&js_sys::wasm_bindgen::JsValue::from_f64(ms));
    format!("{:02}:{:02}:{:02}", date.get_hours(), date.get_minutes(), date.get_seconds())
}
