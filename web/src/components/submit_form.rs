//! The submit form, generated from `listApis`: pick an async command, fill its parameters
//! (pickers filled from the list commands), submit it once or N times.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{picker_source, ApiSpec, Choice};
use crate::components::param_field::ParamField;
use crate::components::times_field::TimesField;

/// What the form submits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitRequest {
    /// The async command.
    pub command: String,
    /// Its non-empty parameters.
    pub params: Vec<(String, String)>,
    /// How many times to submit it (load).
    pub count: usize,
}

/// Most submits one click may start.
pub const MAX_COUNT: usize = 10_000;

/// The form. `lists` holds the loaded list commands' choices (by list command); `on_need_list`
/// asks for one to be loaded (again); `busy` disables the button while submits are in flight.
#[component]
pub fn SubmitForm(
    apis: Signal<Vec<ApiSpec>>,
    lists: Signal<HashMap<String, Vec<Choice>>>,
    on_need_list: Callback<&'static str>,
    busy: Signal<bool>,
    on_submit: Callback<SubmitRequest>,
) -> impl IntoView {
    let command = RwSignal::new(String::new());
    let values = RwSignal::new(HashMap::<String, String>::new());
    let count = RwSignal::new(1_usize);
    let spec = Memo::new(move |_| {
        let name = command.get();
        apis.with(|apis| apis.iter().find(|a| a.name == name).cloned())
    });
    // Start on deployVirtualMachine (or the first command) once the list arrives.
    Effect::new(move |_| {
        apis.with(|apis| {
            if command.get_untracked().is_empty() {
                let first = apis.iter().find(|a| a.name == "deployVirtualMachine").or(apis.first());
                if let Some(api) = first {
                    command.set(api.name.clone());
                }
            }
        })
    });
    // A new command: fresh values, and (re)load the lists its pickers need.
    Effect::new(move |_| {
        let Some(api) = spec.get() else { return };
        values.set(HashMap::new());
        for param in &api.params {
            if let Some((list, _)) = picker_source(&api.name, &param.name) {
                on_need_list.run(list);
            }
        }
    });
    // Required pickers start on their first choice.
    Effect::new(move |_| {
        let Some(api) = spec.get() else { return };
        lists.with(|lists| {
            for param in api.params.iter().filter(|p| p.required) {
                let Some((list, _)) = picker_source(&api.name, &param.name) else { continue };
                let first = lists.get(list).and_then(|choices| choices.first()).map(|c| c.id.clone());
                if let Some(first) = first {
                    if values.with_untracked(|v| v.get(&param.name).is_none_or(String::is_empty)) {
                        values.update(|v| drop(v.insert(param.name.clone(), first)));
                    }
                }
            }
        })
    });
    let missing = move || {
        spec.with(|api| {
            api.as_ref().is_none_or(|api| {
                values.with(|v| {
                    api.params.iter().any(|p| p.required && v.get(&p.name).is_none_or(|s| s.trim().is_empty()))
                })
            })
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(api) = spec.get_untracked() else { return };
        let params = values.with_untracked(|v| {
            api.params
                .iter()
                .filter_map(|p| v.get(&p.name).map(|s| (p.name.clone(), s.trim().to_owned())))
                .filter(|(_, s)| !s.is_empty())
                .collect()
        });
        on_submit.run(SubmitRequest { command: api.name, params, count: count.get_untracked().clamp(1, MAX_COUNT) });
    };
    let fields = move || {
        spec.get().map(|api| {
            api.params
                .iter()
                .map(|param| {
                    let choices = picker_source(&api.name, &param.name).map(|(list, _)| {
                        Signal::derive(move || lists.with(|l| l.get(list).cloned().unwrap_or_default()))
                    });
                    view! { <ParamField param=param.clone() choices values /> }
                })
                .collect_view()
        })
    };
    view! {
        <form class="submit" on:submit=submit aria-label="Submit an async command" data-testid="submit-form">
            <label class="field">
                <span>"Command"</span>
                <select
                    data-testid="command"
                    prop:value=move || command.get()
                    on:change=move |ev| command.set(event_target_value(&ev))
                >
                    <For
                        each=move || apis.get()
                        key=|api| api.name.clone()
                        children=move |api| {
                            let name = api.name.clone();
                            view! {
                                <option value=api.name.clone() prop:selected=move || command.with(|c| *c == name)>
                                    {api.name.clone()}
                                </option>
                            }
                        }
                    />
                </select>
            </label>
            {fields}
            <TimesField count test_id="submit-count" label="How many times to submit" />
            <button type="submit" data-testid="submit" disabled=move || busy.get() || missing()>
                {move || match count.get() {
                    0 | 1 => "Submit".to_owned(),
                    n => format!("Submit {n}"),
                }}
            </button>
        </form>
    }
}
