//! Typed views of the objects jobs return most often (virtual machine, volume, snapshot). The
//! result itself always stays whole in [`crate::JobSnapshot::result`]; these are conveniences.
//!
//! Readers are lenient where the wire is: XML has no types (numbers and booleans arrive as
//! strings), old servers send integer ids, and XML shows a one-element list (`nic`) as a
//! single object.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use crate::protocol::{excerpt, ProtocolError};

/// The single object name and object of a success `jobresult` (`{"virtualmachine": {…}}`).
/// `None` for `{"success": true}` results and for non-object results.
pub fn result_object(result: &Value) -> Option<(&str, &Value)> {
    let map = result.as_object()?;
    let mut objects = map.iter().filter(|(_, value)| value.is_object());
    let (name, value) = objects.next()?;
    objects.next().is_none().then_some((name.as_str(), value))
}

/// Reads the `object_name` object of a job result as `T`; `Ok(None)` when the result holds
/// another object.
///
/// # Errors
/// [`ProtocolError::InvalidField`] when the object is there but does not fit `T`.
pub fn typed_result<T: DeserializeOwned>(
    result: &Value,
    object_name: &'static str,
) -> Result<Option<T>, ProtocolError> {
    match result.get(object_name) {
        None => Ok(None),
        Some(object) => serde_json::from_value(object.clone()).map(Some).map_err(|e| ProtocolError::InvalidField {
            field: object_name,
            value: format!("{e}: {}", excerpt(object)),
        }),
    }
}

/// A network interface of a virtual machine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Nic {
    /// NIC id.
    #[serde(deserialize_with = "text")]
    pub id: String,
    /// IPv4 address.
    #[serde(default, deserialize_with = "opt_text")]
    pub ipaddress: Option<String>,
    /// Network id.
    #[serde(default, deserialize_with = "opt_text")]
    pub networkid: Option<String>,
    /// `Guest`, `Public`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub traffictype: Option<String>,
    /// Whether this is the default NIC.
    #[serde(default, deserialize_with = "opt_bool")]
    pub isdefault: Option<bool>,
}

/// A virtual machine (`virtualmachine`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VirtualMachine {
    /// VM id.
    #[serde(deserialize_with = "text")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    /// Display name.
    #[serde(default, deserialize_with = "opt_text")]
    pub displayname: Option<String>,
    /// `Running`, `Stopped`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub state: Option<String>,
    /// Zone id.
    #[serde(default, deserialize_with = "opt_text")]
    pub zoneid: Option<String>,
    /// Template id.
    #[serde(default, deserialize_with = "opt_text")]
    pub templateid: Option<String>,
    /// Service offering id.
    #[serde(default, deserialize_with = "opt_text")]
    pub serviceofferingid: Option<String>,
    /// Number of CPUs.
    #[serde(default, deserialize_with = "opt_int")]
    pub cpunumber: Option<i64>,
    /// Memory in MB.
    #[serde(default, deserialize_with = "opt_int")]
    pub memory: Option<i64>,
    /// Network interfaces.
    #[serde(default, deserialize_with = "one_or_many")]
    pub nic: Vec<Nic>,
    /// Creation date as sent.
    #[serde(default, deserialize_with = "opt_text")]
    pub created: Option<String>,
}

/// A volume (`volume`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Volume {
    /// Volume id.
    #[serde(deserialize_with = "text")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    /// `Allocated`, `Ready`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub state: Option<String>,
    /// `ROOT` or `DATADISK`.
    #[serde(default, deserialize_with = "opt_text")]
    pub r#type: Option<String>,
    /// Size in bytes.
    #[serde(default, deserialize_with = "opt_int")]
    pub size: Option<i64>,
    /// The VM it is attached to.
    #[serde(default, deserialize_with = "opt_text")]
    pub virtualmachineid: Option<String>,
    /// Zone id.
    #[serde(default, deserialize_with = "opt_text")]
    pub zoneid: Option<String>,
}

/// A volume snapshot (`snapshot`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Snapshot {
    /// Snapshot id.
    #[serde(deserialize_with = "text")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    /// `BackedUp`, `Creating`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub state: Option<String>,
    /// The volume it was taken of.
    #[serde(default, deserialize_with = "opt_text")]
    pub volumeid: Option<String>,
    /// `MANUAL`, `HOURLY`, …
    #[serde(default, deserialize_with = "opt_text")]
    pub intervaltype: Option<String>,
}

fn scalar_text(value: Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(crate::protocol::json::number_text(&n))),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("expected text, got {}", excerpt(&other))),
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d)?.ok_or_else(|| serde::de::Error::custom("expected text, got null"))
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar_text(Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom("integer out of range")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
        Value::Null => Ok(None),
        other => Err(serde::de::Error::custom(format!("expected an integer, got {}", excerpt(&other)))),
    }
}

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::Null => Ok(None),
        other => Err(serde::de::Error::custom(format!("expected a boolean, got {}", excerpt(&other)))),
    }
}

fn one_or_many<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(d)? {
        Value::Array(items) => {
            items.into_iter().map(|item| serde_json::from_value(item).map_err(serde::de::Error::custom)).collect()
        }
        Value::Null => Ok(Vec::new()),
        single => serde_json::from_value(single).map(|item| vec![item]).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    // In wasm the same tests run in headless Chromium (`./dev test`).
    use super::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn vm_from_json_and_from_xml_shaped_values_agree() {
        let json_vm = json!({"virtualmachine": {"id": 450, "name": "i-2", "cpunumber": 1, "memory": 512,
            "nic": [{"id": 561, "ipaddress": "10.1.1.225", "isdefault": true}], "extra": {"kept": "raw"}}});
        let xml_vm = json!({"virtualmachine": {"id": "450", "name": "i-2", "cpunumber": "1", "memory": "512",
            "nic": {"id": "561", "ipaddress": "10.1.1.225", "isdefault": "true"}}});
        let a: VirtualMachine = typed_result(&json_vm, "virtualmachine").unwrap().unwrap();
        let b: VirtualMachine = typed_result(&xml_vm, "virtualmachine").unwrap().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.nic[0].isdefault, Some(true));
        assert_eq!(result_object(&json_vm).map(|(name, _)| name), Some("virtualmachine"));
    }

    #[test]
    fn other_objects_and_bad_shapes() {
        let result = json!({"volume": {"id": "v", "size": "1073741824", "type": "DATADISK"}});
        assert_eq!(typed_result::<VirtualMachine>(&result, "virtualmachine").unwrap(), None);
        let volume: Volume = typed_result(&result, "volume").unwrap().unwrap();
        assert_eq!((volume.size, volume.r#type.as_deref()), (Some(1_073_741_824), Some("DATADISK")));
        assert_eq!(result_object(&json!({"success": true})), None);
        let bad = json!({"virtualmachine": {"id": {"nested": 1}}});
        assert!(matches!(
            typed_result::<VirtualMachine>(&bad, "virtualmachine"),
            Err(ProtocolError::InvalidField { .. })
        ));
        let bad = json!({"snapshot": {"id": "s", "intervaltype": ["x"]}});
        assert!(typed_result::<Snapshot>(&bad, "snapshot").is_err());
    }
}
