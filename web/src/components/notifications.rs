//! Finished jobs: an in-page live region of toasts ("job X succeeded"), always, and desktop
//! notifications (Web Notification API) when the user turned them on and the browser allows.

use jobwire::JobState;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser::{notify_desktop, request_notifications};
use crate::state::state_label;
use crate::tracker::Finished;

/// Toasts shown at once; older ones leave first.
const MAX_TOASTS: usize = 5;
/// How long a toast stays.
const TOAST_MS: u64 = 12_000;

/// One toast.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    /// Its key.
    pub id: u64,
    /// What it says (text only).
    pub text: String,
    /// The state it reports, for its colour.
    pub state: Option<JobState>,
}

/// The notification channel of the page. `Copy`: arena handles only.
#[derive(Clone, Copy)]
pub struct Notifier {
    /// The toasts on screen, oldest first.
    pub toasts: RwSignal<Vec<Toast>>,
    /// Whether desktop notifications are on.
    pub desktop: RwSignal<bool>,
    next: StoredValue<u64>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The text a finished job is announced with.
pub fn finished_text(connection: &str, job: &Finished) -> String {
    let prefix = if connection.is_empty() { String::new() } else { format!("{connection}: ") };
    format!("{prefix}{} job {} {}", job.command, job.id, state_label(job.state))
}

impl Notifier {
    /// No toasts, desktop notifications off.
    pub fn new() -> Self {
        Notifier { toasts: RwSignal::new(Vec::new()), desktop: RwSignal::new(false), next: StoredValue::new(0) }
    }

    /// Shows `text` as a toast for a while.
    pub fn toast(&self, text: String, state: Option<JobState>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.toasts.update(|toasts| {
            toasts.push(Toast { id, text, state });
            let extra = toasts.len().saturating_sub(MAX_TOASTS);
            toasts.drain(..extra);
        });
        let toasts = self.toasts;
        set_timeout(
            move || {
                let _ = toasts.try_update(|t| t.retain(|toast| toast.id != id));
            },
            std::time::Duration::from_millis(TOAST_MS),
        );
    }

    /// Announces a finished job: a toast, and a desktop notification when on.
    pub fn job_finished(&self, connection: &str, job: &Finished) {
        let text = finished_text(connection, job);
        if self.desktop.get_untracked() {
            notify_desktop(&format!("Jobwire: job {}", state_label(job.state)), &text);
        }
        self.toast(text, Some(job.state));
    }
}

/// The live region listing recent toasts.
#[component]
pub fn Toasts(notifier: Notifier) -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite" aria-label="Notifications" data-testid="toasts">
            <For
                each=move || notifier.toasts.get()
                key=|toast| toast.id
                children=move |toast| {
                    let id = toast.id;
                    let class = format!("toast {}", toast.state.map_or("", state_label));
                    view! {
                        <p class=class data-testid="toast">
                            <span>{toast.text}</span>
                            <button
                                type="button"
                                class="ghost"
                                aria-label="Dismiss"
                                on:click=move |_| notifier.toasts.update(|t| t.retain(|x| x.id != id))
                            >
                                "✕"
                            </button>
                        </p>
                    }
                }
            />
        </div>
    }
}

/// The button turning desktop notifications on (asking the browser's permission) and off.
#[component]
pub fn NotifyToggle(notifier: Notifier) -> impl IntoView {
    let toggle = move |_| {
        if notifier.desktop.get_untracked() {
            notifier.desktop.set(false);
            return;
        }
        spawn_local(async move {
            if request_notifications().await {
                notifier.desktop.set(true);
            } else {
                notifier
                    .toast("Desktop notifications are blocked by the browser; finished jobs show here.".into(), None);
            }
        });
    };
    view! {
        <button
            type="button"
            class="ghost notify"
            data-testid="notify-toggle"
            aria-pressed=move || notifier.desktop.get().to_string()
            title="Desktop notifications when watched jobs finish"
            on:click=toggle
        >
            {move || if notifier.desktop.get() { "Notifications: on" } else { "Notifications: off" }}
        </button>
    }
}
