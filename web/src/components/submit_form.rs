//! The deploy form: zone / offering / template pickers filled from the list commands.

use leptos::prelude::*;

use crate::api::Choice;

/// What the form submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRequest {
    /// `zoneid`.
    pub zone_id: String,
    /// `serviceofferingid`.
    pub offering_id: String,
    /// `templateid`.
    pub template_id: String,
    /// `name` (may be empty: the server picks one).
    pub name: String,
}

#[component]
fn Picker(
    label: &'static str,
    test_id: &'static str,
    choices: ReadSignal<Vec<Choice>>,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select
                data-testid=test_id
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                <For
                    each=move || choices.get()
                    key=|choice| choice.id.clone()
                    children=move |choice| {
                        view! { <option value=choice.id.clone()>{choice.label.clone()}</option> }
                    }
                />
            </select>
        </label>
    }
}

/// The form. `on_deploy` gets the request; `busy` disables the button while a submit is in flight.
#[component]
pub fn SubmitForm(
    zones: ReadSignal<Vec<Choice>>,
    offerings: ReadSignal<Vec<Choice>>,
    templates: ReadSignal<Vec<Choice>>,
    busy: ReadSignal<bool>,
    on_deploy: Callback<DeployRequest>,
) -> impl IntoView {
    let zone = RwSignal::new(String::new());
    let offering = RwSignal::new(String::new());
    let template = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    // Select the first entry of each list once it arrives.
    for (choices, value) in [(zones, zone), (offerings, offering), (templates, template)] {
        Effect::new(move |_| {
            if let Some(first) = choices.get().first() {
                if value.get_untracked().is_empty() {
                    value.set(first.id.clone());
                }
            }
        });
    }
    let ready = move || !zone.get().is_empty() && !offering.get().is_empty() && !template.get().is_empty();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_deploy.run(DeployRequest {
            zone_id: zone.get_untracked(),
            offering_id: offering.get_untracked(),
            template_id: template.get_untracked(),
            name: name.get_untracked().trim().to_owned(),
        });
    };
    view! {
        <form class="deploy" on:submit=submit aria-label="Deploy a virtual machine">
            <Picker label="Zone" test_id="zone" choices=zones value=zone />
            <Picker label="Offering" test_id="offering" choices=offerings value=offering />
            <Picker label="Template" test_id="template" choices=templates value=template />
            <label class="field">
                <span>"Name"</span>
                <input
                    type="text"
                    placeholder="optional"
                    maxlength="63"
                    data-testid="vm-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </label>
            <button type="submit" data-testid="deploy" disabled=move || busy.get() || !ready()>
                "Deploy VM"
            </button>
        </form>
    }
}
