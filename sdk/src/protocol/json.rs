//! JSON text to and from [`Value`]. Natively this is serde_json's parser and writer. In wasm it
//! is the host's `JSON.parse`, which every browser, Worker and Node already has, and a small
//! writer here: serde_json's text parser, its number reading and its float writer then stay out
//! of the download (~8 KB gzipped of the npm package). Either way the rest of the SDK sees the same
//! `Value`s and the same errors (`Err` with a message, for [`ProtocolError::Json`]).
//!
//! One difference is inherent to the host: JavaScript reads every number as a double, so an
//! integer beyond ±2^53 loses its last digits in wasm (natively it is kept exactly). Nothing the
//! SDK reads (job states, progress, result and error codes) comes near that.
//!
//! [`ProtocolError::Json`]: super::ProtocolError::Json

use serde_json::Value;

/// How many levels arrays and objects may nest: serde_json's own limit, kept in wasm too so a
/// hostile body is refused the same way everywhere (and the walk cannot exhaust the stack).
pub const MAX_DEPTH: usize = 127;

/// Parses JSON text into a [`Value`].
///
/// # Errors
/// A message saying what is wrong: not JSON, not UTF-8, nesting deeper than [`MAX_DEPTH`], or
/// (in wasm) a number out of the double range.
pub fn parse(text: &[u8]) -> Result<Value, String> {
    imp::parse(text)
}

/// The compact JSON text of `value`.
pub fn to_text(value: &Value) -> String {
    imp::to_text(value)
}

/// The text of a JSON number, as it would appear in JSON (integers exactly, others in the
/// shortest form that reads back the same).
pub fn number_text(number: &serde_json::Number) -> String {
    if let Some(n) = number.as_i64() {
        return n.to_string();
    }
    if let Some(n) = number.as_u64() {
        return n.to_string();
    }
    imp::float_text(number.as_f64().unwrap_or(f64::NAN))
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use serde_json::Value;

    pub fn parse(text: &[u8]) -> Result<Value, String> {
        serde_json::from_slice(text).map_err(|e| e.to_string())
    }

    pub fn to_text(value: &Value) -> String {
        value.to_string()
    }

    pub fn float_text(number: f64) -> String {
        serde_json::Number::from_f64(number).map_or_else(|| "null".into(), |n| n.to_string())
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use js_sys::{Array, Object, Reflect, JSON};
    use serde_json::{Map, Number, Value};
    use wasm_bindgen::{JsCast, JsValue};

    use super::MAX_DEPTH;

    pub fn parse(text: &[u8]) -> Result<Value, String> {
        let text = std::str::from_utf8(text).map_err(|_| "invalid UTF-8 in the JSON text".to_owned())?;
        let parsed = JSON::parse(text).map_err(|error| {
            let message = error.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message()));
            message.unwrap_or_else(|| "invalid JSON".into())
        })?;
        from_js(&parsed, 0)
    }

    /// The `Value` of what `JSON.parse` made: only null, booleans, numbers, strings, arrays and
    /// plain objects can occur.
    fn from_js(value: &JsValue, depth: usize) -> Result<Value, String> {
        if let Some(text) = value.as_string() {
            return Ok(Value::String(text));
        }
        if let Some(flag) = value.as_bool() {
            return Ok(Value::Bool(flag));
        }
        if let Some(number) = value.as_f64() {
            return number_from_f64(number).map(Value::Number);
        }
        if value.is_null() || value.is_undefined() {
            return Ok(Value::Null);
        }
        if depth >= MAX_DEPTH {
            return Err(format!("JSON nests deeper than {MAX_DEPTH} levels"));
        }
        if let Some(items) = value.dyn_ref::<Array>() {
            return items.iter().map(|item| from_js(&item, depth + 1)).collect::<Result<_, _>>().map(Value::Array);
        }
        let object: &Object = value.unchecked_ref();
        let mut map = Map::new();
        for key in Object::keys(object).iter() {
            let item = Reflect::get(object, &key).unwrap_or(JsValue::NULL);
            map.insert(key.as_string().unwrap_or_default(), from_js(&item, depth + 1)?);
        }
        Ok(Value::Object(map))
    }

    /// Whole numbers within the exact range of a double as integers (as serde_json reads `3`),
    /// others as floats; 1e400 (`Infinity` in JavaScript) is refused, as serde_json refuses it.
    fn number_from_f64(number: f64) -> Result<Number, String> {
        const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
        if number.fract() == 0.0 && number.abs() <= MAX_EXACT {
            return Ok(Number::from(number as i64));
        }
        Number::from_f64(number).ok_or_else(|| "JSON number out of range".to_owned())
    }

    /// Compact JSON text, as `JSON.stringify` writes it. Written here, not by serde_json (whose
    /// float writer would add to the download; floats, rare in answers, are written by the host)
    /// nor by `JSON.stringify` (which needs the value as JS objects first).
    pub fn to_text(value: &Value) -> String {
        let mut out = String::new();
        write(value, &mut out);
        out
    }

    /// Appends `value` to `out` as compact JSON text.
    pub fn write(value: &Value, out: &mut String) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
            Value::Number(number) => out.push_str(&super::number_text(number)),
            Value::String(text) => write_str(text, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(key, out);
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
        }
    }

    /// Appends `text` to `out` as a JSON string.
    pub fn write_str(text: &str, out: &mut String) {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c < ' ' => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(char::from(HEX[(c as usize) >> 4]));
                    out.push(char::from(HEX[(c as usize) & 15]));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    /// `value` as a plain JavaScript value (objects, arrays, numbers, strings, booleans, null):
    /// its text read by the host's `JSON.parse`, one boundary crossing instead of one per field
    /// (a page of 500 statuses: 23 → 4 ms).
    pub fn to_js(value: &Value) -> JsValue {
        from_text(&to_text(value))
    }

    /// What the host's `JSON.parse` makes of `text` (JSON this module wrote: it cannot fail).
    pub fn from_text(text: &str) -> JsValue {
        JSON::parse(text).unwrap_or(JsValue::NULL)
    }

    /// `number` as JavaScript writes it (`String(n)`).
    pub fn float_text(number: f64) -> String {
        js_sys::Number::from(number).to_string_with_radix(10).map(String::from).unwrap_or_default()
    }
}

#[cfg(target_arch = "wasm32")]
pub use imp::{float_text, from_text, to_js, write, write_str};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn text_reads_back_as_the_same_value() {
        let value = json!({
            "a": [1, -2, 1.5, true, null, "é\"\n<", "\u{1}\u{8}\u{c}\u{1f}\t\r\\/\u{2028}😀"],
            "b": {"c": {}, "": []},
            "big": 9_007_199_254_740_992u64
        });
        assert_eq!(parse(to_text(&value).as_bytes()), Ok(value));
        assert_eq!(parse(b" [-0.25, 3] "), Ok(json!([-0.25, 3])));
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        for bad in [&b""[..], b"{", b"[1,]", b"nul", b"\"\xff\"", b"1e400", deep.as_bytes()] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn numbers_are_written_as_json_shows_them() {
        let texts: Vec<String> = [json!(42), json!(-7), json!(u64::MAX), json!(0.5)]
            .iter()
            .map(|v| number_text(v.as_number().expect("a number")))
            .collect();
        assert_eq!(texts, ["42", "-7", "18446744073709551615", "0.5"]);
    }
}
