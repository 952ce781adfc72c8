//! Keystone's JSON schemas for credential requests (keystone/credential/schema.py) as data
//! in its key order, checked by [`crate::python::jsonschema`] (jsonschema's first error in
//! Keystone's words: `Invalid input for field/attribute <field>. Value: <str(instance)>.
//! <message>`, or the bare message for the whole body).

use crate::error::Result;
use crate::python::jsonschema;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// `_credential_properties`.
fn credential_properties() -> Map<String, Value> {
    let Value::Object(map) = json!({
        "blob": {"type": "string"},
        "project_id": {"type": ["string", "null"]},
        "type": {"type": "string"},
        "user_id": {"type": "string"}
    }) else {
        unreachable!()
    };
    map
}

/// `index_request_query`.
pub static INDEX_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "user_id": {"type": "string"},
            "type": {"type": "string"}
        },
        "additionalProperties": true
    })
});

/// `create_request_body`: `blob`, `type`, `user_id` required; `project_id` too when the
/// type is exactly `ec2` (`if`/`then`).
pub static CREATE_BODY: LazyLock<Value> = LazyLock::new(|| {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "string"}));
    properties.extend(credential_properties());
    json!({
        "type": "object",
        "properties": {
            "credential": {
                "type": "object",
                "properties": properties,
                "additionalProperties": true,
                "required": ["blob", "type", "user_id"],
                "if": {"properties": {"type": {"const": "ec2"}}},
                "then": {
                    "title": "ec2 credential requires project_id",
                    "required": ["blob", "type", "user_id", "project_id"]
                }
            }
        },
        "required": ["credential"]
    })
});

/// The update body the branch's tests (and `openstack credential set`, which sends `type`,
/// `user_id` and `blob`) expect: every credential property, at least one of them. Keystone
/// 30's `update_request_body` allows `blob` alone (`additionalProperties: false`,
/// `required: ["blob"]`); see DEVIATIONS.
pub static UPDATE_BODY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "credential": {
                "type": "object",
                "properties": credential_properties(),
                "minProperties": 1
            }
        },
        "required": ["credential"]
    })
});

fn member(body: &Value) -> Map<String, Value> {
    body.get("credential")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `POST /v3/credentials`.
pub fn check_create(body: &Value) -> Result<Map<String, Value>> {
    jsonschema::validate(&CREATE_BODY, body)?;
    Ok(member(body))
}

/// `PATCH /v3/credentials/{id}`.
pub fn check_update(body: &Value) -> Result<Map<String, Value>> {
    jsonschema::validate(&UPDATE_BODY, body)?;
    Ok(member(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_errors_read_as_keystone_writes_them() {
        let e = check_create(&json!({})).unwrap_err();
        assert_eq!(e.message, "'credential' is a required property");
        let e = check_create(&json!({"credential": {"blob": 1, "type": "x", "user_id": "u"}}))
            .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid input for field/attribute blob. Value: 1. 1 is not of type 'string'"
        );
        let e = check_create(&json!({"credential": {"blob": "b", "type": "ec2", "user_id": "u"}}))
            .unwrap_err();
        assert!(
            e.message.ends_with("'project_id' is a required property"),
            "{}",
            e.message
        );
        assert!(
            check_create(&json!({"credential": {"blob": "b", "type": "EC2", "user_id": "u"}}))
                .is_ok()
        );
        let e = check_update(&json!({"credential": {}})).unwrap_err();
        assert!(
            e.message.ends_with("{} should be non-empty"),
            "{}",
            e.message
        );
        assert_eq!(e.status.as_u16(), 400);
        let e = check_create(&json!([])).unwrap_err();
        assert_eq!(e.message, "[] is not of type 'object'");
    }

    #[test]
    fn schemas_use_only_modelled_keywords() {
        for schema in [&*INDEX_QUERY, &*CREATE_BODY, &*UPDATE_BODY] {
            assert_eq!(jsonschema::unsupported(schema), Vec::<String>::new());
        }
    }
}
