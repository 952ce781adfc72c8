//! Keystone's `policy` member schemas for `/v3/policies` (keystone/policy/schema.py), as
//! data in Keystone's key order, run as Keystone runs them — after the policy check,
//! through the older `lazy_validate`, whose error text is jsonschema's whole `str(error)`.

use crate::error::Result;
use crate::python::jsonschema;
use serde_json::{Value, json};
use std::sync::LazyLock;

/// `_policy_properties`.
fn policy_properties() -> Value {
    json!({
        "blob": {"type": "string"},
        "type": {"type": "string", "maxLength": 255}
    })
}

/// `policy_create`.
pub static POLICY_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": policy_properties(),
        "required": ["blob", "type"],
        "additionalProperties": true
    })
});

/// `policy_update`.
pub static POLICY_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": policy_properties(),
        "minProperties": 1,
        "additionalProperties": true
    })
});

/// `policy_create` (`create`) or `policy_update` against the request's `policy` member.
pub fn check(instance: &Value, create: bool) -> Result<()> {
    let schema: &Value = if create {
        &POLICY_CREATE
    } else {
        &POLICY_UPDATE
    };
    jsonschema::lazy_validate(schema, instance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(v: Value, create: bool) -> String {
        check(&v, create).unwrap_err().message
    }

    #[test]
    fn texts_are_jsonschemas() {
        assert_eq!(
            message(json!({"type": "x"}), true),
            "'blob' is a required property\n\nFailed validating 'required' in schema:\n    \
             {'type': 'object',\n     'properties': {'blob': {'type': 'string'},\n                    \
             'type': {'type': 'string', 'maxLength': 255}},\n     'required': ['blob', 'type'],\n     \
             'additionalProperties': True}\n\nOn instance:\n    {'type': 'x'}"
        );
        assert_eq!(
            message(json!({"blob": 1, "type": "x"}), true),
            "Invalid input for field 'blob': 1 is not of type 'string'\n\nFailed validating 'type' in \
             schema['properties']['blob']:\n    {'type': 'string'}\n\nOn instance['blob']:\n    1"
        );
        assert!(
            message(json!({}), false).starts_with(
                "{} should be non-empty\n\nFailed validating 'minProperties' in schema:"
            )
        );
        assert!(
            message(json!({"type": "t".repeat(256)}), false)
                .starts_with("Invalid input for field 'type': 'tttt")
        );
        assert!(
            check(
                &json!({"blob": "{}", "type": "application/json", "x": 1}),
                true
            )
            .is_ok()
        );
        assert!(check(&json!({"x": 1}), false).is_ok());
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [&*POLICY_CREATE, &*POLICY_UPDATE] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }
}
