//! Keystone's `JsonBlob` columns (`extra`, options): JSON text written as Python's
//! `json.dumps` writes it, read back leniently (a corrupt or non-object blob reads as empty).

use serde_json::{Map, Value};

/// The `extra` attributes a row stores; anything that is not a JSON object is none.
pub fn parse_extra(extra: Option<&str>) -> Map<String, Value> {
    match extra.and_then(|e| serde_json::from_str::<Value>(e).ok()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// JSON text as Keystone's `JsonBlob` writes it (`json.dumps`).
pub fn json_text(value: &Value) -> String {
    crate::json::to_ascii_string(value, crate::json::Style::Python)
}
