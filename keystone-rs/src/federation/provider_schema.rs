//! Keystone's request schemas for identity providers, protocols and service providers
//! (keystone/federation/schema.py and the parameter types it uses), as data in Keystone's
//! key order: the order decides which error [`crate::python::jsonschema`] reports first.
//! Each `*_STRICT` schema runs after Keystone's own and refuses what Keystone's schema
//! lets through to a 500 in its database layer (api-ref/DEVIATIONS.md): boolean strings,
//! `null` for a NOT NULL column, a TTL beyond the integer column.

use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// `parameter_types.boolean`.
fn boolean() -> Value {
    json!({
        "type": ["boolean", "string", "null"],
        "enum": [true, "True", "TRUE", "true", false, "False", "FALSE", "false", "", "1", "0",
                 "y", "Y", "n", "N", "on", "ON", "off", "OFF", "yes", "no"]
    })
}

/// `parameter_types.url`.
fn url() -> Value {
    json!({"type": "string", "minLength": 0, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"})
}

/// `_identity_provider_properties`, then (on create) `domain_id`.
fn idp_properties(with_domain: bool) -> Value {
    let mut p = Map::new();
    p.insert("enabled".into(), boolean());
    p.insert("description".into(), json!({"type": ["string", "null"]}));
    p.insert(
        "authorization_ttl".into(),
        json!({"type": ["integer", "null"], "minimum": 0}),
    );
    p.insert(
        "remote_ids".into(),
        json!({
            "type": ["array", "null"],
            "items": {"type": "string", "maxLength": 64},
            "uniqueItems": true
        }),
    );
    if with_domain {
        p.insert(
            "domain_id".into(),
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                   "pattern": "^[a-zA-Z0-9-]+$"}),
        );
    }
    Value::Object(p)
}

/// `identity_provider_create_request_body`.
pub static IDP_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"identity_provider": {
            "type": "object",
            "properties": idp_properties(true),
            "additionalProperties": false
        }},
        "additionalProperties": false
    })
});

/// `identity_provider_update_request_body`.
pub static IDP_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"identity_provider": {
            "type": "object",
            "properties": idp_properties(false),
            "additionalProperties": false,
            "minProperties": 1
        }},
        "required": ["identity_provider"]
    })
});

/// After [`IDP_CREATE`] or [`IDP_UPDATE`].
pub static IDP_STRICT: LazyLock<Value> = LazyLock::new(|| {
    json!({"properties": {"identity_provider": {"properties": {
        "enabled": {"type": "boolean"},
        "authorization_ttl": {"maximum": 2147483647}
    }}}})
});

/// `identity_provider_index_request_query` and `service_provider_index_request_query`.
pub static LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"id": {"type": "string"}, "enabled": boolean()},
        "additionalProperties": true
    })
});

fn mapping_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64})
}

/// `protocol_create_request_body`.
pub static PROTOCOL_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"protocol": {
            "type": "object",
            "properties": {
                "mapping_id": mapping_id(),
                "remote_id_attribute": {"type": ["string", "null"], "maxLength": 64}
            },
            "additionalProperties": false,
            "required": ["mapping_id"]
        }},
        "required": ["protocol"],
        "additionalProperties": false
    })
});

/// `protocol_update_request_body`.
pub static PROTOCOL_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"protocol": {
            "type": "object",
            "properties": {
                "mapping_id": mapping_id(),
                "remote_id_attribute": {"type": "string", "maxLength": 64}
            },
            "additionalProperties": false,
            "minProperties": 1,
            "required": ["mapping_id"]
        }},
        "required": ["protocol"],
        "additionalProperties": false
    })
});

/// `_service_provider_properties`.
fn sp_properties() -> Value {
    let mut p = Map::new();
    p.insert("auth_url".into(), url());
    p.insert("sp_url".into(), url());
    p.insert("description".into(), json!({"type": ["string", "null"]}));
    p.insert("enabled".into(), boolean());
    p.insert(
        "relay_state_prefix".into(),
        json!({"type": ["string", "null"]}),
    );
    Value::Object(p)
}

/// `service_provider_create_request_body`.
pub static SP_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"service_provider": {
            "type": "object",
            "properties": sp_properties(),
            "required": ["auth_url", "sp_url"],
            "additionalProperties": false
        }},
        "required": ["service_provider"],
        "additionalProperties": false
    })
});

/// `service_provider_update_request_body`.
pub static SP_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"service_provider": {
            "type": "object",
            "properties": sp_properties(),
            "additionalProperties": false,
            "minProperties": 1
        }},
        "required": ["service_provider"],
        "additionalProperties": false
    })
});

/// After [`SP_CREATE`] or [`SP_UPDATE`].
pub static SP_STRICT: LazyLock<Value> = LazyLock::new(|| {
    json!({"properties": {"service_provider": {"properties": {
        "enabled": {"type": "boolean"},
        "relay_state_prefix": {"type": "string"}
    }}}})
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema::{self, api_text};

    #[test]
    fn every_keyword_is_modelled() {
        for s in [
            &*IDP_CREATE,
            &*IDP_UPDATE,
            &*IDP_STRICT,
            &*LIST_QUERY,
            &*PROTOCOL_CREATE,
            &*PROTOCOL_UPDATE,
            &*SP_CREATE,
            &*SP_UPDATE,
            &*SP_STRICT,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn texts_are_keystones() {
        assert_eq!(
            api_text(
                &IDP_CREATE,
                &json!({"identity_provider": {"remote_ids": ["a", "a"]}})
            ),
            "Invalid input for field/attribute remote_ids. Value: ['a', 'a']. ['a', 'a'] has non-unique elements"
        );
        assert_eq!(
            api_text(&IDP_UPDATE, &json!({"identity_provider": {}})),
            "Invalid input for field/attribute identity_provider. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            api_text(&SP_CREATE, &json!({"service_provider": {"auth_url": "x"}})),
            "Invalid input for field/attribute auth_url. Value: x. 'x' does not match '^[a-zA-Z0-9+.-]+:.+'"
        );
        assert_eq!(
            api_text(&PROTOCOL_CREATE, &json!({"protocol": {}})),
            "Invalid input for field/attribute protocol. Value: {}. 'mapping_id' is a required property"
        );
    }
}
