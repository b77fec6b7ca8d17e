//! A JSON value as a collapsible tree. Every key and value is a text node: markup in server
//! strings shows as the characters it is made of and never becomes elements.

use leptos::prelude::*;
use serde_json::Value;

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
        Some((entries, size)) => view! {
            <details class="tree-node" open=depth < 3>
                <summary>
                    <span class="tree-key">{key.unwrap_or_else(|| "result".into())}</span>
                    " "
                    <span class="tree-size">{size}</span>
                </summary>
                <ul>
                    {entries
                        .into_iter()
                        .map(|(k, v)| view! { <li>{node(Some(k), &v, depth + 1)}</li> })
                        .collect_view()}
                </ul>
            </details>
        }
        .into_any(),
        None => {
            let (text, kind) = scalar(value);
            view! {
                <span class="tree-leaf">
                    {key.map(|k| view! { <span class="tree-key">{k}": "</span> })}
                    <span class=format!("tree-value {kind}") data-testid="tree-value">{text}</span>
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
