//! Keystone's unified-limit request schemas (keystone/limit/schema.py and the
//! `keystone.api.validation.parameter_types` it uses), as data in Keystone's key order: the
//! order decides which error [`crate::python::jsonschema`] reports first. Bodies go through
//! [`jsonschema::validate`], the list queries through [`jsonschema::validate_query`].

use crate::error::Error;
use crate::python::jsonschema;
use serde_json::{Value, json};
use std::sync::LazyLock;

/// `_limit_integer_type`: the largest value is what a signed SQL INT column holds.
fn limit_integer() -> Value {
    json!({"type": "integer", "minimum": -1, "maximum": 0x7FFF_FFFF})
}

/// `parameter_types.name`.
fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"})
}

/// `parameter_types.region_id`.
fn region_id() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": 255})
}

/// `parameter_types.project_id` / `domain_id`.
fn id_string() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"})
}

/// `validation.nullable(parameter_types.project_id / domain_id)`.
fn nullable_id_string() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"})
}

/// `validation.nullable(parameter_types.description)`.
fn nullable_description() -> Value {
    json!({"type": ["string", "null"], "maxLength": 255})
}

fn service_id() -> Value {
    json!({"type": "string", "format": "uuid"})
}

/// `_registered_limit_properties`.
fn registered_limit_properties() -> Value {
    json!({
        "service_id": service_id(),
        "region_id": region_id(),
        "resource_name": name(),
        "default_limit": limit_integer(),
        "description": nullable_description()
    })
}

/// `_limit_properties`, after the create body's `project_id` and `domain_id`.
fn limit_create_properties() -> Value {
    json!({
        "project_id": nullable_id_string(),
        "domain_id": nullable_id_string(),
        "resource_name": name(),
        "region_id": region_id(),
        "service_id": service_id(),
        "resource_limit": limit_integer(),
        "description": nullable_description()
    })
}

/// `registered_limits_index_request_query`.
pub static REGISTERED_LIMITS_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "service_id": service_id(),
            "region_id": region_id(),
            "resource_name": name()
        },
        "additionalProperties": true
    })
});

/// `registered_limits_create_request_body`.
pub static REGISTERED_LIMITS_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "registered_limits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": registered_limit_properties(),
                    "additionalProperties": false,
                    "required": ["service_id", "resource_name", "default_limit"]
                },
                "minItems": 1
            }
        },
        "required": ["registered_limits"],
        "additionalProperties": false
    })
});

/// `registered_limit_update_request_body`.
pub static REGISTERED_LIMIT_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "registered_limit": {
                "type": "object",
                "properties": registered_limit_properties(),
                "additionalProperties": false
            }
        },
        "additionalProperties": false,
        "required": ["registered_limit"]
    })
});

/// `limits_index_request_query`.
pub static LIMITS_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "service_id": service_id(),
            "region_id": region_id(),
            "resource_name": name(),
            "project_id": id_string(),
            "domain_id": id_string()
        },
        "additionalProperties": true
    })
});

/// `limits_create_request_body`, with `_limit_create`'s `oneOf` of a domain or a project
/// limit.
pub static LIMITS_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "limits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": limit_create_properties(),
                    "required": ["service_id", "resource_name", "resource_limit"],
                    "oneOf": [
                        {"required": ["service_id", "resource_name", "resource_limit", "domain_id"]},
                        {"required": ["service_id", "resource_name", "resource_limit", "project_id"]}
                    ],
                    "additionalProperties": false
                },
                "minItems": 1
            }
        },
        "required": ["limits"],
        "additionalProperties": false
    })
});

/// `limit_update_request_body`.
pub static LIMIT_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "limit": {
                "type": "object",
                "properties": {
                    "resource_limit": limit_integer(),
                    "description": nullable_description()
                },
                "additionalProperties": false
            }
        },
        "additionalProperties": false,
        "required": ["limit"]
    })
});

/// `registered_limits_create_request_body`.
pub fn registered_limits_create(body: &Value) -> Result<(), Error> {
    jsonschema::validate(&REGISTERED_LIMITS_CREATE, body)
}

/// `limits_create_request_body`.
pub fn limits_create(body: &Value) -> Result<(), Error> {
    jsonschema::validate(&LIMITS_CREATE, body)
}

/// `registered_limit_update_request_body`.
pub fn registered_limit_update(body: &Value) -> Result<(), Error> {
    jsonschema::validate(&REGISTERED_LIMIT_UPDATE, body)
}

/// `limit_update_request_body`.
pub fn limit_update(body: &Value) -> Result<(), Error> {
    jsonschema::validate(&LIMIT_UPDATE, body)
}

/// `registered_limits_index_request_query`.
pub fn registered_limits_query(pairs: &[(String, String)]) -> Result<(), Error> {
    jsonschema::validate_query(&REGISTERED_LIMITS_QUERY, pairs)
}

/// `limits_index_request_query`.
pub fn limits_query(pairs: &[(String, String)]) -> Result<(), Error> {
    jsonschema::validate_query(&LIMITS_QUERY, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<(), Error>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn every_keyword_is_modelled() {
        for s in [
            &*REGISTERED_LIMITS_QUERY,
            &*REGISTERED_LIMITS_CREATE,
            &*REGISTERED_LIMIT_UPDATE,
            &*LIMITS_QUERY,
            &*LIMITS_CREATE,
            &*LIMIT_UPDATE,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn registered_limit_batches() {
        let sid = "a".repeat(32);
        assert!(
            registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": 10}
            ]}))
            .is_ok()
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": []}))),
            "Invalid input for field/attribute registered_limits. Value: []. [] should be non-empty"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({}))),
            "'registered_limits' is a required property"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": "x", "resource_name": "cores", "default_limit": 10}
            ]}))),
            "Invalid input for field/attribute service_id. Value: x. 'x' is not a 'uuid'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": -2}
            ]}))),
            "Invalid input for field/attribute default_limit. Value: -2. -2 is less than the minimum of -1"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": true}
            ]}))),
            "Invalid input for field/attribute default_limit. Value: True. True is not of type 'integer'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [5]}))),
            "Invalid input for field/attribute 0. Value: 5. 5 is not of type 'object'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": " ", "default_limit": 1}
            ]}))),
            "Invalid input for field/attribute resource_name. Value:  . ' ' does not match '[\\\\S]+'"
        );
    }

    #[test]
    fn limit_one_of() {
        let sid = "a".repeat(32);
        let both = json!({"limits": [{"service_id": sid, "resource_name": "c",
            "resource_limit": 1, "project_id": "p", "domain_id": "d"}]});
        assert!(msg(limits_create(&both)).contains("is valid under each of {'required': ['service_id', 'resource_name', 'resource_limit', 'project_id']}"));
        let neither =
            json!({"limits": [{"service_id": sid, "resource_name": "c", "resource_limit": 1}]});
        assert!(
            msg(limits_create(&neither)).ends_with("is not valid under any of the given schemas")
        );
        let big = json!({"limits": [{"service_id": sid, "resource_name": "c",
            "resource_limit": 2147483648u64, "project_id": "p"}]});
        assert!(msg(limits_create(&big)).ends_with("is greater than the maximum of 2147483647"));
    }

    #[test]
    fn updates_and_queries() {
        assert!(limit_update(&json!({"limit": {"resource_limit": 3}})).is_ok());
        assert_eq!(
            msg(limit_update(&json!({"limit": {"resource_name": "x"}}))),
            "Invalid input for field/attribute limit. Value: {'resource_name': 'x'}. Additional properties are not allowed ('resource_name' was unexpected)"
        );
        assert_eq!(
            msg(registered_limit_update(&json!({}))),
            "'registered_limit' is a required property"
        );
        assert!(limits_query(&[("project_id".into(), "a b".into())]).is_err());
        assert!(limits_query(&[("other".into(), "a b".into())]).is_ok());
        assert!(
            limits_query(&[(
                "service_id".into(),
                "{AAAAAAAA-aaaa-aaaa-aaaa-aaaaaaaaaaaa}".into()
            )])
            .is_ok()
        );
        assert!(limits_query(&[("service_id".into(), "z".repeat(32))]).is_err());
    }
}
