//! XML ⇄ JSON-value tree, so XML and JSON responses share one parser.
//!
//! CloudStack's XML mirrors its JSON: an element with child elements is an object, a leaf
//! element is its text, and an element name repeated among siblings is a list. Attributes are
//! dropped except on the root (`cloud-stack-version`), which callers read separately. Numbers
//! arrive as strings; the typed accessors in the protocol modules accept both forms.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::ProtocolError;

/// Deepest element nesting accepted; real responses stay under 10, hostile ones are refused.
pub const MAX_DEPTH: usize = 64;

/// A parsed XML document: the root element's name, its root attributes and its content.
#[derive(Debug, Clone, PartialEq)]
pub struct XmlDocument {
    /// Name of the root element, e.g. `queryasyncjobresultresponse`.
    pub root: String,
    /// Attributes of the root element, e.g. `cloud-stack-version`.
    pub attributes: Vec<(String, String)>,
    /// The root's content as a JSON value (object, or string for a leaf root).
    pub content: Value,
}

struct Frame {
    name: String,
    children: Map<String, Value>,
    has_children: bool,
    text: String,
}

impl Frame {
    fn new(name: String) -> Self {
        Frame { name, children: Map::new(), has_children: false, text: String::new() }
    }

    fn into_value(self) -> Value {
        if self.has_children {
            Value::Object(self.children)
        } else {
            Value::String(self.text)
        }
    }

    /// Adds a child; a name seen before turns into a list, in document order.
    fn push_child(&mut self, name: String, value: Value) {
        self.has_children = true;
        match self.children.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                self.children.insert(name, value);
            }
        }
    }
}

fn xml_error(err: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Xml(err.to_string())
}

/// Parses an XML document into an [`XmlDocument`].
///
/// # Errors
/// [`ProtocolError::Xml`] for malformed XML (including a missing or second root element),
/// [`ProtocolError::TooDeep`] past [`MAX_DEPTH`].
pub fn parse(body: &[u8]) -> Result<XmlDocument, ProtocolError> {
    let text = std::str::from_utf8(body).map_err(xml_error)?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut attributes = Vec::new();
    let mut done: Option<(String, Value)> = None;

    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match event {
            Event::Start(start) | Event::Empty(start) if done.is_some() => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                return Err(ProtocolError::Xml(format!("second root element <{name}>")));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ProtocolError::TooDeep(MAX_DEPTH));
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                if stack.is_empty() {
                    attributes = read_attributes(&start)?;
                }
                stack.push(Frame::new(name));
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.push_child(name, Value::String(String::new())),
                    None => {
                        attributes = read_attributes(&start)?;
                        done = Some((name, Value::String(String::new())));
                    }
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| xml_error("unbalanced end tag"))?;
                let name = frame.name.clone();
                let value = frame.into_value();
                match stack.last_mut() {
                    Some(parent) => parent.push_child(name, value),
                    None => done = Some((name, value)),
                }
            }
            Event::Text(text) => {
                if let Some(frame) = stack.last_mut() {
                    frame.text.push_str(&text.xml_content().map_err(xml_error)?);
                } else if !text.xml_content().map_err(xml_error)?.trim().is_empty() {
                    return Err(xml_error("text outside the root element"));
                }
            }
            Event::CData(data) => {
                let frame = stack.last_mut().ok_or_else(|| xml_error("CDATA outside the root element"))?;
                frame.text.push_str(&data.xml_content().map_err(xml_error)?);
            }
            Event::GeneralRef(reference) => {
                let frame = stack.last_mut().ok_or_else(|| xml_error("entity outside the root element"))?;
                if let Some(ch) = reference.resolve_char_ref().map_err(xml_error)? {
                    frame.text.push(ch);
                } else {
                    let name = reference.decode().map_err(xml_error)?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| ProtocolError::Xml(format!("unknown entity &{name};")))?;
                    frame.text.push_str(resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_error("document ends inside an element"));
    }
    let (root, content) = done.ok_or_else(|| xml_error("no root element"))?;
    Ok(XmlDocument { root, attributes, content })
}

fn read_attributes(start: &quick_xml::events::BytesStart<'_>) -> Result<Vec<(String, String)>, ProtocolError> {
    start
        .attributes()
        .map(|attr| {
            let attr = attr.map_err(xml_error)?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            let value = attr.unescape_value().map_err(xml_error)?.into_owned();
            Ok((key, value))
        })
        .collect()
}

/// Writes `content` as an XML document with root `root` and the given root attributes, the
/// inverse of [`parse`] (lists become repeated elements, `null` an empty element).
pub fn write(root: &str, attributes: &[(&str, &str)], content: &Value) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push('<');
    out.push_str(root);
    for (key, value) in attributes {
        out.push_str(&format!(" {key}=\"{}\"", quick_xml::escape::escape(*value)));
    }
    out.push('>');
    write_content(&mut out, content);
    out.push_str(&format!("</{root}>"));
    out
}

fn write_content(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child {
                    Value::Array(items) => items.iter().for_each(|item| write_element(out, key, item)),
                    other => write_element(out, key, other),
                }
            }
        }
        Value::String(text) => out.push_str(&quick_xml::escape::escape(text.as_str())),
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|item| write_content(out, item)),
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    write_content(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn leaf_nested_and_repeated_elements() {
        let doc = parse(
            br#"<?xml version="1.0"?><r cloud-stack-version="4.19.0.0"><a>1</a><o><x>y</x></o><n>1</n><n>2</n><e/></r>"#,
        )
        .unwrap();
        assert_eq!(doc.root, "r");
        assert_eq!(doc.attributes, vec![("cloud-stack-version".into(), "4.19.0.0".into())]);
        assert_eq!(doc.content, json!({"a": "1", "o": {"x": "y"}, "n": ["1", "2"], "e": ""}));
    }

    #[test]
    fn entities_and_cdata_are_decoded_without_losing_spaces() {
        let doc = parse(b"<r><t>a &amp; b &lt;c&gt; &#233;</t><c><![CDATA[<raw>]]></c></r>").unwrap();
        assert_eq!(doc.content, json!({"t": "a & b <c> é", "c": "<raw>"}));
    }

    #[test]
    fn malformed_documents_are_typed_errors() {
        for bad in [&b""[..], b"<a>", b"<a></b>", b"<a/><b/>", b"text", b"<a>&bogus;</a>", b"\xff\xfe"] {
            assert!(matches!(parse(bad), Err(ProtocolError::Xml(_))), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let body = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(body.as_bytes()), Err(ProtocolError::TooDeep(MAX_DEPTH)));
    }

    #[test]
    fn write_then_parse_round_trips() {
        let value = json!({"jobid": "j1", "jobresult": {"virtualmachine": {"nic": [{"id": "a"}, {"id": "b"}], "name": "x<&>"}}});
        let text = write("queryasyncjobresultresponse", &[("cloud-stack-version", "4.19.0.0")], &value);
        let doc = parse(text.as_bytes()).unwrap();
        assert_eq!(doc.root, "queryasyncjobresultresponse");
        assert_eq!(doc.content, value);
    }
}
