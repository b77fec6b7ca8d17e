//! The fixed catalogue (zones, offerings) and `listApis`.

use serde_json::{json, Map, Value};

use super::{matches_keyword, paged, APIS};
use crate::cloudstack::{ApiFailure, Params};
use crate::seed;

/// `listZones`, `listServiceOfferings`, `listDiskOfferings`.
pub fn list(command: &str, params: &Params) -> Result<Map<String, Value>, ApiFailure> {
    let (object_name, items): (&str, Vec<Value>) = match command {
        "listZones" => ("zone", seed::ZONES.iter().map(seed::item_json).collect()),
        "listServiceOfferings" => ("serviceoffering", seed::service_offerings_json()),
        _ => ("diskoffering", seed::disk_offerings_json()),
    };
    let items = items
        .into_iter()
        .filter(|item| params.get("id").is_none_or(|id| item.get("id").and_then(Value::as_str) == Some(id)))
        .filter(|item| matches_keyword(item, params))
        .collect();
    paged(object_name, items, params)
}

/// `listApis`: every command with `isasync` and its parameters, as clients discover them.
pub fn list_apis(params: &Params) -> Map<String, Value> {
    let apis: Vec<Value> = APIS
        .iter()
        .filter(|api| params.get("name").is_none_or(|name| name == api.name))
        .map(|api| {
            let params: Vec<Value> = api
                .params
                .iter()
                .map(|p| json!({"name": p.name, "required": p.required, "type": p.kind, "description": p.description}))
                .collect();
            json!({"name": api.name, "isasync": api.is_async, "description": api.description,
                   "params": params, "response": [], "related": "", "since": "4.0.0", "type": api.response_object})
        })
        .collect();
    crate::cloudstack::render::object(json!({"count": apis.len(), "api": apis}))
}
