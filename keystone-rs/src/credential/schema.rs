//! Keystone's JSON schemas for credential requests (keystone/credential/schema.py), with
//! jsonschema's first error in Keystone's words: `Invalid input for field/attribute
//! <field>. Value: <str(instance)>. <message>`, or the bare message for the whole body.

use crate::error::{Error, Result};
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value};

/// Properties in the order the schema dict lists them, and whether each may be null.
const CREATE_PROPS: &[(&str, bool)] = &[
    ("id", false),
    ("blob", false),
    ("project_id", true),
    ("type", false),
    ("user_id", false),
];
const UPDATE_PROPS: &[(&str, bool)] = &[
    ("blob", false),
    ("project_id", true),
    ("type", false),
    ("user_id", false),
];

fn invalid(field: &str, instance: &Value, message: String) -> Error {
    Error::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {message}",
        py_str(instance)
    ))
}

fn required(name: &str) -> String {
    format!("{} is a required property", string_repr(name, false))
}

fn member<'a>(body: &'a Value, props: &[(&str, bool)]) -> Result<&'a Map<String, Value>> {
    let Some(outer) = body.as_object() else {
        return Err(Error::bad_request(format!(
            "{} is not of type 'object'",
            py_repr(body)
        )));
    };
    let Some(credential) = outer.get("credential") else {
        return Err(Error::bad_request(required("credential")));
    };
    let Some(map) = credential.as_object() else {
        return Err(invalid(
            "credential",
            credential,
            format!("{} is not of type 'object'", py_repr(credential)),
        ));
    };
    for (name, nullable) in props {
        let Some(value) = map.get(*name) else {
            continue;
        };
        let ok = value.is_string() || (*nullable && value.is_null());
        if !ok {
            let types = if *nullable {
                "'string', 'null'"
            } else {
                "'string'"
            };
            return Err(invalid(
                name,
                value,
                format!("{} is not of type {types}", py_repr(value)),
            ));
        }
    }
    Ok(map)
}

/// `POST /v3/credentials`: `blob`, `type`, `user_id` required; `project_id` too when the
/// type is exactly `ec2`.
pub fn check_create(body: &Value) -> Result<Map<String, Value>> {
    let map = member(body, CREATE_PROPS)?;
    let instance = Value::Object(map.clone());
    for name in ["blob", "type", "user_id"] {
        if !map.contains_key(name) {
            return Err(invalid("credential", &instance, required(name)));
        }
    }
    if map.get("type").and_then(Value::as_str) == Some("ec2") && !map.contains_key("project_id") {
        return Err(invalid("credential", &instance, required("project_id")));
    }
    Ok(map.clone())
}

/// `PATCH /v3/credentials/{id}`: at least one property.
pub fn check_update(body: &Value) -> Result<Map<String, Value>> {
    let map = member(body, UPDATE_PROPS)?;
    if map.is_empty() {
        let instance = Value::Object(map.clone());
        return Err(invalid(
            "credential",
            &instance,
            format!("{} should be non-empty", py_repr(&instance)),
        ));
    }
    Ok(map.clone())
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
    }
}
