//! One parameter of a command: a picker when a list command can fill it, a checkbox for
//! booleans, else a text field. Required parameters are marked.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{Choice, ParamSpec};

/// The input for `param`; `choices` is `Some` when a list command fills it.
#[component]
pub fn ParamField(
    param: ParamSpec,
    choices: Option<Signal<Vec<Choice>>>,
    values: RwSignal<HashMap<String, String>>,
) -> impl IntoView {
    let name = param.name.clone();
    let value = {
        let name = name.clone();
        move || values.with(|v| v.get(&name).cloned().unwrap_or_default())
    };
    let set = {
        let name = name.clone();
        move |new: String| values.update(|v| drop(v.insert(name.clone(), new)))
    };
    let test_id = format!("param-{name}");
    let label = view! {
        <span>
            {name.clone()}
            {param.required.then(|| view! { <abbr class="required" title="required" aria-hidden="true">" *"</abbr> })}
        </span>
    };
    let help = (!param.description.is_empty()).then(|| param.description.clone());
    let input = match choices {
        Some(choices) => {
            let required = param.required;
            let current = value.clone();
            let value = value.clone();
            view! {
                <select
                    data-testid=test_id
                    required=required
                    aria-required=required.to_string()
                    prop:value=current
                    on:change=move |ev| set(event_target_value(&ev))
                >
                    {(!required).then(|| view! { <option value="">"—"</option> })}
                    <For
                        each=move || choices.get()
                        key=|choice| choice.id.clone()
                        children=move |choice| {
                            let id = choice.id.clone();
                            let value = value.clone();
                            view! {
                                <option value=choice.id.clone() prop:selected=move || value() == id>
                                    {choice.label.clone()}
                                </option>
                            }
                        }
                    />
                </select>
            }
            .into_any()
        }
        None if param.kind.eq_ignore_ascii_case("boolean") => view! {
            <input
                type="checkbox"
                data-testid=test_id
                prop:checked=move || value() == "true"
                on:change=move |ev| set(if event_target_checked(&ev) { "true".into() } else { String::new() })
            />
        }
        .into_any(),
        None => {
            let kind = if matches!(param.kind.as_str(), "long" | "integer" | "short") { "number" } else { "text" };
            view! {
                <input
                    type=kind
                    data-testid=test_id
                    required=param.required
                    aria-required=param.required.to_string()
                    placeholder=if param.required { "required" } else { "optional" }
                    prop:value=value
                    on:input=move |ev| set(event_target_value(&ev))
                />
            }
            .into_any()
        }
    };
    view! {
        <label class="field" title=help>
            {label}
            {input}
        </label>
    }
}
