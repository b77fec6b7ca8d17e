//! A JSON value as a collapsible tree, with a button per node that copies its subtree as JSON.
//! Every key and value is a text node: markup in server strings shows as the characters it is
//! made of and never becomes elements.

use leptos::prelude::*;
use serde_json::Value;

use crate::browser::copy_text;

/// The button copying `value` (pretty JSON) to the clipboard.
fn copy_button(key: &str, value: &Value) -> impl IntoView {
    let json = serde_json::to_string_pretty(value).unwrap_or_default();
    let copied = RwSignal::new(false);
    view! {
        <button
            type="button"
            class="ghost copy-node"
            data-testid="copy-node"
            aria-label=format!("Copy {key} as JSON")
            title="Copy as JSON"
            on:click=move |ev| {
                // Inside <summary>: copy, do not fold.
                ev.prevent_default();
                ev.stop_propagation();
                copy_text(&json);
                copied.set(true);
            }
        >
            {move || if copied.get() { "copied" } else { "copy" }}
        </button>
    }
}

fn scalar(value: &Value) -> (String, &'static str) {
    match value {
        Value::String(s) => (s.clone(), "string"),
        Value::Number(n) => (n.to_string(), "number"),
        Value::Bool(b) => (b.to_string(), "bool"),
        Value::Null => ("null".into(), "null"),
        Value::Array(_) | Value::Object(_) => (String::new(), ""),
    }
}

fn node(key: Option<String>, value: &Value, depth: usize) -> AnyView {
    let children: Option<(Vec<(String, Value)>, String)> = match value {
        Value::Object(map) => {
            Some((map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(), format!("{{{}}}", map.len())))
        }
        Value::Array(items) => Some((
            items.iter().enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect(),
            format!("[{}]", items.len()),
        )),
        _ => None,
    };
    match children {
        Some((entries, size)) => {
            let key = key.unwrap_or_else(|| "result".into());
            let copy = copy_button(&key, value);
            view! {
            <details class="tree-node" open=depth < 3>
                <summary>
                    <span class="tree-key">{key}</span>
                    " "
                    <span class="tree-size">{size}</span>
                    " "
                    {copy}
                </summary>
                <ul>
                    {entries
                        .into_iter()
                        .map(|(k, v)| view! { <li>{node(Some(k), &v, depth + 1)}</li> })
                        .collect_view()}
                </ul>
            </details>
            }
            .into_any()
        }
        None => {
            let (text, kind) = scalar(value);
            let copy = copy_button(key.as_deref().unwrap_or("result"), value);
            view! {
                <span class="tree-leaf">
                    {key.map(|k| view! { <span class="tree-key">{k}": "</span> })}
                    <span class=format!("tree-value {kind}") data-testid="tree-value">{text}</span>
                    " "
                    {copy}
                </span>
            }
            .into_any()
        }
    }
}

/// `value` as a tree, the first levels open.
#[component]
pub fn ResultTree(value: Value) -> impl IntoView {
    view! {
        <div class="tree" data-testid="result-tree" aria-label="Result">
            {node(None, &value, 0)}
        </div>
    }
}
