//! Keystone's identity request schemas (keystone/identity/schema.py and the parameter types
//! it uses), as data in Keystone's key order: the order decides which error
//! [`crate::python::jsonschema`] reports first.

use crate::error::Result;
use crate::python::jsonschema::{self, first_error};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

fn identity_name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"})
}

fn domain_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9-]+$"})
}

/// The API's lenient boolean: real booleans and oslo's boolean strings.
fn api_boolean() -> Value {
    json!({
        "type": ["boolean", "string", "null"],
        "enum": [true, "True", "TRUE", "true", false, "False", "FALSE", "false", "", "1", "0", "y", "Y",
                 "n", "N", "on", "ON", "off", "OFF", "yes", "no"]
    })
}

fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn federated() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "idp_id": {"type": "string"},
                "protocols": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"protocol_id": {"type": "string"}, "unique_id": {"type": "string"}},
                        "required": ["protocol_id", "unique_id"]
                    },
                    "minItems": 1
                }
            },
            "required": ["idp_id", "protocols"]
        }
    })
}

/// `_user_properties`, optionally led by `domain_id` (the create schema puts it first).
fn user_properties(with_domain_first: bool) -> Map<String, Value> {
    let mut p = Map::new();
    if with_domain_first {
        p.insert("domain_id".into(), domain_id());
    }
    p.insert("default_project_id".into(), nullable_string());
    p.insert("description".into(), nullable_string());
    p.insert("domain_id".into(), domain_id());
    p.insert("enabled".into(), api_boolean());
    p.insert("federated".into(), federated());
    p.insert("name".into(), identity_name());
    p.insert("password".into(), nullable_string());
    p.insert("options".into(), super::options::json_schema());
    p
}

/// `user_create_request`.
pub static USER_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"user": {
            "type": "object",
            "properties": Value::Object(user_properties(true)),
            "required": ["name"],
            "additionalProperties": true
        }},
        "required": ["user"],
        "additionalProperties": false
    })
});

/// `user_update_request`.
pub static USER_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"user": {
            "type": "object",
            "properties": Value::Object(user_properties(false)),
            "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["user"],
        "additionalProperties": false
    })
});

/// keystone-rs's own check after Keystone's (api-ref/DEVIATIONS.md): `enabled` is a JSON
/// boolean. Keystone's schema lets oslo's boolean strings through, and its database layer
/// then fails with a 500.
pub static USER_ENABLED: LazyLock<Value> = LazyLock::new(
    || json!({"properties": {"user": {"properties": {"enabled": {"type": "boolean"}}}}}),
);

/// `user_index_request_query`.
pub static USER_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "domain_id": domain_id(),
            "enabled": api_boolean(),
            "idp_id": {"type": "string"},
            "name": identity_name(),
            "password_expires_at": {"type": "string"},
            "protocol_id": {"type": "string"},
            "unique_id": {"type": "string"},
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]},
            "sort_key": {"type": "string"},
            "sort_dir": {"type": "string", "enum": ["asc", "desc"]}
        },
        "additionalProperties": true
    })
});

/// `group_index_request_query`.
pub static GROUP_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "domain_id": domain_id(),
            "name": identity_name(),
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]},
            "sort_key": {"type": "string"},
            "sort_dir": {"type": "string", "enum": ["asc", "desc"]}
        },
        "additionalProperties": true
    })
});

/// `group_create_request_body`.
pub static GROUP_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"group": {
            "type": "object",
            "properties": {"domain_id": domain_id(), "description": nullable_string(), "name": identity_name()},
            "required": ["name"],
            "additionalProperties": true
        }},
        "required": ["group"],
        "additionalProperties": false
    })
});

/// `group_update_request_body`.
pub static GROUP_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"group": {
            "type": "object",
            "properties": {"description": nullable_string(), "name": identity_name()},
            "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["group"],
        "additionalProperties": false
    })
});

/// `password_change`, checked by the older `lazy_validate`.
pub static PASSWORD_CHANGE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"original_password": {"type": "string"}, "password": {"type": "string"}},
        "required": ["original_password", "password"],
        "additionalProperties": false
    })
});

/// `POST /v3/users` body: Keystone's schema, then a strict `enabled`.
pub fn validate_user_create(body: &Value) -> Result<()> {
    jsonschema::validate(&USER_CREATE, body)?;
    jsonschema::validate(&USER_ENABLED, body)
}

/// `PATCH /v3/users/{id}` body: Keystone's schema, then a strict `enabled`.
pub fn validate_user_update(body: &Value) -> Result<()> {
    jsonschema::validate(&USER_UPDATE, body)?;
    jsonschema::validate(&USER_ENABLED, body)
}

/// The 400 Keystone's `lazy_validate` gives for the password-change body. jsonschema's
/// text repeats the instance; passwords in it are replaced by `'***'` (Keystone echoes them,
/// which its own code marks as a TODO to mask).
pub fn validate_password_change(user: &Value) -> Result<()> {
    let Some(mut e) = first_error(&PASSWORD_CHANGE, user) else {
        return Ok(());
    };
    if let Value::Object(m) = &mut e.instance {
        for (key, value) in m.iter_mut() {
            if (key == "password" || key == "original_password") && value.is_string() {
                *value = Value::from("***");
            }
        }
    }
    Err(crate::error::Error::bad_request(e.legacy_message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(schema: &Value, body: Value) -> String {
        jsonschema::validate(schema, &body).unwrap_err().message
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [
            &*USER_CREATE,
            &*USER_UPDATE,
            &*USER_ENABLED,
            &*USER_LIST_QUERY,
            &*GROUP_LIST_QUERY,
            &*GROUP_CREATE,
            &*GROUP_UPDATE,
            &*PASSWORD_CHANGE,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn enabled_must_be_a_boolean() {
        assert_eq!(
            validate_user_create(&json!({"user": {"name": "x", "enabled": "yes"}}))
                .unwrap_err()
                .message,
            "Invalid input for field/attribute enabled. Value: yes. 'yes' is not of type 'boolean'"
        );
        // Keystone's own schema speaks first.
        assert_eq!(
            validate_user_update(&json!({"user": {"enabled": "no", "name": ""}}))
                .unwrap_err()
                .message,
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert!(validate_user_update(&json!({"user": {"enabled": false}})).is_ok());
    }

    #[test]
    fn user_create_messages_match_keystone() {
        let s = &*USER_CREATE;
        assert_eq!(msg(s, json!({})), "'user' is a required property");
        assert_eq!(
            msg(s, json!({"user": {}})),
            "Invalid input for field/attribute user. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            msg(s, json!({"user": "x"})),
            "Invalid input for field/attribute user. Value: x. 'x' is not of type 'object'"
        );
        assert_eq!(
            msg(s, json!({"user": {"name": ""}})),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            msg(s, json!({"user": {"name": "   "}})),
            "Invalid input for field/attribute name. Value:    . '   ' does not match '[\\\\S]+'"
        );
        assert_eq!(
            msg(s, json!({"user": {"name": "x", "enabled": 1}})),
            "Invalid input for field/attribute enabled. Value: 1. 1 is not of type 'boolean', 'string', 'null'"
        );
        assert!(msg(s, json!({"user": {"name": "x", "enabled": "ABC"}})).starts_with(
            "Invalid input for field/attribute enabled. Value: ABC. 'ABC' is not one of [True, 'True', 'TRUE'"
        ));
        assert_eq!(
            msg(s, json!({"user": {"name": "x", "domain_id": "no_pe"}})),
            "Invalid input for field/attribute domain_id. Value: no_pe. 'no_pe' does not match '^[a-zA-Z0-9-]+$'"
        );
        assert_eq!(
            msg(s, json!({"user": {"name": "x", "options": {"foo": 1}}})),
            "Invalid input for field/attribute options. Value: {'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        assert_eq!(
            msg(
                &s,
                json!({"user": {"name": "x", "options": {"lock_password": "yes"}}})
            ),
            "Invalid input for field/attribute lock_password. Value: yes. 'yes' is not of type 'boolean', 'null'"
        );
        assert_eq!(
            msg(
                &s,
                json!({"user": {"name": "x", "options": {"multi_factor_auth_rules": [[]]}}})
            ),
            "Invalid input for field/attribute 0. Value: []. [] should be non-empty"
        );
        assert_eq!(
            msg(s, json!({"user": {"name": "x"}, "extra": 1})),
            "Additional properties are not allowed ('extra' was unexpected)"
        );
        assert!(
            jsonschema::validate(
                s,
                &json!({"user": {"name": "x", "email": "e", "enabled": "true"}})
            )
            .is_ok()
        );
        // `$` accepts a trailing newline, as Python's re does.
        assert!(
            jsonschema::validate(s, &json!({"user": {"name": "x", "domain_id": "abc\n"}})).is_ok()
        );
    }

    #[test]
    fn update_and_group_messages() {
        assert_eq!(
            msg(&USER_UPDATE, json!({"user": {}})),
            "Invalid input for field/attribute user. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            msg(&USER_UPDATE, json!({"user": {"enabled": null}}))
                .split(". ")
                .last()
                .unwrap()
                .split(" is not")
                .next()
                .unwrap(),
            "None"
        );
        assert_eq!(
            msg(&GROUP_UPDATE, json!({"group": {"description": 5}})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
    }

    #[test]
    fn password_change_messages() {
        let e = validate_password_change(&json!({"password": "x"}))
            .unwrap_err()
            .message;
        assert_eq!(
            e,
            "'original_password' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'original_password': {'type': 'string'},\n                    'password': {'type': 'string'}},\n     'required': ['original_password', 'password'],\n     'additionalProperties': False}\n\nOn instance:\n    {'password': '***'}"
        );
        let e = validate_password_change(&json!({"original_password": "pw1", "password": 5}))
            .unwrap_err()
            .message;
        assert_eq!(
            e,
            "Invalid input for field 'password': 5 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['password']:\n    {'type': 'string'}\n\nOn instance['password']:\n    5"
        );
        let e = validate_password_change(&json!("x")).unwrap_err().message;
        assert!(
            e.starts_with("'x' is not of type 'object'") && e.ends_with("On instance:\n    'x'"),
            "{e}"
        );
    }
}
