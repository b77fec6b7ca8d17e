//! Typed reads of loosely typed CLM JSON fields.
//!
//! CLM is a Java server whose beans went through several JSON serialisers across versions, so
//! numbers sometimes arrive as strings and booleans as `"true"`. These readers accept those forms
//! and answer a typed [`ProtocolError`] for anything else, never a panic.

use serde_json::{Map, Value};

use crate::protocol::{excerpt, ProtocolError};

fn invalid(field: &'static str, value: &Value) -> ProtocolError {
    ProtocolError::InvalidField { field, value: excerpt(value) }
}

/// What a read found, or `None` with its error kept in `first` (the first one kept stays): for
/// objects read field by field and checked once at the end.
pub(crate) fn kept<T>(first: &mut Option<ProtocolError>, read: Result<Option<T>, ProtocolError>) -> Option<T> {
    read.unwrap_or_else(|error| {
        first.get_or_insert(error);
        None
    })
}

/// A string field; numbers are accepted and written in decimal (ids of some beans are numeric).
pub(crate) fn string(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ProtocolError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(crate::protocol::json::number_text(number))),
        Some(other) => Err(invalid(field, other)),
    }
}

/// A boolean field, as a JSON boolean or the strings `true`/`false` in any case.
pub(crate) fn boolean(map: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ProtocolError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(value @ Value::String(text)) => match text.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
            t if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
            _ => Err(invalid(field, value)),
        },
        Some(other) => Err(invalid(field, other)),
    }
}

/// A finite floating-point field, as a JSON number or a numeric string (`"100.0"`).
///
/// `NaN` and infinities are refused: Rust's `f64` parser accepts `"nan"` and `"inf"`, which no
/// server means as a progress value.
pub(crate) fn float(map: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, ProtocolError> {
    let (value, number) = match map.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(value @ Value::Number(number)) => (value, number.as_f64()),
        Some(value @ Value::String(text)) => (value, decimal(text.trim())),
        Some(other) => return Err(invalid(field, other)),
    };
    match number {
        Some(number) if number.is_finite() => Ok(Some(number)),
        _ => Err(invalid(field, value)),
    }
}

/// A decimal number in Rust's `f64` syntax (`+5`, `.5`, `5.`, `007`, `1e3`; `inf` and `nan`
/// are `None`, which the caller refuses anyway), read by serde_json's number parser once
/// rewritten in JSON's syntax. The same value as `str::parse::<f64>` for any number of at most
/// 15 significant digits, without pulling the standard library's float parser (and its tables)
/// into the WebAssembly build.
fn decimal(text: &str) -> Option<f64> {
    let (sign, unsigned) = match text.as_bytes().first()? {
        b'-' => ("-", &text[1..]),
        b'+' => ("", &text[1..]),
        _ => ("", text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => unsigned.split_at(at),
        None => (unsigned, ""),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_none_or(str::is_empty)) || !digits(whole) || !fraction.is_none_or(digits) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let fraction = fraction.filter(|f| !f.is_empty()).map_or(String::new(), |f| format!(".{f}"));
    // Read as JSON, not with `str::parse::<f64>`: the JSON reader (the host's, in wasm) is
    // there anyway, Rust's float parser would add to the download.
    crate::protocol::json::parse(format!("{sign}{whole}{fraction}{exponent}").as_bytes()).ok()?.as_f64()
}

/// A whole-number field, as a JSON integer or an integer string.
pub(crate) fn integer(map: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, ProtocolError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Number(number)) => number.as_i64().map(Some).ok_or_else(|| invalid(field, value)),
        Some(value @ Value::String(text)) => text.trim().parse().map(Some).map_err(|_| invalid(field, value)),
        Some(other) => Err(invalid(field, other)),
    }
}

/// An array field; absent or `null` is an empty list.
pub(crate) fn array(map: &Map<String, Value>, field: &'static str) -> Result<Vec<Value>, ProtocolError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(other) => Err(invalid(field, other)),
    }
}

/// An integer read leniently from a value of unknown shape (error codes): a JSON integer or a
/// string holding only an integer; `None` otherwise, as codes are optional diagnostics.
pub(crate) fn loose_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn lenient_forms_are_read() {
        let m = map(json!({"s": 5, "b": "TRUE", "f": "100.0", "i": " 42 ", "a": null}));
        assert_eq!(string(&m, "s"), Ok(Some("5".into())));
        assert_eq!(boolean(&m, "b"), Ok(Some(true)));
        assert_eq!(float(&m, "f"), Ok(Some(100.0)));
        assert_eq!(integer(&m, "i"), Ok(Some(42)));
        assert_eq!(array(&m, "a"), Ok(vec![]));
        assert_eq!(string(&m, "missing"), Ok(None));
    }

    #[test]
    fn wrong_types_are_typed_errors() {
        let m = map(json!({"s": [], "b": "yes", "f": "NaN", "g": "inf", "h": {}, "i": 1.5, "a": "x"}));
        assert!(matches!(string(&m, "s"), Err(ProtocolError::InvalidField { field: "s", .. })));
        assert!(matches!(boolean(&m, "b"), Err(ProtocolError::InvalidField { field: "b", .. })));
        assert!(matches!(float(&m, "f"), Err(ProtocolError::InvalidField { field: "f", .. })));
        assert!(matches!(float(&m, "g"), Err(ProtocolError::InvalidField { field: "g", .. })));
        assert!(matches!(float(&m, "h"), Err(ProtocolError::InvalidField { field: "h", .. })));
        assert!(matches!(integer(&m, "i"), Err(ProtocolError::InvalidField { field: "i", .. })));
        assert!(matches!(array(&m, "a"), Err(ProtocolError::InvalidField { field: "a", .. })));
    }

    #[test]
    fn decimals_read_as_rust_reads_them() {
        let numbers = "100.0 0 -0.0 +5 .5 -.25 5. 007 007.50 1e3 1E+3 2.5e-3 33.33 99.99999 12345678901234.5 1e-400";
        for text in numbers.split(' ') {
            assert_eq!(decimal(text), text.parse::<f64>().ok(), "{text}");
        }
        for text in ["", "+", "-", ".", "e5", "1e", "1.2.3", "0x10", "1_0", " 1", "--1", "+-1", "inf", "NaN", "1e400"] {
            assert!(decimal(text).is_none_or(|v| !v.is_finite()), "{text}");
        }
    }

    #[test]
    fn loose_integers() {
        assert_eq!(loose_integer(&json!(7)), Some(7));
        assert_eq!(loose_integer(&json!("12")), Some(12));
        assert_eq!(loose_integer(&json!("CSM-12")), None);
        assert_eq!(loose_integer(&json!(true)), None);
    }
}
